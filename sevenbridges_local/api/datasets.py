"""Datasets: ``/datasets``, ``/datasets/{owner}``, ``/datasets/{owner}/{name}[/members...]``, and
the local publishing endpoint ``/_local/datasets``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import Field, StrictStr

from sevenbridges_local.api.boundary import BoundaryRoute, RequestBody
from sevenbridges_local.api.deps import Fields, Paging, ReadContext, WriteContext
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
from sevenbridges_local.services import datasets, members

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


@router.get(MEMBERS, summary="Members of a dataset")
def list_members(
    request: Request, owner: str, name: str, ctx: ReadContext, page: Paging, fields: Fields
) -> JSONResponse:
    dataset, found = datasets.list_members(ctx, owner, name, page)
    root = api_root(request)
    return list_response(request, found, lambda m: dataset_member_json(root, dataset, m), fields)


@router.post(MEMBERS, status_code=201, summary="Add a member to a dataset")
def add_member(
    request: Request, owner: str, name: str, ctx: WriteContext, body: NewMemberBody | None = None
) -> JSONResponse:
    body = body or NewMemberBody()
    new_member = members.NewMember(
        username=body.username,
        email=body.email,
        type=body.type,
        permissions=body.permissions.given_permissions() if body.permissions else None,
    )
    dataset, member = datasets.add_member(ctx, owner, name, new_member)
    return resource_response(
        dataset_member_json(api_root(request), dataset, member), status_code=201
    )


@router.get(MEMBER, summary="One member of a dataset")
def get_member(
    request: Request, owner: str, name: str, username: str, ctx: ReadContext, fields: Fields
) -> JSONResponse:
    dataset, member = datasets.get_member(ctx, owner, name, username)
    return resource_response(dataset_member_json(api_root(request), dataset, member), fields)


@router.patch(MEMBER + "/permissions", summary="Change some permissions of a dataset member")
def patch_permissions(
    request: Request,
    owner: str,
    name: str,
    username: str,
    ctx: WriteContext,
    body: Permissions | None = None,
) -> JSONResponse:
    changes = body.given_permissions() if body is not None else {}
    dataset, member = datasets.update_permissions(ctx, owner, name, username, changes)
    return resource_response(dataset_member_json(api_root(request), dataset, member))


@router.delete(MEMBER, status_code=204, summary="Remove a member from a dataset")
def remove_member(owner: str, name: str, username: str, ctx: WriteContext) -> Response:
    datasets.remove_member(ctx, owner, name, username)
    return Response(status_code=204)


@router.post("/_local/datasets", status_code=201, summary="Publish a project as a dataset")
def publish_dataset(
    request: Request, ctx: WriteContext, body: PublishBody | None = None
) -> JSONResponse:
    body = body or PublishBody()
    dataset = datasets.publish(
        ctx, body.project or "", body.name, body.description, body.visibility
    )
    return resource_response(dataset_json(api_root(request), dataset), status_code=201)
