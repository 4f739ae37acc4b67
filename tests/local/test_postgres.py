"""The PostgreSQL backend itself: migrations against the models, the work queue's claim under
concurrency, lock conflicts as retryable 503s, and ``--database`` on the command line.

Each test uses the session's throw-away cluster (tests/pg_cluster.py) and skips with the reason
when PostgreSQL cannot be started here.
"""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
import threading
import time
from collections import Counter

import psycopg
import pytest
import requests
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from local_helpers import assert_error
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

import sevenbridges_local.db as db_package
from sevenbridges_local import json_numbers
from sevenbridges_local.clock import utcnow
from sevenbridges_local.db import Database
from sevenbridges_local.db import errors as db_errors
from sevenbridges_local.db.files import WorkItem
from sevenbridges_local.db.models import Base
from sevenbridges_local.workers import WorkerPool, WorkerResources, register_handler

pytestmark = pytest.mark.postgres


def _all_models() -> None:
    for module in pkgutil.iter_modules(db_package.__path__):
        importlib.import_module(f"sevenbridges_local.db.{module.name}")


def test_migrations_build_the_models_schema_and_run_concurrently(postgres_cluster) -> None:
    url = postgres_cluster.new_database("migrations")
    databases = [Database(url), Database(url)]
    problems: list[BaseException] = []

    def migrate(database: Database) -> None:
        try:
            database.migrate()
        except BaseException as exc:  # reported below
            problems.append(exc)

    # Two processes starting together: the advisory lock makes one wait for the other.
    threads = [threading.Thread(target=migrate, args=(database,)) for database in databases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert problems == []
    databases[0].migrate()  # at head already: a no-op
    _all_models()
    with databases[0].write_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
        tables = set(inspect(connection).get_table_names())
        assert set(Base.metadata.tables) | {"alembic_version"} == tables
    for database in databases:
        database.dispose()


def test_a_work_item_is_claimed_by_one_worker_only(postgres_cluster) -> None:
    url = postgres_cluster.new_database("queue")
    handled: list[int] = []
    lock = threading.Lock()

    def record(_resources: WorkerResources, payload: dict) -> None:
        with lock:
            handled.append(int(payload["n"]))
        time.sleep(0.002)  # keep claims overlapping

    register_handler("test.postgres.count", record)
    # Two pools with their own engines stand for two server processes.
    pools = []
    for _ in range(2):
        database = Database(url)
        database.migrate()
        pools.append(WorkerPool(WorkerResources(database=database), workers=1))
    count = 200
    with pools[0].database.write_session() as session:
        now = utcnow()
        session.add_all(
            WorkItem(
                kind="test.postgres.count",
                payload={"n": n},
                state="queued",
                available_on=now,
                created_on=now,
            )
            for n in range(count)
        )
        session.commit()

    def drain(pool: WorkerPool) -> None:
        while pool.run_one():
            pass

    threads = [threading.Thread(target=drain, args=(pools[n % 2],)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    twice = [n for n, times in Counter(handled).items() if times > 1]
    assert twice == [] and sorted(handled) == list(range(count))
    with pools[0].database.read_session() as session:
        states = Counter(session.scalars(select(WorkItem.state)))
    assert states == {"done": count}
    for pool in pools:
        pool.database.dispose()


def test_a_serialization_failure_counts_as_locked(postgres_cluster) -> None:
    engine = create_engine(postgres_cluster.new_database("conflict"), poolclass=NullPool)
    try:
        with engine.begin() as setup:
            setup.execute(text("CREATE TABLE counters (id int PRIMARY KEY, n int)"))
            setup.execute(text("INSERT INTO counters VALUES (1, 0)"))
        with engine.connect() as first:
            first = first.execution_options(isolation_level="REPEATABLE READ")
            first.begin()
            first.execute(text("SELECT n FROM counters WHERE id = 1")).scalar_one()
            with engine.begin() as second:
                second.execute(text("UPDATE counters SET n = n + 1 WHERE id = 1"))
            with pytest.raises(DBAPIError) as caught:
                first.execute(text("UPDATE counters SET n = n + 1 WHERE id = 1"))
            first.rollback()
        assert db_errors.is_locked(caught.value)
        assert not db_errors.is_disk_full(caught.value)
    finally:
        engine.dispose()


def test_json_columns_keep_numbers_as_written(postgres_cluster) -> None:
    """An app's ``1.23e5`` must not come back as ``123000.0`` (it reaches cwltool's command
    line): JSON columns go through json_numbers on PostgreSQL as on SQLite."""
    database = Database(postgres_cluster.new_database("numbers"))
    try:
        database.migrate()
        payload = json_numbers.loads('{"big": 1.23e5, "small": 0.00001, "whole": 123000}')
        with database.write_session() as session:
            item = WorkItem(
                kind="numbers",
                payload=payload,
                state="done",
                attempts=0,
                available_on=utcnow(),
                created_on=utcnow(),
            )
            session.add(item)
            session.commit()
            item_id = item.id
        with database.read_session() as session:
            stored = session.scalar(
                select(text("payload::text")).select_from(WorkItem).where(WorkItem.id == item_id)
            )
            read = session.get(WorkItem, item_id).payload
        assert "1.23e5" in stored and "0.00001" in stored
        assert json_numbers.dumps(read) == '{"big": 1.23e5, "small": 0.00001, "whole": 123000}'
    finally:
        database.dispose()


def _hold_table_lock(dsn: str, table: str, seconds: float, held: threading.Event) -> None:
    # EXCLUSIVE lets the platform read (authentication) but not write the table.
    with psycopg.connect(dsn) as connection:
        connection.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
        held.set()
        time.sleep(seconds)
        connection.rollback()


def test_a_lock_wait_is_a_retryable_503_and_nul_text_a_400(
    start_platform, postgres_cluster
) -> None:
    url = postgres_cluster.new_database("busy")
    server = start_platform(database_url=url, settings={"db_busy_timeout": 1})
    headers = {"X-SBG-Auth-Token": server.token("alice")}
    http = requests.Session()
    http.trust_env = False
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    held = threading.Event()
    locker = threading.Thread(target=_hold_table_lock, args=(dsn, "projects", 2.5, held))
    locker.start()
    try:
        assert held.wait(10)
        started = time.monotonic()
        response = http.post(f"{server.url}/projects", json={"name": "locked"}, headers=headers)
        body = assert_error(response, 503, 90005)
        assert "busy" in body["message"] and response.headers["Retry-After"]
        assert time.monotonic() - started < 2.5
        # Reads go on meanwhile.
        assert http.get(f"{server.url}/projects", headers=headers).status_code == 200
    finally:
        locker.join()
    created = http.post(f"{server.url}/projects", json={"name": "after"}, headers=headers)
    assert created.status_code == 201, created.text
    names = [p["name"] for p in http.get(f"{server.url}/projects", headers=headers).json()["items"]]
    assert names == ["after"]
    # PostgreSQL keeps no U+0000 in text: such a value is a 400, not a 500.
    for response in (
        http.get(f"{server.url}/projects/%00", headers=headers),
        http.patch(
            f"{server.url}/projects/alice/after", json={"description": "a\u0000b"}, headers=headers
        ),
    ):
        assert "NUL" in assert_error(response, 400, 90000)["message"]


def test_command_line_database_option_reaches_postgresql(postgres_cluster, tmp_path) -> None:
    # A plain postgresql:// URL (SQLAlchemy would pick psycopg2 for it) works as users write it.
    url = postgres_cluster.new_database("cli").replace("postgresql+psycopg://", "postgresql://")
    data_dir = tmp_path / "data"
    command = [sys.executable, "-m", "sevenbridges_local", "token", "carol"]
    options = ["--data-dir", str(data_dir), "--database", url]
    created = subprocess.run(
        [*command, *options, "--create"], capture_output=True, text=True, timeout=120
    )
    assert created.returncode == 0, created.stderr
    assert not (data_dir / "platform.db").exists()
    with psycopg.connect(url) as connection:
        rows = connection.execute("SELECT username FROM users ORDER BY username").fetchall()
    assert ("carol",) in rows


def test_a_database_url_of_another_kind_is_refused_without_echoing_it(tmp_path) -> None:
    url = "mysql://someone:hunter2secret@127.0.0.1/sbg"
    refused = subprocess.run(
        [sys.executable, "-m", "sevenbridges_local", "token", "--data-dir", str(tmp_path)]
        + ["--database", url, "--create"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 2
    assert "database_url" in refused.stderr and "postgresql://" in refused.stderr
    assert "hunter2secret" not in refused.stderr + refused.stdout
