"""ASGI middleware: request ids and logging, the gate (maintenance, auth, rate limit), errors.

Order, outermost first: RequestContext -> Gate -> Errors -> FastAPI. The gate adds the rate-limit
headers, so it sits outside the error catcher to decorate 500 answers as well.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

import anyio
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sevenbridges_local import errors
from sevenbridges_local.db import Database
from sevenbridges_local.db import errors as db_errors
from sevenbridges_local.faults import FaultSwitches
from sevenbridges_local.ratelimit import RateLimiter, RateStatus
from sevenbridges_local.services import users
from sevenbridges_local.services.context import Actor
from sevenbridges_local.storage import StorageFull

logger = logging.getLogger(__name__)
request_logger = logging.getLogger("sevenbridges_local.requests")

API_ROOT_PATH = "/v2"
FAULTS_PATH = "/v2/_local/faults"
RATE_LIMIT_PATH = "/v2/rate_limit"
# Interactive API documentation stays reachable without a token and during maintenance.
# So do the site root and the health check (which itself reports maintenance).
DOCUMENTATION_PATHS = frozenset({"/", "/health", "/docs", "/docs/oauth2-redirect", "/openapi.json"})
DOCUMENTATION_PREFIX = "/docs/"
# Asking how much budget is left must not spend it; the control endpoint is exempt by contract.
UNCOUNTED_PATHS = frozenset({RATE_LIMIT_PATH, FAULTS_PATH})
REQUEST_ID_HEADER = "X-Request-Id"


def error_response(error: errors.ApiError, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status, headers=headers)


def _state(scope: Scope) -> dict[str, Any]:
    return scope.setdefault("state", {})


class RequestContextMiddleware:
    """Normalises the path, tags every response with a request id and logs one line per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if len(path) > 1 and path.endswith("/"):
            # "/projects/" and "/projects" are the same resource on the platform.
            scope["path"] = path.rstrip("/") or "/"
            raw_path = scope.get("raw_path")
            if isinstance(raw_path, bytes):
                scope["raw_path"] = raw_path.rstrip(b"/") or b"/"
        request_id = uuid.uuid4().hex
        _state(scope)["request_id"] = request_id
        outcome = {"status": 0, "started": False}

        async def send_tagged(message: Message) -> None:
            if message["type"] == "http.response.start":
                outcome["status"] = message["status"]
                outcome["started"] = True
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        started_at = time.perf_counter()
        try:
            await self.app(scope, receive, send_tagged)
        except Exception as exc:
            known = known_failure(exc)
            if known is None:
                logger.exception("request %s failed outside the API handlers", request_id)
            else:
                logger.warning("request %s failed: %s", request_id, _brief(exc))
            if outcome["started"]:
                raise
            error, headers = known or (_unexpected_error(), {})
            await error_response(error, headers)(scope, receive, send_tagged)
        finally:
            actor: Actor | None = _state(scope).get("actor")
            request_logger.info(
                "%s %s %s -> %s in %.1f ms (user %s)",
                request_id,
                scope["method"],
                scope["path"],
                outcome["status"],
                (time.perf_counter() - started_at) * 1000,
                actor.username if actor else "-",
            )


def _unexpected_error() -> errors.ApiError:
    return errors.ApiError(500, errors.UNEXPECTED, "Unexpected server error; see the server log.")


DISK_FULL_MESSAGE = (
    "The platform's disk is full: the change was not saved. Reading still works; free some "
    "space in the platform's data directory and try again."
)
LOCKED_MESSAGE = (
    "The platform's database is busy with other changes and this one could not wait any "
    "longer: nothing was saved. Try again in a moment."
)
# Seconds a client should wait before retrying after a busy database (urllib3, and so both
# Python clients, retry idempotent requests on a 503 that carries it).
LOCKED_RETRY_AFTER = "2"
CONNECTION_LOST_MESSAGE = (
    "The platform lost its connection to the database (it may have restarted) while answering. "
    "Try again in a moment."
)
# PostgreSQL stores no U+0000 in text; SQLite does.
NUL_MESSAGE = "Text values cannot contain the NUL character (U+0000)."


def _brief(exc: BaseException) -> str:
    """The driver's own message for a database error (the SQL and its values stay out of logs)."""
    original = getattr(exc, "orig", None)
    return f"{type(exc).__name__}: {original if original is not None else exc}"


