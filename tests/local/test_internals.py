"""Pieces checked without HTTP: schema migration vs models, query booleans, concurrency."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from fastapi import FastAPI
from local_helpers import Caller
from pydantic import BaseModel, TypeAdapter, ValidationError
from sqlalchemy import inspect

from sevenbridges_local.api.deps import QueryBool
from sevenbridges_local.app import install_exception_handlers
from sevenbridges_local.db import Database
from sevenbridges_local.db.migrate import DB_PACKAGE_DIR, alembic_config
from sevenbridges_local.db.models import Base


def test_migrations_build_exactly_the_models_schema(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'schema.db'}")
    try:
        database.migrate()
        database.migrate()  # idempotent
        with database.read_engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
            heads = ScriptDirectory.from_config(alembic_config()).get_heads()
            assert len(heads) == 1, f"the migration chain must be linear, heads: {heads}"
            assert context.get_current_revision() == heads[0]
        tables = set(inspect(database.read_engine).get_table_names())
        assert {"users", "projects", "project_members", "billing_groups", "invoices"} <= tables
    finally:
        database.dispose()


def test_migration_files_live_inside_the_package() -> None:
    assert (DB_PACKAGE_DIR / "alembic.ini").is_file()
    assert (DB_PACKAGE_DIR / "migrations" / "env.py").is_file()
    assert list((DB_PACKAGE_DIR / "migrations" / "versions").glob("0001_*.py"))


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'pragmas.db'}")
    try:
        with database.read_engine.connect() as connection:
            pragma = connection.exec_driver_sql
            assert pragma("PRAGMA journal_mode").scalar() == "wal"
            assert pragma("PRAGMA foreign_keys").scalar() == 1
            assert pragma("PRAGMA busy_timeout").scalar() >= 5000
    finally:
        database.dispose()


@pytest.mark.parametrize(
    ("raw", "expected"), [("True", True), ("true", True), ("False", False), ("false", False)]
)
def test_query_booleans_accept_both_spellings(raw: str, expected: bool) -> None:
    assert TypeAdapter(QueryBool).validate_python(raw) is expected


@pytest.mark.parametrize("raw", ["yes", "1", "TRUE ", "", "none"])
def test_query_booleans_reject_other_values(raw: str) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(QueryBool).validate_python(raw)


def test_concurrent_creations_get_distinct_slugs(alice: Caller) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(
            pool.map(lambda _: alice.post("/projects", json={"name": "race"}), range(16))
        )
    assert [response.status_code for response in responses] == [201] * 16
    ids = {response.json()["id"] for response in responses}
    assert ids == {f"{alice.username}/race"} | {f"{alice.username}/race-{n}" for n in range(1, 16)}


async def _call(app: FastAPI, path: str, query: bytes = b"", body: bytes = b"") -> tuple[int, dict]:
    """One request straight into an ASGI app (no server, no HTTP client library needed)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST" if body else "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"probe"), (b"content-type", b"application/json")],
        "server": ("probe", 80),
        "client": ("127.0.0.1", 50000),
    }
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    await app(scope, receive, send)
    status = next(message["status"] for message in sent if message["type"] == "http.response.start")
    payload = b"".join(message.get("body", b"") for message in sent if "body" in message)
    return status, json.loads(payload)


class _Payload(BaseModel):
    count: int


def _probe_app() -> FastAPI:
    """A tiny app with the platform's error handlers and typed parameters, as later routes use."""
    probe = FastAPI()
    install_exception_handlers(probe)

    @probe.get("/flag")
    def flag(value: QueryBool, size: int = 1) -> dict:
        return {"value": value, "size": size}

    @probe.post("/typed")
    def typed(payload: _Payload) -> dict:
        return {"count": payload.count}

    return probe


@pytest.mark.parametrize(("raw", "expected"), [(b"True", True), (b"false", False)])
def test_query_boolean_parameters_in_a_route(raw: bytes, expected: bool) -> None:
    status, body = asyncio.run(_call(_probe_app(), "/flag", b"value=" + raw))
    assert (status, body) == (200, {"value": expected, "size": 1})


def test_invalid_parameters_are_400_with_the_field_named() -> None:
    probe = _probe_app()
    status, body = asyncio.run(_call(probe, "/flag", b"value=maybe"))
    assert status == 400 and body["code"] == 90000
    assert "'value'" in body["message"] and "query parameter" in body["message"]
    status, body = asyncio.run(_call(probe, "/flag", b"value=True&size=big"))
    assert status == 400 and "'size'" in body["message"]
    status, body = asyncio.run(_call(probe, "/flag"))
    assert status == 400 and "'value'" in body["message"]  # missing, not FastAPI's 422
    assert set(body) == {"status", "code", "message", "more_info"}


def test_invalid_bodies_are_400_not_422() -> None:
    probe = _probe_app()
    status, body = asyncio.run(_call(probe, "/typed", body=b'{"count": "many"}'))
    assert status == 400 and body["code"] == 90000 and "'count'" in body["message"]
    status, body = asyncio.run(_call(probe, "/typed", body=b'{"count": '))
    assert status == 400 and body["code"] == 90009
