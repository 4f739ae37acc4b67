"""Actions: ``/action/notifications/feedback`` and ``/action/files/copy``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import Field, StrictStr

from sevenbridges_local.api.boundary import BoundaryRoute, RequestBody
from sevenbridges_local.api.deps import Paging, ReadContext, WriteContext
from sevenbridges_local.api.shapes import list_response
from sevenbridges_local.clock import format_timestamp
from sevenbridges_local.db.datasets import Feedback
from sevenbridges_local.limits import MAX_BULK_ITEMS
from sevenbridges_local.services import actions

router = APIRouter(tags=["actions"], route_class=BoundaryRoute)

FEEDBACK = "/action/notifications/feedback"


class FeedbackBody(RequestBody):
    type: Annotated[StrictStr, Field(max_length=32)] | None = None
    text: Annotated[StrictStr, Field(max_length=actions.MAX_FEEDBACK_TEXT)] | None = None
    # The client sends its info dict's text; anything JSON is kept as text.
    referrer: Any = None


class BulkCopyBody(RequestBody):
    project: Annotated[StrictStr, Field(max_length=1_000)] | None = None
    file_ids: (
        Annotated[
            list[Annotated[StrictStr, Field(max_length=64)]], Field(max_length=MAX_BULK_ITEMS)
        ]
        | None
    ) = None


def feedback_json(row: Feedback) -> dict[str, Any]:
    return {
        "id": row.id,
        "type": row.type,
        "text": row.text,
        "referrer": row.referrer,
        "user": row.user.username,
        "created_on": format_timestamp(row.created_on),
    }


@router.post(FEEDBACK, status_code=204, summary="Send feedback (IDEA, PROBLEM or THOUGHT)")
def send_feedback(ctx: WriteContext, body: FeedbackBody | None = None) -> Response:
    body = body or FeedbackBody()
    actions.send_feedback(ctx, body.type, body.text, body.referrer)
    return Response(status_code=204)


@router.get(FEEDBACK, summary="Feedback received (platform admins; local extension)")
def list_feedback(request: Request, ctx: ReadContext, page: Paging) -> JSONResponse:
    return list_response(request, actions.list_feedback(ctx, page), feedback_json)


@router.post("/action/files/copy", summary="Copy files to a project's root, synchronously")
def bulk_copy(ctx: WriteContext, body: BulkCopyBody | None = None) -> JSONResponse:
    body = body or BulkCopyBody()
    return JSONResponse(actions.bulk_copy(ctx, body.project, body.file_ids))
