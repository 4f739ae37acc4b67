"""``POST /files/search`` on the live local platform: the query language subset, paging with
continuation tokens, scoping to readable projects, and errors."""

from __future__ import annotations

import uuid

import pytest
from files_support import new_folder, seed_file
from local_helpers import Caller, assert_error

from sevenbridges_local.embedded import EmbeddedServer


@pytest.fixture
def corpus(platform: EmbeddedServer, alice: Caller) -> dict:
    project = alice.create_project(f"search-{uuid.uuid4().hex[:8]}")
    pid = project["id"]
    folder = new_folder(alice, "nested", project=pid)
    seed_file(
        platform,
        project=pid,
        name="a.bam",
        content=b"a" * 10,
        metadata={"sample": "S1", "depth": 30},
        tags=["wgs"],
    )
    seed_file(
        platform,
        project=pid,
        name="b.bam",
        content=b"b" * 20,
        metadata={"sample": "S2", "depth": 5},
        tags=["wes"],
    )
    seed_file(
        platform,
        parent=folder["id"],
        name="c.vcf",
        content=b"c" * 30,
        metadata={"sample": "S1"},
        tags=["wgs", "calls"],
    )
    return project


def search(caller: Caller, query: str, **params: object) -> dict:
    response = caller.post("/files/search", params=params, json={"query": query})
    assert response.status_code == 200, response.text
    return response.json()


def names(body: dict) -> list[str]:
    return sorted(item["name"] for item in body["result_set"])


@pytest.mark.postgres
def test_search_conditions(alice: Caller, corpus: dict) -> None:
    scope = f'IN "{corpus["id"]}"'
    everything = search(alice, scope)
    # the whole project, folders and nested files included, the root folder excluded
    assert names(everything) == ["a.bam", "b.bam", "c.vcf", "nested"]
    assert everything["count"] == 4
    assert names(search(alice, f'{scope} WHERE type = "FILE"')) == ["a.bam", "b.bam", "c.vcf"]
    assert names(search(alice, f'{scope} WHERE type = "folder"')) == ["nested"]
    assert names(search(alice, f'{scope} WHERE metadata.sample = "S1"')) == ["a.bam", "c.vcf"]
    assert names(search(alice, f"{scope} WHERE metadata.depth > 10")) == ["a.bam"]
    assert names(search(alice, f'{scope} WHERE tag = "wgs" AND NOT name LIKE "*.vcf"')) == ["a.bam"]
    assert names(search(alice, f'{scope} WHERE tags IN ("wes", "calls")')) == ["b.bam", "c.vcf"]
    assert names(search(alice, f'{scope} WHERE size >= 20 AND type = "file"')) == [
        "b.bam",
        "c.vcf",
    ]
    assert names(
        search(alice, f'{scope} WHERE (name = "a.bam" OR name = "b.bam") AND size < 15')
    ) == ["a.bam"]
    assert names(search(alice, f'{scope} WHERE name NOT IN ("a.bam", "nested")')) == [
        "b.bam",
        "c.vcf",
    ]
    assert names(search(alice, f'WHERE project = "{corpus["id"]}" AND name = "b.bam"')) == ["b.bam"]
    item = search(alice, f'{scope} WHERE name = "a.bam"')["result_set"][0]
    assert item["type"] == "FILE"
    assert item["metadata"] == {"sample": "S1", "depth": 30}
    assert item["tags"] == ["wgs"]
    assert item["project"] == corpus["id"]


def test_search_pages_with_continuation_tokens(alice: Caller, corpus: dict) -> None:
    query = f'IN "{corpus["id"]}"'
    first = search(alice, query, limit=3)
    assert first["count"] == 4 and len(first["result_set"]) == 3
    assert first["cont_token"]
    second = search(alice, query, limit=3, cont_token=first["cont_token"])
    assert len(second["result_set"]) == 1 and second["cont_token"] is None
    seen = {item["id"] for item in first["result_set"] + second["result_set"]}
    assert len(seen) == 4
    # LIMIT and TOKEN can also be written in the query itself
    in_query = search(alice, f'{query} LIMIT 3 TOKEN "{first["cont_token"]}"')
    assert [item["id"] for item in in_query["result_set"]] == [
        item["id"] for item in second["result_set"]
    ]


def test_search_sees_only_readable_projects(alice: Caller, bob: Caller, corpus: dict) -> None:
    assert search(bob, 'WHERE name = "a.bam"')["count"] == 0
    assert search(alice, 'WHERE name = "a.bam"')["count"] >= 1
    assert_error(bob.post("/files/search", json={"query": f'IN "{corpus["id"]}"'}), 404, 3002)


@pytest.mark.parametrize(
    "query",
    [
        "WHERE",
        'WHERE name = "a" AND',
        'WHERE colour = "red"',
        'WHERE name == "x"',
        'WHERE name = "unterminated',
        "IN owner/project",
        "LIMIT 0",
        'WHERE created_on > "yesterday"',
    ],
)
def test_bad_queries_are_refused(alice: Caller, query: str) -> None:
    assert_error(alice.post("/files/search", json={"query": query}), 400, 5033)


def test_search_argument_errors(alice: Caller, corpus: dict) -> None:
    assert_error(alice.post("/files/search", json={"query": "  "}), 400, 5033)
    assert_error(alice.post("/files/search", json={}), 400, 5033)
    assert_error(
        alice.post("/files/search", params={"limit": 0}, json={"query": "WHERE size > 1"}),
        400,
        5033,
    )
    assert_error(
        alice.post("/files/search", params={"cont_token": "%%"}, json={"query": "WHERE size > 1"}),
        400,
        5033,
    )


@pytest.mark.postgres
def test_like_ignores_ascii_case_and_numbers_skip_text(platform: EmbeddedServer, alice: Caller):
    # The same answers on SQLite and PostgreSQL: LIKE ignores ASCII case and has no escape
    # character; a numeric comparison reads numbers of any size and never fails on text.
    pid = alice.create_project(f"portable-{uuid.uuid4().hex[:8]}")["id"]
    seed_file(platform, project=pid, name="Reads_1.FASTQ", metadata={"depth": "1e400"})
    seed_file(platform, project=pid, name="reads_2.fastq", metadata={"depth": 12.5})
    seed_file(platform, project=pid, name="x\\y.txt", metadata={"depth": "deep"})
    seed_file(platform, project=pid, name="notes.txt", metadata={"depth": 3})
    scope = f'IN "{pid}"'
    assert names(search(alice, f'{scope} WHERE name LIKE "reads*.fastq"')) == [
        "Reads_1.FASTQ",
        "reads_2.fastq",
    ]
    assert names(search(alice, f'{scope} WHERE name LIKE "X\\\\Y*"')) == ["x\\y.txt"]
    assert names(search(alice, f"{scope} WHERE metadata.depth > 12.25")) == [
        "Reads_1.FASTQ",
        "reads_2.fastq",
    ]
    assert names(search(alice, f"{scope} WHERE metadata.depth >= 3 AND size > 0")) == [
        "Reads_1.FASTQ",
        "notes.txt",
        "reads_2.fastq",
    ]
