"""Automations (templates), their members and code packages.

Who may do what (``permissions`` of an automation member, merged over the user's own row and
the rows of teams they belong to): ``read`` sees the automation, its packages and runs;
``write`` edits it and adds packages; ``execute`` starts, stops and reruns runs; ``admin``
manages members, archives and restores. The owner is an admin member for good. Strangers get
404 (13002), as for projects.

Storage: each automation gets a project of its owner (``<owner>/automation-<id8>``) that holds
its code packages (uploaded through ``/automation/upload``), run logs and state files. Members
of the automation reach that project's files through ``services/access.py``.
"""

from __future__ import annotations

import io
import json
import re
import tarfile
import uuid
import zipfile
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, or_, select

from sevenbridges_local import errors
from sevenbridges_local.clock import utcnow
from sevenbridges_local.db.automations import Automation, AutomationMember, AutomationPackage
from sevenbridges_local.db.models import Project
from sevenbridges_local.db.teams import Team, TeamMember
from sevenbridges_local.services import files as file_service
from sevenbridges_local.services import projects, users
from sevenbridges_local.services.access import PERMISSIONS, Access
from sevenbridges_local.services.context import Page, PageRequest, ServiceContext, paginate
from sevenbridges_local.storage import BlobStore

NAME_MAX_LENGTH = 255
VERSION_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")
PYTHON_VERSIONS = ("3.6", "3.7", "3.8", "3.9", "3.10", "3.11", "3.12")
MEMORY_MIN_MB = 64
MEMORY_MAX_MB = 64 * 1024
# A code package is read whole into memory to be checked, and unpacked for every run.
PACKAGE_MAX_BYTES = 50 * 1024 * 1024
PACKAGE_MAX_UNPACKED_BYTES = 200 * 1024 * 1024
PACKAGE_MAX_ENTRIES = 10_000
MANIFEST_NAME = "automation.json"
DEFAULT_ENTRYPOINTS = ("__main__.py", "main.py")
SCHEMA_TYPES = ("string", "integer", "number", "boolean", "object", "array", "file", "any")
DEFAULT_MEMBER_PERMISSIONS = {
    "read": True,
    "copy": False,
    "write": False,
    "execute": True,
    "admin": False,
}
USER = "USER"
TEAM = "TEAM"


# --------------------------------------------------------------------------------------------
# Access


def _not_found(automation_id: str) -> errors.ApiError:
    return errors.not_found(
        f"Automation '{automation_id}' does not exist.", errors.AUTOMATION_NOT_FOUND
    )


def _member_rows(session: Any, automation_id: str, user_id: int) -> list[AutomationMember]:
    teams = select(TeamMember.team_id).where(TeamMember.user_id == user_id)
    return list(
        session.scalars(
            select(AutomationMember).where(
                AutomationMember.automation_id == automation_id,
                or_(AutomationMember.user_id == user_id, AutomationMember.team_id.in_(teams)),
            )
        )
    )


def automation_access(session: Any, automation: Automation, user_id: int) -> Access | None:
    """The user's merged permissions on the automation (None: no access at all)."""
    rows = _member_rows(session, automation.id, user_id)
    if not rows:
        return None
    access = Access()
    for row in rows:
        access = access.merged(row, direct=row.user_id == user_id)
    return access


def visible_automation_ids(user_id: int) -> Select[Any]:
    teams = select(TeamMember.team_id).where(TeamMember.user_id == user_id)
    return select(AutomationMember.automation_id).where(
        or_(AutomationMember.user_id == user_id, AutomationMember.team_id.in_(teams))
    )


def load_automation(
    ctx: ServiceContext, automation_id: Any, permission: str = "read", action: str = "do this"
) -> Automation:
    if not isinstance(automation_id, str) or not automation_id.strip():
        raise errors.bad_request("Automation id must not be empty.", errors.AUTOMATION_INVALID)
    automation = ctx.session.get(Automation, automation_id)
    access = automation_access(ctx.session, automation, ctx.actor.user_id) if automation else None
    if automation is None or access is None:
        raise _not_found(automation_id)
    if not getattr(access, permission):
        raise errors.forbidden(
            f"You need the '{permission}' permission on automation '{automation.name}' "
            f"to {action}.",
            errors.AUTOMATION_FORBIDDEN,
        )
    return automation


