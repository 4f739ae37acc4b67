"""Automations: ``/automation/automations`` (with members and packages), ``/automation/packages``,
``/automation/runs`` and the code package upload ``/automation/upload`` (rest-api.md §3.18)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, ClassVar, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import Field, StrictInt, StrictStr

from sevenbridges_local import errors
from sevenbridges_local.api import uploads as upload_routes
from sevenbridges_local.api.boundary import BoundaryRoute, RequestBody, required_by_the_service
from sevenbridges_local.api.deps import Paging, QueryBool, ReadContext, WriteContext
from sevenbridges_local.api.file_shapes import file_json
from sevenbridges_local.api.shapes import api_root, list_response, resource_response
from sevenbridges_local.clock import format_timestamp
from sevenbridges_local.db.automations import (
    Automation,
    AutomationMember,
    AutomationPackage,
    AutomationRun,
)
from sevenbridges_local.services import automation_runs, automations, files, uploads
from sevenbridges_local.services.access import PERMISSIONS
from sevenbridges_local.services.context import ServiceContext

# The two actions of the archive routes; anything else is refused by validation (400).
ArchiveAction = Literal["archive", "restore"]

router = APIRouter(tags=["automations"], route_class=BoundaryRoute)


def _stamp(moment: Any) -> str | None:
    return format_timestamp(moment) if moment is not None else None


def automation_json(root: str, automation: Automation) -> dict[str, Any]:
    body: dict[str, Any] = {
        "href": f"{root}/automation/automations/{automation.id}",
        "id": automation.id,
        "name": automation.name,
        "description": automation.description,
        "owner": automation.owner.username,
        "created_by": automation.created_by,
        "created_on": _stamp(automation.created_on),
        "modified_by": automation.modified_by,
        "modified_on": _stamp(automation.modified_on),
        "archived": automation.archived,
        "secret_settings": automation.secret_settings or {},
        "memory_limit": automation.memory_limit,
        "project_based": automation.project_based,
    }
    if automation.billing_group_id:  # a UUID field: omitted rather than null
        body["billing_group"] = automation.billing_group_id
    return body


def package_json(package: AutomationPackage) -> dict[str, Any]:
    return {
        "id": package.id,
        "automation": package.automation_id,
        "version": package.version,
        "location": package.location,
        "schema": package.schema or {},
        "created_by": package.created_by,
        "created_on": _stamp(package.created_on),
        "archived": package.archived,
        "custom_url": package.custom_url,
        "memory_limit": package.memory_limit,
        "python": package.python,
    }


def member_json(
    ctx: ServiceContext, root: str, automation: Automation, member: AutomationMember
) -> dict[str, Any]:
    label = automations.member_label(member)
    body: dict[str, Any] = {
        "href": f"{root}/automation/automations/{automation.id}/members/{label}",
        "id": label,
        "type": member.member_type,
        "permissions": {name: bool(getattr(member, name)) for name in PERMISSIONS},
    }
    if member.member_type == automations.TEAM:
        team = automations.team_of(ctx, member)
        body.update(username=None, email=None, name=team.name if team else label)
    else:
        user = member.user
        body.update(
            username=label,
            email=user.email if user else None,
            name=f"{user.first_name} {user.last_name}".strip() if user else label,
        )
    return body


def _file_ref(ctx: ServiceContext, root: str, file_id: str | None) -> dict[str, Any] | None:
    record = automation_runs.run_file(ctx, file_id)
    return file_json(root, record) if record is not None else None


def run_json(ctx: ServiceContext, root: str, run: AutomationRun) -> dict[str, Any]:
    details: dict[str, Any] = {}
    log_file = _file_ref(ctx, root, run.log_file_id)
    if log_file is not None:
        details["log_file"] = log_file
    state_file = _file_ref(ctx, root, run.state_file_id)
    if state_file is not None:
        details["state_file"] = state_file
    return {
        "href": f"{root}/automation/runs/{run.id}",
        "id": run.id,
        "name": run.name,
        "automation": automation_json(root, run.automation),
        "package": package_json(run.package),
        "inputs": run.inputs or {},
        "outputs": run.outputs or {},
        "settings": run.settings or {},
        "created_on": _stamp(run.created_on),
        "start_time": _stamp(run.start_time),
        "end_time": _stamp(run.end_time),
        "resumed_from": run.resumed_from,
        "created_by": run.created_by.username,
        "status": run.status,
        "message": run.message,
        "execution_details": details,
        "memory_limit": run.memory_limit,
        "project_id": run.project_id,
    }


class Loose(RequestBody):
    """A body whose fields the service checks (types included), so errors name the field."""

    platform_code: ClassVar[int | None] = errors.AUTOMATION_INVALID
    model_config = {**RequestBody.model_config, "strict": False}


class AutomationBody(Loose):
    name: Any = None
    description: Any = None
    billing_group: Any = None
    secret_settings: Any = None
    project_based: Any = None
    memory_limit: Any = None
    modified_on: Any = None


class MemberBody(Loose):
    username: Any = None
    id: Any = None
    type: Any = None
    permissions: Any = None


class PackageBody(Loose):
    platform_code: ClassVar[int | None] = errors.PACKAGE_INVALID
    version: Any = None
    location: Any = None
    schema_: Any = Field(default=None, alias="schema")
    memory_limit: Any = None
    python: Any = None
    custom_url: Any = None


class RunBody(Loose):
    platform_code: ClassVar[int | None] = errors.RUN_SETTINGS_INVALID
    package: Any = None
    inputs: Any = None
    settings: Any = None
    resume_from: Any = None
    name: Any = None
    secret_settings: Any = None
    memory_limit: Any = None


def _pool(request: Request) -> Any:
    return getattr(request.app.state, "automation_pool", None)


def _run_reply(
    request: Request,
    ctx: ServiceContext,
    run: AutomationRun,
    *,
    status_code: int = 200,
    then: Callable[[Any], None] | None = None,
) -> JSONResponse:
    """The run's JSON, shaped before ``then`` tells the run pool (which may change the run)."""
    shaped = run_json(ctx, api_root(request), run)
    pool = _pool(request)
    if then is not None and pool is not None:
        then(pool)
    return resource_response(shaped, status_code=status_code)


