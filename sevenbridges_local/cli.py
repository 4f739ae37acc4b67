"""``sbg local serve | token | users | status | division`` (or ``python -m sevenbridges_local``)."""

from __future__ import annotations

import argparse
import contextlib
import errno
import gc
import json
import logging
import re
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from sevenbridges_local.settings import DEFAULT_PORT, Settings

if TYPE_CHECKING:  # imported where used: the command line starts without them
    import uvicorn

    from sevenbridges_local.tls import TlsFiles

LOG_LEVELS = ("debug", "info", "warning", "error")
# Settings fields whose flag is not ``--`` + the field name with dashes.
SETTING_FLAGS = {
    "database_url": "--database",
    "s3_endpoint_url": "--s3-endpoint",
    "gcs_endpoint_url": "--gcs-endpoint",
}
QUIET_LIBRARIES = ("boto3", "botocore", "s3transfer", "urllib3", "google", "requests")


# Idle keep-alive connections stay open this long (uvicorn's default is 5 s). A client that
# reuses a connection just as the server closes it gets a reset, which clients do not retry for
# POSTs; a minute, like common load balancers, makes that race rare for clients that pause.
KEEP_ALIVE_SECONDS = 75


def _settings(args: argparse.Namespace, **extra: Any) -> Settings:
    """Settings from the environment, with the flags that were actually given on top."""
    overrides = {key: value for key, value in extra.items() if value is not None}
    if args.data_dir is not None:
        overrides["data_dir"] = args.data_dir
    if getattr(args, "database", None):
        overrides["database_url"] = args.database
    return Settings(**overrides)


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # Alembic narrates every plugin and migration step at INFO; users only need to hear of problems.
    if logging.getLogger().level <= logging.INFO:
        logging.getLogger("alembic").setLevel(logging.WARNING)
    # The cloud libraries log requests and answers at DEBUG, STS answers hold temporary keys:
    # never let them reach the server log, whatever the level.
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)


def _ignore_signal(_signum: int, _frame: object) -> None:
    """Placeholder handler: uvicorn re-raises the signal that stopped it after shutting down."""


def _uvicorn_server(app: Any, log_level: str, tls: TlsFiles | None, **where: Any) -> uvicorn.Server:
    """The uvicorn server of one API process (``tls``: a ``TlsFiles`` or None; ``where``: host
    and port when uvicorn binds, nothing when it serves sockets it is given)."""
    import uvicorn

    from sevenbridges_local.tls import TlsServer

    config = uvicorn.Config(
        app,
        log_config=None,  # keep our logging setup
        access_log=False,  # the request middleware logs each request with its id
        log_level=log_level,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        proxy_headers=False,  # forwarded.py decides whom to believe (trusted_proxies)
        ssl_certfile=str(tls.server_cert) if tls else None,
        ssl_keyfile=str(tls.server_key) if tls else None,
        **where,
    )
    return (TlsServer if tls else uvicorn.Server)(config)


