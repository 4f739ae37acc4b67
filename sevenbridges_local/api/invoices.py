"""Invoices: ``/billing/invoices[/{id}]``.

Both use a write session: looking at invoices materialises the months that have begun since.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sevenbridges_local.api.boundary import BoundaryRoute
from sevenbridges_local.api.deps import Fields, Paging, WriteContext
from sevenbridges_local.api.shapes import api_root, invoice_json, list_response, resource_response
from sevenbridges_local.services import invoices

router = APIRouter(tags=["billing"], route_class=BoundaryRoute)


@router.get("/billing/invoices", summary="Invoices of my billing groups, newest first")
def list_invoices(
    request: Request, ctx: WriteContext, page: Paging, fields: Fields
) -> JSONResponse:
    root = api_root(request)
    found = invoices.list_invoices(ctx, page)
    return list_response(
        request, found, lambda view: invoice_json(root, view.invoice, view.total), fields
    )


@router.get("/billing/invoices/{invoice_id}", summary="One invoice")
def get_invoice(
    request: Request, invoice_id: str, ctx: WriteContext, fields: Fields
) -> JSONResponse:
    view = invoices.get_invoice(ctx, invoice_id)
    return resource_response(invoice_json(api_root(request), view.invoice, view.total), fields)
