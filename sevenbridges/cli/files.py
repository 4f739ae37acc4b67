"""``sbg files ls|info|upload|download|cp|mv|rm|mkdir|meta|tag``."""

from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Any

import click

from sevenbridges.cli.main import EXIT_API_ERROR, EXIT_USAGE, CliError, state
from sevenbridges.cli.output import (
    emit_list,
    emit_one,
    human_size,
    note,
    output_options,
    print_json,
)
from sevenbridges.cli.progress import Job, print_summary, run_transfers

FILE_COLUMNS = [
    ("id", "id"),
    ("name", "name"),
    ("type", "type"),
    ("size", lambda record: human_size(record.get("size")) if record.get("type") == "file" else ""),
    ("modified", "modified_on"),
]
FILE_DETAIL = [
    ("id", "id"),
    ("name", "name"),
    ("type", "type"),
    ("size", "size"),
    ("project", "project"),
    ("parent", "parent"),
    ("created", "created_on"),
    ("modified", "modified_on"),
    ("tags", "tags"),
    ("metadata", "metadata"),
]
MIB = 1024 * 1024
GLOB_CHARACTERS = set("*?[")


def _destination(project: str | None, parent: str | None) -> dict[str, str]:
    if (project is None) == (parent is None):
        raise click.UsageError("give exactly one of --project and --parent")
    return {"project": project} if project else {"parent": parent}  # type: ignore[dict-item]


def _children(api: Any, where: dict[str, str]) -> Any:
    return api.files.query(**where, limit=100).all()


# --------------------------------------------------------------------------- ls, info


@click.group()
def files() -> None:
    """Files and folders: list, inspect, upload, download, copy, move, delete, annotate."""


@files.command("ls")
@click.option("--project", metavar="PROJECT", help="List the root of this project.")
@click.option("--parent", metavar="FOLDER_ID", help="List this folder.")
@click.option("--name", "names", multiple=True, help="Only files with this name (repeatable).")
@click.option("--tag", "tags", multiple=True, help="Only files with this tag (repeatable).")
@click.option("--limit", type=click.IntRange(min=1), help="Show at most this many.")
@output_options
def list_files(
    project: str | None,
    parent: str | None,
    names: tuple[str, ...],
    tags: tuple[str, ...],
    limit: int | None,
) -> None:
    """List the files and folders at the root of a project or in a folder."""
    current = state()
    where = _destination(project, parent)
    found = current.api().files.query(
        **where, names=list(names) or None, tags=list(tags) or None, limit=min(limit or 100, 100)
    )
    items = []
    for item in found.all():
        items.append(item)
        if limit and len(items) >= limit:
            break
    emit_list(current.output, items, FILE_COLUMNS)


@files.command("info")
@click.argument("file_ids", metavar="FILE_ID...", nargs=-1, required=True)
@output_options
def file_info(file_ids: tuple[str, ...]) -> None:
    """Show files or folders by id."""
    current = state()
    api = current.api()
    found = [api.files.get(file_id) for file_id in file_ids]
    if len(found) == 1:
        emit_one(current.output, found[0], FILE_DETAIL)
    else:
        emit_list(current.output, found, FILE_COLUMNS)


# --------------------------------------------------------------------------- upload


def _expand(paths: tuple[str, ...], recursive: bool) -> list[tuple[Path, tuple[str, ...]]]:
    """``(local file, folders to create above it)`` for every path, glob and directory."""
    expanded: list[tuple[Path, tuple[str, ...]]] = []
    for given in paths:
        if not os.path.lexists(given) and GLOB_CHARACTERS & set(given):
            matches = sorted(glob.glob(given, recursive=True))
            if not matches:
                raise CliError(f"no local file matches {given!r}", EXIT_USAGE)
        else:
            matches = [given]
        for match in matches:
            path = Path(match)
            if path.is_dir():
                if not recursive:
                    raise CliError(f"{match!r} is a directory: add --recursive", EXIT_USAGE)
                root = path.resolve()
                for directory, subdirectories, filenames in os.walk(root):
                    subdirectories.sort()
                    relative = Path(directory).relative_to(root.parent).parts
                    expanded.extend(
                        (Path(directory) / name, relative) for name in sorted(filenames)
                    )
            elif path.is_file():
                expanded.append((path, ()))
            elif path.exists():
                raise CliError(f"{match!r} is not a regular file", EXIT_USAGE)
            else:
                raise CliError(f"no such local file: {match!r}", EXIT_USAGE)
    return expanded


