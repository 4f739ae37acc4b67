"""Invoices: one per billing group and calendar month, from the group's creation on.

Invoices are rows in the database, created lazily ("materialised") whenever someone looks at a
group's invoices, so months that passed while the server was stopped appear as well. The running
month is ``pending``; closing a month freezes its amounts.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sevenbridges_local import errors
from sevenbridges_local.clock import month_end, month_start, next_month_start, utcnow
from sevenbridges_local.db.models import (
    AnalysisCharge,
    BillingGroup,
    BillingGroupMember,
    EgressCharge,
    Invoice,
)
from sevenbridges_local.services.context import Page, PageRequest, ServiceContext, paginate


def _analysis_costs(session: Session, group_id: str, start: datetime, end: datetime) -> float:
    total = session.scalar(
        select(
            func.coalesce(
                func.sum(
                    AnalysisCharge.storage_cost
                    + AnalysisCharge.computation_cost
                    + AnalysisCharge.data_transfer_in_cost
                    - AnalysisCharge.refunded_amount
                ),
                0,
            )
        ).where(
            AnalysisCharge.billing_group_id == group_id,
            AnalysisCharge.time_started >= start,
            AnalysisCharge.time_started <= end,
        )
    )
    return float(total or 0)


def egress_costs(session: Session, group_id: str, start: datetime, end: datetime) -> float:
    total = session.scalar(
        select(func.coalesce(func.sum(EgressCharge.amount), 0)).where(
            EgressCharge.billing_group_id == group_id,
            EgressCharge.recorded_on >= start,
            EgressCharge.recorded_on <= end,
        )
    )
    return float(total or 0)


def _refresh_amounts(session: Session, invoice: Invoice) -> None:
    invoice.analysis_costs = _analysis_costs(
        session, invoice.billing_group_id, invoice.period_start, invoice.period_end
    )
    # Storage is not metered yet: files arrive with a later part of the local platform.
    invoice.storage_costs = 0.0


def materialise_invoices(
    session: Session, group: BillingGroup, now: datetime | None = None
) -> None:
    """Create missing monthly invoices up to the current month and close finished months."""
    now = now or utcnow()
    current_month = month_start(now)
    existing = {
        invoice.period_start: invoice
        for invoice in session.scalars(select(Invoice).where(Invoice.billing_group_id == group.id))
    }
    month = month_start(group.created_on)
    while month <= current_month:
        invoice = existing.get(month)
        if invoice is None:
            invoice = Invoice(
                id=uuid.uuid4().hex,
                billing_group_id=group.id,
                period_start=month,
                period_end=month_end(month),
                pending=True,
                currency=group.currency,
                analysis_costs=0.0,
                storage_costs=0.0,
                created_on=now,
            )
            session.add(invoice)
        if invoice.pending:
            _refresh_amounts(session, invoice)
            if month < current_month:  # the month is over: freeze it
                invoice.pending = False
                invoice.approval_date = next_month_start(month)
        month = next_month_start(month)
    session.flush()


@dataclass(frozen=True)
class InvoiceView:
    invoice: Invoice
    total: float


def _view(session: Session, invoice: Invoice) -> InvoiceView:
    egress = egress_costs(
        session, invoice.billing_group_id, invoice.period_start, invoice.period_end
    )
    total = float(invoice.analysis_costs) + float(invoice.storage_costs) + egress
    return InvoiceView(invoice=invoice, total=total)


def _my_groups(ctx: ServiceContext) -> list[BillingGroup]:
    return list(
        ctx.session.scalars(
            select(BillingGroup)
            .join(BillingGroupMember, BillingGroupMember.billing_group_id == BillingGroup.id)
            .where(BillingGroupMember.user_id == ctx.actor.user_id)
        ).unique()
    )


def list_invoices(ctx: ServiceContext, page: PageRequest) -> Page[InvoiceView]:
    """Invoices of every billing group the caller belongs to, newest month first."""
    for group in _my_groups(ctx):
        materialise_invoices(ctx.session, group)
    ctx.session.commit()
    statement = (
        select(Invoice)
        .join(BillingGroupMember, BillingGroupMember.billing_group_id == Invoice.billing_group_id)
        .where(BillingGroupMember.user_id == ctx.actor.user_id)
        .order_by(Invoice.period_start.desc(), Invoice.billing_group_id)
    )
    found = paginate(ctx.session, statement, page)
    views = [_view(ctx.session, invoice) for invoice in found.items]
    return Page(items=views, total=found.total, offset=found.offset, limit=found.limit)


def get_invoice(ctx: ServiceContext, invoice_id: str) -> InvoiceView:
    invoice = ctx.session.get(Invoice, invoice_id)
    if invoice is None:
        raise errors.not_found(f"Invoice '{invoice_id}' does not exist.", errors.BILLING_NOT_FOUND)
    is_member = ctx.session.get(BillingGroupMember, (invoice.billing_group_id, ctx.actor.user_id))
    if is_member is None:
        raise errors.forbidden(
            "You are not a member of the billing group of this invoice.",
            errors.BILLING_NOT_MEMBER,
        )
    group = ctx.session.get(BillingGroup, invoice.billing_group_id)
    if group is not None:
        materialise_invoices(ctx.session, group)
        ctx.session.commit()
    return _view(ctx.session, invoice)


def find_group_invoice(session: Session, group_id: str, invoice_id: str) -> Invoice:
    invoice = session.get(Invoice, invoice_id)
    if invoice is None or invoice.billing_group_id != group_id:
        raise errors.not_found(
            f"Invoice '{invoice_id}' does not exist for this billing group.",
            errors.BILLING_NOT_FOUND,
        )
    return invoice
