"""Imports: ``/storage/imports[/{id}]`` and ``/bulk/storage/imports/create|get``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field, StrictBool, StrictStr

from sevenbridges_local import errors
from sevenbridges_local.api.body_types import ItemId
from sevenbridges_local.api.boundary import BoundaryRoute, RequestBody, at_most
from sevenbridges_local.api.deps import Fields, Paging, ReadContext, WriteContext
from sevenbridges_local.api.files import notify_workers
from sevenbridges_local.api.shapes import api_root, list_response, resource_response
from sevenbridges_local.api.volume_job_shapes import bulk_record, import_json
from sevenbridges_local.api.volumes import Properties, Runtime
from sevenbridges_local.limits import MAX_BULK_ITEMS, MAX_VOLUME_LOCATION_LENGTH
from sevenbridges_local.services import imports
from sevenbridges_local.services.context import ServiceContext

router = APIRouter(tags=["imports"], route_class=BoundaryRoute)

Location = Annotated[StrictStr, Field(max_length=MAX_VOLUME_LOCATION_LENGTH)]
Text = Annotated[StrictStr, Field(max_length=255)]


class SourceBody(RequestBody):
    volume: Text
    location: Location


class DestinationBody(RequestBody):
    project: Text | None = None
    parent: Text | None = None
    name: Text | None = None


class ImportBody(RequestBody):
    source: SourceBody
    destination: DestinationBody
    overwrite: StrictBool | None = None
    autorename: StrictBool | None = None
    preserve_folder_structure: StrictBool | None = None
    properties: Properties | None = None

    def request(self) -> imports.ImportRequest:
        return imports.ImportRequest(
            volume=self.source.volume,
            location=self.source.location,
            project=self.destination.project,
            parent=self.destination.parent,
            name=self.destination.name,
            overwrite=bool(self.overwrite),
            autorename=bool(self.autorename),
            preserve_folder_structure=self.preserve_folder_structure is not False,
            properties=dict(self.properties or {}),
        )


class BulkImportBody(RequestBody):
    items: Annotated[list[ImportBody], at_most(MAX_BULK_ITEMS)]


class ImportIdsBody(RequestBody):
    import_ids: Annotated[list[ItemId], at_most(MAX_BULK_ITEMS)]


def _shape(ctx: ServiceContext, root: str, job: imports.VolumeImport) -> dict:
    return import_json(root, job, imports.result_file(ctx, job))


@router.get("/storage/imports", summary="My imports, newest first")
def list_imports(
    request: Request,
    ctx: ReadContext,
    page: Paging,
    fields: Fields,
    volume: Annotated[Text | None, Query(description="owner/volume_name")] = None,
    project: Annotated[Text | None, Query(description="owner/project")] = None,
    state: Annotated[Text | None, Query(description="PENDING, RUNNING, COMPLETED, FAILED")] = None,
) -> JSONResponse:
    found = imports.list_imports(ctx, page, volume=volume, project=project, state=state)
    root = api_root(request)
    return list_response(request, found, lambda job: _shape(ctx, root, job), fields)


@router.post("/storage/imports", status_code=201, summary="Import an object or a prefix")
def submit_import(
    request: Request, ctx: WriteContext, runtime: Runtime, body: ImportBody
) -> JSONResponse:
    job = imports.submit_import(ctx, runtime, body.request())
    notify_workers(request)
    return resource_response(_shape(ctx, api_root(request), job), status_code=201)


@router.get("/storage/imports/{import_id}", summary="One import")
def get_import(request: Request, import_id: str, ctx: ReadContext, fields: Fields) -> JSONResponse:
    job = imports.get_import(ctx, import_id)
    return resource_response(_shape(ctx, api_root(request), job), fields)


@router.post("/bulk/storage/imports/create", summary="Submit several imports")
def bulk_submit(
    request: Request, ctx: WriteContext, runtime: Runtime, body: BulkImportBody
) -> JSONResponse:
    outcomes = imports.bulk_submit(ctx, runtime, [item.request() for item in body.items])
    notify_workers(request)
    root = api_root(request)
    return JSONResponse(
        {
            "items": [
                bulk_record(item if isinstance(item, errors.ApiError) else _shape(ctx, root, item))
                for item in outcomes
            ]
        }
    )


@router.post("/bulk/storage/imports/get", summary="Several imports by id")
def bulk_get(request: Request, ctx: ReadContext, body: ImportIdsBody) -> JSONResponse:
    outcomes = imports.bulk_get(ctx, [str(item) for item in body.import_ids])
    root = api_root(request)
    return JSONResponse(
        {
            "items": [
                bulk_record(item if isinstance(item, errors.ApiError) else _shape(ctx, root, item))
                for item in outcomes
            ]
        }
    )
