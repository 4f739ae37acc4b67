"""Billing groups and their breakdowns: ``/billing/groups[/{id}[/breakdown/{kind}]]``."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse

from sevenbridges_local import errors
from sevenbridges_local.api.boundary import BoundaryRoute
from sevenbridges_local.api.deps import Fields, Paging, ReadContext
from sevenbridges_local.api.shapes import (
    analysis_item_json,
    api_root,
    billing_group_json,
    egress_item_json,
    list_response,
    resource_response,
    storage_item_json,
)
from sevenbridges_local.services import billing

router = APIRouter(tags=["billing"], route_class=BoundaryRoute)

# The service refuses any other id with 400/4005; documented, not validated here, to keep that code.
GroupId = Annotated[
    str, Path(description="The billing group's id (a UUID)", json_schema_extra={"format": "uuid"})
]

# The platform documents MM-DD-YYYY; ISO dates and timestamps are accepted as well.
_DATE_FORMATS = ("%m-%d-%Y", "%Y-%m-%d")
_TIMESTAMP_FORMATS = ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S")


def _parse_date(raw: str | None, name: str, *, end_of_day: bool) -> datetime | None:
    if not raw:
        return None
    for pattern in _TIMESTAMP_FORMATS:
        try:
            return datetime.strptime(raw, pattern)
        except ValueError:
            pass
    for pattern in _DATE_FORMATS:
        try:
            day = datetime.strptime(raw, pattern)
        except ValueError:
            continue
        return day + timedelta(days=1, seconds=-1) if end_of_day else day
    raise errors.bad_request(
        f"Invalid value for query parameter '{name}': expected a date like MM-DD-YYYY."
    )


def breakdown_filter(
    date_from: str | None = None, date_to: str | None = None, invoice_id: str | None = None
) -> billing.BreakdownFilter:
    return billing.BreakdownFilter(
        date_from=_parse_date(date_from, "date_from", end_of_day=False),
        date_to=_parse_date(date_to, "date_to", end_of_day=True),
        invoice_id=invoice_id or None,
    )


Filters = Annotated[billing.BreakdownFilter, Depends(breakdown_filter)]


@router.get("/billing/groups", summary="Billing groups I belong to")
def list_groups(request: Request, ctx: ReadContext, page: Paging, fields: Fields) -> JSONResponse:
    root = api_root(request)
    found = billing.list_groups(ctx, page)
    return list_response(request, found, lambda group: billing_group_json(root, group), fields)


@router.get("/billing/groups/{group_id}", summary="One billing group")
def get_group(
    request: Request, group_id: GroupId, ctx: ReadContext, fields: Fields
) -> JSONResponse:
    group = billing.get_group(ctx, group_id)
    return resource_response(billing_group_json(api_root(request), group), fields)


@router.get("/billing/groups/{group_id}/breakdown/analysis", summary="Analysis costs")
def analysis_breakdown(
    request: Request,
    group_id: GroupId,
    ctx: ReadContext,
    page: Paging,
    fields: Fields,
    filters: Filters,
) -> JSONResponse:
    found = billing.analysis_breakdown(ctx, group_id, filters, page)
    return list_response(request, found, analysis_item_json, fields)


@router.get("/billing/groups/{group_id}/breakdown/storage", summary="Storage costs per project")
def storage_breakdown(
    request: Request,
    group_id: GroupId,
    ctx: ReadContext,
    page: Paging,
    fields: Fields,
    filters: Filters,
) -> JSONResponse:
    found = billing.storage_breakdown(ctx, group_id, filters, page)
    return list_response(request, found, storage_item_json, fields)


@router.get("/billing/groups/{group_id}/breakdown/egress", summary="Download (egress) costs")
def egress_breakdown(
    request: Request,
    group_id: GroupId,
    ctx: ReadContext,
    page: Paging,
    fields: Fields,
    filters: Filters,
) -> JSONResponse:
    found = billing.egress_breakdown(ctx, group_id, filters, page)
    return list_response(request, found, egress_item_json, fields)
