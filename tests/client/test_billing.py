"""Billing groups, their analysis/storage/egress breakdowns, and invoices."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

import sevenbridges as sbg
from sevenbridges.errors import BadRequest, Forbidden, NotFound, ReadOnlyPropertyError, SbgError
from sevenbridges.meta.collection import Collection
from sevenbridges.models.billing_analysis_breakdown import BillingGroupAnalysisBreakdown
from sevenbridges.models.billing_egress_breakdown import BillingGroupEgressBreakdown
from sevenbridges.models.billing_group import BillingGroup
from sevenbridges.models.billing_storage_breakdown import BillingGroupStorageBreakdown
from sevenbridges.models.compound.analysis_cost import AnalysisCost
from sevenbridges.models.compound.analysis_cost_breakdown import AnalysisCostBreakdown
from sevenbridges.models.compound.billing.invoice_period import InvoicePeriod
from sevenbridges.models.compound.egress_cost import EgressCost
from sevenbridges.models.compound.measurement import Measurement, StorageCost
from sevenbridges.models.compound.price import Price
from sevenbridges.models.invoice import Invoice


def utc_now() -> datetime:
    """Naive UTC, the way the platform's timestamps read back."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def test_every_user_has_a_billing_group(api_for, platform, new_username):
    username = new_username("payer")
    api = api_for(username)

    groups = api.billing_groups.query()

    assert isinstance(groups, Collection)
    assert groups.total == len(groups) == 1
    group = groups[0]
    assert isinstance(group, BillingGroup)
    assert str(uuid.UUID(group.id)) == group.id
    assert group.href == f"{platform.url}/billing/groups/{group.id}"
    assert group.owner == username
    assert group.name
    assert group.type in {"free", "regular"}
    assert group.pending is False
    assert group.disabled is False
    assert isinstance(group.balance, Price)
    assert group.balance.currency == "USD"
    assert isinstance(group.balance.amount, float) and group.balance.amount > 0
    assert str(group) == repr(group) == f"<BillingGroup: id={group.id}>"
    assert str(group.balance) == f"<Price: currency=USD, amount={group.balance.amount}>"


def test_get_billing_group_by_id_or_object(api_for, new_username):
    api = api_for(new_username("payer"))
    listed = api.billing_groups.query()[0]

    by_id = api.billing_groups.get(listed.id)
    by_object = api.billing_groups.get(listed)

    assert by_id == by_object == listed
    assert by_id.balance.amount == listed.balance.amount
    assert by_id != listed.id


def test_billing_group_fields_are_read_only(api_for, new_username):
    group = api_for(new_username("payer")).billing_groups.query()[0]

    with pytest.raises(ReadOnlyPropertyError):
        group.name = "renamed"
    with pytest.raises(ReadOnlyPropertyError):
        group.balance = {"currency": "EUR", "amount": 1}


def test_billing_group_errors(api_for, new_username):
    owner_api, other_api = api_for(new_username("payer")), api_for(new_username("snoop"))
    group = owner_api.billing_groups.query()[0]

    with pytest.raises(Forbidden) as caught:
        other_api.billing_groups.get(group.id)
    assert caught.value.code == 4006
    with pytest.raises(NotFound) as caught:
        owner_api.billing_groups.get(str(uuid.uuid4()))
    assert caught.value.code == 4002
    with pytest.raises(BadRequest) as caught:
        owner_api.billing_groups.get("not-a-uuid")
    assert caught.value.code == 4005
    with pytest.raises(SbgError):
        owner_api.billing_groups.get(None)
    with pytest.raises(Forbidden):
        other_api.billing_groups.get(group.id).analysis_breakdown()


def test_storage_breakdown_lists_projects_of_the_group(api_for, new_username):
    username = new_username("storage")
    api = api_for(username)
    group = api.billing_groups.query()[0]
    locked = api.projects.create(name="locked one", settings={"locked": True})
    api.projects.create(name="open one")

    rows = group.storage_breakdown()

    assert rows.total == 2
    by_name = {row.project_name: row for row in rows}
    assert set(by_name) == {"locked one", "open one"}
    row = by_name["locked one"]
    assert isinstance(row, BillingGroupStorageBreakdown)
    assert row.project_created_by == username
    assert row.location
    assert row.project_locked is True
    assert by_name["open one"].project_locked is False
    assert isinstance(row.active, Measurement)
    assert isinstance(row.active.size, float) and row.active.unit
    assert str(row.active) == f"<Measurement size={row.active.size}, unit={row.active.unit}>"
    if row.active.cost is not None:
        assert isinstance(row.active.cost, StorageCost)
        assert isinstance(row.active.cost.amount, float)
    assert str(row) == "<BillingGroupStorageBreakdown>"
    assert locked.billing_group == group.id


