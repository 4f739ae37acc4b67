"""Where the client finds its endpoint, token, proxies and advance-access mode.

Sources, from strongest to weakest (as seen through ``Api()``): explicit arguments, a ``Config``
object, the environment (``SB_API_ENDPOINT``, ``SB_AUTH_TOKEN``, ``HTTP_PROXY``, ``HTTPS_PROXY``),
and a named profile of the credentials file (``[default]`` when nothing else is configured).

Both files are INI files under ``~/.sevenbridges``. ``~`` is expanded each time a file is read, so
changing ``HOME`` (tests, sandboxes) takes effect without re-importing the module.
"""

from __future__ import annotations

import configparser
import logging
import os
from typing import Any

from sevenbridges.errors import SbgError

logger = logging.getLogger(__name__)

__all__ = ["Config", "UserProfile", "Profile", "format_proxies"]

_DEFAULT_CREDENTIALS = os.path.join("~", ".sevenbridges", "credentials")
_DEFAULT_CONFIG = os.path.join("~", ".sevenbridges", "sevenbridges-python", "config")


def format_proxies(proxies: dict[str, Any] | None) -> dict[str, Any]:
    """Turn ``{'http_proxy': …, 'https_proxy': …}`` into requests' ``{'http': …, 'https': …}``."""
    if not proxies:
        return {}
    return {"http": proxies.get("http_proxy"), "https": proxies.get("https_proxy")}


def _read_ini(path: str) -> configparser.ConfigParser:
    # Interpolation off: tokens and proxy URLs may legitimately contain '%'.
    parser = configparser.ConfigParser(interpolation=None)
    # One ``read(path)`` per file, as the reference does (users' tests patch and check it).
    parser.read(path)
    return parser


def _mask(secret: str | None) -> str:
    if not secret:
        return repr(secret)
    return "'****" + (secret[-4:] if len(secret) >= 16 else "") + "'"


class UserProfile:
    """One profile (section) of the credentials file, plus the client config file.

    ``CREDENTIALS`` and ``CONFIG`` may be reassigned (to absolute or ``~`` paths) to point the
    client at other files.
    """

    CREDENTIALS: str = _DEFAULT_CREDENTIALS
    CONFIG: str = _DEFAULT_CONFIG
    # Name used by very old releases for the client config file.
    PROXIES: str = _DEFAULT_CONFIG

    def __init__(self, profile: str) -> None:
        self.profile = profile
        credentials_path = self.credentials_path()
        if not os.path.isfile(credentials_path):
            raise SbgError("Missing credentials file.")
        self._credentials = _read_ini(credentials_path)
        config_path = self.config_path()
        self._config = _read_ini(config_path) if os.path.isfile(config_path) else None

    @classmethod
    def credentials_path(cls) -> str:
        """The credentials file path with ``~`` expanded now."""
        return os.path.expanduser(cls.CREDENTIALS)

    @classmethod
    def config_path(cls) -> str:
        """The client config file path with ``~`` expanded now."""
        # Honour the old attribute name when only that one was changed.
        path = cls.CONFIG if cls.PROXIES == _DEFAULT_CONFIG else cls.PROXIES
        return os.path.expanduser(path)

    @property
    def api_endpoint(self) -> str:
        return self._credentials.get(self.profile, "api_endpoint")

    @property
    def auth_token(self) -> str:
        return self._credentials.get(self.profile, "auth_token")

    @property
    def proxies(self) -> dict[str, str]:
        if self._config is None or not self._config.has_section("proxies"):
            return {}
        return dict(self._config.items("proxies"))

    @property
    def advance_access(self) -> str | bool:
        """The raw ``[mode] advance_access`` string, or False when not configured."""
        if self._config is None:
            return False
        return self._config.get("mode", "advance_access", fallback=False)

    def __repr__(self) -> str:
        return f"<UserProfile: profile={self.profile!r}>"


#: Name of :class:`UserProfile` in old releases.
Profile = UserProfile


class Config:
    """Connection settings: from the environment (no profile) or from a credentials-file profile."""

    def __init__(
        self,
        profile: str | None = None,
        proxies: dict[str, Any] | None = None,
        advance_access: bool | None = None,
    ) -> None:
        self.profile = profile
        if not profile:
            self._load_environment(advance_access)
        else:
            self._load_profile(profile, advance_access)
        if proxies:
            self.proxies = format_proxies(proxies)

    def _load_environment(self, advance_access: bool | None) -> None:
        token = os.environ.get("SB_AUTH_TOKEN")
        if not token:
            raise SbgError("Missing SB_AUTH_TOKEN")
        endpoint = os.environ.get("SB_API_ENDPOINT")
        if not endpoint:
            raise SbgError("Missing SB_API_ENDPOINT")
        self.auth_token: str = token
        self.api_endpoint: str = endpoint
        self.proxies: dict[str, Any] = {
            "http": os.environ.get("HTTP_PROXY"),
            "https": os.environ.get("HTTPS_PROXY"),
        }
        self.advance_access: Any = advance_access or False

    def _load_profile(self, profile: str, advance_access: bool | None) -> None:
        user_profile = UserProfile(profile)
        self.api_endpoint = user_profile.api_endpoint
        self.auth_token = user_profile.auth_token
        self.proxies = format_proxies(user_profile.proxies)
        self.advance_access = advance_access or user_profile.advance_access
        logger.debug("Loaded profile %r from %s", profile, user_profile.credentials_path())

    def __repr__(self) -> str:
        return (
            f"<Config: profile={self.profile!r}, api_endpoint={self.api_endpoint!r}, "
            f"auth_token={_mask(self.auth_token)}>"
        )