def storage_access(session: Any, project_id: int, user_id: int) -> Access | None:
    """What automation members may do on the automation's storage project: read its files
    (logs, state files, packages) and, with ``write``, upload code packages there."""
    automation = session.scalar(
        select(Automation).where(Automation.storage_project_id == project_id)
    )
    if automation is None:
        return None
    access = automation_access(session, automation, user_id)
    if access is None:
        return None
    return Access(read=True, copy=access.copy or access.read, write=access.write)


# --------------------------------------------------------------------------------------------
# Automations


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise errors.bad_request("Automation name must not be empty.", errors.AUTOMATION_INVALID)
    name = name.strip()
    if len(name) > NAME_MAX_LENGTH:
        raise errors.bad_request(
            f"Automation name must be at most {NAME_MAX_LENGTH} characters.",
            errors.AUTOMATION_INVALID,
        )
    return name


def check_memory_limit(value: Any, what: str = "memory_limit") -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise errors.bad_request(f"'{what}' must be an integer (MB).", errors.AUTOMATION_INVALID)
    if not MEMORY_MIN_MB <= value <= MEMORY_MAX_MB:
        raise errors.bad_request(
            f"'{what}' must be between {MEMORY_MIN_MB} and {MEMORY_MAX_MB} MB.",
            errors.AUTOMATION_INVALID,
        )
    return value