def test_breakdown_pagination_and_class_level_query(api_for, new_username):
    api = api_for(new_username("storagepages"))
    group = api.billing_groups.query()[0]
    for number in range(5):
        api.projects.create(name=f"p{number}")

    first = group.storage_breakdown(limit=2)
    everything = list(first.all())
    direct = BillingGroupStorageBreakdown.query(group, api=api, offset=2, limit=2)

    assert (len(first), first.total) == (2, 5)
    assert sorted(row.project_name for row in everything) == [f"p{n}" for n in range(5)]
    assert [row.project_name for row in direct] == [row.project_name for row in first.next_page()]


def test_empty_analysis_and_egress_breakdowns(api_for, new_username):
    group = api_for(new_username("quiet")).billing_groups.query()[0]

    analysis = group.analysis_breakdown()
    egress = group.egress_breakdown()

    assert isinstance(analysis, Collection) and isinstance(egress, Collection)
    assert (analysis.total, len(analysis)) == (0, 0)
    assert (egress.total, len(egress)) == (0, 0)


def test_breakdown_for_an_unknown_invoice_is_not_found(api_for, new_username):
    group = api_for(new_username("noinvoice")).billing_groups.query()[0]

    with pytest.raises(NotFound):
        group.storage_breakdown(invoice_id="no-such-invoice")


def test_invoices_of_a_new_group(api_for, platform, new_username):
    api = api_for(new_username("invoiced"))
    group = api.billing_groups.query()[0]

    invoices = api.invoices.query()

    assert isinstance(invoices, Collection)
    assert invoices.total >= 1
    invoice = invoices[0]
    assert isinstance(invoice, Invoice)
    assert invoice.href == f"{platform.url}/billing/invoices/{invoice.id}"
    assert invoice.pending is True  # the running month
    period = invoice.invoice_period
    assert isinstance(period, InvoicePeriod)
    assert isinstance(period.from_, datetime) and isinstance(period.to, datetime)
    assert period.from_ <= utc_now() <= period.to + timedelta(seconds=1)
    assert period.from_.day == 1
    for price in (invoice.analysis_costs, invoice.storage_costs, invoice.total):
        assert isinstance(price, Price)
        assert price.currency == "USD"
        assert price.amount == 0.0
    assert str(invoice) == repr(invoice) == f"<Invoice: id={invoice.id}>"
    # The breakdowns accept the invoice as a filter.
    assert group.storage_breakdown(invoice_id=invoice.id).total == 0


def test_get_invoice_and_errors(api_for, new_username):
    api, other_api = api_for(new_username("invoiced")), api_for(new_username("snoop"))
    listed = api.invoices.query()[0]

    fetched = api.invoices.get(listed.id)

    assert fetched == listed
    assert fetched.invoice_period.from_ == listed.invoice_period.from_
    with pytest.raises(Forbidden):
        other_api.invoices.get(listed.id)
    with pytest.raises(NotFound):
        api.invoices.get("no-such-invoice")
    with pytest.raises(ReadOnlyPropertyError):
        fetched.pending = False


def test_invoice_queries_paginate(api_for, new_username):
    api = api_for(new_username("invoicepages"))

    invoices = api.invoices.query(limit=1)

    assert len(invoices) == 1
    assert [i.id for i in invoices.all()] == [i.id for i in api.invoices.query(limit=100)]


def _seed_charges(server, group_id: str, started: datetime) -> None:
    """Write ledger rows the way the task runner and downloads will, straight into the database.

    Tasks and downloads belong to later parts of the platform; until they exist this is the only
    way to make the server itself produce non-empty analysis and egress breakdowns.
    """
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from sevenbridges_local.db.models import AnalysisCharge, EgressCharge

    engine = create_engine(server.database_url)
    try:
        with Session(engine) as session:
            session.add(
                AnalysisCharge(
                    billing_group_id=group_id,
                    project_name="helix",
                    analysis_type="TASK",
                    analysis_id="6a1f4e9c-3b2d-4c8e-9f10-2a3b4c5d6e7f",
                    analysis_name="align reads",
                    analysis_app_name="bwa-mem",
                    ran_by="rfranklin",
                    analysis_status="COMPLETED",
                    currency="USD",
                    storage_cost=1.0,
                    computation_cost=2.5,
                    data_transfer_in_cost=0.5,
                    refunded_amount=0.25,
                    time_started=started,
                    time_finished=started + timedelta(minutes=5),
                )
            )
            session.add(
                EgressCharge(
                    billing_group_id=group_id,
                    project_name="helix",
                    downloaded_by="rfranklin",
                    size_bytes=3 * 1024**3,
                    currency="USD",
                    amount=0.27,
                    recorded_on=started,
                )
            )
            session.commit()
    finally:
        engine.dispose()


