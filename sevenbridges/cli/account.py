"""``sbg configure`` (write a profile) and ``sbg whoami``."""

from __future__ import annotations

from pathlib import Path

import click

from sevenbridges.cli.main import EXIT_USAGE, CliError, state
from sevenbridges.cli.output import emit_one, note, output_options
from sevenbridges.config import UserProfile
from sevenbridges.credentials_file import edit_profile, read_profile, write_private

USER_COLUMNS = [
    ("username", "username"),
    ("name", lambda user: " ".join(filter(None, [user.get("first_name"), user.get("last_name")]))),
    ("email", "email"),
    ("role", "role"),
    ("affiliation", "affiliation"),
]


@click.command()
@click.option(
    "--profile",
    "profile_name",
    metavar="NAME",
    help="Profile to write (default: the global --profile, else 'default').",
)
@click.option("--endpoint", "endpoint", metavar="URL", help="API endpoint of the profile.")
@click.option("--token", "token", metavar="TOKEN", help="Authentication token of the profile.")
@click.option(
    "--no-check", is_flag=True, help="Write without checking the token against the endpoint."
)
def configure(
    profile_name: str | None, endpoint: str | None, token: str | None, no_check: bool
) -> None:
    """Create or edit a profile in ~/.sevenbridges/credentials (mode 0600).

    Asks for the values not given as options; other profiles and comments of the file are kept.
    """
    current = state()
    name = profile_name or current.profile or "default"
    path = Path(UserProfile.credentials_path())
    existing = read_profile(path, name)
    endpoint = endpoint or current.endpoint
    token = token or current.token
    if not endpoint:
        endpoint = click.prompt(
            "API endpoint", default=existing.get("api_endpoint") or "https://api.sbgenomics.com/v2"
        )
    if not token:
        token = click.prompt(
            "Authentication token",
            hide_input=True,
            default=existing.get("auth_token"),
            show_default=False,
        )
    endpoint, token = str(endpoint).strip(), str(token).strip()
    if not endpoint or not token or any(c.isspace() for c in endpoint + token):
        raise CliError(
            "the endpoint and the token must be non-empty and without spaces", EXIT_USAGE
        )
    if not no_check:
        from sevenbridges.cli.connection import connect

        user = connect(None, endpoint, token).users.me()
        note(f"token accepted: signed in as {user.username}")
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    write_private(path, edit_profile(text, name, {"api_endpoint": endpoint, "auth_token": token}))
    note(f"profile [{name}] written to {path}")


@click.command()
@output_options
def whoami() -> None:
    """Show the user the token belongs to."""
    current = state()
    api = current.api()
    user = api.users.me()
    emit_one(current.output, user, [*USER_COLUMNS, ("endpoint", lambda _user: api.url)])
