"""Apply the Alembic migrations shipped inside the package, programmatically."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text

logger = logging.getLogger(__name__)

# PostgreSQL advisory lock key held while migrating (any constant unique to this application).
MIGRATION_LOCK_KEY = 0x5B6_10CA1

DB_PACKAGE_DIR = Path(__file__).resolve().parent


def alembic_config() -> Config:
    config = Config(str(DB_PACKAGE_DIR / "alembic.ini"))
    # Absolute path, so it works from any working directory and from an installed wheel.
    config.set_main_option("script_location", str(DB_PACKAGE_DIR / "migrations"))
    return config


def upgrade_to_head(engine: Engine) -> None:
    """Bring the schema to the newest revision; a no-op when it already is there."""
    config = alembic_config()
    # One transaction for the whole upgrade; with SQLite's BEGIN IMMEDIATE on this engine (on
    # PostgreSQL, a transaction-scoped advisory lock), two processes starting together migrate
    # one after the other. PostgreSQL's DDL is transactional too: a failed upgrade leaves nothing.
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            lock = text("SELECT pg_advisory_xact_lock(:key)")
            connection.execute(lock, {"key": MIGRATION_LOCK_KEY})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
