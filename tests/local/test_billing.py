"""Billing groups, cost breakdowns and monthly invoices."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

from local_helpers import Caller, assert_error, run_sql

from sevenbridges_local.embedded import EmbeddedServer


def _group(caller: Caller) -> dict:
    items = caller.get("/billing/groups").json()["items"]
    assert len(items) == 1
    return items[0]


def test_every_user_has_an_own_billing_group(alice: Caller) -> None:
    response = alice.get("/billing/groups", params={"fields": "_all"})
    assert response.status_code == 200
    assert response.headers["X-Total-Matching-Query"] == "1"
    group = response.json()["items"][0]
    assert str(uuid.UUID(group["id"])) == group["id"]
    assert group == {
        "href": f"{alice.url}/billing/groups/{group['id']}",
        "id": group["id"],
        "owner": alice.username,
        "name": f"{alice.username}'s billing group",
        "type": "regular",
        "pending": False,
        "disabled": False,
        "balance": {"currency": "USD", "amount": 100000.0},
    }
    assert alice.get(group["href"]).json() == group


def test_group_access_rules(alice: Caller, bob: Caller) -> None:
    assert_error(alice.get("/billing/groups/not-a-uuid"), 400, 4005)
    assert_error(alice.get(f"/billing/groups/{uuid.uuid4()}"), 404, 4002)
    bobs = _group(bob)["id"]
    assert_error(alice.get(f"/billing/groups/{bobs}"), 403, 4006)
    assert_error(alice.get(f"/billing/groups/{bobs}/breakdown/storage"), 403, 4006)
    assert_error(alice.get("/billing/groups/xyz/breakdown/analysis"), 400, 4005)


def test_storage_breakdown_has_one_row_per_project(alice: Caller) -> None:
    group = _group(alice)["id"]
    names = ["stored one", "stored two"]
    for name in names:
        alice.create_project(name, settings={"locked": name.endswith("two")})
    response = alice.get(f"/billing/groups/{group}/breakdown/storage")
    assert response.status_code == 200
    assert response.headers["X-Total-Matching-Query"] == "2"
    rows = response.json()["items"]
    assert [row["project_name"] for row in rows] == names
    for row in rows:
        assert row["project_created_by"] == alice.username
        assert row["location"]
        for kind in ("active", "archived"):
            assert row[kind]["size"] == 0 and row[kind]["unit"] == "GB/Month"
            assert row[kind]["cost"] == {"amount": 0.0, "currency": "USD"}
    assert [row["project_locked"] for row in rows] == [False, True]
    page = alice.get(f"/billing/groups/{group}/breakdown/storage", params={"limit": 1}).json()
    assert len(page["items"]) == 1 and [link["rel"] for link in page["links"]] == ["next"]


def test_analysis_and_egress_breakdowns_start_empty(alice: Caller) -> None:
    group = _group(alice)["id"]
    for kind in ("analysis", "egress"):
        response = alice.get(
            f"/billing/groups/{group}/breakdown/{kind}",
            params={"date_from": "01-01-2024", "date_to": "2030-12-31"},
        )
        assert response.status_code == 200
        assert response.json()["items"] == [] and response.json()["links"] == []
        assert response.headers["X-Total-Matching-Query"] == "0"


def test_breakdown_filters_are_validated(alice: Caller, bob: Caller) -> None:
    group = _group(alice)["id"]
    path = f"/billing/groups/{group}/breakdown/analysis"
    assert_error(alice.get(path, params={"date_from": "yesterday"}), 400, 90000)
    assert_error(
        alice.get(path, params={"date_from": "12-31-2025", "date_to": "01-01-2025"}), 400, 90000
    )
    assert_error(alice.get(path, params={"invoice_id": "no-such-invoice"}), 404, 4002)
    bobs_invoice = bob.get("/billing/invoices").json()["items"][0]["id"]
    assert_error(alice.get(path, params={"invoice_id": bobs_invoice}), 404, 4002)
    own_invoice = alice.get("/billing/invoices").json()["items"][0]["id"]
    assert alice.get(path, params={"invoice_id": own_invoice}).status_code == 200


def test_a_new_group_has_one_pending_invoice(alice: Caller) -> None:
    response = alice.get("/billing/invoices", params={"fields": "_all"})
    assert response.headers["X-Total-Matching-Query"] == "1"
    invoice = response.json()["items"][0]
    now = datetime.now(timezone.utc)
    assert invoice["pending"] is True
    assert invoice["invoice_period"]["from"] == f"{now:%Y-%m}-01T00:00:00Z"
    assert invoice["invoice_period"]["to"].startswith(f"{now:%Y-%m}-")
    assert invoice["invoice_period"]["to"].endswith("T23:59:59Z")
    zero = {"currency": "USD", "amount": 0.0}
    assert invoice["analysis_costs"] == zero and invoice["storage_costs"] == zero
    assert invoice["total"] == zero
    assert invoice["href"] == f"{alice.url}/billing/invoices/{invoice['id']}"
    assert alice.get(invoice["href"]).json() == invoice


def test_invoices_of_other_groups_are_hidden(alice: Caller, bob: Caller) -> None:
    bobs_invoice = bob.get("/billing/invoices").json()["items"][0]
    assert bobs_invoice["id"] not in [
        i["id"] for i in alice.get("/billing/invoices").json()["items"]
    ]
    assert_error(alice.get(f"/billing/invoices/{bobs_invoice['id']}"), 403, 4006)
    assert_error(alice.get("/billing/invoices/no-such-invoice"), 404, 4002)


def test_each_month_since_creation_gets_an_invoice(platform: EmbeddedServer, alice: Caller) -> None:
    group = _group(alice)["id"]
    now = datetime.now(timezone.utc)
    months_back = 3
    year, month = divmod(now.year * 12 + now.month - 1 - months_back, 12)
    created = f"{year:04d}-{month + 1:02d}-15 10:00:00.000000"
    # Pretend the group was created three months ago.
    run_sql(platform, "UPDATE billing_groups SET created_on = ? WHERE id = ?", (created, group))

    response = alice.get("/billing/invoices")
    assert response.headers["X-Total-Matching-Query"] == str(months_back + 1)
    invoices = response.json()["items"]
    starts = [invoice["invoice_period"]["from"] for invoice in invoices]
    assert starts == sorted(starts, reverse=True)  # newest first
    assert starts[-1] == f"{year:04d}-{month + 1:02d}-01T00:00:00Z"
    assert [invoice["pending"] for invoice in invoices] == [True] + [False] * months_back
    assert "approval_date" not in invoices[0]
    assert all(invoice["approval_date"].endswith("Z") for invoice in invoices[1:])
    # Materialised: the same rows (ids) come back on every read.
    again = alice.get("/billing/invoices").json()["items"]
    assert [invoice["id"] for invoice in again] == [invoice["id"] for invoice in invoices]
    (count,) = run_sql(
        platform, "SELECT COUNT(*) FROM invoices WHERE billing_group_id = ?", (group,)
    )[0]
    assert count == months_back + 1
