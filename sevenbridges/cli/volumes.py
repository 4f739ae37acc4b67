"""``sbg volumes ls|show|create-s3|create-gcs|update|delete|objects|members``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from sevenbridges.cli.main import EXIT_USAGE, CliError, state
from sevenbridges.cli.output import (
    emit_list,
    emit_one,
    human_size,
    note,
    output_options,
    print_json,
    raw,
)
from sevenbridges.errors import PaginationError, ResourceNotModified

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
OBJECT_COLUMNS = [
    ("location", "location"),
    ("type", lambda record: "prefix" if "prefix" in record else "object"),
    ("size", lambda record: human_size((record.get("metadata") or {}).get("size"))),
    ("modified", "metadata.last_modified"),
]
VOLUME_PERMISSIONS = ("read", "copy", "write", "admin")


def _volume_permissions(member: dict[str, Any]) -> str:
    granted = member.get("permissions") or {}
    return ",".join(name for name in VOLUME_PERMISSIONS if granted.get(name)) or "-"


MEMBER_COLUMNS = [
    ("username", "username"),
    ("type", "type"),
    ("permissions", _volume_permissions),
]
ACCESS_MODE = click.Choice(["RO", "RW"], case_sensitive=False)


@click.group()
def volumes() -> None:
    """Cloud buckets connected to the platform: connect, change, list their objects."""


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


def _common_create_options(command: Any) -> Any:
    """Options every ``create-*`` command takes, in the order --help shows them."""
    for option in reversed(
        [
            click.option("--name", required=True, help="Name of the volume (its id: you/NAME)."),
            click.option("--bucket", required=True, help="Name of the bucket."),
            click.option("--prefix", help="Only keys below this prefix (a folder of the bucket)."),
            click.option(
                "--access-mode",
                type=ACCESS_MODE,
                default="RW",
                show_default=True,
                help="RO: import only; RW: exports too.",
            ),
            click.option("--description", help="Description of the volume."),
        ]
    ):
        command = option(command)
    return command


@volumes.command("create-s3")
@_common_create_options
@click.option("--access-key-id", metavar="KEY", help="Access key id of an AWS user.")
@click.option(
    "--secret-access-key",
    metavar="SECRET",
    envvar="SBG_VOLUME_SECRET_ACCESS_KEY",
    help="Its secret (or set SBG_VOLUME_SECRET_ACCESS_KEY; asked for when missing).",
)
@click.option("--role-arn", metavar="ARN", help="IAM role the platform assumes instead of keys.")
@click.option("--external-id", metavar="ID", help="External id the role requires.")
@output_options
def create_s3(
    name: str,
    bucket: str,
    prefix: str | None,
    access_mode: str,
    description: str | None,
    access_key_id: str | None,
    secret_access_key: str | None,
    role_arn: str | None,
    external_id: str | None,
) -> None:
    """Connect an S3 bucket, with an access key pair or an IAM role."""
    current = state()
    volumes_api = current.api().volumes
    common = {
        "name": name,
        "bucket": bucket,
        "access_mode": access_mode.upper(),
        "description": description,
        "prefix": prefix,
    }
    if role_arn and access_key_id:
        raise CliError("give either --access-key-id or --role-arn, not both", EXIT_USAGE)
    if role_arn:
        if not external_id:
            raise CliError("--role-arn needs --external-id", EXIT_USAGE)
        volume = volumes_api.create_s3_volume_role_auth(
            role_arn=role_arn, external_id=external_id, **common
        )
    elif access_key_id:
        if not secret_access_key:
            # Asked for rather than required as a flag, so it need not sit in shell history.
            secret_access_key = click.prompt("Secret access key", hide_input=True)
        volume = volumes_api.create_s3_volume(
            access_key_id=access_key_id, secret_access_key=secret_access_key, **common
        )
    else:
        raise CliError("give --access-key-id (and its secret) or --role-arn", EXIT_USAGE)
    note(f"created volume {volume.id}")
    emit_one(current.output, volume, VOLUME_DETAIL)


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CliError(f"cannot read {what} {path}: {exc}", EXIT_USAGE)
    if not isinstance(document, dict):
        raise CliError(f"{what} {path} must hold a JSON object", EXIT_USAGE)
    return document


@volumes.command("create-gcs")
@_common_create_options
@click.option(
    "--key-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A service account's JSON key file (client_email and private_key are used).",
)
@click.option(
    "--iam-config",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A workload identity federation configuration (JSON) instead of a key.",
)
@output_options
def create_gcs(
    name: str,
    bucket: str,
    prefix: str | None,
    access_mode: str,
    description: str | None,
    key_file: Path | None,
    iam_config: Path | None,
) -> None:
    """Connect a Google Cloud Storage bucket."""
    current = state()
    volumes_api = current.api().volumes
    common = {
        "name": name,
        "bucket": bucket,
        "access_mode": access_mode.upper(),
        "description": description,
        "prefix": prefix,
    }
    if bool(key_file) == bool(iam_config):
        raise CliError("give exactly one of --key-file and --iam-config", EXIT_USAGE)
    if key_file:
        key = _read_json(key_file, "key file")
        missing = [field for field in ("client_email", "private_key") if not key.get(field)]
        if missing:
            raise CliError(f"key file {key_file} has no {' or '.join(missing)}", EXIT_USAGE)
        volume = volumes_api.create_google_volume(
            client_email=key["client_email"], private_key=key["private_key"], **common
        )
    else:
        assert iam_config is not None
        volume = volumes_api.create_google_iam_volume(
            configuration=_read_json(iam_config, "IAM configuration"), **common
        )
    note(f"created volume {volume.id}")
    emit_one(current.output, volume, VOLUME_DETAIL)


@volumes.command("update")
@click.argument("volume_id", metavar="VOLUME")
@click.option("--description", help="New description.")
@click.option("--access-mode", type=ACCESS_MODE, help="RO or RW.")
@click.option("--active/--inactive", default=None, help="Activate or deactivate the volume.")
@click.option("--access-key-id", metavar="KEY", help="New S3 access key id.")
@click.option(
    "--secret-access-key",
    metavar="SECRET",
    envvar="SBG_VOLUME_SECRET_ACCESS_KEY",
    help="Its secret (or set SBG_VOLUME_SECRET_ACCESS_KEY; asked for when missing).",
)
@output_options
def update_volume(
    volume_id: str,
    description: str | None,
    access_mode: str | None,
    active: bool | None,
    access_key_id: str | None,
    secret_access_key: str | None,
) -> None:
    """Change a volume's description, access mode, state or S3 keys (needs admin)."""
    current = state()
    volume = current.api().volumes.get(volume_id)
    if description is not None:
        volume.description = description
    if access_mode is not None:
        volume.access_mode = access_mode.upper()
    if active is not None:
        volume.active = active
    if access_key_id:
        if not secret_access_key:
            secret_access_key = click.prompt("Secret access key", hide_input=True)
        volume.service["credentials"] = {
            "access_key_id": access_key_id,
            "secret_access_key": secret_access_key,
        }
    try:
        volume.save()
    except ResourceNotModified:
        raise CliError(
            "nothing to change: give --description, --access-mode, --active/--inactive or "
            "--access-key-id",
            EXIT_USAGE,
        )
    note(f"updated volume {volume.id}")
    emit_one(current.output, volume, VOLUME_DETAIL)


