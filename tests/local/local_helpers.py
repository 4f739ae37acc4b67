"""Helpers for server-level tests: plain ``requests`` calls against a live local platform."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import requests
from sqlalchemy.engine import make_url

from sevenbridges_local.embedded import EmbeddedServer

TOKEN_HEADER = "X-SBG-Auth-Token"


class Caller:
    """Requests to one platform as one user (or anonymously when ``token`` is None)."""

    def __init__(
        self, http: requests.Session, url: str, token: str | None, username: str | None = None
    ) -> None:
        self.http = http
        self.url = url
        self.token = token
        self.username = username

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if self.token is not None:
            headers.setdefault(TOKEN_HEADER, self.token)
        target = path if path.startswith("http") else self.url + path
        return self.http.request(method, target, headers=headers, timeout=30, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PATCH", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def create_project(self, name: str, **fields: Any) -> dict[str, Any]:
        response = self.post("/projects", json={"name": name, **fields})
        assert response.status_code == 201, response.text
        return response.json()


def assert_error(response: requests.Response, status: int, code: int) -> dict[str, Any]:
    """The platform's error body with the expected status and code; returns the body."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"status", "code", "message", "more_info"}, body
    assert body["status"] == status
    assert body["code"] == code, body
    assert isinstance(body["message"], str) and body["message"]
    assert body["more_info"].startswith("https://")
    return body


def database_path(server: EmbeddedServer) -> Path:
    return server.data_dir / "platform.db"


def run_sql(server: EmbeddedServer, statement: str, parameters: tuple = ()) -> list[tuple]:
    """Direct SQL on a platform's database, for states the API cannot create (yet).

    ``?`` placeholders, as sqlite3 takes them, on whichever database the platform uses."""
    if server.database_url.startswith("sqlite"):
        with closing(sqlite3.connect(database_path(server), timeout=30)) as connection:
            with connection:
                rows = connection.execute(statement, parameters).fetchall()
        return rows
    import psycopg
    from psycopg.types.string import TextLoader

    dsn = make_url(server.database_url).set(drivername="postgresql")
    with psycopg.connect(dsn.render_as_string(hide_password=False)) as connection:
        # JSON columns come back as text, as sqlite3 gives them.
        for json_type in ("json", "jsonb"):
            connection.adapters.register_loader(json_type, TextLoader)
        cursor = connection.execute(
            statement.replace("%", "%%").replace("?", "%s"),  # type: ignore[arg-type]
            parameters,
        )
        return [tuple(row) for row in cursor.fetchall()] if cursor.description else []


def json_field(server: EmbeddedServer, column: str, key: str) -> str:
    """SQL for a JSON column's top-level text value, in the platform's database's dialect."""
    if server.database_url.startswith("sqlite"):
        return f"json_extract({column}, '$.{key}')"
    return f"({column} ->> '{key}')"


def claimed_by_a_dead_process(kind: str, payload: dict[str, Any]) -> Any:
    """A work item as a server killed mid-run leaves it: claimed, running, one attempt used."""
    from sevenbridges_local.clock import utcnow
    from sevenbridges_local.db.files import WorkItem

    now = utcnow()
    return WorkItem(
        kind=kind,
        payload=payload,
        state="running",
        attempts=1,
        claimed_by="dead-process",
        available_on=now,
        created_on=now,
        started_on=now,
    )
