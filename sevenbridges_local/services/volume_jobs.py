"""What imports and exports (rest-api.md §3.9, §3.10) share: their states, bulk submit and
get, reading one's own job and listing with filters. Each caller keeps its own model, messages
and work."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import Select, select

from sevenbridges_local import errors
from sevenbridges_local.limits import MAX_BULK_ITEMS
from sevenbridges_local.services.bulk import each_item
from sevenbridges_local.services.context import Page, PageRequest, ServiceContext, paginate
from sevenbridges_local.services.volumes import split_volume_id

PENDING = "PENDING"
RUNNING = "RUNNING"
COMPLETED = "COMPLETED"
FAILED = "FAILED"
STATES = (PENDING, RUNNING, COMPLETED, FAILED)
TERMINAL = (COMPLETED, FAILED)

JOB_NOT_FOUND = 9008

Job = TypeVar("Job")
Request = TypeVar("Request")


def check_state(state: str | None) -> str | None:
    if state is None:
        return None
    if state.upper() not in STATES:
        raise errors.bad_request(
            f"Invalid 'state' {state!r}: expected one of {', '.join(STATES)}.",
            errors.VOLUME_BAD_SYNTAX,
        )
    return state.upper()


def bulk_submit(
    ctx: ServiceContext, requests: Sequence[Request], submit: Callable[[Request], Job]
) -> list[Job | errors.ApiError]:
    """Each item on its own: a bad one is its ``error``, the others go ahead."""
    if len(requests) > MAX_BULK_ITEMS:
        raise errors.bad_request(f"At most {MAX_BULK_ITEMS} items are allowed per call.")
    return each_item(ctx, requests, submit)


def own_job(
    ctx: ServiceContext, model: type[Job], job_id: str, not_found: Callable[[str], errors.ApiError]
) -> Job:
    """The caller's job; anyone else's (or a non-string id) is the same 404 as a missing one."""
    job = ctx.session.get(model, job_id) if isinstance(job_id, str) else None
    if job is None or job.user_id != ctx.actor.user_id:  # type: ignore[attr-defined]
        raise not_found(str(job_id))
    return job


def bulk_get(
    ctx: ServiceContext, job_ids: Sequence[str], get: Callable[[str], Job]
) -> list[Job | errors.ApiError]:
    return each_item(ctx, job_ids, get, rollback=False)


def list_own_jobs(
    ctx: ServiceContext,
    model: Any,
    page: PageRequest,
    *,
    volume: str | None,
    state: str | None,
    narrow: Callable[[Select[Any]], Select[Any]] | None = None,
) -> Page[Any]:
    """The caller's jobs of ``model``, newest first, filtered by volume (``owner/name``), state
    and whatever ``narrow`` adds."""
    statement = select(model).where(model.user_id == ctx.actor.user_id)
    if volume is not None:
        split_volume_id(volume)
        statement = statement.where(model.volume_label == volume)
    if narrow is not None:
        statement = narrow(statement)
    checked = check_state(state)
    if checked is not None:
        statement = statement.where(model.state == checked)
    statement = statement.order_by(model.created_on.desc(), model.id)
    return paginate(ctx.session, statement, page)