def _check_dict(value: Any, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise errors.bad_request(f"'{what}' must be a JSON object.", errors.AUTOMATION_INVALID)
    return value


@dataclass(frozen=True)
class AutomationValues:
    name: Any = None
    description: Any = None
    billing_group: Any = None
    secret_settings: Any = None
    project_based: Any = None
    memory_limit: Any = None


def create_automation(ctx: ServiceContext, values: AutomationValues) -> Automation:
    name = _check_name(values.name)
    memory_limit = check_memory_limit(values.memory_limit)
    secret_settings = _check_dict(values.secret_settings, "secret_settings")
    automation_id = str(uuid.uuid4())
    storage = projects.create_project(
        ctx,
        {
            "name": f"automation-{automation_id[:8]}",
            "description": f"Code packages, logs and state files of automation '{name}'.",
            "billing_group": values.billing_group,
        },
    )
    me = users.current_user(ctx)
    now = utcnow()
    automation = Automation(
        id=automation_id,
        name=name,
        description=values.description or "",
        billing_group_id=storage.billing_group_id,
        owner_id=me.id,
        storage_project_id=storage.id,
        secret_settings=secret_settings,
        memory_limit=memory_limit,
        project_based=bool(values.project_based),
        archived=False,
        created_by=me.username,
        modified_by=me.username,
        created_on=now,
        modified_on=now,
    )
    ctx.session.add(automation)
    ctx.session.flush()
    ctx.session.add(
        AutomationMember(
            automation_id=automation.id,
            member_type=USER,
            user_id=me.id,
            **{name: True for name in PERMISSIONS},
            created_on=now,
        )
    )
    ctx.session.commit()
    return automation


def list_automations(
    ctx: ServiceContext,
    page: PageRequest,
    *,
    name: str | None = None,
    include_archived: bool = False,
    project_based: bool | None = None,
) -> Page[Automation]:
    statement = (
        select(Automation)
        .where(Automation.id.in_(visible_automation_ids(ctx.actor.user_id)))
        .order_by(Automation.created_on, Automation.id)
    )
    if name:
        statement = statement.where(Automation.name == name)
    if not include_archived:
        statement = statement.where(Automation.archived.is_(False))
    if project_based is not None:
        statement = statement.where(Automation.project_based.is_(project_based))
    return paginate(ctx.session, statement, page)


def update_automation(
    ctx: ServiceContext, automation_id: str, changes: dict[str, Any]
) -> Automation:
    automation = load_automation(ctx, automation_id, "write", "edit it")
    if "name" in changes:
        automation.name = _check_name(changes["name"])
    if "description" in changes:
        description = changes["description"]
        if description is not None and not isinstance(description, str):
            raise errors.bad_request("'description' must be a string.", errors.AUTOMATION_INVALID)
        automation.description = description or ""
    if "secret_settings" in changes:
        automation.secret_settings = _check_dict(changes["secret_settings"], "secret_settings")
    if "memory_limit" in changes:
        automation.memory_limit = check_memory_limit(changes["memory_limit"])
    if "project_based" in changes:
        if not isinstance(changes["project_based"], bool):
            raise errors.bad_request(
                "'project_based' must be a boolean.", errors.AUTOMATION_INVALID
            )
        automation.project_based = changes["project_based"]
    if changes.get("billing_group") is not None:
        from sevenbridges_local.services import billing

        automation.billing_group_id = billing.get_group(ctx, changes["billing_group"]).id
    automation.modified_on = utcnow()
    automation.modified_by = ctx.actor.username
    ctx.session.commit()
    return automation


def set_archived(ctx: ServiceContext, automation_id: str, archived: bool) -> Automation:
    automation = load_automation(ctx, automation_id, "admin", "archive or restore it")
    automation.archived = archived
    automation.modified_on = utcnow()
    automation.modified_by = ctx.actor.username
    ctx.session.commit()
    return automation


def storage_project(ctx: ServiceContext, automation: Automation) -> Project:
    project = (
        ctx.session.get(Project, automation.storage_project_id)
        if automation.storage_project_id is not None
        else None
    )
    if project is None:
        raise errors.conflict(
            f"The storage project of automation '{automation.name}' was deleted.",
            errors.AUTOMATION_ARCHIVED,
        )
    return project


# --------------------------------------------------------------------------------------------
# Members


def _check_permissions(raw: Any) -> dict[str, bool]:
    if raw is None:
        return dict(DEFAULT_MEMBER_PERMISSIONS)
    if not isinstance(raw, dict):
        raise errors.bad_request("'permissions' must be a JSON object.", errors.AUTOMATION_INVALID)
    permissions: dict[str, bool] = {}
    for key, value in raw.items():
        if key not in PERMISSIONS:
            raise errors.bad_request(
                f"Unknown permission '{key}'; use {', '.join(PERMISSIONS)}.",
                errors.AUTOMATION_INVALID,
            )
        if not isinstance(value, bool):
            raise errors.bad_request(
                f"Permission '{key}' must be true or false.", errors.AUTOMATION_INVALID
            )
        permissions[key] = value
    return permissions


def _apply(member: AutomationMember, permissions: dict[str, bool]) -> None:
    for key, value in permissions.items():
        setattr(member, key, value)
    member.read = True  # membership itself grants read
    if member.admin:
        for key in PERMISSIONS:
            setattr(member, key, True)


def member_label(member: AutomationMember) -> str:
    if member.member_type == TEAM:
        return member.team_id or ""
    return member.user.username if member.user is not None else ""


def team_of(ctx: ServiceContext, member: AutomationMember) -> Team | None:
    return ctx.session.get(Team, member.team_id) if member.team_id else None


def _find_member(ctx: ServiceContext, automation: Automation, name: str) -> AutomationMember:
    user = users.find_user(ctx.session, name)
    conditions = [AutomationMember.team_id == name]
    if user is not None:
        conditions.append(AutomationMember.user_id == user.id)
    member = ctx.session.scalar(
        select(AutomationMember).where(
            AutomationMember.automation_id == automation.id, or_(*conditions)
        )
    )
    if member is None:
        raise errors.not_found(
            f"'{name}' is not a member of automation '{automation.name}'.",
            errors.AUTOMATION_MEMBER_NOT_FOUND,
        )
    return member


def list_members(
    ctx: ServiceContext, automation_id: str, page: PageRequest
) -> tuple[Automation, Page[AutomationMember]]:
    automation = load_automation(ctx, automation_id)
    statement = (
        select(AutomationMember)
        .where(AutomationMember.automation_id == automation.id)
        .order_by(AutomationMember.id)
    )
    return automation, paginate(ctx.session, statement, page)


def get_member(
    ctx: ServiceContext, automation_id: str, name: str
) -> tuple[Automation, AutomationMember]:
    automation = load_automation(ctx, automation_id)
    return automation, _find_member(ctx, automation, name)


def add_member(
    ctx: ServiceContext,
    automation_id: str,
    *,
    username: Any = None,
    team_id: Any = None,
    member_type: Any = None,
    permissions: Any = None,
) -> tuple[Automation, AutomationMember]:
    automation = load_automation(ctx, automation_id, "admin", "manage its members")
    wanted = _check_permissions(permissions)
    kind = (member_type or (TEAM if team_id and not username else USER)).upper()
    member = AutomationMember(automation_id=automation.id, member_type=kind, created_on=utcnow())
    if kind == USER:
        if not isinstance(username, str) or not username:
            raise errors.bad_request(
                "Give the 'username' of the user to add.", errors.MEMBER_USERNAME_EMPTY
            )
        user = users.find_user(ctx.session, username)
        if user is None or user.disabled:
            raise errors.not_found(f"User '{username}' does not exist.", errors.USER_NOT_FOUND)
        taken = AutomationMember.user_id == user.id
        member.user_id = user.id
    elif kind == TEAM:
        if not isinstance(team_id, str) or not team_id:
            raise errors.bad_request(
                "Give the 'id' of the team to add.", errors.MEMBER_USERNAME_EMPTY
            )
        from sevenbridges_local.services import teams

        team = teams.find_team(ctx, team_id)  # 404 for teams outside the caller's division
        taken = AutomationMember.team_id == team.id
        member.team_id = team.id
    else:
        raise errors.bad_request(
            f"Member type '{member_type}' is not USER or TEAM.", errors.MEMBER_TYPE_INVALID
        )
    exists = ctx.session.scalar(
        select(AutomationMember.id).where(AutomationMember.automation_id == automation.id, taken)
    )
    if exists is not None:
        raise errors.conflict(
            "Already a member of this automation.", errors.AUTOMATION_MEMBER_EXISTS
        )
    for key in PERMISSIONS:
        setattr(member, key, False)
    _apply(member, wanted)
    ctx.session.add(member)
    ctx.session.commit()
    return automation, member


def change_member(
    ctx: ServiceContext, automation_id: str, name: str, permissions: Any
) -> tuple[Automation, AutomationMember]:
    automation = load_automation(ctx, automation_id, "admin", "manage its members")
    member = _find_member(ctx, automation, name)
    if member.user_id == automation.owner_id:
        raise errors.forbidden(
            "The owner's permissions cannot be changed.", errors.AUTOMATION_FORBIDDEN
        )
    wanted = _check_permissions(permissions or {})
    if not wanted.get("admin", member.admin):
        member.admin = False
    _apply(member, wanted)
    ctx.session.commit()
    return automation, member


def remove_member(ctx: ServiceContext, automation_id: str, name: str) -> None:
    automation = load_automation(ctx, automation_id, "admin", "manage its members")
    member = _find_member(ctx, automation, name)
    if member.user_id == automation.owner_id:
        raise errors.forbidden(
            "The owner cannot be removed from an automation.", errors.AUTOMATION_FORBIDDEN
        )
    ctx.session.delete(member)
    ctx.session.commit()


# --------------------------------------------------------------------------------------------
# Code packages


def _package_problem(data: bytes) -> tuple[str | None, str]:
    """(problem, entrypoint) of a code archive: a zip or a (gzipped) tar of Python code."""
    names: list[tuple[str, int, bool]] = []  # (path, size, is_regular_file)
    try:
        if zipfile.is_zipfile(io.BytesIO(data)):
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                for info in archive.infolist():
                    names.append((info.filename, info.file_size, not info.is_dir()))
                manifest = _read_member_zip(archive, MANIFEST_NAME)
        else:
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
                members = archive.getmembers()
                for info in members:
                    if not (info.isfile() or info.isdir()):
                        return f"'{info.name}' is a link or special file; not allowed.", ""
                    names.append((info.name, info.size, info.isfile()))
                manifest = None
                for info in members:
                    if _clean(info.name) == MANIFEST_NAME and info.isfile():
                        extracted = archive.extractfile(info)
                        manifest = extracted.read() if extracted else None
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError, ValueError):
        return "The code package is not a valid .zip or .tar.gz archive.", ""
    if not names:
        return "The code package is empty.", ""
    if len(names) > PACKAGE_MAX_ENTRIES:
        return f"The code package has more than {PACKAGE_MAX_ENTRIES} entries.", ""
    if sum(size for _, size, _ in names) > PACKAGE_MAX_UNPACKED_BYTES:
        return f"The code package unpacks to more than {PACKAGE_MAX_UNPACKED_BYTES} bytes.", ""
    regular = set()
    for name, _, is_file in names:
        clean = _clean(name)
        if clean is None:
            return f"The code package has an unsafe path: '{name}'.", ""
        if is_file:
            regular.add(clean)
    entrypoint = None
    if manifest is not None:
        try:
            parsed = json.loads(manifest)
        except ValueError:
            return f"'{MANIFEST_NAME}' is not valid JSON.", ""
        if not isinstance(parsed, dict) or not isinstance(parsed.get("entrypoint"), str):
            return f"'{MANIFEST_NAME}' must be an object naming its 'entrypoint'.", ""
        entrypoint = _clean(parsed["entrypoint"])
        if entrypoint is None or entrypoint not in regular:
            return f"The entrypoint '{parsed['entrypoint']}' is not a file of the package.", ""
    else:
        entrypoint = next((name for name in DEFAULT_ENTRYPOINTS if name in regular), None)
        if entrypoint is None:
            return (
                f"The code package has no entry point: add '{MANIFEST_NAME}' naming it, "
                "or a top-level __main__.py or main.py.",
                "",
            )
    if not entrypoint.endswith(".py"):
        return f"The entrypoint '{entrypoint}' is not a .py file.", ""
    return None, entrypoint


