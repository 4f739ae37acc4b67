"""``create_app(settings)``: the FastAPI application of the local platform."""

from __future__ import annotations

import functools
import logging
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from sevenbridges_local import errors
from sevenbridges_local.api import include_api
from sevenbridges_local.api.boundary import validation_error
from sevenbridges_local.api.site import include_site
from sevenbridges_local.automation_pool import AutomationPool
from sevenbridges_local.bootstrap import make_private_by_default, prepare
from sevenbridges_local.dataplane import PORT_FILE_NAME, DataPlane
from sevenbridges_local.db import Database
from sevenbridges_local.execution.base import Executor
from sevenbridges_local.execution.cwltool_executor import CwltoolExecutor
from sevenbridges_local.execution.sandbox import SandboxPolicy, SandboxUnavailable, detect_sandbox
from sevenbridges_local.execution.toil_executor import TOIL_DIR_NAME, ToilExecutor
from sevenbridges_local.faults import FaultSwitches
from sevenbridges_local.forwarded import ForwardedMiddleware
from sevenbridges_local.middleware import (
    ErrorMiddleware,
    GateMiddleware,
    RequestContextMiddleware,
    error_response,
)
from sevenbridges_local.processes import ProcessHeaderMiddleware, ProcessRegistry
from sevenbridges_local.ratelimit import RateLimiter
from sevenbridges_local.security import SecretBox
from sevenbridges_local.services import cwl_schemas
from sevenbridges_local.services.drs_imports import RESOURCES_KEY as DRS_RESOURCES_KEY
from sevenbridges_local.services.drs_remote import DrsClientSettings, own_netlocs
from sevenbridges_local.services.uploads import UploadJanitor
from sevenbridges_local.services.volumes import VolumeRuntime
from sevenbridges_local.settings import Settings, redact_url
from sevenbridges_local.shared_state import SharedFaultSwitches, SharedRateLimiter
from sevenbridges_local.signing import UrlSigner
from sevenbridges_local.status import clear_status, write_status
from sevenbridges_local.storage import open_blob_store
from sevenbridges_local.storage.buckets import CloudSettings
from sevenbridges_local.task_pool import TaskPool
from sevenbridges_local.tls import ensure_tls
from sevenbridges_local.workers import FAULTS_KEY, WorkerPool, WorkerResources, WorkFaults

logger = logging.getLogger(__name__)

_PLATFORM_CODE_FOR_STATUS = {
    400: errors.BAD_REQUEST,
    401: errors.UNAUTHORIZED,
    403: errors.FORBIDDEN,
    404: errors.NOT_FOUND,
    405: errors.METHOD_NOT_ALLOWED,
}


DRS_PATH_PREFIX = "/ga4gh/"


def shaped_error(request: Request, error: errors.ApiError) -> JSONResponse:
    """The platform's error body, or DRS's own ``{"msg", "status_code"}`` on the DRS routes."""
    if request.url.path.startswith(DRS_PATH_PREFIX):
        return JSONResponse({"msg": error.message, "status_code": error.status}, error.status)
    return error_response(error)


async def api_error_handler(request: Request, exc: errors.ApiError) -> JSONResponse:
    return shaped_error(request, exc)


async def http_error_handler(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    if exc.status_code == 404:
        message = f"Route {request.method} {request.url.path} does not exist."
    elif exc.status_code == 405:
        message = f"Method {request.method} is not allowed on {request.url.path}."
    else:
        message = str(exc.detail)
    code = _PLATFORM_CODE_FOR_STATUS.get(exc.status_code, errors.BAD_REQUEST)
    response = shaped_error(request, errors.ApiError(exc.status_code, code, message))
    for name, value in (exc.headers or {}).items():  # e.g. Allow on 405
        response.headers[name] = value
    return response


async def validation_error_handler(request: Request, exc: RequestValidationError) -> JSONResponse:
    # Never FastAPI's default 422 shape: the platform answers 400 with its own error body.
    return shaped_error(request, validation_error(request, exc))


def install_exception_handlers(app: FastAPI) -> None:
    """Platform-style JSON errors for our own errors, routing misses and invalid parameters."""
    # Starlette types handlers for the base Exception; each of ours takes its own subclass.
    app.add_exception_handler(errors.ApiError, api_error_handler)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, http_error_handler)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, validation_error_handler)  # type: ignore[arg-type]


