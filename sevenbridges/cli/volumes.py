"""``sbg volumes ls|show`` (imports and exports are not part of the command line yet)."""

from __future__ import annotations

import click

from sevenbridges.cli.main import state
from sevenbridges.cli.output import emit_list, emit_one, output_options

VOLUME_COLUMNS = [
    ("id", "id"),
    ("type", "service.type"),
    ("bucket", "service.bucket"),
    ("prefix", "service.prefix"),
    ("access", "access_mode"),
    ("active", "active"),
]
VOLUME_DETAIL = [
    ("id", "id"),
    ("name", "name"),
    ("description", "description"),
    ("type", "service.type"),
    ("bucket", "service.bucket"),
    ("prefix", "service.prefix"),
    ("endpoint", "service.endpoint"),
    ("access", "access_mode"),
    ("active", "active"),
    ("created", "created_on"),
    ("modified", "modified_on"),
]


@click.group()
def volumes() -> None:
    """Cloud buckets connected to the platform."""


@volumes.command("ls")
@output_options
def list_volumes() -> None:
    """List the volumes you are a member of."""
    current = state()
    emit_list(current.output, list(current.api().volumes.query(limit=100).all()), VOLUME_COLUMNS)


@volumes.command("show")
@click.argument("volume_id", metavar="VOLUME")
@output_options
def show_volume(volume_id: str) -> None:
    """Show one volume (VOLUME is owner/name)."""
    current = state()
    emit_one(current.output, current.api().volumes.get(volume_id), VOLUME_DETAIL)