def test_analysis_and_egress_breakdowns_and_invoice_totals(start_platform, new_username):
    server = start_platform()
    username = new_username("spender")
    api = sbg.Api(url=server.url, token=server.token(username), debug=True)
    group = api.billing_groups.query()[0]
    started = utc_now().replace(microsecond=0) - timedelta(seconds=5)
    _seed_charges(server, group.id, started)

    analysis = group.analysis_breakdown()
    assert analysis.total == 1
    row = analysis[0]
    assert isinstance(row, BillingGroupAnalysisBreakdown)
    assert (row.project_name, row.analysis_name, row.analysis_app_name) == (
        "helix",
        "align reads",
        "bwa-mem",
    )
    assert (row.analysis_type, row.analysis_status, row.ran_by) == (
        "TASK",
        "COMPLETED",
        "rfranklin",
    )
    assert row.analysis_id == "6a1f4e9c-3b2d-4c8e-9f10-2a3b4c5d6e7f"
    assert row.time_started == started
    assert row.time_finished == started + timedelta(minutes=5)
    assert row.refunded_amount == 0.25
    assert row.project_locked is False
    cost = row.analysis_cost
    assert isinstance(cost, AnalysisCost)
    assert cost.currency == "USD"
    assert isinstance(cost.amount, str) and float(cost.amount) == pytest.approx(4.0)
    assert str(cost) == f"<AnalysisCost: currency=USD, amount={cost.amount}>"
    assert isinstance(cost.breakdown, AnalysisCostBreakdown)
    assert (cost.breakdown.storage, cost.breakdown.computation) == (1.0, 2.5)
    assert cost.breakdown.data_transfer_in == 0.5
    assert str(row) == "<BillingGroupAnalysisBreakdown>"

    egress = group.egress_breakdown()
    assert egress.total == 1
    downloaded = egress[0]
    assert isinstance(downloaded, BillingGroupEgressBreakdown)
    assert (downloaded.project_name, downloaded.downloaded_by) == ("helix", "rfranklin")
    assert isinstance(downloaded.downloaded, Measurement)
    assert downloaded.downloaded.size > 0 and downloaded.downloaded.unit
    assert isinstance(downloaded.egress_cost, EgressCost)
    assert downloaded.egress_cost.currency == "USD"
    assert float(downloaded.egress_cost.amount) == pytest.approx(0.27)
    assert downloaded.project_locked is False

    # The running month's invoice adds the charges up; refunds are subtracted.
    invoice = api.invoices.query()[0]
    assert invoice.pending is True
    assert invoice.analysis_costs.amount == pytest.approx(3.75)
    assert invoice.total.amount == pytest.approx(3.75 + 0.27)

    # Filtering by that invoice keeps the rows.
    assert group.analysis_breakdown(invoice_id=invoice.id).total == 1
    assert group.egress_breakdown(invoice_id=invoice.id).total == 1

    # Date windows: the documented MM-DD-YYYY text, date objects and datetimes.
    day_after, day_before = started + timedelta(days=1), started - timedelta(days=1)
    assert group.analysis_breakdown(date_from=day_before.strftime("%m-%d-%Y")).total == 1
    assert group.analysis_breakdown(date_from=day_after.strftime("%m-%d-%Y")).total == 0
    window = group.analysis_breakdown(date_from=day_before.date(), date_to=day_after.date())
    assert window.total == 1
    assert group.egress_breakdown(date_to=day_before.date()).total == 0
    assert group.egress_breakdown(date_from=started, date_to=started).total == 1
    assert group.analysis_breakdown(date_from=started + timedelta(seconds=1)).total == 0
    with pytest.raises(BadRequest):
        group.analysis_breakdown(date_from="yesterday")
    with pytest.raises(BadRequest):
        group.storage_breakdown(date_from=day_after.date(), date_to=day_before.date())

    # Everything survives a restart.
    server.restart()
    api = sbg.Api(url=server.url, token=server.token(username), debug=True)
    group = api.billing_groups.get(group.id)
    assert group.analysis_breakdown()[0].analysis_id == row.analysis_id
    assert api.invoices.get(invoice.id).total.amount == pytest.approx(4.02)


def test_project_and_task_breakdowns_keep_the_reference_module_paths() -> None:
    """No endpoint answers with these any more (the per-group breakdown is gone), but code that
    imports or builds them from a stored answer must keep working."""
    from sevenbridges.models.compound.billing.project_breakdown import ProjectBreakdown
    from sevenbridges.models.compound.billing.task_breakdown import TaskBreakdown

    answer = {
        "href": "https://api.example/v2/projects/a/b",
        "analysis_spending": {"currency": "USD", "amount": 3.5},
        "task_breakdown": [
            {
                "href": "https://api.example/v2/tasks/t1",
                "runner_username": "alice",
                "time_started": "2026-11-01T10:00:00Z",
                "time_finished": "2026-11-01T11:30:00Z",
                "task_cost": {"currency": "USD", "amount": 1.25},
            }
        ],
    }
    project = ProjectBreakdown(**answer)
    assert isinstance(project.analysis_spending, Price) and project.analysis_spending.amount == 3.5
    (task,) = project.task_breakdown
    assert isinstance(task, TaskBreakdown) and task.runner_username == "alice"
    assert task.time_finished - task.time_started == timedelta(hours=1, minutes=30)
    assert task.task_cost.amount == 1.25
    assert str(project) == "<ProjectBreakdown: href=https://api.example/v2/projects/a/b>"
