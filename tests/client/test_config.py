"""Configuration sources and their precedence: arguments, Config, environment, credentials file."""

from __future__ import annotations

import configparser
import os
from pathlib import Path

import pytest

import sevenbridges as sbg
from sevenbridges import errors
from sevenbridges.config import Config, Profile, UserProfile, format_proxies
from sevenbridges.http.client import config_vars

ENV_VARS = ("SB_API_ENDPOINT", "SB_AUTH_TOKEN", "HTTP_PROXY", "HTTPS_PROXY")


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """An empty HOME and no configuration in the environment."""
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def write_credentials(home: Path, **profiles: tuple[str, str]) -> Path:
    path = home / ".sevenbridges" / "credentials"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "".join(
            f"[{name}]\napi_endpoint = {endpoint}\nauth_token = {token}\n\n"
            for name, (endpoint, token) in profiles.items()
        )
    )
    return path


def write_client_config(home: Path, text: str) -> Path:
    path = home / ".sevenbridges" / "sevenbridges-python" / "config"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# --------------------------------------------------------------------------- Config sources


def test_environment_config(home, monkeypatch):
    monkeypatch.setenv("SB_API_ENDPOINT", "https://env.example/v2")
    monkeypatch.setenv("SB_AUTH_TOKEN", "env-token")
    config = Config()
    assert (config.api_endpoint, config.auth_token) == ("https://env.example/v2", "env-token")
    assert config.proxies == {"http": None, "https": None}
    assert config.advance_access is False
    assert Config(advance_access=True).advance_access is True


def test_environment_proxies(home, monkeypatch):
    monkeypatch.setenv("SB_API_ENDPOINT", "https://env.example/v2")
    monkeypatch.setenv("SB_AUTH_TOKEN", "env-token")
    monkeypatch.setenv("HTTP_PROXY", "http://proxy:3128")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy:3129")
    assert Config().proxies == {"http": "http://proxy:3128", "https": "http://proxy:3129"}
    explicit = Config(proxies={"http_proxy": "a:1", "https_proxy": "b:2"})
    assert explicit.proxies == {"http": "a:1", "https": "b:2"}


@pytest.mark.parametrize(
    "present, missing",
    [({"SB_API_ENDPOINT": "https://x/v2"}, "SB_AUTH_TOKEN"),
     ({"SB_AUTH_TOKEN": "t"}, "SB_API_ENDPOINT")],
)
def test_environment_config_names_the_missing_variable(home, monkeypatch, present, missing):
    for name, value in present.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(errors.SbgError, match=f"Missing {missing}"):
        Config()


def test_profile_config_from_the_credentials_file(home):
    write_credentials(
        home,
        default=("https://api.sbgenomics.com/v2", "default-token"),
        cgc=("https://cgc-api.sbgenomics.com/v2", "cgc-token"),
    )
    default, cgc = Config("default"), Config("cgc")
    assert (default.api_endpoint, default.auth_token) == (
        "https://api.sbgenomics.com/v2", "default-token",
    )
    assert (cgc.api_endpoint, cgc.auth_token) == ("https://cgc-api.sbgenomics.com/v2", "cgc-token")
    assert cgc.profile == "cgc"
    assert cgc.proxies == {} and cgc.advance_access is False


def test_missing_credentials_file_and_missing_profile(home):
    with pytest.raises(errors.SbgError, match="Missing credentials file"):
        Config("default")
    write_credentials(home, default=("https://x/v2", "t"))
    with pytest.raises(configparser.NoSectionError):
        Config("nope")
    profile = UserProfile("nope")  # the section is only needed when read
    with pytest.raises(configparser.NoSectionError):
        _ = profile.api_endpoint


