"""Billing groups, their membership and cost breakdowns."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from sevenbridges_local import errors
from sevenbridges_local.db.files import FILE_TYPE, File
from sevenbridges_local.db.models import (
    AnalysisCharge,
    BillingGroup,
    BillingGroupMember,
    EgressCharge,
    Project,
    User,
)
from sevenbridges_local.services import invoices
from sevenbridges_local.services.context import Page, PageRequest, ServiceContext, paginate

NEW_GROUP_BALANCE = 100_000.0


def create_billing_group(session: Session, *, owner: User, name: str) -> BillingGroup:
    """A regular group with the starting balance, its owner as member, and its first invoice."""
    group = BillingGroup(
        id=str(uuid.uuid4()),
        name=name,
        owner_id=owner.id,
        type="regular",
        pending=False,
        disabled=False,
        currency="USD",
        balance=NEW_GROUP_BALANCE,
    )
    session.add(group)
    session.flush()
    session.add(BillingGroupMember(billing_group_id=group.id, user_id=owner.id))
    session.flush()
    invoices.materialise_invoices(session, group)
    return group


def own_billing_group(session: Session, user_id: int) -> BillingGroup | None:
    """The first group the user owns: the default for their new projects."""
    return session.scalar(
        select(BillingGroup)
        .where(BillingGroup.owner_id == user_id)
        .order_by(BillingGroup.created_on, BillingGroup.id)
        .limit(1)
    )


def _parse_group_id(raw: str) -> str:
    try:
        return str(uuid.UUID(raw))
    except (ValueError, AttributeError, TypeError):
        raise errors.bad_request(
            f"Billing group id '{raw}' is not a valid UUID.", errors.BILLING_GROUP_ID_NOT_UUID
        )


def get_group(ctx: ServiceContext, raw_group_id: str) -> BillingGroup:
    """A billing group the caller belongs to (400 not a UUID, 404 unknown, 403 not a member)."""
    group = ctx.session.get(BillingGroup, _parse_group_id(raw_group_id))
    if group is None:
        raise errors.not_found(
            f"Billing group '{raw_group_id}' does not exist.", errors.BILLING_NOT_FOUND
        )
    if ctx.session.get(BillingGroupMember, (group.id, ctx.actor.user_id)) is None:
        raise errors.forbidden(
            f"You are not a member of billing group '{raw_group_id}'.", errors.BILLING_NOT_MEMBER
        )
    return group


def list_groups(ctx: ServiceContext, page: PageRequest) -> Page[BillingGroup]:
    statement = (
        select(BillingGroup)
        .join(BillingGroupMember, BillingGroupMember.billing_group_id == BillingGroup.id)
        .where(BillingGroupMember.user_id == ctx.actor.user_id)
        .order_by(BillingGroup.created_on, BillingGroup.id)
    )
    return paginate(ctx.session, statement, page)


# ---------------------------------------------------------------------------------------------
# Breakdowns


@dataclass(frozen=True)
class BreakdownFilter:
    date_from: datetime | None = None
    date_to: datetime | None = None
    invoice_id: str | None = None


@dataclass(frozen=True)
class StorageUsage:
    project_name: str
    project_created_by: str
    location: str
    active_gb_months: float
    active_cost: float
    archived_gb_months: float
    archived_cost: float
    currency: str
    project_locked: bool


@dataclass(frozen=True)
class AnalysisRow:
    charge: AnalysisCharge
    project_locked: bool


@dataclass(frozen=True)
class EgressRow:
    charge: EgressCharge
    project_locked: bool


LOCAL_STORAGE_LOCATION = "local"


def _period(
    ctx: ServiceContext, group: BillingGroup, filters: BreakdownFilter
) -> tuple[datetime | None, datetime | None]:
    start, end = filters.date_from, filters.date_to
    if filters.invoice_id:
        invoice = invoices.find_group_invoice(ctx.session, group.id, filters.invoice_id)
        start = max(start, invoice.period_start) if start else invoice.period_start
        end = min(end, invoice.period_end) if end else invoice.period_end
    if start and end and start > end:
        raise errors.bad_request("'date_from' must not be later than 'date_to'.")
    return start, end


def _locked_projects(session: Session, project_ids: Sequence[int | None]) -> set[int]:
    wanted = {project_id for project_id in project_ids if project_id is not None}
    if not wanted:
        return set()
    return {
        project.id
        for project in session.scalars(select(Project).where(Project.id.in_(wanted)))
        if (project.settings or {}).get("locked")
    }


BYTES_PER_GB = 1024**3


def _stored_bytes(session: Session, project_ids: Sequence[int]) -> dict[int, int]:
    """Total size of the files in each project."""
    if not project_ids:
        return {}
    rows = session.execute(
        select(File.project_id, func.coalesce(func.sum(File.size), 0))
        .where(File.project_id.in_(project_ids), File.type == FILE_TYPE)
        .group_by(File.project_id)
    )
    return {project_id: int(total) for project_id, total in rows}


def storage_breakdown(
    ctx: ServiceContext, raw_group_id: str, filters: BreakdownFilter, page: PageRequest
) -> Page[StorageUsage]:
    """One row per project of the group: the size its files take now, in GB (storage is free
    locally, so costs stay 0)."""
    group = get_group(ctx, raw_group_id)
    _period(ctx, group, filters)  # validates the filters; the size is today's, not per period
    statement = select(Project).where(Project.billing_group_id == group.id).order_by(Project.id)
    projects = paginate(ctx.session, statement, page)
    sizes = _stored_bytes(ctx.session, [project.id for project in projects.items])
    rows = [
        StorageUsage(
            project_name=project.name,
            project_created_by=project.created_by.username,
            location=LOCAL_STORAGE_LOCATION,
            active_gb_months=round(sizes.get(project.id, 0) / BYTES_PER_GB, 6),
            active_cost=0.0,
            archived_gb_months=0.0,
            archived_cost=0.0,
            currency=group.currency,
            project_locked=bool((project.settings or {}).get("locked")),
        )
        for project in projects.items
    ]
    return Page(items=rows, total=projects.total, offset=projects.offset, limit=projects.limit)


def _ledger_page(
    ctx: ServiceContext,
    statement: Select[Any],
    time_column: Any,
    start: datetime | None,
    end: datetime | None,
    page: PageRequest,
) -> Page[Any]:
    if start:
        statement = statement.where(time_column >= start)
    if end:
        statement = statement.where(time_column <= end)
    return paginate(ctx.session, statement, page)


def analysis_breakdown(
    ctx: ServiceContext, raw_group_id: str, filters: BreakdownFilter, page: PageRequest
) -> Page[AnalysisRow]:
    group = get_group(ctx, raw_group_id)
    start, end = _period(ctx, group, filters)
    statement = (
        select(AnalysisCharge)
        .where(AnalysisCharge.billing_group_id == group.id)
        .order_by(AnalysisCharge.time_started, AnalysisCharge.id)
    )
    charges = _ledger_page(ctx, statement, AnalysisCharge.time_started, start, end, page)
    locked = _locked_projects(ctx.session, [charge.project_id for charge in charges.items])
    rows = [AnalysisRow(charge, charge.project_id in locked) for charge in charges.items]
    return Page(items=rows, total=charges.total, offset=charges.offset, limit=charges.limit)


def egress_breakdown(
    ctx: ServiceContext, raw_group_id: str, filters: BreakdownFilter, page: PageRequest
) -> Page[EgressRow]:
    group = get_group(ctx, raw_group_id)
    start, end = _period(ctx, group, filters)
    statement = (
        select(EgressCharge)
        .where(EgressCharge.billing_group_id == group.id)
        .order_by(EgressCharge.recorded_on, EgressCharge.id)
    )
    charges = _ledger_page(ctx, statement, EgressCharge.recorded_on, start, end, page)
    locked = _locked_projects(ctx.session, [charge.project_id for charge in charges.items])
    rows = [EgressRow(charge, charge.project_id in locked) for charge in charges.items]
    return Page(items=rows, total=charges.total, offset=charges.offset, limit=charges.limit)


def record_egress(session: Session, *, project: Project, username: str, size_bytes: int) -> None:
    """Add a download to the egress ledger of the project's billing group (free locally)."""
    group = session.get(BillingGroup, project.billing_group_id)
    session.add(
        EgressCharge(
            billing_group_id=project.billing_group_id,
            project_id=project.id,
            project_name=project.name,
            downloaded_by=username,
            size_bytes=size_bytes,
            currency=group.currency if group is not None else "USD",
            amount=0.0,
        )
    )


