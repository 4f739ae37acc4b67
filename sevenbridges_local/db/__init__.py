"""Persistence: SQLAlchemy models, engines and sessions, and the Alembic migrations."""

from sevenbridges_local.db.database import Database

# Every model module registers its tables on the shared Base when imported.
from sevenbridges_local.db import apps, drs, files, tasks, uploads, volume_jobs, volumes  # noqa: E402,F401  isort: skip
from sevenbridges_local.db import datasets, teams  # noqa: E402,F401  isort: skip
from sevenbridges_local.db import automations  # noqa: E402,F401  isort: skip
from sevenbridges_local.db import processes  # noqa: E402,F401  isort: skip

__all__ = ["Database"]
