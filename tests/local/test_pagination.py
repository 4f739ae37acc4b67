"""Offset paging: absolute hrefs that reproduce the page, next/prev links, totals, limits."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from local_helpers import Caller, assert_error


@pytest.fixture
def five_projects(alice: Caller) -> list[dict]:
    return [alice.create_project(f"paged {number}", tags=["paged"]) for number in range(5)]


def _query(href: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(href).query)


def test_pages_link_to_each_other_and_keep_every_filter(
    alice: Caller, five_projects: list[dict]
) -> None:
    first = alice.get("/projects", params={"tags": "paged", "fields": "_all", "limit": 2})
    assert first.status_code == 200
    assert first.headers["X-Total-Matching-Query"] == "5"
    page = first.json()
    assert [item["id"] for item in page["items"]] == [p["id"] for p in five_projects[:2]]
    assert page["href"].startswith(alice.url + "/projects?")
    assert _query(page["href"]) == {
        "tags": ["paged"],
        "fields": ["_all"],
        "offset": ["0"],
        "limit": ["2"],
    }
    assert [link["rel"] for link in page["links"]] == ["next"]
    assert page["links"][0]["method"] == "GET"

    seen = [item["id"] for item in page["items"]]
    while any(link["rel"] == "next" for link in page["links"]):
        next_href = next(link["href"] for link in page["links"] if link["rel"] == "next")
        assert _query(next_href)["tags"] == ["paged"] and _query(next_href)["fields"] == ["_all"]
        response = alice.get(next_href)
        assert response.headers["X-Total-Matching-Query"] == "5"
        page = response.json()
        seen += [item["id"] for item in page["items"]]
    assert seen == [project["id"] for project in five_projects]
    # The last page (offset 4) links back only.
    assert _query(page["href"])["offset"] == ["4"]
    assert [link["rel"] for link in page["links"]] == ["prev"]
    previous = alice.get(page["links"][0]["href"]).json()
    assert [item["id"] for item in previous["items"]] == seen[2:4]


def test_href_reproduces_the_same_page(alice: Caller, five_projects: list[dict]) -> None:
    page = alice.get("/projects", params={"offset": 1, "limit": 3}).json()
    again = alice.get(page["href"]).json()
    assert again == page


def test_middle_page_has_both_links(alice: Caller, five_projects: list[dict]) -> None:
    page = alice.get("/projects", params={"offset": 2, "limit": 2}).json()
    links = {link["rel"]: _query(link["href"]) for link in page["links"]}
    assert links["next"]["offset"] == ["4"] and links["prev"]["offset"] == ["0"]


def test_offset_past_the_end_gives_an_empty_page(alice: Caller, five_projects: list[dict]) -> None:
    response = alice.get("/projects", params={"offset": 50})
    assert response.json()["items"] == []
    assert response.headers["X-Total-Matching-Query"] == "5"


def test_default_and_clamped_limits(alice: Caller, five_projects: list[dict]) -> None:
    assert _query(alice.get("/projects").json()["href"])["limit"] == ["50"]
    clamped = alice.get("/projects", params={"limit": 500})
    assert clamped.status_code == 200
    assert _query(clamped.json()["href"])["limit"] == ["100"]
    assert len(clamped.json()["items"]) == 5


def test_invalid_paging_values_are_400(alice: Caller) -> None:
    for params in ({"offset": -1}, {"limit": -5}, {"limit": 0}, {"offset": "x"}, {"limit": "1.5"}):
        body = assert_error(alice.get("/projects", params=params), 400, 90000)
        assert next(iter(params)) in body["message"]


def test_fields_selects_keys_but_keeps_href_and_id(
    alice: Caller, five_projects: list[dict]
) -> None:
    items = alice.get("/projects", params={"fields": "name,tags"}).json()["items"]
    assert all(set(item) == {"href", "id", "name", "tags"} for item in items)
    full = alice.get("/projects", params={"fields": "_all"}).json()["items"]
    assert {"billing_group", "settings", "created_on", "type"} <= set(full[0])
    assert alice.get("/projects", params={"fields": "_all,name"}).json()["items"] == full
    excluded = alice.get("/projects", params={"fields": "!description"}).json()["items"]
    assert "description" not in excluded[0] and "name" in excluded[0]
    one = alice.get(f"/projects/{five_projects[0]['id']}", params={"fields": "category"}).json()
    assert one == {
        "href": five_projects[0]["href"],
        "id": five_projects[0]["id"],
        "category": "PRIVATE",
    }


def test_every_list_sends_the_total_header(alice: Caller, five_projects: list[dict]) -> None:
    group = alice.get("/billing/groups").json()["items"][0]["id"]
    paths = [
        "/projects",
        f"/projects/{alice.username}",
        f"/projects/{five_projects[0]['id']}/members",
        "/billing/groups",
        f"/billing/groups/{group}/breakdown/analysis",
        f"/billing/groups/{group}/breakdown/storage",
        f"/billing/groups/{group}/breakdown/egress",
        "/billing/invoices",
    ]
    for path in paths:
        response = alice.get(path)
        assert response.status_code == 200, path
        total = int(response.headers["X-Total-Matching-Query"])
        assert total == len(response.json()["items"]), path
