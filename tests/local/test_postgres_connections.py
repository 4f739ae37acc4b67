"""How the platform uses its PostgreSQL connections: read sessions cannot write, and a
connection the database cut (a restart, an administrator) costs at most one retryable 503.

Uses the session's throw-away cluster (tests/pg_cluster.py); skipped where it cannot start.
"""

from __future__ import annotations

import psycopg
import pytest
import requests
from local_helpers import assert_error
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

import sevenbridges as sbg
from sevenbridges_local.db import Database
from sevenbridges_local.db import database as database_module

pytestmark = pytest.mark.postgres


def test_read_sessions_run_without_transactions_and_refuse_writes(postgres_cluster) -> None:
    database = Database(postgres_cluster.new_database("readers"))
    try:
        database.migrate()
        with database.read_session() as session:
            # Autocommit: no transaction is opened around a read (no BEGIN/ROLLBACK round trips).
            session.execute(text("SELECT 1"))
            assert session.connection().connection.dbapi_connection.autocommit is True
            with pytest.raises(DBAPIError, match="read-only transaction"):
                session.execute(text("CREATE TABLE sneaky (id integer)"))
        with database.write_session() as session:
            session.execute(text("CREATE TABLE allowed (id integer)"))
            session.commit()
    finally:
        database.dispose()


def _cut_platform_connections(dsn: str) -> int:
    with psycopg.connect(dsn, autocommit=True) as connection:
        rows = connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = 'sevenbridges-local' AND pid <> pg_backend_pid()"
        ).fetchall()
    return len(rows)


def test_connections_cut_by_the_database_cost_at_most_one_retryable_answer(
    start_platform, postgres_cluster
) -> None:
    url = postgres_cluster.new_database("cut")
    server = start_platform(database_url=url)
    token = server.token("alice")
    headers = {"X-SBG-Auth-Token": token}
    http = requests.Session()
    http.trust_env = False
    assert http.post(f"{server.url}/projects", json={"name": "kept"}, headers=headers).ok
    assert http.get(f"{server.url}/projects", headers=headers).ok

    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    assert _cut_platform_connections(dsn) > 0
    # The first call on a dead connection may fail; it must say "try again", never 500, and
    # the pool is renewed at once so the calls after it work.
    answers = [http.get(f"{server.url}/projects", headers=headers) for _ in range(4)]
    for answer in answers:
        if answer.status_code != 200:
            body = assert_error(answer, 503, 90005)
            assert "connection to the database" in body["message"]
            assert answer.headers["Retry-After"]
    assert sum(answer.status_code != 200 for answer in answers) <= 2  # read + write engines
    assert answers[-1].status_code == 200
    assert [p["name"] for p in answers[-1].json()["items"]] == ["kept"]

    # Reads through the client (it retries a 503 that carries Retry-After) see no error.
    assert _cut_platform_connections(dsn) > 0
    api = sbg.Api(url=server.url, token=token)
    assert [p.name for p in api.projects.query().all()] == ["kept"]
    # A write is not retried by clients: it may get one 503, and works when sent again.
    assert _cut_platform_connections(dsn) > 0
    for _ in range(3):
        created = http.post(f"{server.url}/projects", json={"name": "again"}, headers=headers)
        if created.status_code == 201:
            break
        assert_error(created, 503, 90005)
    assert created.status_code == 201
    assert sorted(p.name for p in api.projects.query().all()) == ["again", "kept"]


def test_a_connection_left_idle_is_checked_before_use(postgres_cluster, monkeypatch) -> None:
    url = postgres_cluster.new_database("idle")
    database = Database(url)
    try:
        database.migrate()
        with database.read_session() as session:
            assert session.execute(text("SELECT 1")).scalar() == 1
        with database.write_session() as session:
            session.execute(text("SELECT 1"))
        # As after a database restart while the platform sat idle: every pooled connection dies.
        assert _cut_platform_connections(url.replace("postgresql+psycopg://", "postgresql://"))
        monkeypatch.setattr(database_module, "PING_AFTER_IDLE_SECONDS", 0.0)
        with database.read_session() as session:
            assert session.execute(text("SELECT 2")).scalar() == 2
        with database.write_session() as session:
            assert session.execute(text("SELECT 3")).scalar() == 3
    finally:
        database.dispose()