# --- automations -----------------------------------------------------------------------------


@router.get("/automation/automations", summary="Automations you are a member of")
def list_automations(
    request: Request,
    ctx: ReadContext,
    page: Paging,
    name: str | None = None,
    include_archived: QueryBool = False,
    project_based: QueryBool | None = None,
) -> JSONResponse:
    found = automations.list_automations(
        ctx, page, name=name, include_archived=include_archived, project_based=project_based
    )
    root = api_root(request)
    return list_response(request, found, lambda item: automation_json(root, item))


@router.post("/automation/automations", status_code=201, summary="Create an automation")
def create_automation(
    request: Request, ctx: WriteContext, body: AutomationBody | None = None
) -> JSONResponse:
    body = body or AutomationBody()
    automation = automations.create_automation(
        ctx,
        automations.AutomationValues(
            name=body.name,
            description=body.description,
            billing_group=body.billing_group,
            secret_settings=body.secret_settings,
            project_based=body.project_based,
            memory_limit=body.memory_limit,
        ),
    )
    return resource_response(automation_json(api_root(request), automation), status_code=201)


@router.get("/automation/automations/{automation_id}", summary="One automation")
def get_automation(request: Request, automation_id: str, ctx: ReadContext) -> JSONResponse:
    automation = automations.load_automation(ctx, automation_id)
    return resource_response(automation_json(api_root(request), automation))


@router.patch("/automation/automations/{automation_id}", summary="Change an automation")
def update_automation(
    request: Request, automation_id: str, ctx: WriteContext, body: AutomationBody | None = None
) -> JSONResponse:
    changes = (body or AutomationBody()).given(
        "name", "description", "billing_group", "secret_settings", "project_based", "memory_limit"
    )
    automation = automations.update_automation(ctx, automation_id, changes)
    return resource_response(automation_json(api_root(request), automation))


@router.post(
    "/automation/automations/{automation_id}/actions/{action}", summary="Archive or restore"
)
def archive_automation(
    request: Request, automation_id: str, action: ArchiveAction, ctx: WriteContext
) -> JSONResponse:
    automation = automations.set_archived(ctx, automation_id, _archiving(action))
    return resource_response(automation_json(api_root(request), automation))


def _archiving(action: ArchiveAction) -> bool:
    return action == "archive"


# --- members ---------------------------------------------------------------------------------


@router.get("/automation/automations/{automation_id}/members", summary="Members")
def list_members(
    request: Request, automation_id: str, ctx: ReadContext, page: Paging
) -> JSONResponse:
    automation, found = automations.list_members(ctx, automation_id, page)
    root = api_root(request)
    return list_response(request, found, lambda m: member_json(ctx, root, automation, m))


@router.post(
    "/automation/automations/{automation_id}/members", status_code=201, summary="Add a member"
)
def add_member(
    request: Request, automation_id: str, ctx: WriteContext, body: MemberBody | None = None
) -> JSONResponse:
    body = body or MemberBody()
    automation, member = automations.add_member(
        ctx,
        automation_id,
        username=body.username,
        team_id=body.id,
        member_type=body.type,
        permissions=body.permissions,
    )
    return resource_response(
        member_json(ctx, api_root(request), automation, member), status_code=201
    )