def known_failure(exc: BaseException) -> tuple[errors.ApiError, dict[str, str]] | None:
    """The answer for an exception that is an expected condition, not a bug (None otherwise)."""
    if isinstance(exc, StorageFull):
        return errors.insufficient_storage(str(exc)), {}
    if db_errors.is_disk_full(exc):
        return errors.insufficient_storage(DISK_FULL_MESSAGE), {}
    if db_errors.is_locked(exc):
        return errors.unavailable(LOCKED_MESSAGE), {"Retry-After": LOCKED_RETRY_AFTER}
    if db_errors.is_connection_lost(exc):
        return errors.unavailable(CONNECTION_LOST_MESSAGE), {"Retry-After": LOCKED_RETRY_AFTER}
    if db_errors.is_nul_in_text(exc):
        return errors.bad_request(NUL_MESSAGE), {}
    return None


def _token_from(headers: Headers) -> str | None:
    token = headers.get("x-sbg-auth-token")
    if token:
        return token.strip()
    authorization = headers.get("authorization", "")
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return None


class GateMiddleware:
    """Maintenance switch, authentication and per-user rate limiting for every request."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        database: Database,
        switches: FaultSwitches,
        limiter: RateLimiter,
    ) -> None:
        self.app = app
        self.database = database
        self.switches = switches
        self.limiter = limiter

    def _authenticate(self, token: str) -> Actor | None:
        with self.database.read_session() as session:
            return users.authenticate(session, token)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        token = _token_from(Headers(scope=scope))
        actor = await anyio.to_thread.run_sync(self._authenticate, token) if token else None
        state = _state(scope)
        state["actor"] = actor
        rate_key = actor.user_id if actor else None

        if (
            self.switches.state.maintenance
            and path != FAULTS_PATH
            and path not in DOCUMENTATION_PATHS
            and not path.startswith(DOCUMENTATION_PREFIX)
        ):
            maintenance = errors.ApiError(
                503, errors.MAINTENANCE, "The platform is under maintenance; try again later."
            )
            await self._refuse(scope, receive, send, maintenance, self.limiter.peek(rate_key))
            return
        if actor is None and path.startswith(API_ROOT_PATH + "/"):
            await self._refuse(scope, receive, send, errors.unauthorized(), self.limiter.peek(None))
            return
        if actor is not None and path not in UNCOUNTED_PATHS:
            if getattr(self.limiter, "blocking", False):  # kept in the database (--workers N)
                rate = await anyio.to_thread.run_sync(self.limiter.hit, rate_key)
            else:
                rate = self.limiter.hit(rate_key)
            if rate.exceeded:
                too_many = errors.ApiError(
                    429,
                    errors.RATE_LIMITED,
                    f"Rate limit of {rate.limit} requests exceeded; it resets at {rate.reset}.",
                )
                await self._refuse(scope, receive, send, too_many, rate)
                return
        else:
            rate = self.limiter.peek(rate_key)
        state["rate"] = rate

        async def send_with_rate(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).update(rate.headers())
            await send(message)

        await self.app(scope, receive, send_with_rate)

    async def _refuse(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        error: errors.ApiError,
        rate: RateStatus,
    ) -> None:
        await error_response(error, headers=rate.headers())(scope, receive, send)


class ErrorMiddleware:
    """Turns an exception that escaped the API handlers into the platform's JSON error body:
    507 for a full disk, 503 (retryable) for a database lock held too long, otherwise 500.

    ``on_disk_full`` is called (in a worker thread) after a 507, to make room for the next try.
    """

    def __init__(self, app: ASGIApp, on_disk_full: Callable[[], object] | None = None) -> None:
        self.app = app
        self.on_disk_full = on_disk_full

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_tracking)
        except Exception as exc:
            known = known_failure(exc)
            where = (_state(scope).get("request_id"), scope["method"], scope["path"])
            if known is None:
                logger.exception("unexpected error in request %s %s %s", *where)
            else:  # an expected condition: one line, no traceback (and no SQL parameters)
                logger.warning("request %s %s %s failed: %s", *where, _brief(exc))
            if started:
                raise
            error, headers = known or (_unexpected_error(), {})
            await error_response(error, headers)(scope, receive, send)
            if error.status == 507 and self.on_disk_full is not None:
                try:
                    await anyio.to_thread.run_sync(self.on_disk_full)
                except Exception:
                    logger.exception("making room after a full disk failed")