def test_client_config_file_proxies_and_mode(home):
    write_credentials(home, default=("https://x/v2", "t"))
    write_client_config(
        home,
        "[proxies]\nhttp_proxy = http://p:1\nhttps_proxy = http://p:2\n\n"
        "[mode]\nadvance_access = True\n",
    )
    profile = UserProfile("default")
    assert profile.proxies == {"http_proxy": "http://p:1", "https_proxy": "http://p:2"}
    assert profile.advance_access == "True"  # the raw string, as in the reference
    config = Config("default")
    assert config.proxies == {"http": "http://p:1", "https": "http://p:2"}
    assert config.advance_access == "True"
    override = Config("default", proxies={"https_proxy": "http://other:9"})
    assert override.proxies == {"http": None, "https": "http://other:9"}


def test_advance_access_argument_wins_over_the_file(home):
    write_credentials(home, default=("https://x/v2", "t"))
    write_client_config(home, "[mode]\nadvance_access = False\n")
    assert Config("default", advance_access=True).advance_access is True
    assert Config("default").advance_access == "False"


def test_paths_follow_home_at_call_time(tmp_path, monkeypatch):
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    first, second = tmp_path / "first", tmp_path / "second"
    write_credentials(first, default=("https://one/v2", "one"))
    write_credentials(second, default=("https://two/v2", "two"))
    monkeypatch.setenv("HOME", str(first))
    assert Config("default").auth_token == "one"
    monkeypatch.setenv("HOME", str(second))
    assert Config("default").auth_token == "two"
    assert UserProfile.credentials_path() == str(second / ".sevenbridges" / "credentials")


def test_file_locations_can_be_reassigned(home, tmp_path, monkeypatch):
    elsewhere = tmp_path / "elsewhere.ini"
    elsewhere.write_text("[work]\napi_endpoint = https://w/v2\nauth_token = w\n")
    monkeypatch.setattr(UserProfile, "CREDENTIALS", str(elsewhere))
    assert Config("work").auth_token == "w"
    proxies = tmp_path / "proxies.ini"
    proxies.write_text("[proxies]\nhttps_proxy = http://old-style:1\n")
    monkeypatch.setattr(UserProfile, "PROXIES", str(proxies))  # the old attribute name
    assert Config("work").proxies == {"http": None, "https": "http://old-style:1"}


def test_class_attributes_and_old_names():
    assert UserProfile.CREDENTIALS == os.path.join("~", ".sevenbridges", "credentials")
    assert UserProfile.CONFIG == os.path.join("~", ".sevenbridges", "sevenbridges-python", "config")
    assert Profile is UserProfile
    assert sbg.Config is Config


def test_format_proxies():
    assert format_proxies({"http_proxy": "a:1", "https_proxy": "b:2"}) == {
        "http": "a:1", "https": "b:2",
    }
    assert format_proxies({"https_proxy": "b:2"}) == {"http": None, "https": "b:2"}
    assert format_proxies(None) == {}
    assert format_proxies({}) == {}


def test_config_repr_hides_the_token(home, monkeypatch):
    monkeypatch.setenv("SB_API_ENDPOINT", "https://env.example/v2")
    monkeypatch.setenv("SB_AUTH_TOKEN", "0123456789abcdef0123456789abcdef")
    text = repr(Config())
    assert "https://env.example/v2" in text
    assert "0123456789abcdef0123456789abcdef" not in text


def test_config_vars_tries_profiles_in_order(home, monkeypatch):
    assert config_vars([None, "default"]) == (None, None, None, None)
    write_credentials(home, default=("https://file/v2", "file-token"))
    assert config_vars([None, "default"])[:2] == ("https://file/v2", "file-token")
    monkeypatch.setenv("SB_API_ENDPOINT", "https://env/v2")
    monkeypatch.setenv("SB_AUTH_TOKEN", "env-token")
    url, token, proxies, advance_access = config_vars([None, "default"], True)
    assert (url, token, advance_access) == ("https://env/v2", "env-token", True)
    assert proxies == {"http": None, "https": None}


# --------------------------------------------------------------------------- precedence with Api()


@pytest.fixture
def tokens(platform, new_username):
    """Tokens of four different users of the live platform, one per configuration source."""
    names = {source: new_username(source) for source in ("file", "env", "config", "explicit")}
    return {source: (name, platform.token(name)) for source, name in names.items()}


