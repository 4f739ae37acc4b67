"""Global options, configuration, exit codes and error lines of ``sbg``."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

from cli_support import as_json

from sevenbridges import __version__


def test_version_help_and_a_typo(run) -> None:
    version = run("--version")
    assert version.exit_code == 0 and version.stdout.strip() == f"sbg {__version__}"
    for command in (
        ["--help"],
        ["files", "--help"],
        ["files", "upload", "--help"],
        ["tasks", "run", "-h"],
    ):
        shown = run(*command)
        assert shown.exit_code == 0 and "Usage:" in shown.stdout, command
    typo = run("projcets", "ls")
    assert typo.exit_code == 2
    assert "Did you mean 'projects'?" in typo.stderr
    bad_option = run("projects", "ls", "--colour")
    assert bad_option.exit_code == 2 and "No such option" in bad_option.stderr


def test_whoami_from_flags_and_from_a_profile(run, sbg_as, platform, rest, new_username) -> None:
    user = new_username("who")
    expected = rest(user, "/user")
    assert as_json(sbg_as(user)("whoami", "--json")) == expected
    # The output option is accepted before the command as well.
    assert as_json(sbg_as(user)("--json", "whoami")) == expected

    configured = run(
        "configure",
        "--profile",
        "work",
        "--endpoint",
        platform.url,
        "--token",
        platform.token(user),
    )
    assert configured.exit_code == 0, configured.stderr
    assert as_json(run("--profile", "work", "whoami", "--json")) == expected
    # Flags win over the profile's values.
    other = new_username("other")
    flagged = run("--profile", "work", "--token", platform.token(other), "whoami", "--json")
    assert as_json(flagged)["username"] == other
    table = run("--profile", "work", "whoami")
    assert table.exit_code == 0 and user in table.stdout


def test_configure_edits_one_profile_and_keeps_the_rest(run, home: Path, platform) -> None:
    credentials = home / ".sevenbridges" / "credentials"
    credentials.parent.mkdir()
    original = (
        "# my platforms\n"
        "[cgc]\n"
        "api_endpoint = https://cgc-api.sbgenomics.com/v2\n"
        "auth_token = cgc-token\n"
        "\n"
        "[local]\n"
        "; the local one\n"
        "api_endpoint = http://127.0.0.1:1/v2\n"
        "auth_token = old-token\n"
        "extra = kept\n"
    )
    credentials.write_text(original)
    token = platform.token("admin")
    edited = run("configure", "--profile", "local", "--endpoint", platform.url, "--token", token)
    assert edited.exit_code == 0, edited.stderr
    assert credentials.read_text() == original.replace(
        "http://127.0.0.1:1/v2", platform.url
    ).replace("old-token", token)
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600

    added = run("configure", "--profile", "new", "--endpoint", platform.url, "--token", token)
    assert added.exit_code == 0
    text = credentials.read_text()
    assert text.startswith(original.split("[local]")[0]) and "; the local one" in text
    assert text.endswith(f"[new]\napi_endpoint = {platform.url}\nauth_token = {token}\n")

    # Prompted values; a token the platform refuses is not written.
    refused = run("configure", "--profile", "bad", input=f"{platform.url}\nnot-a-token\n")
    assert refused.exit_code == 4
    assert "[bad]" not in credentials.read_text()


def test_errors_are_one_line_with_the_platform_code(run, sbg_as, platform) -> None:
    wrong = run("--endpoint", platform.url, "--token", "0" * 32, "whoami")
    assert wrong.exit_code == 4
    assert wrong.stderr.startswith("error: ") and "HTTP 401" in wrong.stderr
    assert len(wrong.stderr.strip().splitlines()) == 1

    missing = sbg_as("admin")("projects", "show", "admin/no-such-project")
    assert missing.exit_code == 3
    assert "code" in missing.stderr and "HTTP 404" in missing.stderr

    unconfigured = run("whoami")
    assert unconfigured.exit_code == 2 and "sbg configure" in unconfigured.stderr
    no_profile = run("--profile", "nope", "whoami")
    assert no_profile.exit_code == 2 and "nope" in no_profile.stderr


def test_a_loopback_endpoint_that_is_down_is_named_at_once(run) -> None:
    down = run("--endpoint", "http://127.0.0.1:9/v2", "--token", "t", "whoami")
    assert down.exit_code == 5
    assert "cannot reach http://127.0.0.1:9/v2: is `sbg local serve` running?" in down.stderr


def test_without_the_cli_extra_sbg_says_what_to_install() -> None:
    blocked = (
        "import sys; sys.modules['click'] = None; from sevenbridges.cli import main; "
        "sys.exit(main(['--version']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", blocked], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "sbg needs the command-line extra: pip install 'sevenbridges-toolkit[cli]'"
    )


def test_local_commands_and_completion(run, tmp_path: Path) -> None:
    status = run("local", "status", "--data-dir", str(tmp_path / "data"))
    assert status.exit_code == 3  # no platform runs there
    assert "not running" in status.stdout
    script = run("completion", "bash")
    assert script.exit_code == 0 and "_SBG_COMPLETE" in script.stdout