class FolderMaker:
    """Finds or creates the platform folders that mirror local directories."""

    def __init__(self, api: Any, root: dict[str, str]) -> None:
        self.api = api
        self.root = root
        self.known: dict[tuple[str, ...], str] = {}

    def folder(self, parts: tuple[str, ...]) -> dict[str, str]:
        """The destination (``{"project": …}`` or ``{"parent": folder id}``) for ``parts``."""
        if not parts:
            return self.root
        if parts not in self.known:
            above = self.folder(parts[:-1])
            name = parts[-1]
            existing = [
                item
                for item in self.api.files.query(**above, names=[name]).all()
                if item.name == name
            ]
            if existing and existing[0].is_folder():
                self.known[parts] = existing[0].id
            elif existing:
                raise CliError(f"cannot create folder {'/'.join(parts)!r}: a file has that name")
            else:
                self.known[parts] = self.api.files.create_folder(name=name, **above).id
        return {"parent": self.known[parts]}


def _upload_job(api: Any, path: Path, where: dict[str, str], options: dict[str, Any]) -> Job:
    size = path.stat().st_size

    def start() -> Any:
        return api.files.upload(str(path), wait=False, **where, **options)

    return Job(label=str(path), size=size, start=start, verb="stored")


def _transfer_options(function: Any) -> Any:
    function = click.option(
        "--parallel",
        type=click.IntRange(1, 32),
        default=4,
        show_default=True,
        help="Files transferred at once.",
    )(function)
    return function


@files.command("upload")
@click.argument("paths", metavar="PATH...", nargs=-1, required=True)
@click.option("--project", metavar="PROJECT", help="Upload to the root of this project.")
@click.option("--parent", metavar="FOLDER_ID", help="Upload into this folder.")
@click.option("-r", "--recursive", is_flag=True, help="Upload directories, keeping their folders.")
@click.option("--overwrite", is_flag=True, help="Replace files of the same name.")
@click.option(
    "--part-size",
    type=click.IntRange(min=5),
    metavar="MIB",
    help="Part size in MiB (default: 32, at least 5).",
)
@_transfer_options
@output_options
def upload(
    paths: tuple[str, ...],
    project: str | None,
    parent: str | None,
    recursive: bool,
    overwrite: bool,
    part_size: int | None,
    parallel: int,
) -> int:
    """Upload files, globs and (with --recursive) directories.

    An interrupted upload (Ctrl-C, crash, lost network) resumes when the same command is run
    again: parts already stored are not sent twice.
    """
    current = state()
    root = _destination(project, parent)
    local = _expand(paths, recursive)
    api = current.api()
    folders = FolderMaker(api, root)
    options = {"overwrite": overwrite, "part_size": part_size * MIB if part_size else None}
    jobs = [_upload_job(api, path, folders.folder(above), options) for path, above in local]
    summary = run_transfers(jobs, parallel=parallel, quiet=current.quiet, action="uploading")
    uploaded = [job.result for job in summary.done if job.result is not None]
    if current.output == "json":
        print_json(uploaded)
    else:
        if not current.quiet:
            print_summary(summary, "uploaded")
        if uploaded:
            emit_list(current.output, uploaded, FILE_COLUMNS)
    return EXIT_API_ERROR if summary.failed else 0


# --------------------------------------------------------------------------- download


def _walk(api: Any, where: dict[str, str], relative: Path) -> list[tuple[Any, Path]]:
    """Every file under a project root or folder, with its path relative to the download root."""
    found: list[tuple[Any, Path]] = []
    for item in _children(api, where):
        if item.is_folder():
            found.extend(_walk(api, {"parent": item.id}, relative / item.name))
        else:
            found.append((item, relative / item.name))
    return found


def _download_job(remote: Any, target: Path, overwrite: bool) -> Job:
    size = int(remote.size or 0)
    job = Job(label=str(target), size=size, start=lambda: None, verb="downloaded")
    job.result = {"id": remote.id, "path": str(target), "size": size}
    if target.exists() and not overwrite:
        if target.is_file() and target.stat().st_size == size:
            job.skipped = "already there"
        else:
            job.start = lambda: _refuse(target)
        return job

    def start() -> Any:
        target.parent.mkdir(parents=True, exist_ok=True)
        return remote.download(str(target), wait=False, overwrite=True)

    job.start = start
    return job


