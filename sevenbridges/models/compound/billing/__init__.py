"""Compound models used by billing groups and invoices, plus a shared date helper."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any


def format_breakdown_date(value: Any) -> Any:
    """Render a breakdown ``date_from``/``date_to`` argument for the query string.

    Strings are sent as given (the platform documents ``MM-DD-YYYY``). A ``datetime`` becomes
    ``YYYY-MM-DDTHH:MM:SS`` and a ``date`` becomes ``MM-DD-YYYY``; without this, requests would
    send ``str(value)``, which the platform does not understand.
    """
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S")
    if isinstance(value, date):
        return value.strftime("%m-%d-%Y")
    return value