# Analysis (task) charges. The local platform bills run time at one flat, documented rate: the
# price of a task is its running time (cwltool process start to end) times this hourly rate;
# storage and data transfer cost nothing locally. Batch parents are not charged themselves:
# each child is, and a parent's price is the sum of its children's.
COMPUTE_USD_PER_HOUR = 0.10


def computation_price(running_seconds: float) -> float:
    """The computation cost of ``running_seconds`` of task run time, in USD."""
    return max(running_seconds, 0.0) / 3600.0 * COMPUTE_USD_PER_HOUR


def record_analysis(
    session: Session,
    *,
    project: Project,
    task_id: str,
    task_name: str,
    app_name: str,
    ran_by: str,
    status: str,
    computation_cost: float,
    time_started: datetime,
    time_finished: datetime | None,
) -> None:
    """Add a finished task to the analysis ledger of its project's billing group."""
    group = session.get(BillingGroup, project.billing_group_id)
    session.add(
        AnalysisCharge(
            billing_group_id=project.billing_group_id,
            project_id=project.id,
            project_name=project.name,
            analysis_type="TASK",
            analysis_id=task_id,
            analysis_name=task_name,
            analysis_app_name=app_name,
            ran_by=ran_by,
            analysis_status=status,
            currency=group.currency if group is not None else "USD",
            storage_cost=0.0,
            computation_cost=computation_cost,
            data_transfer_in_cost=0.0,
            time_started=time_started,
            time_finished=time_finished,
        )
    )
