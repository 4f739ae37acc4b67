"""Actions: feedback to the platform's operators and the synchronous bulk copy of files."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select

from sevenbridges_local import errors
from sevenbridges_local.clock import utcnow
from sevenbridges_local.db.datasets import Feedback
from sevenbridges_local.limits import MAX_BULK_ITEMS
from sevenbridges_local.services import files
from sevenbridges_local.services.context import Page, PageRequest, ServiceContext, paginate

logger = logging.getLogger(__name__)

FEEDBACK_TYPES = ("IDEA", "PROBLEM", "THOUGHT")
MAX_FEEDBACK_TEXT = 10_000
MAX_REFERRER = 2_000


def send_feedback(ctx: ServiceContext, kind: Any, text: Any, referrer: Any) -> Feedback:
    """Store one feedback message; platform admins read them (``GET`` of the same path)."""
    wanted = kind.upper() if isinstance(kind, str) else kind
    if wanted not in FEEDBACK_TYPES:
        raise errors.bad_request(
            f"Invalid feedback type {kind!r}; expected one of {', '.join(FEEDBACK_TYPES)}.",
            errors.FEEDBACK_INVALID,
        )
    if not isinstance(text, str) or not text.strip():
        raise errors.bad_request("Feedback text must not be empty.", errors.FEEDBACK_INVALID)
    if len(text) > MAX_FEEDBACK_TEXT:
        raise errors.bad_request(
            f"Feedback text must be at most {MAX_FEEDBACK_TEXT} characters.",
            errors.FEEDBACK_INVALID,
        )
    referrer = "" if referrer is None else str(referrer)[:MAX_REFERRER]
    row = Feedback(
        user_id=ctx.actor.user_id, type=wanted, text=text, referrer=referrer, created_on=utcnow()
    )
    ctx.session.add(row)
    ctx.session.commit()
    logger.info("feedback %s of type %s from %s", row.id, wanted, ctx.actor.username)
    return row


def list_feedback(ctx: ServiceContext, page: PageRequest) -> Page[Feedback]:
    if not ctx.actor.is_platform_admin:
        raise errors.forbidden("Only platform administrators read feedback.")
    statement = select(Feedback).order_by(Feedback.id.desc())
    return paginate(ctx.session, statement, page)


def bulk_copy(ctx: ServiceContext, project: Any, file_ids: Any) -> dict[str, dict[str, Any]]:
    """Copy each file to the project's root; one result per source id, each on its own (a
    failure leaves the others copied)."""
    if not isinstance(project, str) or not project:
        raise errors.bad_request("Give the destination 'project' (owner/project).")
    if not isinstance(file_ids, list) or not file_ids:
        raise errors.bad_request("Give the files to copy as a non-empty 'file_ids' list.")
    if len(file_ids) > MAX_BULK_ITEMS:
        raise errors.bad_request(f"At most {MAX_BULK_ITEMS} files can be copied at once.")
    results: dict[str, dict[str, Any]] = {}
    for file_id in file_ids:
        key = str(file_id)
        try:
            copied = files.copy_file(ctx, file_id, project=project)
            ctx.session.commit()
        except errors.ApiError as exc:
            ctx.session.rollback()
            results[key] = {"status": "FAILED", "error": exc.body()}
            continue
        results[key] = {"status": "OK", "new_file_id": copied.id, "new_file_name": copied.name}
    return results
