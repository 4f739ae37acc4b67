"""``sbg projects ls|show|create|members``."""

from __future__ import annotations

import click

from sevenbridges.cli.main import EXIT_USAGE, CliError, state
from sevenbridges.cli.output import emit_list, emit_one, note, output_options

PROJECT_COLUMNS = [
    ("id", "id"),
    ("name", "name"),
    ("billing group", "billing_group"),
    ("created by", "created_by"),
    ("modified", "modified_on"),
]
PROJECT_DETAIL = [
    *PROJECT_COLUMNS,
    ("description", "description"),
    ("tags", "tags"),
    ("root folder", "root_folder"),
    ("settings", "settings"),
]
PERMISSIONS = ("read", "copy", "write", "execute", "admin")


def _permissions(member: dict) -> str:
    granted = member.get("permissions") or {}
    return ",".join(name for name in PERMISSIONS if granted.get(name)) or "-"


MEMBER_COLUMNS = [
    ("username", "username"),
    ("type", "type"),
    ("permissions", _permissions),
]


@click.group()
def projects() -> None:
    """List, show and create projects; list their members."""


@projects.command("ls")
@click.option("--name", help="Only projects with this name.")
@click.option("--owner", help="Only projects of this user.")
@click.option("--limit", type=click.IntRange(min=1), help="Show at most this many.")
@output_options
def list_projects(name: str | None, owner: str | None, limit: int | None) -> None:
    """List the projects you can see."""
    current = state()
    found = current.api().projects.query(name=name, owner=owner, limit=min(limit or 100, 100))
    items = []
    for project in found.all():
        items.append(project)
        if limit and len(items) >= limit:
            break
    emit_list(current.output, items, PROJECT_COLUMNS)


@projects.command("show")
@click.argument("project_id", metavar="PROJECT")
@output_options
def show_project(project_id: str) -> None:
    """Show one project (PROJECT is owner/name)."""
    current = state()
    emit_one(current.output, current.api().projects.get(project_id), PROJECT_DETAIL)


@projects.command("create")
@click.option("--name", required=True, help="Name of the new project.")
@click.option(
    "--billing-group",
    metavar="ID",
    help="Billing group to charge (default: your only billing group, if you have one).",
)
@click.option("--description", help="Description (Markdown).")
@click.option("--tag", "tags", multiple=True, help="A tag (repeatable).")
@output_options
def create_project(
    name: str, billing_group: str | None, description: str | None, tags: tuple[str, ...]
) -> None:
    """Create a project owned by you."""
    current = state()
    api = current.api()
    if billing_group is None:
        groups = list(api.billing_groups.query().all())
        if len(groups) != 1:
            names = ", ".join(f"{group.id} ({group.name})" for group in groups) or "none"
            raise CliError(
                f"choose a billing group with --billing-group; yours: {names}", EXIT_USAGE
            )
        billing_group = groups[0].id
    project = api.projects.create(
        name=name, billing_group=billing_group, description=description, tags=list(tags) or None
    )
    note(f"created project {project.id}")
    emit_one(current.output, project, PROJECT_DETAIL)


@projects.command("members")
@click.argument("project_id", metavar="PROJECT")
@output_options
def list_members(project_id: str) -> None:
    """List the members of a project and their permissions."""
    current = state()
    project = current.api().projects.get(project_id)
    emit_list(current.output, list(project.get_members().all()), MEMBER_COLUMNS)
