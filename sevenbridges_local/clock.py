"""Time helpers: the database stores naive UTC datetimes; the wire shows ``...Z`` timestamps."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone


def utcnow() -> datetime:
    """Current UTC time without tzinfo and without microseconds (the wire has second precision)."""
    return datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)


def naive_utc(moment: datetime) -> datetime:
    """``moment`` as naive UTC (as stored); naive values are taken to be UTC already.

    ValueError when the UTC time falls outside the years 1 to 9999 (``0001-01-01T00:00:00+01:00``
    is still in year 0), which Python's datetime cannot hold.
    """
    if moment.tzinfo is None:
        return moment
    try:
        return moment.astimezone(timezone.utc).replace(tzinfo=None)
    except OverflowError:
        raise ValueError("the time in UTC is outside the years 1 to 9999") from None


def format_timestamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def month_start(moment: datetime) -> datetime:
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def next_month_start(moment: datetime) -> datetime:
    start = month_start(moment)
    if start.month == 12:
        return start.replace(year=start.year + 1, month=1)
    return start.replace(month=start.month + 1)


def month_end(moment: datetime) -> datetime:
    """Last second of the calendar month containing ``moment``."""
    return next_month_start(moment) - timedelta(seconds=1)
