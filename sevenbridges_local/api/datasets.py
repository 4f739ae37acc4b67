"""Datasets: ``/datasets``, ``/datasets/{owner}``, ``/datasets/{owner}/{name}[/members...]``, and
the local publishing endpoint ``/_local/datasets``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import Field, StrictStr

from sevenbridges_local.api.boundary import BoundaryRoute, RequestBody
from sevenbridges_local.api.deps import Fields, Paging, ReadContext, WriteContext
from sevenbridges_local.api.member_routes import Summaries, add_member_routes
from sevenbridges_local.api.members import NewMemberBody, Permissions
from sevenbridges_local.api.shapes import (
    _member_body,
    api_root,
    list_response,
    member_name,
    resource_response,
)
from sevenbridges_local.db.datasets import Dataset
from sevenbridges_local.limits import MAX_DESCRIPTION_LENGTH
from sevenbridges_local.services import datasets

router = APIRouter(tags=["datasets"], route_class=BoundaryRoute)

DATASET = "/datasets/{owner}/{name}"
MEMBERS = DATASET + "/members"
MEMBER = MEMBERS + "/{username}"

Text = Annotated[StrictStr, Field(max_length=1_000)]
Description = Annotated[StrictStr, Field(max_length=MAX_DESCRIPTION_LENGTH)]


def dataset_json(root: str, dataset: Dataset) -> dict[str, Any]:
    identifier = datasets.dataset_id(dataset)
    return {
        "href": f"{root}/datasets/{identifier}",
        "id": identifier,
        "name": dataset.name,
        "description": dataset.description or "",
    }


def dataset_member_json(root: str, dataset: Dataset, member: Any) -> dict[str, Any]:
    href = f"{root}/datasets/{datasets.dataset_id(dataset)}/members/{member_name(member)[0]}"
    return _member_body(href, member, ("read", "copy", "write", "execute", "admin"))


class DatasetChangeBody(RequestBody):
    name: Text | None = None
    description: Description | None = None


class PublishBody(RequestBody):
    project: Text | None = None
    name: Text | None = None
    description: Description | None = None
    visibility: Text | None = None


@router.get("/datasets", summary="Datasets I can see (visibility=public: the public ones)")
def list_datasets(
    request: Request,
    ctx: ReadContext,
    page: Paging,
    fields: Fields,
    visibility: Annotated[str | None, Query(description="public or private")] = None,
) -> JSONResponse:
    found = datasets.list_datasets(ctx, visibility, page)
    root = api_root(request)
    return list_response(request, found, lambda item: dataset_json(root, item), fields)


@router.get("/datasets/{owner}", summary="Datasets of one owner that I can see")
def list_owned(
    request: Request, owner: str, ctx: ReadContext, page: Paging, fields: Fields
) -> JSONResponse:
    found = datasets.list_owned_by(ctx, owner, page)
    root = api_root(request)
    return list_response(request, found, lambda item: dataset_json(root, item), fields)


@router.get(DATASET, summary="One dataset")
def get_dataset(
    request: Request, owner: str, name: str, ctx: ReadContext, fields: Fields
) -> JSONResponse:
    dataset = datasets.get_dataset(ctx, owner, name)
    return resource_response(dataset_json(api_root(request), dataset), fields)


@router.patch(DATASET, summary="Change a dataset's name or description")
def update_dataset(
    request: Request,
    owner: str,
    name: str,
    ctx: WriteContext,
    body: DatasetChangeBody | None = None,
) -> JSONResponse:
    body = body or DatasetChangeBody()
    dataset = datasets.update_dataset(ctx, owner, name, body.name, body.description)
    return resource_response(dataset_json(api_root(request), dataset))


@router.delete(DATASET, status_code=204, summary="Delete (unpublish) a dataset")
def delete_dataset(owner: str, name: str, ctx: WriteContext) -> Response:
    datasets.delete_dataset(ctx, owner, name)
    return Response(status_code=204)


add_member_routes(
    router,
    members_path=MEMBERS,
    key="name",
    service=datasets,
    shaper=dataset_member_json,
    new_body=NewMemberBody,
    permissions_body=Permissions,
    summaries=Summaries(
        list="Members of a dataset",
        add="Add a member to a dataset",
        get="One member of a dataset",
        patch="Change some permissions of a dataset member",
        delete="Remove a member from a dataset",
    ),
)


@router.post("/_local/datasets", status_code=201, summary="Publish a project as a dataset")
def publish_dataset(
    request: Request, ctx: WriteContext, body: PublishBody | None = None
) -> JSONResponse:
    body = body or PublishBody()
    dataset = datasets.publish(
        ctx, body.project or "", body.name, body.description, body.visibility
    )
    return resource_response(dataset_json(api_root(request), dataset), status_code=201)
