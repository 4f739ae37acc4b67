"""ASGI middleware: request ids and logging, the gate (maintenance, auth, rate limit), errors.

Order, outermost first: RequestContext -> Gate -> Errors -> FastAPI. The gate adds the rate-limit
headers, so it sits outside the error catcher to decorate 500 answers as well.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

import anyio
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sevenbridges_local import errors
from sevenbridges_local.db import Database
from sevenbridges_local.faults import FaultSwitches
from sevenbridges_local.ratelimit import RateLimiter, RateStatus
from sevenbridges_local.services import users
from sevenbridges_local.services.context import Actor

logger = logging.getLogger(__name__)
request_logger = logging.getLogger("sevenbridges_local.requests")

API_ROOT_PATH = "/v2"
FAULTS_PATH = "/v2/_local/faults"
RATE_LIMIT_PATH = "/v2/rate_limit"
# Interactive API documentation stays reachable without a token and during maintenance.
DOCUMENTATION_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/openapi.json"})
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
        except Exception:
            logger.exception("request %s failed outside the API handlers", request_id)
            if outcome["started"]:
                raise
            await error_response(_unexpected_error())(scope, receive, send_tagged)
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
    """Turns an exception that escaped the API handlers into the platform's 500 JSON body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

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
        except Exception:
            logger.exception(
                "unexpected error in request %s %s %s",
                _state(scope).get("request_id"),
                scope["method"],
                scope["path"],
            )
            if started:
                raise
            await error_response(_unexpected_error())(scope, receive, send)