@router.get("/automation/automations/{automation_id}/members/{name}", summary="One member")
def get_member(request: Request, automation_id: str, name: str, ctx: ReadContext) -> JSONResponse:
    automation, member = automations.get_member(ctx, automation_id, name)
    return resource_response(member_json(ctx, api_root(request), automation, member))


@router.patch("/automation/automations/{automation_id}/members/{name}", summary="Permissions")
def change_member(
    request: Request,
    automation_id: str,
    name: str,
    ctx: WriteContext,
    body: MemberBody | None = None,
) -> JSONResponse:
    permissions = (body or MemberBody()).permissions
    automation, member = automations.change_member(ctx, automation_id, name, permissions)
    return resource_response(member_json(ctx, api_root(request), automation, member))


@router.delete(
    "/automation/automations/{automation_id}/members/{name}", status_code=204, summary="Remove"
)
def remove_member(automation_id: str, name: str, ctx: WriteContext) -> Response:
    automations.remove_member(ctx, automation_id, name)
    return Response(status_code=204)


# --- packages --------------------------------------------------------------------------------


@router.get("/automation/automations/{automation_id}/packages", summary="Code packages")
def list_packages(
    request: Request, automation_id: str, ctx: ReadContext, page: Paging
) -> JSONResponse:
    found = automations.list_packages(ctx, automation_id, page)
    return list_response(request, found, package_json)


@router.post(
    "/automation/automations/{automation_id}/packages",
    status_code=201,
    summary="Add a code package (an uploaded archive)",
)
def create_package(
    request: Request, automation_id: str, ctx: WriteContext, body: PackageBody | None = None
) -> JSONResponse:
    body = body or PackageBody()
    package = automations.create_package(
        ctx,
        request.app.state.blob_store,
        automation_id,
        version=body.version,
        location=body.location,
        schema=body.schema_,
        memory_limit=body.memory_limit,
        python=body.python,
    )
    return resource_response(package_json(package), status_code=201)


@router.get("/automation/packages/{package_id}", summary="One code package")
def get_package(package_id: str, ctx: ReadContext) -> JSONResponse:
    return resource_response(package_json(automations.load_package(ctx, package_id)))


@router.patch("/automation/packages/{package_id}", summary="Change a code package")
def update_package(
    package_id: str, ctx: WriteContext, body: PackageBody | None = None
) -> JSONResponse:
    changes = (body or PackageBody()).given("custom_url", "memory_limit")
    return resource_response(package_json(automations.update_package(ctx, package_id, changes)))


@router.post(
    "/automation/automations/{automation_id}/packages/{package_id}/actions/{action}",
    summary="Archive or restore a code package",
)
def archive_package(
    automation_id: str, package_id: str, action: ArchiveAction, ctx: WriteContext
) -> JSONResponse:
    package = automations.set_package_archived(ctx, automation_id, package_id, _archiving(action))
    return resource_response(package_json(package))


# --- runs ------------------------------------------------------------------------------------


@router.get("/automation/runs", summary="Automation runs you can see")
def list_runs(
    request: Request,
    ctx: ReadContext,
    page: Paging,
    name: str | None = None,
    automation_id: str | None = None,
    package_id: str | None = None,
    status: str | None = None,
    created_by: str | None = None,
    created_from: str | None = None,
    created_to: str | None = None,
    project_id: str | None = None,
    order_by: str | None = None,
    order: str | None = None,
) -> JSONResponse:
    filters = {
        "name": name,
        "automation_id": automation_id,
        "package_id": package_id,
        "status": status,
        "created_by": created_by,
        "created_from": _date(created_from, "created_from"),
        "created_to": _date(created_to, "created_to"),
        "project_id": project_id,
        "order_by": order_by,
        "order": order,
    }
    found = automation_runs.list_runs(ctx, page, filters)
    root = api_root(request)
    return list_response(request, found, lambda run: run_json(ctx, root, run))


def _date(value: str | None, name: str) -> Any:
    if value is None:
        return None
    from datetime import datetime

    try:
        return datetime.fromisoformat(value.replace("Z", "").replace("T", " ").strip())
    except ValueError:
        raise errors.bad_request(
            f"'{name}' must be a date like 2024-05-01T12:00:00.", errors.BAD_REQUEST
        ) from None