@volumes.command("delete")
@click.argument("volume_id", metavar="VOLUME")
def delete_volume(volume_id: str) -> None:
    """Disconnect a volume (it must be inactive; the bucket itself is not touched)."""
    volume = state().api().volumes.get(volume_id)
    volume.delete()
    note(f"deleted volume {volume_id}")


@volumes.command("objects")
@click.argument("volume_id", metavar="VOLUME")
@click.option("--prefix", metavar="P", help="List below this prefix (one level, like ls).")
@output_options
def list_objects(volume_id: str, prefix: str | None) -> None:
    """List one level of a volume's objects and prefixes.

    --json prints {"items": [...], "prefixes": [...]} as the platform lists them, over all pages.
    """
    current = state()
    page = current.api().volumes.get(volume_id).list(prefix=prefix, limit=100)
    items: list[Any] = []
    prefixes: list[Any] = []
    while True:
        items.extend(raw(list(page)))
        prefixes.extend(raw(list(page.prefixes)))
        try:
            page = page.next_page()
        except PaginationError:
            break
    if current.output == "json":
        print_json({"items": items, "prefixes": prefixes})
        return
    rows = [{**entry, "location": entry.get("prefix")} for entry in prefixes] + items
    emit_list(current.output, rows, OBJECT_COLUMNS)


@volumes.command("members")
@click.argument("volume_id", metavar="VOLUME")
@output_options
def list_members(volume_id: str) -> None:
    """List the members of a volume and their permissions."""
    current = state()
    volume = current.api().volumes.get(volume_id)
    emit_list(current.output, list(volume.get_members().all()), MEMBER_COLUMNS)