def _read_member_zip(archive: zipfile.ZipFile, name: str) -> bytes | None:
    for info in archive.infolist():
        if _clean(info.filename) == name and not info.is_dir():
            return archive.read(info)
    return None


def _clean(name: str) -> str | None:
    """A relative, normalised archive path; None for absolute paths or ones leaving the root."""
    if name.startswith(("/", "\\")) or "\\" in name or "\0" in name:
        return None
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if any(part == ".." for part in parts):
        return None
    return "/".join(parts) if parts else ""


def safe_archive_path(name: str) -> str | None:
    return _clean(name)


def _check_schema(schema: Any) -> dict[str, Any]:
    if not isinstance(schema, dict):
        raise errors.bad_request("'schema' must be a JSON object.", errors.PACKAGE_INVALID)
    inputs = schema.get("inputs", {})
    if not isinstance(inputs, dict):
        raise errors.bad_request(
            "'schema.inputs' must map input names to descriptions.", errors.PACKAGE_INVALID
        )
    for name, spec in inputs.items():
        if not isinstance(spec, dict):
            raise errors.bad_request(
                f"Input '{name}' of the schema must be an object.", errors.PACKAGE_INVALID
            )
        kind = spec.get("type", "any")
        if kind not in SCHEMA_TYPES:
            raise errors.bad_request(
                f"Input '{name}' has unknown type '{kind}'; use {', '.join(SCHEMA_TYPES)}.",
                errors.PACKAGE_INVALID,
            )
        if not isinstance(spec.get("required", False), bool):
            raise errors.bad_request(
                f"'required' of input '{name}' must be true or false.", errors.PACKAGE_INVALID
            )
    return schema


