"""The official quickstart's project, member and billing steps, written as a user writes them.

The body of :func:`run_quickstart` uses only the public surface of ``sevenbridges`` the way the
official library's quickstart does; the tests run it against the local platform with an Api built
from explicit arguments and with one built from a credentials-file profile.
"""

from __future__ import annotations

from datetime import datetime

import pytest

import sevenbridges as sbg


def run_quickstart(api: sbg.Api, collaborator: str) -> dict[str, object]:
    """The quickstart flow; returns what a reader would look at, for the test to check."""
    seen: dict[str, object] = {}

    # Who am I?
    user = api.users.me()
    seen["me"] = user.username

    # Billing: the groups I can charge, and what they are spending on.
    billing_groups = api.billing_groups.query()
    bg = billing_groups[0]
    seen["billing_group"] = bg.id
    seen["balance"] = (bg.balance.amount, bg.balance.currency)

    # Create a project charged to that group, with a description and tags.
    project = api.projects.create(
        name="Quickstart project",
        billing_group=bg.id,
        description="Created by the quickstart",
        tags=["quickstart"],
    )
    seen["project"] = project.id

    # List my projects, one page and then all of them.
    projects = api.projects.query(limit=10)
    seen["first_page"] = [p.id for p in projects]
    seen["all_projects"] = [p.id for p in projects.all()]

    # Fetch it again by id and edit it.
    project = api.projects.get(id=project.id)
    project.description = "Edited by the quickstart"
    project.settings["use_memoization"] = True
    project.save()

    # Members: add a collaborator, then widen their permissions.
    member = project.add_member(user=collaborator, permissions={"write": True, "execute": True})
    member.permissions["write"] = True
    member.permissions["copy"] = True
    member.save()
    seen["members"] = sorted(m.username for m in project.get_members())
    seen["collaborator_permissions"] = dict(project.get_member(collaborator).permissions)

    # Billing breakdowns of the group.
    seen["storage_rows"] = [row.project_name for row in bg.storage_breakdown().all()]
    seen["analysis_rows"] = len(bg.analysis_breakdown())
    seen["egress_rows"] = len(bg.egress_breakdown())

    # Invoices.
    invoices = api.invoices.query()
    invoice = api.invoices.get(id=invoices[0].id)
    seen["invoice"] = (
        invoice.id,
        invoice.pending,
        invoice.total.amount,
        invoice.invoice_period.from_,
        invoice.invoice_period.to,
    )

    # The rate limit and the API root.
    seen["rate_limit"] = api.rate_limit.get().rate.limit
    seen["projects_url"] = api.endpoints.get().projects_url

    # Clean up: remove the member, delete the project.
    project.remove_member(user=collaborator)
    seen["members_after_removal"] = [m.username for m in project.get_members()]
    project.delete()
    return seen


def check_quickstart_results(seen: dict[str, object], username: str, url: str) -> None:
    assert seen["me"] == username
    assert seen["balance"][1] == "USD"  # type: ignore[index]
    project_id = seen["project"]
    assert isinstance(project_id, str) and project_id.startswith(username + "/")
    assert seen["first_page"] == [project_id]
    assert seen["all_projects"] == [project_id]
    assert set(seen["members"]) == {username, seen["collaborator"]}  # type: ignore[arg-type]
    assert seen["collaborator_permissions"] == {
        "read": True,
        "copy": True,
        "write": True,
        "execute": True,
        "admin": False,
    }
    assert seen["storage_rows"] == ["Quickstart project"]
    assert seen["analysis_rows"] == 0 and seen["egress_rows"] == 0
    invoice_id, pending, total, period_from, period_to = seen["invoice"]  # type: ignore[misc]
    assert invoice_id and pending is True
    assert isinstance(total, float) and total >= 0
    assert isinstance(period_from, datetime) and isinstance(period_to, datetime)
    assert period_from < period_to
    assert isinstance(seen["rate_limit"], int) and seen["rate_limit"] > 0
    assert seen["projects_url"] == url + "/projects"
    assert seen["members_after_removal"] == [username]


def test_quickstart_with_url_and_token(platform, new_username):
    username, collaborator = new_username("quick"), new_username("quickfriend")
    platform.token(collaborator)
    # The official client insists on debug=True for a plain-http (local) endpoint.
    api = sbg.Api(url=platform.url, token=platform.token(username), debug=True)

    seen = run_quickstart(api, collaborator)

    seen["collaborator"] = collaborator
    check_quickstart_results(seen, username, platform.url)
    with pytest.raises(sbg.NotFound):
        api.projects.get(id=seen["project"])


def test_quickstart_with_a_credentials_profile(platform, new_username, tmp_path, monkeypatch):
    username, collaborator = new_username("profiled"), new_username("profiledfriend")
    platform.token(collaborator)
    home = tmp_path / "home"
    credentials = home / ".sevenbridges" / "credentials"
    credentials.parent.mkdir(parents=True)
    credentials.write_text(
        "[default]\n"
        "api_endpoint = https://api.sbgenomics.com/v2\n"
        "auth_token = 00000000000000000000000000000000\n"
        "\n"
        "[local]\n"
        f"api_endpoint = {platform.url}\n"
        f"auth_token = {platform.token(username)}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("HOME", str(home))
    for variable in ("SB_API_ENDPOINT", "SB_AUTH_TOKEN"):
        monkeypatch.delenv(variable, raising=False)

    config = sbg.Config(profile="local")
    api = sbg.Api(config=config)

    assert api.url == platform.url
    seen = run_quickstart(api, collaborator)
    seen["collaborator"] = collaborator
    check_quickstart_results(seen, username, platform.url)


def test_quickstart_with_environment_variables(platform, new_username, tmp_path, monkeypatch):
    username = new_username("envuser")
    monkeypatch.setenv("HOME", str(tmp_path))  # no credentials file at all
    monkeypatch.setenv("SB_API_ENDPOINT", platform.url)
    monkeypatch.setenv("SB_AUTH_TOKEN", platform.token(username))

    api = sbg.Api()

    assert api.users.me().username == username
    project = api.projects.create(name="from the environment")
    assert [p.id for p in api.projects.query()] == [project.id]
