"""Exports: ``/storage/exports[/{id}]`` and ``/bulk/storage/exports/create|get``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field, StrictBool, StrictStr

from sevenbridges_local import errors
from sevenbridges_local.api.body_types import ItemId
from sevenbridges_local.api.boundary import BoundaryRoute, RequestBody, at_most
from sevenbridges_local.api.deps import Fields, Paging, QueryBool, ReadContext, WriteContext
from sevenbridges_local.api.files import notify_workers
from sevenbridges_local.api.shapes import api_root, list_response, resource_response
from sevenbridges_local.api.volume_job_shapes import bulk_record, export_json
from sevenbridges_local.api.volumes import Properties, Runtime
from sevenbridges_local.limits import MAX_BULK_ITEMS, MAX_VOLUME_LOCATION_LENGTH
from sevenbridges_local.services import exports
from sevenbridges_local.services.context import ServiceContext

router = APIRouter(tags=["exports"], route_class=BoundaryRoute)

Location = Annotated[StrictStr, Field(max_length=MAX_VOLUME_LOCATION_LENGTH)]
Text = Annotated[StrictStr, Field(max_length=255)]
CopyOnly = Annotated[
    QueryBool, Query(description="Keep the platform's copy (else the file becomes an alias)")
]


class SourceBody(RequestBody):
    file: Text


class DestinationBody(RequestBody):
    volume: Text
    location: Location


class ExportBody(RequestBody):
    source: SourceBody
    destination: DestinationBody
    overwrite: StrictBool | None = None
    properties: Properties | None = None

    def request(self, copy_only: bool) -> exports.ExportRequest:
        return exports.ExportRequest(
            file=self.source.file,
            volume=self.destination.volume,
            location=self.destination.location,
            overwrite=bool(self.overwrite),
            properties=dict(self.properties or {}),
            copy_only=copy_only,
        )


class BulkExportBody(RequestBody):
    items: Annotated[list[ExportBody], at_most(MAX_BULK_ITEMS)]


class ExportIdsBody(RequestBody):
    export_ids: Annotated[list[ItemId], at_most(MAX_BULK_ITEMS)]


def _shape(ctx: ServiceContext, root: str, job: exports.VolumeExport) -> dict:
    return export_json(root, job, exports.result_file(ctx, job))


def _records(ctx: ServiceContext, root: str, outcomes: list) -> JSONResponse:
    return JSONResponse(
        {
            "items": [
                bulk_record(item if isinstance(item, errors.ApiError) else _shape(ctx, root, item))
                for item in outcomes
            ]
        }
    )


@router.get("/storage/exports", summary="My exports, newest first")
def list_exports(
    request: Request,
    ctx: ReadContext,
    page: Paging,
    fields: Fields,
    volume: Annotated[Text | None, Query(description="owner/volume_name")] = None,
    state: Annotated[Text | None, Query(description="PENDING, RUNNING, COMPLETED, FAILED")] = None,
) -> JSONResponse:
    found = exports.list_exports(ctx, page, volume=volume, state=state)
    root = api_root(request)
    return list_response(request, found, lambda job: _shape(ctx, root, job), fields)


@router.post("/storage/exports", status_code=201, summary="Export a file to a volume")
def submit_export(
    request: Request,
    ctx: WriteContext,
    runtime: Runtime,
    body: ExportBody,
    copy_only: CopyOnly = False,
) -> JSONResponse:
    job = exports.submit_export(ctx, runtime, body.request(copy_only))
    notify_workers(request)
    return resource_response(_shape(ctx, api_root(request), job), status_code=201)


@router.get("/storage/exports/{export_id}", summary="One export")
def get_export(request: Request, export_id: str, ctx: ReadContext, fields: Fields) -> JSONResponse:
    job = exports.get_export(ctx, export_id)
    return resource_response(_shape(ctx, api_root(request), job), fields)


@router.post("/bulk/storage/exports/create", summary="Submit several exports")
def bulk_submit(
    request: Request,
    ctx: WriteContext,
    runtime: Runtime,
    body: BulkExportBody,
    copy_only: CopyOnly = False,
) -> JSONResponse:
    outcomes = exports.bulk_submit(ctx, runtime, [item.request(copy_only) for item in body.items])
    notify_workers(request)
    return _records(ctx, api_root(request), outcomes)


@router.post("/bulk/storage/exports/get", summary="Several exports by id")
def bulk_get(request: Request, ctx: ReadContext, body: ExportIdsBody) -> JSONResponse:
    outcomes = exports.bulk_get(ctx, [str(item) for item in body.export_ids])
    return _records(ctx, api_root(request), outcomes)