def _refuse(target: Path) -> Any:
    from sevenbridges.errors import SbgError

    raise SbgError(f"{target} exists with other content: add --overwrite to replace it")


@files.command("download")
@click.argument("arguments", metavar="[FILE_ID...] DEST", nargs=-1, required=True)
@click.option("--project", metavar="PROJECT", help="Download from this project (with -r: all).")
@click.option("--parent", metavar="FOLDER_ID", help="Download the files of this folder.")
@click.option("-r", "--recursive", is_flag=True, help="Include folders and their contents.")
@click.option("--overwrite", is_flag=True, help="Replace local files that differ.")
@_transfer_options
@output_options
def download(
    arguments: tuple[str, ...],
    project: str | None,
    parent: str | None,
    recursive: bool,
    overwrite: bool,
    parallel: int,
) -> int:
    """Download files by id, or a whole project or folder (--project/--parent with -r).

    DEST is a directory, or the target file name when one file is downloaded. Interrupted
    downloads resume when the same command is run again; files already there are skipped.
    """
    current = state()
    api = current.api()
    *file_ids, dest_text = arguments
    dest = Path(dest_text)
    remote: list[tuple[Any, Path]] = []
    if project or parent:
        if file_ids:
            raise click.UsageError("give file ids or --project/--parent, not both")
        where = _destination(project, parent)
        if recursive:
            remote = _walk(api, where, Path())
        else:
            remote = [(f, Path(f.name)) for f in _children(api, where) if not f.is_folder()]
        targets = [(item, dest / relative) for item, relative in remote]
    else:
        if not file_ids:
            raise click.UsageError("name the files to download, or use --project/--parent")
        targets = []
        single_target = len(file_ids) == 1 and not dest.is_dir() and not dest_text.endswith("/")
        for file_id in file_ids:
            item = api.files.get(file_id)
            if item.is_folder():
                if not recursive:
                    raise CliError(f"{file_id} is a folder: add --recursive", EXIT_USAGE)
                targets.extend(
                    (child, dest / item.name / relative)
                    for child, relative in _walk(api, {"parent": item.id}, Path())
                )
            elif single_target:
                targets.append((item, dest))
            else:
                targets.append((item, dest / item.name))
    jobs = [_download_job(item, target, overwrite) for item, target in targets]
    summary = run_transfers(jobs, parallel=parallel, quiet=current.quiet, action="downloading")
    if current.output == "json":
        print_json([job.result for job in summary.done + summary.skipped])
    elif not current.quiet:
        print_summary(summary, "downloaded")
    return EXIT_API_ERROR if summary.failed else 0


# --------------------------------------------------------------------------- cp, mv, rm, mkdir


@files.command("cp")
@click.argument("file_ids", metavar="FILE_ID...", nargs=-1, required=True)
@click.option("--project", metavar="PROJECT", help="Copy to the root of this project.")
@click.option("--parent", metavar="FOLDER_ID", help="Copy into this folder.")
@click.option("--name", help="Name of the copy (one file only).")
@output_options
def copy_files(
    file_ids: tuple[str, ...], project: str | None, parent: str | None, name: str | None
) -> None:
    """Copy files to a project or a folder."""
    current = state()
    _destination(project, parent)
    if name and len(file_ids) > 1:
        raise click.UsageError("--name needs exactly one file")
    api = current.api()
    copies = []
    for file_id in file_ids:
        item = api.files.get(file_id)
        copy = (
            item.copy(project=project, name=name)
            if project
            else item.copy_to_folder(parent, name=name)
        )
        copies.append(copy)
    emit_list(current.output, copies, FILE_COLUMNS)