def _bind_socket(host: str, port: int) -> socket.socket:
    """The API's listening socket, bound now so that a busy port is reported before anything
    else happens (uvicorn then serves on it)."""
    family, kind, proto, _name, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _port_problem(host: str, port: int, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return (
            f"port {port} on {host} is already in use (another `sbg local serve`?): stop the "
            "program using it, or pass --port with a free port"
        )
    if exc.errno == errno.EACCES:
        return f"port {port} on {host} needs privileges: pass --port 1024 or higher"
    if isinstance(exc, socket.gaierror) or exc.errno == errno.EADDRNOTAVAIL:
        return f"cannot listen on {host}: not an address of this machine; check --host"
    return f"cannot listen on {host}:{port}: {exc.strerror or exc}; check --host and --port"


def _announce_when_ready(server: Any, lines: list[str], on_ready: Any) -> None:
    """Print the start-up lines (and write the profile) once uvicorn has bound every port and
    finished starting, so nothing points at a platform that is not there."""
    while not server.should_exit:
        if server.started:
            for line in lines:
                print(line, flush=True)
            on_ready()
            return
        time.sleep(0.05)


def _describe_engine(engine: str | None) -> str:
    """The start-up line for the container engine, saying when its program is missing."""
    from sevenbridges_local.execution.containers import ENGINE_PROGRAMS, engine_program

    if not engine:
        return "none (apps that require a container fail; --container-engine docker to run them)"
    found = engine_program(engine)
    if found is None:
        names = " or ".join(ENGINE_PROGRAMS.get(engine, (engine,)))
        return f"{engine}, but {names} is NOT on the PATH: apps with containers will fail"
    return f"{engine} ({found})"


def _describe_backends(settings: Settings) -> list[str]:
    """Start-up lines naming the database, the file storage and the task executor, so a
    deployment can see at a glance which backends it got (the database password is hidden)."""
    from sqlalchemy.engine import make_url

    database = make_url(settings.database_url or "").render_as_string(hide_password=True)
    if settings.storage:
        endpoint = settings.s3_endpoint_url or "AWS"
        storage = f"{settings.storage} (endpoint {endpoint})"
    else:
        storage = str(settings.data_dir / "storage")
    if settings.executor == "toil":
        job_stores = settings.toil_job_store or settings.data_dir / "toil"
        executor = f"toil ({settings.toil_batch_system} batch system; job stores in {job_stores})"
    else:
        executor = "cwltool (on this machine)"
    return [
        f"  database:       {database}",
        f"  file storage:   {storage}",
        f"  task executor:  {executor}",
    ]


def _serve(args: argparse.Namespace) -> int:
    _configure_logging(args.log_level)
    settings = _settings(
        args,
        host=args.host,
        port=args.port,
        rate_limit=args.rate_limit,
        rate_limit_window=args.rate_limit_window,
        maintenance=True if args.maintenance else None,
        data_port=args.data_port,
        sandbox=args.sandbox,
        container_engine=args.container_engine,
        cwl_schemas_dir=args.cwl_schemas_dir,
        s3_endpoint_url=args.s3_endpoint,
        gcs_endpoint_url=args.gcs_endpoint,
        storage=args.storage,
        tls=True if args.tls else None,
        executor=args.executor,
        toil_batch_system=args.toil_batch_system,
        toil_job_store=args.toil_job_store,
        workers=args.workers,
        trusted_proxies=args.trusted_proxies,
    )
    # Imported once the settings are known good: a bad one is reported without the wait.
    from sevenbridges_local.app import create_app, task_sandbox
    from sevenbridges_local.bootstrap import ADMIN_USERNAME, prepare
    from sevenbridges_local.datadir import check_data_dir
    from sevenbridges_local.execution.sandbox import SandboxUnavailable
    from sevenbridges_local.profiles import ProfileConflict, check_profile
    from sevenbridges_local.status import DataDirInUse, lock_data_dir
    from sevenbridges_local.supervisor import child_role
    from sevenbridges_local.tls import TlsError, ensure_tls

    role = child_role()
    if role is not None:  # one of the processes of `--workers N` (supervisor.py)
        return _serve_child(args, settings, *role)
    check_data_dir(settings.data_dir, create=True)
    try:
        lock_data_dir(settings.data_dir)  # held until this process ends
    except DataDirInUse as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        tls = (
            ensure_tls(settings.data_dir, settings.host, settings.tls_hosts)
            if settings.tls
            else None
        )
    except TlsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.write_profile and not args.force:
        try:  # refuse before starting, rather than serve without the profile the user asked for
            check_profile(args.write_profile, settings.api_root)
        except ProfileConflict as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    try:
        listener = _bind_socket(settings.host, settings.port)
    except OSError as exc:
        print(f"error: {_port_problem(settings.host, settings.port, exc)}", file=sys.stderr)
        return 1
    if settings.data_port:  # asked for a fixed data-plane port: check it as early
        try:
            _bind_socket(settings.host, settings.data_port).close()
        except OSError as exc:
            listener.close()
            problem = _port_problem(settings.host, settings.data_port, exc)
            print(f"error: data plane: {problem.replace('--port', '--data-port')}", file=sys.stderr)
            return 1
    if settings.workers > 1:
        # The supervisor tightens the data directory once, before any API process starts: a
        # process started again after a crash must not (see app.py's lifespan).
        from sevenbridges_local.bootstrap import make_private_by_default

        make_private_by_default()
    prepared = prepare(settings, tighten_permissions=settings.workers > 1)
    try:
        sandbox = task_sandbox(settings)
    except SandboxUnavailable as exc:
        prepared.database.dispose()
        listener.close()
        print(f"error: {exc}", file=sys.stderr)
        return 1
    admin_token = prepared.token(ADMIN_USERNAME)
    if settings.workers > 1:  # switches and windows of an earlier run start afresh
        from sevenbridges_local.shared_state import reset_shared_state

        reset_shared_state(prepared.database)
    prepared.database.dispose()
    site = settings.api_root.removesuffix("/v2")
    lines = [
        f"Seven Bridges local platform at {settings.api_root}",
        f"  data directory: {settings.data_dir}",
        *_describe_backends(settings),
        "  admin token:    sbg local token   (other users: sbg local token USERNAME)",
        f"  task isolation: {sandbox.describe()}",
        f"  containers:     {_describe_engine(settings.container_engine)}",
        *([f"  ontologies:     {settings.cwl_schemas_dir}"] if settings.cwl_schemas_dir else []),
        f"  API docs:       {site}/docs   (health: {site}/health)",
    ]
    if tls is not None:
        lines.append(f"  HTTPS clients:  export REQUESTS_CA_BUNDLE={tls.bundle}")
    if settings.workers > 1:
        return _supervise(
            args,
            settings,
            listener,
            lines,
            write_requested_profile_factory(args, settings, admin_token),
        )

    write_requested_profile = write_requested_profile_factory(args, settings, admin_token)

    server = _uvicorn_server(
        create_app(settings, sandbox=sandbox),
        args.log_level,
        tls,
        host=settings.host,
        port=settings.port,
    )
    announcer = threading.Thread(
        target=_announce_when_ready,
        args=(server, lines, write_requested_profile),
        name="announce",
        daemon=True,
    )
    announcer.start()
    # uvicorn saves these handlers, handles SIGINT/SIGTERM itself for a graceful shutdown, then
    # restores and re-raises the signal: with a no-op handler in place that ends in a clean exit.
    previous = {sig: signal.signal(sig, _ignore_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.run(sockets=[listener])
    except SystemExit:  # uvicorn exits (code 3) when its start-up fails; it logged why
        print("error: the platform did not start (see the log lines above)", file=sys.stderr)
        return 1
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        listener.close()
    if not server.started:
        print(
            "error: the platform did not start (see the log lines above)",
            file=sys.stderr,
        )
        return 1
    print("Local platform stopped.", flush=True)
    # Everything is stopped and closed; the interpreter's last garbage collection would only walk
    # the millions of objects the imports made (FastAPI, cwltool, boto3...), about 1 s at every
    # stop. Freezing them skips that walk (tests stop a platform many times).
    gc.freeze()
    return 0


def write_requested_profile_factory(
    args: argparse.Namespace, settings: Settings, admin_token: str
) -> Any:
    """What writes the profile asked for with --write-profile, once the platform serves."""
    from sevenbridges_local.profiles import ProfileConflict, write_profile

    def write_requested_profile() -> None:
        if not args.write_profile:
            return
        try:
            written = write_profile(
                args.write_profile, settings.api_root, admin_token, force=args.force
            )
        except (ProfileConflict, OSError) as exc:
            print(f"error: profile [{args.write_profile}] not written: {exc}", file=sys.stderr)
            return
        print(f"  profile [{args.write_profile}] written to {written.path}", flush=True)
        if written.backup is not None:
            print(f"  (the previous file is kept as {written.backup})", flush=True)

    return write_requested_profile


def _data_socket(settings: Settings) -> socket.socket:
    """The data plane's socket for every API process: the fixed --data-port, else the port
    the data directory used last (signed URLs handed out before stay valid), else a free one."""
    from sevenbridges_local.dataplane import PORT_FILE_NAME

    candidates = [settings.data_port] if settings.data_port else []
    if not candidates:
        try:
            remembered = int((settings.data_dir / PORT_FILE_NAME).read_text().strip())
        except (OSError, ValueError):
            remembered = 0
        if 0 < remembered < 65536 and remembered != settings.port:
            candidates.append(remembered)
        candidates.append(0)
    for index, port in enumerate(candidates):
        try:
            sock = _bind_socket(settings.host, port)
        except OSError:
            if index == len(candidates) - 1:
                raise
            continue
        if sock.getsockname()[1] == settings.port:  # never the API's port
            sock.close()
            sock = _bind_socket(settings.host, 0)
        sock.listen(128)
        with contextlib.suppress(OSError):
            (settings.data_dir / PORT_FILE_NAME).write_text(f"{sock.getsockname()[1]}\n")
        return sock
    raise OSError(errno.EADDRINUSE, "no free port for the data plane")


def _supervise(
    args: argparse.Namespace,
    settings: Settings,
    listener: socket.socket,
    lines: list[str],
    on_ready: Any,
) -> int:
    """Serve with ``settings.workers`` API processes (supervisor.py) until Ctrl-C."""
    from sevenbridges_local.supervisor import run_supervised

    try:
        data_socket = _data_socket(settings)
    except OSError as exc:
        listener.close()
        problem = _port_problem(settings.host, settings.data_port, exc)
        print(f"error: data plane: {problem.replace('--port', '--data-port')}", file=sys.stderr)
        return 1

    def announce(pids: list[int]) -> None:
        shown = ", ".join(str(pid) for pid in pids)
        for line in [*lines, f"  API processes:  {settings.workers} (pids {shown})"]:
            print(line, flush=True)
        on_ready()

    try:
        code = run_supervised(
            settings.workers, args.raw_argv, settings.data_dir, listener, data_socket, announce
        )
    finally:
        listener.close()
        data_socket.close()
    if code == 0:
        print("Local platform stopped.", flush=True)
    gc.freeze()  # as in _serve: skip the exit's garbage collection of the imports' objects
    return code


def _serve_child(
    args: argparse.Namespace,
    settings: Settings,
    index: int,
    listener: socket.socket,
    data_socket: socket.socket,
) -> int:
    """One supervised API process: serve on the inherited sockets until told to stop."""

    from sevenbridges_local.app import create_app
    from sevenbridges_local.supervisor import mark_ready
    from sevenbridges_local.tls import ensure_tls

    _configure_logging(args.log_level)
    tls = ensure_tls(settings.data_dir, settings.host, settings.tls_hosts) if settings.tls else None
    server = _uvicorn_server(
        create_app(settings, primary=index == 0, data_socket=data_socket, process_index=index),
        args.log_level,
        tls,
    )
    threading.Thread(
        target=_announce_when_ready,
        args=(server, [], lambda: mark_ready(settings.data_dir, index)),
        name="announce",
        daemon=True,
    ).start()
    previous = {sig: signal.signal(sig, _ignore_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.run(sockets=[listener])
    except SystemExit:
        return 1
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0 if server.started else 1


def _token(args: argparse.Namespace) -> int:
    from sevenbridges_local.bootstrap import prepare
    from sevenbridges_local.datadir import check_data_dir
    from sevenbridges_local.services import users

    _configure_logging("warning")
    try:
        users.validate_username(args.username)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    settings = _settings(args)
    check_data_dir(settings.data_dir, create=args.create)
    prepared = prepare(settings)
    try:
        with prepared.database.write_session() as session:
            user, created = users.ensure_user(session, prepared.secret_key, args.username)
            session.commit()
            if created:
                print(
                    f"Created user {user.username} with billing group "
                    f'"{user.username}\'s billing group".',
                    file=sys.stderr,
                )
            if user.disabled:
                print(
                    f"warning: user {user.username} is disabled; the token is refused.",
                    file=sys.stderr,
                )
            token = users.token_for(user, prepared.secret_key)
    finally:
        prepared.database.dispose()
    print(token)
    return 0


def _users(args: argparse.Namespace) -> int:
    from sevenbridges_local.bootstrap import prepare
    from sevenbridges_local.datadir import check_data_dir
    from sevenbridges_local.services import users

    _configure_logging("warning")
    settings = _settings(args)
    check_data_dir(settings.data_dir, create=False)
    prepared = prepare(settings)
    try:
        with prepared.database.read_session() as session:
            rows = [
                (user.username, user.role, "disabled" if user.disabled else "active", user.email)
                for user in users.all_users(session)
            ]
    finally:
        prepared.database.dispose()
    header = ("USERNAME", "ROLE", "STATUS", "EMAIL")
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(3)]
    for row in [header, *rows]:
        print(
            "  ".join(value.ljust(width) for value, width in zip(row[:3], widths, strict=True))
            + "  "
            + row[3]
        )
    return 0


def _print_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(len(header))]
    for row in [header, *rows]:
        print(
            "  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)).rstrip()
        )


def _division(args: argparse.Namespace) -> int:
    """Administer divisions on the data directory's database, like ``token`` (a running
    platform sees the change at its next request)."""
    from sevenbridges_local import errors
    from sevenbridges_local.bootstrap import prepare
    from sevenbridges_local.services import divisions

    _configure_logging("warning")
    prepared = prepare(_settings(args))
    try:
        with prepared.database.write_session() as session:
            if args.division_command == "create":
                division = divisions.create_division(session, args.slug, args.name)
                print(f"Created division {division.slug} ({division.name}).")
            elif args.division_command == "add-member":
                user = divisions.set_member(session, args.slug, args.username, args.role)
                print(f"{user.username} is now {user.division_role} of division {args.slug}.")
            elif args.division_command == "remove-member":
                divisions.remove_member(session, args.slug, args.username)
                print(f"{args.username} left division {args.slug} (and its teams).")
            elif args.slug is None:
                rows = [
                    (division.slug, str(members), division.name)
                    for division, members in divisions.all_divisions(session)
                ]
                _print_table(("DIVISION", "MEMBERS", "NAME"), rows)
            else:
                members = divisions.division_members(session, args.slug)
                _print_table(
                    ("USERNAME", "ROLE"),
                    [(user.username, user.division_role or "") for user in members],
                )
    except errors.ApiError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        if args.division_command == "add-member" and exc.code == errors.USER_NOT_FOUND:
            print("  (create the user first: sbg local token USERNAME)", file=sys.stderr)
        return 1
    finally:
        prepared.database.dispose()
    return 0


def _platform_counts(settings: Settings) -> dict[str, Any]:
    """Users and queued/running tasks, read without migrating or seeding anything."""
    from sqlalchemy import func, select

    from sevenbridges_local.db import Database
    from sevenbridges_local.db.models import User
    from sevenbridges_local.db.tasks import Task

    database = Database(settings.database_url or "")
    try:
        with database.read_session() as session:
            names = list(session.scalars(select(User.username).order_by(User.username)))
            by_status = dict(
                session.execute(
                    select(Task.status, func.count())
                    .where(Task.status.in_(("QUEUED", "CREATING", "RUNNING")))
                    .group_by(Task.status)
                ).all()
            )
    finally:
        database.dispose()
    return {
        "users": names,
        "queued_tasks": int(by_status.get("QUEUED", 0)),
        "running_tasks": int(by_status.get("CREATING", 0)) + int(by_status.get("RUNNING", 0)),
    }


def _backends(settings: Settings, status: Any) -> dict[str, Any]:
    """Executor, database, storage and API processes: a running platform's own (its status
    file), else what ``settings`` would start. URLs never show a password."""
    from sevenbridges_local.settings import redact_url

    if status is not None:
        # An older platform's file has none of these: its settings are the best guess.
        executor = status.executor
        database = status.database or redact_url(settings.database_url)
        storage, processes = status.storage, status.api_processes
    else:
        executor, database = settings.executor, redact_url(settings.database_url)
        storage, processes = redact_url(settings.storage), settings.workers
    kind = (database or "sqlite").split(":", 1)[0].split("+", 1)[0].lower()
    return {
        "executor": executor or "cwltool",
        "database_kind": "postgresql" if kind.startswith("postgres") else kind,
        "database": database,
        "storage_kind": "s3" if storage else "local",
        "storage": storage or str(settings.data_dir / "storage"),
        "api_processes": processes,
    }


def _status(args: argparse.Namespace) -> int:
    """Whether a platform runs on the data directory, what it serves and how it runs tasks."""
    from sevenbridges_local.app import task_sandbox
    from sevenbridges_local.datadir import has_platform
    from sevenbridges_local.execution.sandbox import SandboxUnavailable
    from sevenbridges_local.status import read_status, toolkit_version

    settings = _settings(args)
    status = read_status(settings.data_dir)
    running = status is not None and status.running
    report: dict[str, Any] = {
        "data_dir": str(settings.data_dir),
        "running": running,
        "version": status.version if running and status is not None else toolkit_version(),
    }
    if running and status is not None:
        report.update(
            pid=status.pid,
            started_at=status.started_at,
            api_url=status.api_url,
            api_port=urlsplit(status.api_url).port,
            data_port=status.data_port,
            tasks_isolated=status.tasks_isolated,
            task_isolation=status.task_isolation,
            container_engine=status.container_engine,
        )
        report.update(_backends(settings, status))
    else:
        try:
            sandbox = task_sandbox(settings)
            report.update(tasks_isolated=sandbox.enabled, task_isolation=sandbox.describe())
        except SandboxUnavailable as exc:
            report.update(tasks_isolated=False, task_isolation=str(exc))
        report["container_engine"] = settings.container_engine
        report.update(_backends(settings, None))
    exists = has_platform(settings.data_dir)
    if exists:
        try:
            report.update(_platform_counts(settings))
        except Exception as exc:  # an unreadable or older database: say so, keep the rest
            report["database_problem"] = " ".join(str(exc).split())[:200]
    if args.json:
        print(json.dumps(report, indent=2))
        return 0 if running else 3
    print(f"data directory:   {settings.data_dir}")
    if running:
        since = f"pid {report['pid']}, since {report['started_at']}"
        print(f"platform:         running at {report['api_url']} ({since})")
        print(f"ports:            API {report['api_port']}, data plane {report['data_port']}")
    elif exists:
        print("platform:         not running (start it with `sbg local serve`)")
    else:
        print(
            "platform:         not running; none in this data directory yet "
            "(`sbg local serve` creates one)"
        )
    print(f"version:          {report['version']}")
    if "users" in report:
        shown = ", ".join(report["users"][:10]) + (", ..." if len(report["users"]) > 10 else "")
        print(f"users:            {len(report['users'])} ({shown})")
        print(
            f"tasks:            {report['queued_tasks']} queued, {report['running_tasks']} running"
        )
    elif "database_problem" in report:
        print(f"database:         cannot read it: {report['database_problem']}")
    isolation = report["task_isolation"]
    if not running:
        isolation += " (what a platform started now would get)"
    print(f"task isolation:   {isolation}")
    engine = (
        report["container_engine"] or "none (tools run without containers: cwltool --no-container)"
    )
    print(f"container engine: {engine}")
    would = "" if running else " (if started now)"
    print(f"executor:         {report['executor']}{would}")
    print(f"database:         {report['database_kind']} ({report['database']}){would}")
    print(f"storage:          {report['storage_kind']} ({report['storage']}){would}")
    print(f"API processes:    {report['api_processes']}{would}")
    return 0 if running else 3


def _reset(args: argparse.Namespace) -> int:
    from sevenbridges_local.datadir import DataDirProblem, has_platform, reset_data_dir
    from sevenbridges_local.status import read_status

    settings = _settings(args)
    data_dir = settings.data_dir
    if not has_platform(data_dir):
        raise DataDirProblem(
            f"no local platform in {data_dir}: nothing to reset (check --data-dir)"
        )
    status = read_status(data_dir)
    if status is not None and status.running:
        raise DataDirProblem(
            f"a local platform is running on {data_dir} (pid {status.pid} serving "
            f"{status.api_url}): stop it (Ctrl-C in its terminal) before resetting"
        )
    if not args.yes:
        if not sys.stdin.isatty():
            print(
                f"error: refusing to delete {data_dir} without confirmation: pass --yes",
                file=sys.stderr,
            )
            return 2
        answer = input(
            f"Delete the local platform in {data_dir} (users, projects, files, tasks)? "
            "This cannot be undone. Type 'yes' to confirm: "
        )
        if answer.strip().lower() != "yes":
            print("Nothing deleted.")
            return 1
    removed = reset_data_dir(data_dir)
    print(f"Deleted {data_dir} ({removed} files). `sbg local serve` starts a fresh platform.")
    if not (settings.database_url or "").startswith("sqlite"):
        # Its users' tokens came from the deleted secret key: the rows must go as well.
        print(
            "The database named by SBG_LOCAL_DATABASE_URL was not touched: drop and recreate it "
            "before serving again."
        )
    return 0


def _sample_data(args: argparse.Namespace) -> int:
    from sevenbridges_local.sample_data import copy_sample_data

    for path, copied in copy_sample_data(args.dest):
        if copied:
            print(f"wrote {path}")
        else:
            print(f"kept {path} (already there)")
    return 0


class _Parser(argparse.ArgumentParser):
    """A usage error is one line (which argument, what is allowed), not the whole usage."""

    def error(self, message: str) -> Any:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _setting_names(field: str, options: set[str]) -> str:
    """The setting and how a user sets it: its flag (when the command has one), its variable."""
    flag = SETTING_FLAGS.get(field, "--" + field.replace("_", "-"))
    variable = f"SBG_LOCAL_{field.upper()}"
    return f"{field} ({flag}, {variable})" if flag in options else f"{field} ({variable})"


def _settings_problem(exc: Exception, options: set[str]) -> str:
    """One line naming each bad setting and what it allows (never the value: a database URL
    may hold a password)."""
    from pydantic_settings import SettingsError

    if isinstance(exc, SettingsError):  # a variable that must be JSON and is not
        found = re.search(r'field "([^"]+)"', str(exc))
        name = _setting_names(found.group(1), set()) if found else "an SBG_LOCAL_* variable"
        return f'invalid setting {name}: not valid JSON (lists are given as e.g. ["a", "b"])'
    problems = []
    assert isinstance(exc, ValidationError)
    for error in exc.errors():
        message = str(error["msg"]).removeprefix("Value error, ")
        message = message.replace("Input should be", "should be")
        if error["loc"]:
            problems.append(f"{_setting_names(str(error['loc'][0]), options)}: {message}")
        else:  # a rule between settings (e.g. data_port must differ from port)
            problems.append(f"settings: {message}")
    return "invalid setting " + "; ".join(problems)


def _options(parser: argparse.ArgumentParser, command: str) -> set[str]:
    """The option strings of ``command`` (e.g. serve's ``--workers``)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and command in action.choices:
            sub = action.choices[command]
            return {option for each in sub._actions for option in each.option_strings}
    return set()


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="sbg local",
        description="Run and manage the local Seven Bridges platform.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def data_dir_option(command: argparse.ArgumentParser) -> None:
        command.add_argument(
            "--data-dir",
            type=Path,
            help="where the database, secret key and files live (default ~/.sevenbridges/local)",
        )

    def database_option(command: argparse.ArgumentParser) -> None:
        command.add_argument(
            "--database",
            metavar="URL",
            help="the database: postgresql://USER:PASSWORD@HOST:PORT/NAME for PostgreSQL "
            "(also SBG_LOCAL_DATABASE_URL; default: SQLite in DATA_DIR/platform.db)",
        )

    serve = commands.add_parser("serve", help="start the platform (Ctrl-C stops it)")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help=f"port to listen on (default {DEFAULT_PORT})")
    serve.add_argument(
        "--data-port",
        type=int,
        help="port of the data plane for uploads and downloads (default: a free one)",
    )
    data_dir_option(serve)
    database_option(serve)
    serve.add_argument("--rate-limit", type=int, help="requests per user and window (default 1000)")
    serve.add_argument(
        "--rate-limit-window", type=int, help="rate-limit window in seconds (default 300)"
    )
    serve.add_argument(
        "--maintenance", action="store_true", help="start in maintenance mode (every call gets 503)"
    )
    serve.add_argument(
        "--write-profile",
        metavar="NAME",
        help="write the admin's endpoint and token as profile NAME in ~/.sevenbridges/credentials",
    )
    serve.add_argument(
        "--tls",
        action="store_true",
        help="serve HTTPS with a certificate from a local CA kept in DATA_DIR/tls; clients "
        "trust it with REQUESTS_CA_BUNDLE=DATA_DIR/tls/ca-bundle.pem (also SBG_LOCAL_TLS=1)",
    )
    serve.add_argument(
        "--sandbox",
        choices=("auto", "bwrap", "none"),
        help="task isolation: bubblewrap when available (auto, the default), required (bwrap), "
        "or off (none)",
    )
    serve.add_argument(
        "--container-engine",
        choices=("docker", "podman", "singularity", "none"),
        help="run apps with a DockerRequirement in containers of this engine (default none: "
        "tools run on this machine; also SBG_LOCAL_CONTAINER_ENGINE)",
    )
    serve.add_argument(
        "--cwl-schemas-dir",
        type=Path,
        metavar="DIR",
        help="a folder of ontology files (EDAM.owl...) that apps' $schemas entries resolve to "
        "by file name; nothing is downloaded (also SBG_LOCAL_CWL_SCHEMAS_DIR)",
    )
    serve.add_argument(
        "--executor",
        choices=("cwltool", "toil"),
        help="what runs tasks: cwltool on this machine (default) or Toil (toil-cwl-runner, "
        "also on a cluster with --toil-batch-system; also SBG_LOCAL_EXECUTOR)",
    )
    serve.add_argument(
        "--toil-batch-system",
        metavar="NAME",
        help="with --executor toil: where jobs run, e.g. single_machine (default), slurm, "
        "kubernetes, htcondor, lsf, aws_batch",
    )
    serve.add_argument(
        "--toil-job-store",
        type=Path,
        metavar="DIR",
        help="with --executor toil: where job stores live (default DATA_DIR/toil; on a cluster, "
        "a directory every node mounts at the same path)",
    )
    serve.add_argument(
        "--s3-endpoint",
        metavar="URL",
        help="S3-compatible server for S3 volumes, role volumes' STS and OSS volumes without "
        "an endpoint (e.g. http://127.0.0.1:5000; default: AWS)",
    )
    serve.add_argument(
        "--storage",
        metavar="URL",
        help="where file contents live: s3://bucket/prefix for an S3 bucket (credentials from "
        "boto3's usual chain, endpoint from --s3-endpoint; default: DATA_DIR/storage)",
    )
    serve.add_argument(
        "--gcs-endpoint",
        metavar="URL",
        help="Google Cloud Storage emulator for GCS volumes (default: Google Cloud Storage)",
    )
    serve.add_argument(
        "--force",
        action="store_true",
        help="with --write-profile: replace a profile that points at another endpoint "
        "(the old credentials file is kept as credentials.bak)",
    )
    serve.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="API processes serving the same ports, database and blob store (default 1; "
        "also SBG_LOCAL_WORKERS)",
    )
    serve.add_argument(
        "--trusted-proxies",
        type=lambda text: [part.strip() for part in text.split(",") if part.strip()],
        metavar="CIDRS",
        help="comma-separated addresses/CIDRs whose X-Forwarded-Proto/-Host and Forwarded "
        "headers are believed (default 127.0.0.1,::1; also SBG_LOCAL_TRUSTED_PROXIES as JSON)",
    )
    serve.add_argument("--log-level", choices=LOG_LEVELS, default="info")
    serve.set_defaults(handler=_serve)

    token = commands.add_parser(
        "token", help="print a user's token (last line); creates the user when missing"
    )
    token.add_argument("username", nargs="?", default="admin", help="default: admin")
    data_dir_option(token)
    database_option(token)
    token.add_argument(
        "--create",
        action="store_true",
        help="create a new platform in the data directory if there is none (serve does too)",
    )
    token.set_defaults(handler=_token)

    users_command = commands.add_parser("users", help="list the users")
    data_dir_option(users_command)
    database_option(users_command)
    users_command.set_defaults(handler=_users)

    division = commands.add_parser(
        "division", help="create divisions and manage their members and roles"
    )
    division_commands = division.add_subparsers(
        dest="division_command", metavar="ACTION", required=True
    )
    create = division_commands.add_parser("create", help="create a division")
    create.add_argument("slug", help="its id: 1 to 64 lower-case letters, digits and '-'")
    create.add_argument("name", help="its display name")
    add_member = division_commands.add_parser(
        "add-member", help="put an existing user into the division (or change their role)"
    )
    add_member.add_argument("slug")
    add_member.add_argument("username")
    add_member.add_argument(
        "--role", choices=("admin", "member", "external_collaborator"), default="member"
    )
    remove_member = division_commands.add_parser(
        "remove-member", help="take a user out of the division and its teams"
    )
    remove_member.add_argument("slug")
    remove_member.add_argument("username")
    list_command = division_commands.add_parser(
        "ls", help="list the divisions, or one division's members with their roles"
    )
    list_command.add_argument("slug", nargs="?")
    for command in (create, add_member, remove_member, list_command):
        data_dir_option(command)
        database_option(command)
        command.set_defaults(handler=_division)

    status = commands.add_parser(
        "status",
        help="is a platform running on the data directory: version, ports, users, tasks, "
        "task isolation and container engine",
    )
    data_dir_option(status)
    database_option(status)
    status.add_argument("--json", action="store_true", help="print the status as JSON")
    status.set_defaults(handler=_status)

    sample = commands.add_parser(
        "sample-data", help="copy small sample reads (reads.fastq) into a directory"
    )
    sample.add_argument(
        "--dest", type=Path, default=Path("."), help="where to write them (default: here)"
    )
    sample.set_defaults(handler=_sample_data)

    reset = commands.add_parser(
        "reset", help="delete a data directory and everything in it (refused while it serves)"
    )
    data_dir_option(reset)
    reset.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    reset.set_defaults(handler=_reset)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        raw_argv = list(sys.argv[1:] if argv is None else argv)
        args = parser.parse_args(raw_argv)
        args.raw_argv = raw_argv  # what `serve --workers N` starts its processes with
    except SystemExit as exc:  # --help or a usage error: report instead of exiting
        return exc.code if isinstance(exc.code, int) else 2
    if args.command is None:
        parser.print_help()
        return 2
    from pydantic_settings import SettingsError

    from sevenbridges_local.datadir import DataDirProblem

    try:
        return int(args.handler(args))
    except KeyboardInterrupt:
        return 130
    except DataDirProblem as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (ValidationError, SettingsError) as exc:  # a flag or SBG_LOCAL_* variable
        print(f"error: {_settings_problem(exc, _options(parser, args.command))}", file=sys.stderr)
        return 2
    except OSError as exc:  # anything the checks above did not foresee: still one line
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1
