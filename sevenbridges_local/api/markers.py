"""Genome markers: ``/genome/markers`` and ``/genome/markers/{id}``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import Field, StrictBool, StrictInt, StrictStr

from sevenbridges_local.api.boundary import BoundaryRoute, RequestBody
from sevenbridges_local.api.deps import Fields, Paging, ReadContext, WriteContext
from sevenbridges_local.api.shapes import api_root, list_response, resource_response
from sevenbridges_local.clock import format_timestamp
from sevenbridges_local.db.datasets import Marker
from sevenbridges_local.services import markers

router = APIRouter(tags=["markers"], route_class=BoundaryRoute)

Text = Annotated[StrictStr, Field(max_length=1_000)]


def marker_json(root: str, marker: Marker) -> dict[str, Any]:
    return {
        "href": f"{root}/genome/markers/{marker.id}",
        "id": marker.id,
        "file": marker.file_id,
        "name": marker.name,
        "chromosome": marker.chromosome,
        "position": {"start": marker.start, "end": marker.end},
        "private": marker.private,
        "created_time": format_timestamp(marker.created_on),
        "created_by": marker.created_by.username,
    }


class Position(RequestBody):
    start: StrictInt | None = None
    end: StrictInt | None = None


class MarkerBody(RequestBody):
    file: Text | None = None
    name: Text | None = None
    chromosome: Text | None = None
    position: Position | None = None
    private: StrictBool | None = None

    def values(self) -> markers.MarkerValues:
        position = self.position or Position()
        return markers.MarkerValues(
            name=self.name,
            chromosome=self.chromosome,
            start=position.start,
            end=position.end,
            private=self.private,
        )


@router.get("/genome/markers", summary="Markers of a BAM file")
def list_markers(
    request: Request,
    ctx: ReadContext,
    page: Paging,
    fields: Fields,
    file: Annotated[str | None, Query(description="The BAM file's id")] = None,
) -> JSONResponse:
    found = markers.list_markers(ctx, request.app.state.blob_store, file, page)
    root = api_root(request)
    return list_response(request, found, lambda marker: marker_json(root, marker), fields)


@router.post("/genome/markers", status_code=201, summary="Add a marker to a BAM file")
def create_marker(
    request: Request, ctx: WriteContext, body: MarkerBody | None = None
) -> JSONResponse:
    body = body or MarkerBody()
    marker = markers.create_marker(ctx, request.app.state.blob_store, body.file, body.values())
    return resource_response(marker_json(api_root(request), marker), status_code=201)


@router.get("/genome/markers/{marker_id}", summary="One marker")
def get_marker(request: Request, marker_id: str, ctx: ReadContext, fields: Fields) -> JSONResponse:
    marker = markers.get_marker(ctx, marker_id)
    return resource_response(marker_json(api_root(request), marker), fields)


@router.patch("/genome/markers/{marker_id}", summary="Change a marker (given keys only)")
def update_marker(
    request: Request, marker_id: str, ctx: WriteContext, body: MarkerBody | None = None
) -> JSONResponse:
    store = request.app.state.blob_store
    marker = markers.update_marker(ctx, store, marker_id, (body or MarkerBody()).values())
    return resource_response(marker_json(api_root(request), marker))


@router.delete("/genome/markers/{marker_id}", status_code=204, summary="Delete a marker")
def delete_marker(marker_id: str, ctx: WriteContext) -> Response:
    markers.delete_marker(ctx, marker_id)
    return Response(status_code=204)
