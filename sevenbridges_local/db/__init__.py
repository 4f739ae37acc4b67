"""Persistence: SQLAlchemy models, engines and sessions, and the Alembic migrations."""

from sevenbridges_local.db.database import Database

__all__ = ["Database"]
