"""``POST /files/search`` against hostile queries: nesting, long chains, huge lists and literals
are refused with 400/5033 (never a 500), and queries within the bounds still run (issue 7)."""

from __future__ import annotations

import unicodedata
import uuid

import pytest
from files_support import seed_file
from local_helpers import Caller, assert_error

from sevenbridges_local.embedded import EmbeddedServer
from sevenbridges_local.services import file_search

DEPTH = file_search.SEARCH_MAX_DEPTH
TERMS = file_search.SEARCH_MAX_TERMS
VALUES = file_search.SEARCH_MAX_VALUES


@pytest.fixture
def project(platform: EmbeddedServer, alice: Caller) -> dict:
    project = alice.create_project(f"bounds-{uuid.uuid4().hex[:8]}")
    seed_file(platform, project=project["id"], name="hit.txt", metadata={"k": "v"}, tags=["t"])
    seed_file(platform, project=project["id"], name="miss.txt")
    return project


def _search(caller: Caller, project: dict, where: str):
    return caller.post("/files/search", json={"query": f'IN "{project["id"]}" WHERE {where}'})


def _refused(caller: Caller, project: dict, where: str) -> str:
    return assert_error(_search(caller, project, where), 400, 5033)["message"]


def _found(caller: Caller, project: dict, where: str) -> list[str]:
    response = _search(caller, project, where)
    assert response.status_code == 200, response.text[:500]
    return sorted(item["name"] for item in response.json()["result_set"])


@pytest.mark.parametrize(
    "where",
    [
        "NOT " * 2000 + 'name = "hit.txt"',
        "(" * 2000 + 'name = "hit.txt"' + ")" * 2000,
        "(NOT " * 1000 + 'name = "hit.txt"' + ")" * 1000,
    ],
    ids=["nots", "parentheses", "both"],
)
def test_deep_nesting_is_refused(alice: Caller, project: dict, where: str) -> None:
    message = _refused(alice, project, where)
    assert f"nested more than {DEPTH} levels" in message


@pytest.mark.parametrize("joiner", [" OR ", " AND "])
def test_long_chains_are_refused_not_sent_to_the_database(
    alice: Caller, project: dict, joiner: str
) -> None:
    # 2,000 ORs would be an expression 2,000 levels deep, which SQLite refuses.
    message = _refused(alice, project, joiner.join(['name = "hit.txt"'] * 2000))
    assert f"more than {TERMS} comparisons" in message


def test_queries_at_the_bounds_still_run(alice: Caller, project: dict) -> None:
    # The deepest nesting allowed (an even number of NOTs keeps the meaning).
    assert _found(alice, project, "NOT " * DEPTH + 'name = "hit.txt"') == ["hit.txt"]
    assert _found(alice, project, "(" * DEPTH + 'name = "hit.txt"' + ")" * DEPTH) == ["hit.txt"]
    # The longest chain allowed, each term as deep as allowed: the deepest SQL a query can make.
    misses = ["NOT " * DEPTH + f'metadata.k = "no{i}"' for i in range(TERMS - 1)]
    assert _found(alice, project, " OR ".join([*misses, 'metadata.k = "v"'])) == ["hit.txt"]
    everything = ["NOT " * (DEPTH - 1) + f'metadata.k = "no{i}"' for i in range(TERMS - 1)]
    assert _found(alice, project, " AND ".join([*everything, 'tag = "t"'])) == ["hit.txt"]
    # The most values allowed in IN lists.
    listed = ", ".join(f'"n{i}.txt"' for i in range(VALUES - 1))
    assert _found(alice, project, f'name IN ({listed}, "hit.txt")') == ["hit.txt"]


