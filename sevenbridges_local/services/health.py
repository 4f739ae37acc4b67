"""Is the platform able to answer: what ``GET /health`` reports to scripts and load checks."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import text

from sevenbridges_local.db import Database

logger = logging.getLogger(__name__)


def health_report(database: Database, *, maintenance: bool, version: str) -> dict[str, Any]:
    """``{"status": "ready"|"maintenance"|"unavailable", "database": "ok"|"error", ...}``."""
    try:
        with database.read_session() as session:
            session.execute(text("SELECT 1")).scalar_one()
        database_state = "ok"
    except Exception:  # any failure means "not ready"; the details go to the server log only
        logger.exception("health check: the database does not answer")
        database_state = "error"
    if database_state != "ok":
        status = "unavailable"
    elif maintenance:
        status = "maintenance"
    else:
        status = "ready"
    return {"status": status, "database": database_state, "version": version}
