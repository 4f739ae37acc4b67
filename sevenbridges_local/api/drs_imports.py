"""DRS bulk imports: ``POST /bulk/drs/imports/create`` and ``GET /bulk/drs/imports/{id}``."""

from __future__ import annotations

from typing import Annotated, Any, cast

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import Field, StrictStr

from sevenbridges_local.api.body_types import Metadata, Tags
from sevenbridges_local.api.boundary import BoundaryRoute, RequestBody, at_most
from sevenbridges_local.api.deps import ReadContext, WriteContext
from sevenbridges_local.api.file_shapes import file_href, file_json
from sevenbridges_local.api.files import notify_workers
from sevenbridges_local.api.shapes import api_root, resource_response
from sevenbridges_local.clock import format_timestamp
from sevenbridges_local.db.drs import DrsImportJob
from sevenbridges_local.db.files import File
from sevenbridges_local.limits import MAX_BULK_ITEMS
from sevenbridges_local.services import drs_imports
from sevenbridges_local.services.drs_remote import MAX_DRS_URI_LENGTH

router = APIRouter(tags=["DRS imports"], route_class=BoundaryRoute)


class DrsImportItemBody(RequestBody):
    """One ``drs://`` object and where it goes (``project`` xor ``parent``); a bad URI or
    destination fails this item only, in the job's ``result``."""

    drs_uri: Annotated[StrictStr, Field(max_length=MAX_DRS_URI_LENGTH)]
    project: StrictStr | None = None
    parent: StrictStr | None = None
    name: StrictStr | None = None
    metadata: Metadata | None = None


class DrsImportBody(RequestBody):
    items: Annotated[list[DrsImportItemBody], at_most(MAX_BULK_ITEMS)]
    tags: Tags | None = None
    conflict_resolution: StrictStr | None = None


def job_json(root: str, job: DrsImportJob, existing: dict[str, File]) -> dict[str, Any]:
    """A job; imported files that still exist are shown in full, others by id and name."""
    result: list[dict[str, Any]] = []
    for entry in job.result or []:
        resource = entry.get("resource")
        if isinstance(resource, dict):
            current = existing.get(str(resource.get("id")))
            if current is not None:
                result.append({"resource": file_json(root, current)})
            else:
                href = file_href(root, str(resource.get("id")))
                result.append({"resource": {**resource, "href": href}})
        else:
            result.append({"error": entry.get("error")})
    body: dict[str, Any] = {
        "href": f"{root}/bulk/drs/imports/{job.id}",
        "id": job.id,
        "state": job.state,
        "result": result,
        "total_files": job.total_files,
        "completed_files": job.completed_files,
        "failed_files": job.failed_files,
    }
    if job.started_on is not None:
        body["started_on"] = format_timestamp(job.started_on)
    if job.finished_on is not None:
        body["finished_on"] = format_timestamp(job.finished_on)
    return body


@router.post("/bulk/drs/imports/create", summary="Import drs:// objects as files")
def submit_import(request: Request, ctx: WriteContext, body: DrsImportBody) -> JSONResponse:
    items = [
        cast(drs_imports.ImportItem, item.model_dump(exclude_none=True)) for item in body.items
    ]
    job = drs_imports.submit(ctx, items, body.tags, body.conflict_resolution)
    notify_workers(request)
    return resource_response(job_json(api_root(request), job, {}))


@router.get("/bulk/drs/imports/{job_id}", summary="A DRS bulk import job")
def get_import(request: Request, job_id: str, ctx: ReadContext) -> JSONResponse:
    job = drs_imports.get_job(ctx, job_id)
    found = drs_imports.result_files(ctx, job)
    return resource_response(job_json(api_root(request), job, found))
