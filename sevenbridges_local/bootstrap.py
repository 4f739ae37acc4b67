"""Getting a data directory ready: folder, secret key, schema, the seeded admin user."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sevenbridges_local.db import Database
from sevenbridges_local.security import load_or_create_secret_key
from sevenbridges_local.services import apps, users
from sevenbridges_local.services.context import ADMIN_ROLE
from sevenbridges_local.settings import Settings

logger = logging.getLogger(__name__)

ADMIN_USERNAME = "admin"


@dataclass
class PreparedPlatform:
    settings: Settings
    database: Database
    secret_key: bytes = field(repr=False)  # never shown in logs or tracebacks

    def token(self, username: str = ADMIN_USERNAME) -> str:
        """The user's token, creating the user (and their billing group) when missing."""
        with self.database.write_session() as session:
            user, created = users.ensure_user(session, self.secret_key, username)
            session.commit()
            if created:
                logger.info("created user %s", username)
            return users.token_for(user, self.secret_key)


def prepare(settings: Settings, database: Database | None = None) -> PreparedPlatform:
    """Idempotent: safe on every start and from several processes at once."""
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    secret_key = load_or_create_secret_key(settings.secret_key_path)
    database = database or Database(settings.database_url or "")
    database.migrate()
    with database.write_session() as session:
        users.ensure_user(session, secret_key, ADMIN_USERNAME, role=ADMIN_ROLE)
        session.commit()
    # The public apps (admin/public-apps), also added to data directories created before them.
    apps.install_public_apps(database, ADMIN_USERNAME)
    return PreparedPlatform(settings=settings, database=database, secret_key=secret_key)