def test_too_many_values_or_projects_are_refused(alice: Caller, project: dict) -> None:
    half = ", ".join(f'"n{i}"' for i in range(VALUES // 2 + 1))
    message = _refused(alice, project, f"name IN ({half}) OR tag IN ({half})")
    assert f"more than {VALUES} values" in message
    scopes = ", ".join([f'"{project["id"]}"'] * (file_search.SEARCH_MAX_SCOPES + 1))
    response = alice.post("/files/search", json={"query": f"IN {scopes}"})
    assert "projects" in assert_error(response, 400, 5033)["message"]


def test_oversized_queries_and_literals_are_refused(alice: Caller, project: dict) -> None:
    long_query = 'name = "' + "x" * file_search.SEARCH_MAX_QUERY_CHARS + '"'
    assert "characters" in _refused(alice, project, long_query)
    assert "too large" in _refused(alice, project, "size > " + "9" * 5000)
    assert "too large" in _refused(alice, project, "size > 9223372036854775808")
    assert _found(alice, project, "size > -9223372036854775808") == ["hit.txt", "miss.txt"]
    assert "escape" in _refused(alice, project, 'name = "bad \\x escape"')


def test_names_match_in_any_normalisation(
    platform: EmbeddedServer, alice: Caller, project: dict
) -> None:
    nfc, nfd = (unicodedata.normalize(form, "résumé.pdf") for form in ("NFC", "NFD"))
    created = alice.post("/files", json={"name": nfd, "type": "folder", "project": project["id"]})
    assert created.json()["name"] == nfc
    # A row stored in NFD before names were normalised.
    legacy = unicodedata.normalize("NFD", "naïve.txt")
    seed_file(platform, project=project["id"], name=legacy)
    for spelled in (nfc, nfd):
        assert _found(alice, project, f'name = "{spelled}"') == [nfc]
        assert _found(alice, project, f'name IN ("{spelled}")') == [nfc]
    for spelled in (unicodedata.normalize(form, "naïve.txt") for form in ("NFC", "NFD")):
        assert _found(alice, project, f'name = "{spelled}"') == [legacy]
        assert _found(alice, project, f'name LIKE "{spelled[:3]}*"') == [legacy]
    remaining = _found(alice, project, f'name != "{nfd}" AND type = "folder"')
    assert remaining == []


# Found while fuzzing (each was a 500): text no UTF-8 column can hold, and dates whose
# UTC time is outside what a datetime can hold.
EDGE_DATES = ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00")


def test_unpaired_surrogates_in_literals_and_tokens_are_refused(
    alice: Caller, project: dict
) -> None:
    # The query language's strings take JSON escapes; a lone \ud800 is not text.
    message = _refused(alice, project, 'name LIKE "\\ud800*"')
    assert "unpaired surrogate (U+D800)" in message
    assert "surrogate" in _refused(alice, project, 'metadata.k IN ("v", "\\udfff")')
    # An escaped pair is one character and searches as before.
    assert _found(alice, project, 'name = "\\ud83d\\ude00"') == []
    # Continuation tokens are base64 JSON: one carrying a lone surrogate is just invalid.
    token = "eyJhZnRlcl9pZCI6ICJcdWQ4MDAifQ"  # {"after_id": "\ud800"}
    response = alice.post(
        "/files/search", params={"cont_token": token}, json={"query": f'IN "{project["id"]}"'}
    )
    assert "continuation token" in assert_error(response, 400, 5033)["message"]
    scroll_token = "eyJhZnRlciI6ICJcdWQ4MDAifQ"  # {"after": "\ud800"}
    scrolled = alice.get("/files/scroll", params={"project": project["id"], "token": scroll_token})
    assert "continuation token" in assert_error(scrolled, 400, 5033)["message"]


@pytest.mark.parametrize("moment", EDGE_DATES)
def test_dates_beyond_the_calendar_in_utc_are_refused(
    alice: Caller, project: dict, moment: str
) -> None:
    message = _refused(alice, project, f'created_on > "{moment}"')
    assert "is not a date" in message
    assert _found(alice, project, 'modified_on > "0001-01-01T00:00:00-01:00"') == [
        "hit.txt",
        "miss.txt",
    ]