class TransferServices:
    """The data plane and the upload janitor, started and stopped with the API."""

    def __init__(self, dataplane: DataPlane, janitor: UploadJanitor) -> None:
        self.dataplane = dataplane
        self.janitor = janitor

    def stop(self) -> None:
        self.janitor.stop()
        self.dataplane.stop()


def start_transfers(
    app: FastAPI, secret_key: bytes, *, listen_socket: socket.socket | None = None
) -> TransferServices:
    settings: Settings = app.state.settings
    store = app.state.blob_store
    app.state.url_signer = UrlSigner(secret_key)
    # With TLS the data plane serves HTTPS with the API's certificate (already made by `serve`;
    # ensure_tls only reads it then).
    ssl_context = (
        ensure_tls(settings.data_dir, settings.host, settings.tls_hosts).server_context()
        if settings.tls
        else None
    )
    dataplane = DataPlane(
        host=settings.host,
        port=settings.data_port,
        store=store,
        signer=app.state.url_signer,
        switches=app.state.faults,
        port_file=settings.data_dir / PORT_FILE_NAME,
        avoid_port=settings.port,
        ssl_context=ssl_context,
        listen_socket=listen_socket,
        public_port=settings.public_data_port or None,
    )
    dataplane.start()
    app.state.dataplane = dataplane
    janitor = UploadJanitor(
        app.state.database, store, pressure_idle_seconds=settings.upload_idle_under_pressure
    )
    # A write that finds the disk too full first asks the janitor to remove abandoned uploads.
    store.on_space_short = janitor.relieve_pressure
    # With several processes one janitor (the first process's) is enough; the others only
    # relieve pressure when a write of theirs finds the disk full.
    if app.state.primary:
        janitor.start()
    return TransferServices(dataplane, janitor)


def volume_runtime(settings: Settings, secret_key: bytes) -> VolumeRuntime:
    """What volume operations need: the sealing key and the clouds' endpoints and timeouts."""
    return VolumeRuntime(
        box=SecretBox(secret_key),
        clouds=CloudSettings(
            s3_endpoint_url=settings.s3_endpoint_url,
            gcs_endpoint_url=settings.gcs_endpoint_url,
            timeout=settings.volume_timeout,
        ),
        multipart_threshold=settings.volume_multipart_threshold,
        part_size=settings.volume_part_size,
        presigned_downloads=settings.volume_presigned_downloads,
        import_item_delay=settings.volume_import_item_delay,
    )


def drs_client_settings(settings: Settings) -> DrsClientSettings:
    """How DRS imports reach other DRS servers (scheme, timeouts, bearer tokens by host)."""
    return DrsClientSettings(
        scheme=settings.drs_scheme,
        timeout=settings.drs_timeout,
        tokens={host: token.get_secret_value() for host, token in settings.drs_tokens.items()},
        allowed_hosts=(
            None
            if settings.drs_allowed_hosts is None
            else frozenset(host.lower().strip("[]") for host in settings.drs_allowed_hosts)
        ),
        own_netlocs=own_netlocs(settings.host, settings.port),
    )


def task_sandbox(settings: Settings) -> SandboxPolicy:
    """The isolation tasks get on this machine (:class:`SandboxUnavailable` when required but
    impossible)."""
    policy = detect_sandbox(
        mode=settings.sandbox,
        data_dir=settings.data_dir,
        bwrap=settings.sandbox_bwrap,
        network=settings.sandbox_network,
        uid=settings.sandbox_uid,
        gid=settings.sandbox_gid,
        extra_paths=settings.sandbox_paths,
        container_engine=settings.container_engine,
    )
    if settings.executor == "toil" and settings.toil_batch_system != "single_machine":
        # Jobs run on the cluster's nodes: the sandbox cannot follow them there.
        problem = f"jobs run on the Toil {settings.toil_batch_system} batch system"
        if settings.sandbox == "bwrap":
            raise SandboxUnavailable(f"Task isolation is required but {problem}.")
        policy = replace(policy, problem=policy.problem or problem)
    return policy