@files.command("mv")
@click.argument("file_ids", metavar="FILE_ID...", nargs=-1, required=True)
@click.option("--parent", metavar="FOLDER_ID", help="Move into this folder.")
@click.option("--project", metavar="PROJECT", help="Move to the root of this project.")
@click.option("--name", help="New name (one file only); without a destination: rename in place.")
@output_options
def move_files(
    file_ids: tuple[str, ...], parent: str | None, project: str | None, name: str | None
) -> None:
    """Move (or rename) files within a project."""
    current = state()
    if name and len(file_ids) > 1:
        raise click.UsageError("--name needs exactly one file")
    if project and parent:
        raise click.UsageError("give at most one of --project and --parent")
    if not (project or parent or name):
        raise click.UsageError("give --parent, --project or --name")
    api = current.api()
    if project:
        parent = api.projects.get(project).root_folder
    moved = []
    for file_id in file_ids:
        item = api.files.get(file_id)
        if parent is None:
            parent = item.parent
        moved.append(item.move_to_folder(parent, name=name))
    emit_list(current.output, moved, FILE_COLUMNS)


@files.command("rm")
@click.argument("file_ids", metavar="FILE_ID...", nargs=-1, required=True)
def remove_files(file_ids: tuple[str, ...]) -> None:
    """Delete files (and empty folders) by id."""
    api = state().api()
    for file_id in file_ids:
        item = api.files.get(file_id)
        item.delete()
        note(f"deleted {item.name} ({file_id})")


@files.command("mkdir")
@click.argument("path")
@click.option("--project", metavar="PROJECT", help="Create at the root of this project.")
@click.option("--parent", metavar="FOLDER_ID", help="Create inside this folder.")
@output_options
def make_folder(path: str, project: str | None, parent: str | None) -> None:
    """Create a folder; PATH may name nested folders (a/b/c), created as needed."""
    current = state()
    parts = tuple(part for part in path.split("/") if part)
    if not parts:
        raise click.UsageError("PATH must name a folder")
    maker = FolderMaker(current.api(), _destination(project, parent))
    folder_id = maker.folder(parts)["parent"]
    emit_one(current.output, current.api().files.get(folder_id), FILE_DETAIL)


# --------------------------------------------------------------------------- meta, tag


def _pairs(assignments: tuple[str, ...]) -> dict[str, str]:
    pairs = {}
    for assignment in assignments:
        key, separator, value = assignment.partition("=")
        if not separator or not key:
            raise click.UsageError(f"expected KEY=VALUE, got {assignment!r}")
        pairs[key] = value
    return pairs


@files.command("meta")
@click.argument("file_id")
@click.argument("assignments", metavar="[KEY=VALUE...]", nargs=-1)
@click.option("--unset", "unset", multiple=True, metavar="KEY", help="Remove a key (repeatable).")
@click.option("--replace", is_flag=True, help="Replace all metadata with the given pairs.")
@output_options
def metadata(
    file_id: str, assignments: tuple[str, ...], unset: tuple[str, ...], replace: bool
) -> None:
    """Show a file's metadata, or set keys (KEY=VALUE) and remove them (--unset KEY)."""
    current = state()
    item = current.api().files.get(file_id)
    pairs = _pairs(assignments)
    if pairs or unset or replace:
        if replace:
            item.metadata = pairs
        else:
            for key, value in pairs.items():
                item.metadata[key] = value
            for key in unset:
                item.metadata[key] = None
        item.save(silent=True)
    values = dict(item.field("metadata") or {})
    if current.output == "json":
        print_json(values)
    else:
        emit_list(
            current.output,
            [{"key": k, "value": v} for k, v in values.items()],
            [("key", "key"), ("value", "value")],
        )


@files.command("tag")
@click.argument("file_id")
@click.argument("new_tags", metavar="[TAG...]", nargs=-1)
@click.option("--remove", "removed", multiple=True, metavar="TAG", help="Remove a tag.")
@click.option("--clear", is_flag=True, help="Remove every tag first.")
@output_options
def tag(file_id: str, new_tags: tuple[str, ...], removed: tuple[str, ...], clear: bool) -> None:
    """Show a file's tags, or add (TAG...) and remove (--remove TAG) tags."""
    current = state()
    item = current.api().files.get(file_id)
    tags = [] if clear else list(item.tags or [])
    for value in new_tags:
        if value not in tags:
            tags.append(value)
    tags = [value for value in tags if value not in removed]
    if new_tags or removed or clear:
        item.tags = tags
        item.save(silent=True)
    values = list(item.field("tags") or [])
    if current.output == "json":
        print_json(values)
    else:
        for value in values:
            click.echo(value)