def _not_found_package(package_id: str) -> errors.ApiError:
    return errors.not_found(
        f"Automation package '{package_id}' does not exist.", errors.PACKAGE_NOT_FOUND
    )


def load_package(
    ctx: ServiceContext, package_id: Any, permission: str = "read", action: str = "do this"
) -> AutomationPackage:
    if not isinstance(package_id, str) or not package_id:
        raise errors.bad_request("Package id must not be empty.", errors.PACKAGE_INVALID)
    package = ctx.session.get(AutomationPackage, package_id)
    if package is None:
        raise _not_found_package(package_id)
    try:
        load_automation(ctx, package.automation_id, permission, action)
    except errors.ApiError as exc:
        if exc.status == 404:
            raise _not_found_package(package_id) from None
        raise
    return package


def create_package(
    ctx: ServiceContext,
    store: BlobStore,
    automation_id: str,
    *,
    version: Any,
    location: Any,
    schema: Any,
    memory_limit: Any = None,
    python: Any = None,
) -> AutomationPackage:
    automation = load_automation(ctx, automation_id, "write", "add code packages")
    if automation.archived:
        raise errors.conflict(
            f"Automation '{automation.name}' is archived.", errors.AUTOMATION_ARCHIVED
        )
    if not isinstance(version, str) or not VERSION_PATTERN.match(version):
        raise errors.bad_request(
            "'version' must be 1-128 letters, digits, '.', '_', '+' or '-'.",
            errors.PACKAGE_INVALID,
        )
    if python is not None and python not in PYTHON_VERSIONS:
        raise errors.bad_request(
            f"'python' must be one of {', '.join(PYTHON_VERSIONS)}.", errors.PACKAGE_INVALID
        )
    schema = _check_schema(schema)
    limit = check_memory_limit(memory_limit)
    if not isinstance(location, str) or not location:
        raise errors.bad_request(
            "'location' must be the id of the uploaded code package.", errors.PACKAGE_INVALID
        )
    record, _ = file_service.load_file(ctx, location, "read", action="use it as a code package")
    if record.is_folder or record.blob_key is None:
        raise errors.bad_request(
            f"'{location}' is not an uploaded file on platform storage.", errors.PACKAGE_INVALID
        )
    if record.size > PACKAGE_MAX_BYTES:
        raise errors.bad_request(
            f"A code package may be at most {PACKAGE_MAX_BYTES} bytes.", errors.PACKAGE_INVALID
        )
    with store.open(record.blob_key) as stream:
        data = stream.read(PACKAGE_MAX_BYTES + 1)
    problem, entrypoint = _package_problem(data)
    if problem is not None:
        raise errors.bad_request(problem, errors.PACKAGE_INVALID)
    taken = ctx.session.scalar(
        select(AutomationPackage.id).where(
            AutomationPackage.automation_id == automation.id,
            AutomationPackage.version == version,
        )
    )
    if taken is not None:
        raise errors.conflict(
            f"Version '{version}' of this automation already exists.",
            errors.PACKAGE_VERSION_EXISTS,
        )
    package_id = uuid.uuid4().hex
    # The package keeps a blob of its own: deleting or replacing the uploaded file loses nothing.
    blob_key = uuid.uuid4().hex
    store.copy(record.blob_key, blob_key)
    package = AutomationPackage(
        id=package_id,
        automation_id=automation.id,
        version=version,
        location=record.id,
        blob_key=blob_key,
        entrypoint=entrypoint,
        schema=schema,
        memory_limit=limit,
        python=python,
        custom_url="",
        archived=False,
        created_by=ctx.actor.username,
        created_on=utcnow(),
    )
    ctx.session.add(package)
    ctx.session.commit()
    return package