def whoami(api: sbg.Api) -> str:
    return api.users.me().username


def test_api_precedence(home, monkeypatch, platform, tokens):
    write_credentials(
        home,
        default=(platform.url, tokens["file"][1]),
        other=(platform.url, tokens["config"][1]),
    )
    assert whoami(sbg.Api()) == tokens["file"][0]

    monkeypatch.setenv("SB_API_ENDPOINT", platform.url)
    monkeypatch.setenv("SB_AUTH_TOKEN", tokens["env"][1])
    assert whoami(sbg.Api()) == tokens["env"][0]

    assert whoami(sbg.Api(config=Config("other"))) == tokens["config"][0]

    explicit = sbg.Api(url=platform.url, token=tokens["explicit"][1])
    assert whoami(explicit) == tokens["explicit"][0]


def test_nothing_configured_is_an_error(home):
    with pytest.raises(errors.SbgError, match="URL is missing"):
        sbg.Api()


def test_an_explicit_url_disables_configuration_lookup(home, monkeypatch):
    monkeypatch.setenv("SB_API_ENDPOINT", "https://env/v2")
    monkeypatch.setenv("SB_AUTH_TOKEN", "env-token")
    with pytest.raises(errors.SbgError, match="Required authorization"):
        sbg.Api(url="https://explicit/v2")


def test_configured_plain_http_endpoints_are_not_checked(home, monkeypatch):
    # Only an explicit url= argument is subject to the https rule.
    monkeypatch.setenv("SB_API_ENDPOINT", "http://api.example.org/v2")
    monkeypatch.setenv("SB_AUTH_TOKEN", "env-token")
    assert sbg.Api().url == "http://api.example.org/v2"


def test_proxies_from_arguments(home):
    api = sbg.Api(url="https://x/v2", token="t" * 32,
                  proxies={"http_proxy": "http://p:1", "https_proxy": "http://p:2"})
    assert api.session.proxies == {"http": "http://p:1", "https": "http://p:2"}
    assert sbg.Api(url="https://x/v2", token="t" * 32).session.proxies == {}


def test_proxies_from_the_environment_ignore_the_argument(home, monkeypatch):
    monkeypatch.setenv("SB_API_ENDPOINT", "https://env/v2")
    monkeypatch.setenv("SB_AUTH_TOKEN", "env-token")
    monkeypatch.setenv("HTTPS_PROXY", "http://envproxy:8")
    api = sbg.Api(proxies={"https_proxy": "http://ignored:1"})
    assert api.session.proxies["https"] == "http://envproxy:8"


def test_proxies_and_advance_access_from_the_config_file(home):
    write_credentials(home, default=("https://file/v2", "file-token"))
    write_client_config(home, "[proxies]\nhttps_proxy = http://fileproxy:7\n\n"
                              "[mode]\nadvance_access = true\n")
    api = sbg.Api()
    assert api.session.proxies == {"http": None, "https": "http://fileproxy:7"}
    assert api.aa is True


def test_advance_access_false_in_the_file_stays_off(home):
    # The reference turns the string "False" into "on"; this client reads it as a boolean.
    write_credentials(home, default=("https://file/v2", "file-token"))
    write_client_config(home, "[mode]\nadvance_access = False\n")
    assert sbg.Api().aa is False
    assert sbg.Api(advance_access=True).aa is True


def test_config_object_supplies_endpoint_token_proxies_and_mode(home, monkeypatch):
    monkeypatch.setenv("SB_API_ENDPOINT", "https://env/v2")
    monkeypatch.setenv("SB_AUTH_TOKEN", "env-token")
    config = Config(proxies={"https_proxy": "http://cfg:1"}, advance_access=True)
    api = sbg.Api(config=config, proxies={"https_proxy": "http://ignored:2"})
    assert (api.url, api.token, api.aa) == ("https://env/v2", "env-token", True)
    assert api.session.proxies["https"] == "http://cfg:1"