@router.post("/automation/runs", status_code=201, summary="Start a run of a code package")
def create_run(request: Request, ctx: WriteContext, body: RunBody | None = None) -> JSONResponse:
    body = body or RunBody()
    run = automation_runs.create_run(
        ctx,
        package_id=body.package,
        inputs=body.inputs,
        settings=body.settings,
        resume_from=body.resume_from,
        name=body.name,
        secret_settings=body.secret_settings,
        memory_limit=body.memory_limit,
    )
    return _run_reply(request, ctx, run, status_code=201, then=lambda pool: pool.notify())


@router.get("/automation/runs/{run_id}", summary="One run")
def get_run(request: Request, run_id: str, ctx: ReadContext) -> JSONResponse:
    run = automation_runs.load_run(ctx, run_id)
    return _run_reply(request, ctx, run)


@router.patch("/automation/runs/{run_id}", summary="Change a queued run")
def update_run(
    request: Request, run_id: str, ctx: WriteContext, body: RunBody | None = None
) -> JSONResponse:
    changes = (body or RunBody()).given("name", "inputs", "settings", "memory_limit")
    run = automation_runs.update_run(ctx, run_id, changes)
    return _run_reply(request, ctx, run)


@router.post("/automation/runs/{run_id}/actions/stop", summary="Stop a run")
def stop_run(request: Request, run_id: str, ctx: WriteContext) -> JSONResponse:
    run = automation_runs.stop_run(ctx, run_id)
    return _run_reply(request, ctx, run, then=lambda pool: pool.request_stop(run_id))


@router.post("/automation/runs/{run_id}/actions/rerun", summary="Run again, same inputs")
def rerun(request: Request, run_id: str, ctx: WriteContext) -> JSONResponse:
    run = automation_runs.rerun(ctx, run_id)
    return _run_reply(request, ctx, run, status_code=201, then=lambda pool: pool.notify())


@router.get("/automation/runs/{run_id}/state", summary="The run's state document")
def run_state(request: Request, run_id: str, ctx: ReadContext) -> JSONResponse:
    pool = _pool(request)
    live = pool.live_state(run_id) if pool is not None else None
    return JSONResponse(automation_runs.get_state(ctx, run_id, live))


# --- code package upload (the multipart protocol of /upload/multipart) ------------------------


class CodeInitBody(RequestBody):
    model_config = required_by_the_service("size", "name")
    platform_code: ClassVar[int | None] = uploads.INIT_INVALID

    size: StrictInt
    name: StrictStr | None = None
    part_size: StrictInt | None = None
    automation_id: StrictStr | None = None


@router.post("/automation/upload", status_code=201, summary="Start a code package upload")
def init_code_upload(request: Request, ctx: WriteContext, body: CodeInitBody) -> JSONResponse:
    automation = automations.load_automation(
        ctx, body.automation_id, "write", "upload code packages"
    )
    project = automations.storage_project(ctx, automation)
    upload = uploads.init_upload(
        ctx,
        upload_routes.transfer_store(request),
        uploads.InitRequest(
            name=body.name or "",
            size=body.size,
            part_size=body.part_size,
            project=files.project_label(project),
            parent=None,
            overwrite=False,
        ),
    )
    return JSONResponse(upload_routes.upload_json(upload, 0), status_code=201)


@router.get("/automation/upload/{upload_id}", summary="A code package upload")
def get_code_upload(
    request: Request,
    upload_id: str,
    ctx: ReadContext,
    list_parts: Annotated[QueryBool, Query()] = False,
) -> JSONResponse:
    return upload_routes.get_upload(request, upload_id, ctx, list_parts)


@router.delete("/automation/upload/{upload_id}", status_code=204, summary="Abort")
def abort_code_upload(request: Request, upload_id: str, ctx: WriteContext) -> Response:
    return upload_routes.abort_upload(request, upload_id, ctx)


@router.get("/automation/upload/{upload_id}/part/{part_number}", summary="A part's URL")
def code_part_url(
    request: Request, upload_id: str, part_number: str, ctx: ReadContext
) -> JSONResponse:
    return upload_routes.part_url(request, upload_id, part_number, ctx)


@router.post("/automation/upload/{upload_id}/part", summary="Report an uploaded part")
def report_code_part(
    upload_id: str, ctx: WriteContext, body: upload_routes.PartReportBody | None = None
) -> JSONResponse:
    return upload_routes.report_part(upload_id, ctx, body)


@router.post("/automation/upload/{upload_id}/complete", summary="Finish: the package file")
def complete_code_upload(
    request: Request,
    upload_id: str,
    ctx: WriteContext,
    body: upload_routes.CompleteBody | None = None,
) -> JSONResponse:
    return upload_routes.complete_upload(request, upload_id, ctx, body)