def list_packages(
    ctx: ServiceContext, automation_id: str, page: PageRequest
) -> Page[AutomationPackage]:
    automation = load_automation(ctx, automation_id)
    statement = (
        select(AutomationPackage)
        .where(AutomationPackage.automation_id == automation.id)
        .order_by(AutomationPackage.created_on, AutomationPackage.id)
    )
    return paginate(ctx.session, statement, page)


def update_package(
    ctx: ServiceContext, package_id: str, changes: dict[str, Any]
) -> AutomationPackage:
    package = load_package(ctx, package_id, "write", "edit its packages")
    if "memory_limit" in changes:
        package.memory_limit = check_memory_limit(changes["memory_limit"])
    if "custom_url" in changes:
        url = changes["custom_url"]
        if url is not None and (not isinstance(url, str) or len(url) > 1000):
            raise errors.bad_request(
                "'custom_url' must be a string of at most 1000 characters.",
                errors.PACKAGE_INVALID,
            )
        package.custom_url = url or ""
    ctx.session.commit()
    return package


def set_package_archived(
    ctx: ServiceContext, automation_id: str, package_id: str, archived: bool
) -> AutomationPackage:
    package = load_package(ctx, package_id, "write", "archive or restore its packages")
    if package.automation_id != automation_id:
        raise _not_found_package(package_id)
    package.archived = archived
    ctx.session.commit()
    return package


# --------------------------------------------------------------------------------------------
# Inputs against a package's schema


def check_inputs(schema: dict[str, Any], inputs: Any) -> dict[str, Any]:
    """Inputs as the package's ``schema["inputs"]`` describes them (400/13022 otherwise)."""
    if not isinstance(inputs, dict):
        raise errors.bad_request("'inputs' must be a JSON object.", errors.RUN_INPUTS_INVALID)
    declared = schema.get("inputs") or {}
    problems = []
    for name, spec in declared.items():
        if spec.get("required", False) and name not in inputs:
            problems.append(f"input '{name}' is required")
    for name, value in inputs.items():
        if declared and name not in declared:
            problems.append(f"input '{name}' is not in the package's schema")
            continue
        kind = (declared.get(name) or {}).get("type", "any")
        if not _matches(kind, value):
            problems.append(f"input '{name}' must be of type {kind}")
    if problems:
        raise errors.bad_request(
            "Inputs do not match the package schema: " + "; ".join(problems) + ".",
            errors.RUN_INPUTS_INVALID,
        )
    return inputs


def _matches(kind: str, value: Any) -> bool:
    if value is None or kind == "any":
        return True
    if kind in ("string", "file"):
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "object":
        return isinstance(value, dict)
    if kind == "array":
        return isinstance(value, list)
    return False