def start_task_pool(app: FastAPI) -> TaskPool:
    """The executor and the worker threads that run queued tasks."""
    settings: Settings = app.state.settings
    sandbox: SandboxPolicy = app.state.sandbox
    if sandbox.enabled:
        logger.info("task isolation: %s", sandbox.describe())
    else:
        logger.warning("task isolation %s", sandbox.describe())
    executor: Executor
    if settings.executor == "toil":
        executor = ToilExecutor(
            app.state.blob_store,
            settings.toil_job_store or settings.data_dir / TOIL_DIR_NAME,
            batch_system=settings.toil_batch_system,
            extra_arguments=settings.toil_args,
            toil_runner=settings.toil_cwl_runner,
            container_engine=settings.container_engine,
            sandbox=sandbox,
            pass_environment=settings.toil_environment,
            nice=settings.task_nice,
        )
    else:
        executor = CwltoolExecutor(
            app.state.blob_store,
            container_engine=settings.container_engine,
            sandbox=sandbox,
            nice=settings.task_nice,
        )
    pool = TaskPool(
        app.state.database,
        app.state.blob_store,
        executor,
        settings.data_dir,
        workers=settings.task_workers,
        container_engine=settings.container_engine,
        keep_work_dirs=settings.keep_task_dirs,
        volumes=getattr(app.state, "volume_runtime", None),
        owner=getattr(app.state, "process", None),
        faults=getattr(app.state, "work_faults", None),
    )
    pool.start()
    app.state.task_pool = pool
    return pool


def _make_room(app: FastAPI) -> None:
    """After a database write failed for a full disk: let the blob store's hook make room."""
    hook = getattr(app.state.blob_store, "on_space_short", None)
    if hook is not None:
        hook()


