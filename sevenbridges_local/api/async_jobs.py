"""Async file jobs: ``/async/files`` and ``/async/files/{copy|move|delete}[/{id}]``."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from pydantic import StrictStr

from sevenbridges_local.api.boundary import BoundaryRoute, PlatformCode, RequestBody, at_most
from sevenbridges_local.api.deps import Paging, ReadContext, WriteContext
from sevenbridges_local.api.file_shapes import job_json
from sevenbridges_local.api.files import notify_workers
from sevenbridges_local.api.shapes import api_root, list_response, resource_response
from sevenbridges_local.limits import MAX_ASYNC_JOB_ITEMS
from sevenbridges_local.services import file_jobs, files

router = APIRouter(tags=["async file jobs"], route_class=BoundaryRoute)

# Any other kind is answered like a route that does not exist (404/90003), so it is documented as
# a list of values, not validated here.
JobKind = Annotated[
    str,
    Path(description="The kind of job", json_schema_extra={"enum": sorted(file_jobs.JOB_TYPES)}),
]


class JobItemBody(RequestBody):
    """A file or folder to copy, move or delete; ``parent``/``project``/``name`` say where to."""

    file: Annotated[StrictStr, PlatformCode(files.FILE_ID_EMPTY)]
    parent: StrictStr | None = None
    project: StrictStr | None = None
    name: StrictStr | None = None


class JobBody(RequestBody):
    items: Annotated[list[JobItemBody], at_most(MAX_ASYNC_JOB_ITEMS)]


@router.get("/async/files", summary="My async file jobs, newest first")
def list_jobs(request: Request, ctx: ReadContext, page: Paging) -> JSONResponse:
    found = file_jobs.list_jobs(ctx, page)
    root = api_root(request)
    return list_response(
        request, found, lambda job: job_json(root, job, file_jobs.result_files(ctx, job))
    )


@router.post("/async/files/{kind}", status_code=201, summary="Start a copy, move or delete job")
def submit_job(request: Request, kind: JobKind, ctx: WriteContext, body: JobBody) -> JSONResponse:
    job_type = file_jobs.job_type_for(kind)
    items = [cast(file_jobs.JobItem, item.model_dump(exclude_none=True)) for item in body.items]
    job = file_jobs.submit_job(ctx, job_type, items)
    notify_workers(request)
    return resource_response(job_json(api_root(request), job, {}), status_code=201)


@router.get("/async/files/{kind}/{job_id}", summary="One async file job")
def get_job(request: Request, kind: JobKind, job_id: str, ctx: ReadContext) -> JSONResponse:
    job = file_jobs.get_job(ctx, file_jobs.job_type_for(kind), job_id)
    return resource_response(job_json(api_root(request), job, file_jobs.result_files(ctx, job)))
