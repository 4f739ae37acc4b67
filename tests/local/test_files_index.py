"""The file filters are index lookups: 100,000 files in one folder, EXPLAIN QUERY PLAN on the
statements the service runs, and the same filters answered over HTTP by a platform on that data.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
import requests
from sqlalchemy.dialects import sqlite as sqlite_dialect

from sevenbridges_local.bootstrap import prepare
from sevenbridges_local.db.files import File
from sevenbridges_local.embedded import EmbeddedServer
from sevenbridges_local.services import files, folders, projects
from sevenbridges_local.services.context import Actor, ServiceContext
from sevenbridges_local.settings import Settings

# Seeds SQLite directly and checks its query plans.
pytestmark = pytest.mark.sqlite_only

FILE_COUNT = 100_000
SPECIAL = 77_777  # the one file every filter below should find
TASK = "6f1c2a9e-0000-4000-8000-000000000001"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str, str]]:
    """A data directory whose project holds FILE_COUNT files in its root folder."""
    data_dir = tmp_path_factory.mktemp("indexed-platform")
    prepared = prepare(Settings(data_dir=data_dir))
    prepared.token("indexer")
    with prepared.database.write_session() as session:
        from sevenbridges_local.db.models import User

        user = session.query(User).filter_by(username="indexer").one()
        ctx = ServiceContext(session=session, actor=Actor(user.id, user.username, user.role))
        project = projects.create_project(ctx, {"name": "big"})
        project_id, root_id = project.id, folders.root_folder_id(session, project.id)
    prepared.database.dispose()
    assert root_id is not None
    _bulk_insert(data_dir / "platform.db", project_id, root_id)
    yield data_dir, "indexer/big", root_id


def _bulk_insert(database: Path, project_id: int, root_id: str) -> None:
    stamp = "2024-01-01 00:00:00.000000"
    file_rows = []
    metadata_rows = []
    tag_rows = []
    for number in range(FILE_COUNT):
        file_id = secrets.token_hex(12) if number != SPECIAL else "ab" * 12
        task = TASK if number == SPECIAL else None
        file_rows.append(
            (
                file_id,
                project_id,
                root_id,
                f"file-{number:06d}.bam",
                "file",
                number,
                None,
                json.dumps({"task": task} if task else {}),
                task,
                None,
                stamp,
                stamp,
            )
        )
        metadata_rows.append((file_id, "sample", json.dumps(f"S{number}"), f"S{number}"))
        metadata_rows.append((file_id, "batch", json.dumps(number % 10), str(number % 10)))
        tag_rows.append((file_id, 0, "special" if number == SPECIAL else f"t{number % 100}"))
    with closing(sqlite3.connect(database)) as connection, connection:
        connection.executemany(
            "INSERT INTO files (id, project_id, parent_id, name, type, size, blob_key, origin,"
            " origin_task, storage, created_on, modified_on) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            file_rows,
        )
        connection.executemany(
            "INSERT INTO file_metadata (file_id, key, value, match_value) VALUES (?,?,?,?)",
            metadata_rows,
        )
        connection.executemany(
            "INSERT INTO file_tags (file_id, position, tag) VALUES (?,?,?)", tag_rows
        )


FILTERS = {
    "name": files.FileFilters(names=[f"file-{SPECIAL:06d}.bam"]),
    "metadata": files.FileFilters(metadata={"sample": [f"S{SPECIAL}"]}),
    "tag": files.FileFilters(tags=["special"]),
    "origin.task": files.FileFilters(origin={"task": [TASK]}),
    "metadata and tag": files.FileFilters(
        metadata={"sample": [f"S{SPECIAL}"], "batch": ["7"]}, tags=["special"]
    ),
}


def _plan(database: Path, root_id: str, project_id: int, filters: files.FileFilters) -> list[str]:
    folder = File(id=root_id, project_id=project_id)
    statement = files.folder_statement(folder, filters)
    sql = str(
        statement.compile(dialect=sqlite_dialect.dialect(), compile_kwargs={"literal_binds": True})
    )
    with closing(sqlite3.connect(database)) as connection:
        return [row[3] for row in connection.execute("EXPLAIN QUERY PLAN " + sql)]


@pytest.mark.parametrize("label", sorted(FILTERS))
def test_filters_use_indexes(seeded: tuple[Path, str, str], label: str) -> None:
    data_dir, _, root_id = seeded
    database = data_dir / "platform.db"
    with closing(sqlite3.connect(database)) as connection:
        project_id = connection.execute(
            "SELECT project_id FROM files WHERE id = ?", (root_id,)
        ).fetchone()[0]
    plan = _plan(database, root_id, project_id, FILTERS[label])
    text = "\n".join(plan)
    assert not any(step.startswith("SCAN") for step in plan), text  # no full scan anywhere
    expected_index = {
        "name": "uq_files_project_parent_name (project_id=? AND parent_id=? AND name=?)",
        "metadata": "ix_file_metadata_key_value (key=? AND match_value=?)",
        "tag": "ix_file_tags_tag (tag=?)",
        "origin.task": "ix_files_origin_task (origin_task=?)",
        "metadata and tag": "ix_file_metadata_key_value (key=? AND match_value=?)",
    }[label]
    assert expected_index in text, text
    # The selective filter drives the query: the files are not walked folder-wide.
    folder_walk = "uq_files_project_parent_name (project_id=? AND parent_id=?)"
    assert not any(step.endswith(folder_walk) for step in plan), text


def test_filters_over_http_on_the_big_folder(seeded: tuple[Path, str, str]) -> None:
    data_dir, project_id, _ = seeded
    with EmbeddedServer(data_dir) as server:
        session = requests.Session()
        session.trust_env = False
        headers = {"X-SBG-Auth-Token": server.token("indexer")}
        queries = [
            {"name": f"file-{SPECIAL:06d}.bam"},
            {"metadata.sample": f"S{SPECIAL}"},
            {"tag": "special"},
            {"origin.task": TASK},
            {"metadata.sample": f"S{SPECIAL}", "metadata.batch": "7", "tag": "special"},
        ]
        for params in queries:
            response = session.get(
                f"{server.url}/files",
                params={"project": project_id, **params},
                headers=headers,
                timeout=60,
            )
            assert response.status_code == 200, response.text
            assert response.headers["X-Total-Matching-Query"] == "1", params
            [item] = response.json()["items"]
            assert item["id"] == "ab" * 12
            assert item["size"] == SPECIAL
        everything = session.get(
            f"{server.url}/files",
            params={"project": project_id, "limit": 2, "offset": 99_998},
            headers=headers,
            timeout=60,
        )
        assert everything.headers["X-Total-Matching-Query"] == str(FILE_COUNT)
        assert [item["name"] for item in everything.json()["items"]] == [
            "file-099998.bam",
            "file-099999.bam",
        ]
        none = session.get(
            f"{server.url}/files",
            params={"project": project_id, "metadata.batch": "7", "tag": "t3"},
            headers=headers,
            timeout=60,
        )
        assert none.headers["X-Total-Matching-Query"] == "0"
        session.close()
