"""``sbg apps ls|show|install``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click

from sevenbridges.cli.main import EXIT_USAGE, CliError, state
from sevenbridges.cli.output import emit_list, emit_one, note, output_options, print_json
from sevenbridges.errors import NotFound

APP_COLUMNS = [
    ("id", lambda app: _app_id(app)),
    ("name", "name"),
    ("revision", "revision"),
    ("class", "raw.class"),
]
APP_DETAIL = [
    ("id", lambda app: _app_id(app)),
    ("name", "name"),
    ("project", "project"),
    ("revision", "revision"),
    ("class", "raw.class"),
    ("cwl version", "raw.cwlVersion"),
    ("inputs", lambda app: ", ".join(_port_ids(app.get("raw", {}).get("inputs")))),
    ("outputs", lambda app: ", ".join(_port_ids(app.get("raw", {}).get("outputs")))),
]


def _app_id(app: dict[str, Any]) -> str:
    """The app id without its revision (the raw ``id`` names one revision)."""
    full = str(app.get("id") or "")
    parts = full.split("/")
    return "/".join(parts[:3]) if len(parts) == 4 and parts[3].isdigit() else full


def _as_answered(api: Any, app: Any) -> dict[str, Any]:
    """The platform's own answer for ``app`` (the App model keeps only the fields it knows)."""
    return api.get(url=app.href, append_base=False).json()


def _port_ids(ports: Any) -> list[str]:
    if isinstance(ports, dict):
        return list(ports)
    return [str(port.get("id", "")).lstrip("#") for port in ports or [] if isinstance(port, dict)]


def pack_cwl(path: Path) -> dict[str, Any]:
    """The CWL document at ``path`` with every ``run:`` reference packed into it."""
    try:
        from cwl_utils.pack import pack
    except ImportError:
        raise CliError(
            "installing apps needs cwl-utils: pip install 'sevenbridges-toolkit[local]' "
            "(or pip install cwl-utils)",
            EXIT_USAGE,
        )
    try:
        return pack(str(path.resolve()))
    except Exception as exc:  # cwl-utils raises many kinds of errors for a bad document
        raise CliError(f"cannot pack {path}: {' '.join(str(exc).split())[:500]}", EXIT_USAGE)


def _slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    return slug or "app"


@click.group()
def apps() -> None:
    """CWL apps: list, show, install from a local file."""


@apps.command("ls")
@click.option("--project", metavar="PROJECT", help="Only the apps of this project.")
@click.option("--public", is_flag=True, help="The public apps instead of your projects' apps.")
@click.option("--search", "terms", metavar="TERMS", help="Only apps matching these terms.")
@output_options
def list_apps(project: str | None, public: bool, terms: str | None) -> None:
    """List apps of your projects (or of one project, or the public ones)."""
    current = state()
    found = current.api().apps.query(
        project=project, visibility="public" if public else None, q=terms, limit=100
    )
    emit_list(current.output, list(found.all()), APP_COLUMNS)


@apps.command("show")
@click.argument("app_id", metavar="APP")
@click.option("--revision", type=int, help="Show this revision (default: the latest).")
@click.option("--cwl", is_flag=True, help="Print only the app's CWL document (JSON).")
@output_options
def show_app(app_id: str, revision: int | None, cwl: bool) -> None:
    """Show an app (APP is owner/project/app)."""
    current = state()
    api = current.api()
    app = api.apps.get_revision(app_id, revision) if revision is not None else api.apps.get(app_id)
    if cwl:
        print_json(app.field("raw"))
        return
    emit_one(current.output, _as_answered(api, app), APP_DETAIL)


@apps.command("install")
@click.argument("cwl_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--project", metavar="PROJECT", required=True, help="Project to install into.")
@click.option("--name", "app_name", help="App id within the project (default: from the file name).")
@output_options
def install_app(cwl_file: Path, project: str, app_name: str | None) -> None:
    """Install a CWL tool or workflow from a local file; its `run:` files are packed in.

    Installing again under the same name adds a new revision.
    """
    current = state()
    api = current.api()
    document = pack_cwl(cwl_file)
    app_id = f"{project}/{app_name or _slug(cwl_file.stem)}"
    try:
        latest = api.apps.get(app_id)
    except NotFound:
        app = api.apps.install_app(id=app_id, raw=document)
        note(f"installed {app_id} (revision {app.revision})")
    else:
        app = api.apps.create_revision(id=app_id, revision=int(latest.revision) + 1, raw=document)
        note(f"installed {app_id} revision {app.revision}")
    emit_one(current.output, _as_answered(api, app), APP_DETAIL)
