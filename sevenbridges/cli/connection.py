"""Building the client from ``--profile``, ``--endpoint`` and ``--token``.

Precedence follows the library: flags given on the command line win; with ``--profile`` the
rest comes from that profile; otherwise from ``SB_API_ENDPOINT``/``SB_AUTH_TOKEN``, then from the
``[default]`` profile of the credentials file.
"""

from __future__ import annotations

import configparser
import os
from typing import Any

from sevenbridges.api import Api
from sevenbridges.config import Config, UserProfile
from sevenbridges.errors import SbgError
from sevenbridges.http import reachability

# A loopback endpoint that refuses connections is reported at once by the library itself (no
# transport retries: nothing listens there), so the CLI keeps the library's retry settings.

#: The endpoint of the client built last, named when it cannot be reached.
last_endpoint: str | None = None


def unreachable_message(endpoint: str | None) -> str:
    if not endpoint:
        return "cannot reach the endpoint: check the endpoint URL and your network"
    return reachability.unreachable_message(endpoint)


def _profile_settings(name: str) -> tuple[str | None, str | None, dict[str, Any]]:
    from sevenbridges.cli.main import EXIT_USAGE, CliError

    path = UserProfile.credentials_path()
    try:
        config = Config(name)
    except configparser.NoSectionError:
        raise CliError(
            f"no profile [{name}] in {path}: create it with `sbg configure --profile {name}`",
            EXIT_USAGE,
        )
    except configparser.NoOptionError as exc:
        raise CliError(f"profile [{name}] in {path} has no {exc.option}", EXIT_USAGE)
    except configparser.Error as exc:
        raise CliError(f"cannot read {path}: {' '.join(str(exc).split())}", EXIT_USAGE)
    except SbgError:
        raise CliError(
            f"no credentials file {path}: create it with `sbg configure --profile {name}`",
            EXIT_USAGE,
        )
    return config.api_endpoint, config.auth_token, dict(config.proxies or {})


def resolve(
    profile: str | None, endpoint: str | None, token: str | None
) -> tuple[str | None, str | None, dict[str, Any]]:
    """Endpoint, token and proxies from the flags, the environment and the profiles."""
    if profile:
        profile_endpoint, profile_token, proxies = _profile_settings(profile)
        return endpoint or profile_endpoint, token or profile_token, proxies
    endpoint = endpoint or os.environ.get("SB_API_ENDPOINT") or None
    token = token or os.environ.get("SB_AUTH_TOKEN") or None
    proxies: dict[str, Any] = {}
    if not (endpoint and token):
        try:
            default = Config("default")
        except (SbgError, configparser.Error):
            default = None
        if default is not None:
            endpoint = endpoint or default.api_endpoint
            token = token or default.auth_token
            proxies = dict(default.proxies or {})
    return endpoint, token, proxies


def connect(profile: str | None, endpoint: str | None, token: str | None) -> Api:
    from sevenbridges.cli.main import EXIT_USAGE, CliError

    url, auth_token, proxies = resolve(profile, endpoint, token)
    if not url or not auth_token:
        missing = "endpoint" if not url else "token"
        raise CliError(
            f"no {missing} configured: run `sbg configure`, pass --endpoint and --token, or set "
            "SB_API_ENDPOINT and SB_AUTH_TOKEN",
            EXIT_USAGE,
        )
    global last_endpoint
    last_endpoint = url
    options: dict[str, Any] = {}
    if proxies:
        options["proxies"] = {
            "http_proxy": proxies.get("http"),
            "https_proxy": proxies.get("https"),
        }
    try:
        return Api(url=url, token=auth_token, **options)
    except SbgError as exc:
        raise CliError(" ".join(str(exc).split()), EXIT_USAGE)