def create_app(
    settings: Settings | None = None,
    sandbox: SandboxPolicy | None = None,
    *,
    primary: bool = True,
    data_socket: socket.socket | None = None,
    process_index: int | None = None,
) -> FastAPI:
    """Build the application; the database is migrated and seeded when it starts serving.

    ``sandbox``: the task isolation already detected (by ``sbg local serve``); detected at
    start when None. With ``settings.workers`` above 1 this is one of several processes
    (cli.py's supervisor): ``primary`` says whether it runs the loops that must be singular
    (the upload janitor, the status file), ``data_socket`` is the data
    plane's socket, bound by the supervisor and shared by every process.
    """
    settings = settings or Settings()
    cwl_schemas.configure(settings.cwl_schemas_dir)
    database = Database(
        settings.database_url or "", busy_timeout_ms=round(settings.db_busy_timeout * 1000)
    )
    switches: FaultSwitches
    limiter: RateLimiter
    if settings.workers > 1:  # every process must see the same switches and counts
        switches = SharedFaultSwitches(FaultSwitches.from_settings(settings).state, database)
        limiter = SharedRateLimiter(switches, database)
    else:
        switches = FaultSwitches.from_settings(settings)
        limiter = RateLimiter(switches)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Everything the server creates from here on is private to its user; what an older
        # version left open in the data directory is tightened before anything is served.
        make_private_by_default()
        # Not in one of several API processes: the supervisor tightened before starting them,
        # and one started again after a crash would take the group's access away from the work
        # directories and input blobs of the tasks the other processes run in sandboxes.
        prepared = await anyio.to_thread.run_sync(
            functools.partial(
                prepare, settings, database, tighten_permissions=process_index is None
            )
        )
        if getattr(app.state, "sandbox", None) is None:
            app.state.sandbox = await anyio.to_thread.run_sync(task_sandbox, settings)
        # The data directory's key, for anything that must be signed (e.g. transfer URLs).
        app.state.secret_key = prepared.secret_key
        # Volumes: credentials sealed with a key derived from it; where the clouds are.
        app.state.volume_runtime = volume_runtime(settings, prepared.secret_key)
        logger.info("local platform ready: data in %s", settings.data_dir)
        # This process's claims carry its id; claims of processes that died are taken back.
        process = ProcessRegistry(database)
        await anyio.to_thread.run_sync(process.register)
        app.state.process = process
        # Durable background work (async file jobs, blob clean-up); resumes what a stop cut off.
        resources = WorkerResources(database=database, blob_store=app.state.blob_store)
        resources.extras["volumes"] = app.state.volume_runtime
        resources.extras[DRS_RESOURCES_KEY] = drs_client_settings(settings)
        app.state.work_faults = WorkFaults(settings.work_faults)  # also the task pool's
        resources.extras[FAULTS_KEY] = app.state.work_faults
        worker_pool = WorkerPool(
            resources, retry_base_seconds=settings.work_retry_seconds, owner=process
        )
        await anyio.to_thread.run_sync(worker_pool.start)
        app.state.workers = worker_pool
        # The data plane (part PUTs, downloads) runs in this process on its own port.
        transfers = await anyio.to_thread.run_sync(
            functools.partial(start_transfers, app, prepared.secret_key, listen_socket=data_socket)
        )
        # Task workers: queued tasks (also those a restart interrupted) start running now.
        task_pool = await anyio.to_thread.run_sync(start_task_pool, app)
        # Automation runs: queued ones (also those a restart interrupted) start now.
        automation_pool = AutomationPool(
            database,
            app.state.blob_store,
            app.state.sandbox,
            settings.data_dir,
            settings.api_root,
            owner=process,
        )
        # Every process runs them: each run is claimed under this process's id.
        await anyio.to_thread.run_sync(automation_pool.start)
        app.state.automation_pool = automation_pool
        await anyio.to_thread.run_sync(process.start)  # heartbeat and sweep of dead processes
        sandbox: SandboxPolicy = app.state.sandbox
        if primary:
            write_status(
                settings.data_dir,
                api_url=settings.api_root,
                data_port=transfers.dataplane.port,
                tasks_isolated=sandbox.enabled,
                task_isolation=sandbox.describe(),
                container_engine=settings.container_engine,
                executor=settings.executor,
                database=redact_url(settings.database_url),
                storage=redact_url(settings.storage),
                api_processes=settings.workers,
            )
        try:
            yield
        finally:
            if primary:
                clear_status(settings.data_dir)
            await anyio.to_thread.run_sync(automation_pool.stop)
            await anyio.to_thread.run_sync(task_pool.stop)
            await anyio.to_thread.run_sync(transfers.stop)
            await anyio.to_thread.run_sync(worker_pool.stop)
            # Last: what this process leaves unfinished is taken back by the others at once.
            await anyio.to_thread.run_sync(process.stop)
            database.dispose()

    app = FastAPI(
        title="Seven Bridges local platform",
        description="The Seven Bridges Platform REST API v2, served locally for offline testing.",
        version="2",
        lifespan=lifespan,
        docs_url=None,  # served by api/site.py from local assets
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    # Paths are normalised by RequestContextMiddleware; no 307 redirects for trailing slashes.
    app.router.redirect_slashes = False
    app.state.settings = settings
    app.state.database = database
    app.state.faults = switches
    app.state.rate_limiter = limiter
    app.state.sandbox = sandbox
    app.state.primary = primary
    if getattr(app.state, "blob_store", None) is None:
        app.state.blob_store = open_blob_store(
            settings.data_dir,
            min_free_bytes=settings.min_free_space,
            storage=settings.storage,
            s3_endpoint_url=settings.s3_endpoint_url,
        )
    include_api(app)
    include_site(app)
    install_exception_handlers(app)
    # Added innermost first: requests pass RequestContext -> Gate -> Errors -> routes.
    app.add_middleware(ErrorMiddleware, on_disk_full=lambda: _make_room(app))
    app.add_middleware(GateMiddleware, database=database, switches=switches, limiter=limiter)
    app.add_middleware(RequestContextMiddleware)
    # Outermost: a trusted proxy's forwarded scheme and host apply before anything reads them.
    app.add_middleware(ForwardedMiddleware, trusted=settings.trusted_proxies)
    if process_index is not None:
        app.add_middleware(ProcessHeaderMiddleware, index=process_index)
    return app
