"""The platform's JSON shapes: absolute hrefs, resources, and paginated lists."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import JSONResponse

from sevenbridges_local import json_numbers
from sevenbridges_local.api.deps import FieldSelection
from sevenbridges_local.clock import format_timestamp, naive_utc
from sevenbridges_local.db.models import (
    BillingGroup,
    Invoice,
    Project,
    ProjectMember,
    User,
)
from sevenbridges_local.db.teams import GroupGrant
from sevenbridges_local.db.volumes import Volume, VolumeMember
from sevenbridges_local.services.billing import AnalysisRow, EgressRow, StorageUsage
from sevenbridges_local.services.context import Page
from sevenbridges_local.storage.buckets import ObjectInfo

T = TypeVar("T")

TOTAL_HEADER = "X-Total-Matching-Query"
BYTES_PER_GB = 1024**3
# ``type`` of a volume object by service type, as the platform spells it.
VOLUME_OBJECT_TYPES = {"S3": "s3", "GCS": "gcs", "OSS": "OSS"}


def api_root(request: Request) -> str:
    """``http://host:port/v2`` as the client reached us, so every href works for that client."""
    return str(request.base_url).rstrip("/") + "/v2"


class NumberKeepingJSONResponse(JSONResponse):
    """Starlette's JSON response, but numbers read from documents keep their written form
    (see :mod:`sevenbridges_local.json_numbers`)."""

    def render(self, content: Any) -> bytes:
        return json_numbers.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()


def resource_response(
    resource: dict[str, Any], fields: FieldSelection | None = None, status_code: int = 200
) -> JSONResponse:
    body = fields.apply(resource) if fields else resource
    return NumberKeepingJSONResponse(body, status_code=status_code)


def _page_href(request: Request, offset: int, limit: int) -> str:
    params = [
        (key, value)
        for key, value in request.query_params.multi_items()
        if key not in ("offset", "limit")
    ]
    params += [("offset", str(offset)), ("limit", str(limit))]
    return str(request.url.replace(query=urlencode(params)))


def list_response(
    request: Request,
    page: Page[T],
    shape: Callable[[T], dict[str, Any]],
    fields: FieldSelection | None = None,
) -> JSONResponse:
    """A page as ``{"href", "items", "links"}`` plus the total-count header clients rely on."""
    selection = fields or FieldSelection()
    links = []
    if page.has_next:
        links.append(
            {
                "href": _page_href(request, page.offset + page.limit, page.limit),
                "rel": "next",
                "method": "GET",
            }
        )
    if page.has_prev:
        links.append(
            {
                "href": _page_href(request, max(page.offset - page.limit, 0), page.limit),
                "rel": "prev",
                "method": "GET",
            }
        )
    body = {
        "href": _page_href(request, page.offset, page.limit),
        "items": [selection.apply(shape(item)) for item in page.items],
        "links": links,
    }
    return NumberKeepingJSONResponse(body, headers={TOTAL_HEADER: str(page.total)})


def price(amount: float, currency: str = "USD") -> dict[str, Any]:
    return {"currency": currency, "amount": float(amount)}


def endpoints_json(root: str) -> dict[str, str]:
    names = ("rate_limit", "user", "users", "billing", "projects", "files", "tasks", "apps")
    urls = {f"{name}_url": f"{root}/{name}" for name in names}
    urls["action_url"] = f"{root}/action"
    urls["upload_url"] = f"{root}/upload"
    return urls


def user_json(root: str, user: User, *, role: str | None = None) -> dict[str, Any]:
    return {
        "href": f"{root}/users/{user.username}",
        "username": user.username,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "affiliation": user.affiliation,
        "phone": user.phone,
        "address": user.address,
        "city": user.city,
        "state": user.state,
        "zip_code": user.zip_code,
        "country": user.country,
        "role": role or user.role,
    }


def project_id(project: Project) -> str:
    return f"{project.owner.username}/{project.slug}"


def project_json(root: str, project: Project, root_folder: str | None) -> dict[str, Any]:
    identifier = project_id(project)
    body: dict[str, Any] = {
        "href": f"{root}/projects/{identifier}",
        "id": identifier,
        "name": project.name,
        "type": project.type or "v2",
        "description": project.description or "",
        "tags": project.tags,
        "billing_group": project.billing_group_id,
        "settings": project.settings or {},
        "created_by": project.created_by.username,
        "created_on": format_timestamp(project.created_on),
        "modified_on": format_timestamp(project.modified_on),
        "category": project.category,
    }
    if root_folder:
        body["root_folder"] = root_folder
    return body


def member_name(member: Any) -> tuple[str, str, str]:
    """(username, email, type) of a member row: a user, or a team/division group grant."""
    if isinstance(member, GroupGrant):
        if member.team is not None:
            return member.team.id, "", "TEAM"
        return member.division.slug if member.division else "", "", "DIVISION"
    return member.user.username, member.user.email, "USER"


def _member_body(href: str, member: Any, permissions: tuple[str, ...]) -> dict[str, Any]:
    username, email, member_type = member_name(member)
    return {
        "href": href,
        "id": username,
        "username": username,
        "email": email,
        "type": member_type,
        "permissions": {name: getattr(member, name) for name in permissions},
    }


def member_json(root: str, project: Project, member: ProjectMember) -> dict[str, Any]:
    href = f"{root}/projects/{project_id(project)}/members/{member_name(member)[0]}"
    return _member_body(href, member, ("read", "copy", "write", "execute", "admin"))


def volume_href(root: str, volume: Volume) -> str:
    return f"{root}/storage/volumes/{volume.owner.username}/{volume.name}"


def volume_json(root: str, volume: Volume) -> dict[str, Any]:
    service = dict(volume.service or {})
    return {
        "href": volume_href(root, volume),
        "id": f"{volume.owner.username}/{volume.name}",
        "name": volume.name,
        "description": volume.description or "",
        "access_mode": volume.access_mode,
        "active": volume.active,
        "created_on": format_timestamp(volume.created_on),
        "modified_on": format_timestamp(volume.modified_on),
        "service": {
            "type": volume.service_type,
            "bucket": service.get("bucket", ""),
            "prefix": service.get("prefix") or "",
            "endpoint": service.get("endpoint") or "",
            "root_url": service.get("root_url") or "",
            # Only the public part was ever stored here; secrets live sealed elsewhere.
            "credentials": dict(service.get("credentials") or {}),
            "properties": dict(service.get("properties") or {}),
        },
    }


def volume_member_json(root: str, volume: Volume, member: VolumeMember) -> dict[str, Any]:
    href = f"{volume_href(root, volume)}/members/{member_name(member)[0]}"
    return _member_body(href, member, ("read", "copy", "write", "admin"))


def volume_object_json(
    root: str, volume: str, storage_type: str, info: ObjectInfo
) -> dict[str, Any]:
    """A volume object; ``type`` is the storage type as the platform spells it (s3, gcs, OSS)."""
    metadata: dict[str, str] = {"size": str(info.size)}
    if info.etag:
        metadata["etag"] = info.etag
    if info.last_modified is not None:
        metadata["last_modified"] = format_timestamp(naive_utc(info.last_modified))
    if info.content_type:
        metadata["content_type"] = info.content_type
    for key, value in info.metadata.items():
        metadata.setdefault(f"x-meta-{key}", str(value))
    return {
        "href": f"{root}/storage/volumes/{volume}/object?" + urlencode({"location": info.location}),
        "location": info.location,
        "volume": volume,
        "type": VOLUME_OBJECT_TYPES.get(storage_type, storage_type.lower()),
        "metadata": metadata,
    }


def volume_prefix_json(root: str, volume: str, prefix: str) -> dict[str, Any]:
    return {
        "href": f"{root}/storage/volumes/{volume}/list?" + urlencode({"prefix": prefix}),
        "prefix": prefix,
        "volume": volume,
    }


def billing_group_json(root: str, group: BillingGroup) -> dict[str, Any]:
    return {
        "href": f"{root}/billing/groups/{group.id}",
        "id": group.id,
        "owner": group.owner.username,
        "name": group.name,
        "type": group.type,
        "pending": group.pending,
        "disabled": group.disabled,
        "balance": price(group.balance, group.currency),
    }


def invoice_json(root: str, invoice: Invoice, total: float) -> dict[str, Any]:
    body: dict[str, Any] = {
        "href": f"{root}/billing/invoices/{invoice.id}",
        "id": invoice.id,
        "pending": invoice.pending,
        "invoice_period": {
            "from": format_timestamp(invoice.period_start),
            "to": format_timestamp(invoice.period_end),
        },
        "analysis_costs": price(invoice.analysis_costs, invoice.currency),
        "storage_costs": price(invoice.storage_costs, invoice.currency),
        "total": price(total, invoice.currency),
    }
    if invoice.approval_date is not None:
        body["approval_date"] = format_timestamp(invoice.approval_date)
    return body


def _measurement(size: float, unit: str, cost: float, currency: str) -> dict[str, Any]:
    return {"size": size, "unit": unit, "cost": {"amount": cost, "currency": currency}}


def storage_item_json(usage: StorageUsage) -> dict[str, Any]:
    return {
        "project_name": usage.project_name,
        "project_created_by": usage.project_created_by,
        "location": usage.location,
        "active": _measurement(
            usage.active_gb_months, "GB/Month", usage.active_cost, usage.currency
        ),
        "archived": _measurement(
            usage.archived_gb_months, "GB/Month", usage.archived_cost, usage.currency
        ),
        "project_locked": usage.project_locked,
    }


def analysis_item_json(row: AnalysisRow) -> dict[str, Any]:
    charge = row.charge
    total = charge.storage_cost + charge.computation_cost + charge.data_transfer_in_cost
    body: dict[str, Any] = {
        "project_name": charge.project_name,
        "analysis_app_name": charge.analysis_app_name,
        "analysis_name": charge.analysis_name,
        "analysis_type": charge.analysis_type,
        "analysis_id": charge.analysis_id,
        "ran_by": charge.ran_by,
        "analysis_status": charge.analysis_status,
        "analysis_cost": {
            "currency": charge.currency,
            "amount": f"{total:.2f}",  # a string on the wire, as on the platform
            "breakdown": {
                "storage": float(charge.storage_cost),
                "computation": float(charge.computation_cost),
                "data_transfer_in": float(charge.data_transfer_in_cost),
            },
        },
        "refunded_amount": float(charge.refunded_amount),
        "time_started": format_timestamp(charge.time_started),
        "project_locked": row.project_locked,
    }
    if charge.time_finished is not None:
        body["time_finished"] = format_timestamp(charge.time_finished)
    return body


def egress_item_json(row: EgressRow) -> dict[str, Any]:
    charge = row.charge
    return {
        "project_name": charge.project_name,
        "downloaded_by": charge.downloaded_by,
        "downloaded": {"size": round(charge.size_bytes / BYTES_PER_GB, 6), "unit": "GB"},
        "egress_cost": {"currency": charge.currency, "amount": f"{charge.amount:.2f}"},
        "project_locked": row.project_locked,
    }
