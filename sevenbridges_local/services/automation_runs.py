"""Automation runs: creation, listing, stop and rerun, and the lifecycle the runner drives.

States (the platform's names): a new run is ``QUEUED_FOR_EXECUTION``; the runner claims it
(``SENT_TO_EXECUTION``), starts its process (``RUNNING``) and ends it ``FINISHED`` (exit code 0),
``FAILED`` (non-zero exit, crash, time limit, memory limit) or ``ABORTED`` (``stop``). A stop of
a queued run aborts it at once; of a started run it asks the runner (``QUEUED_FOR_TERMINATION``).

Durability: runs are rows, so a restart loses none. A run is claimed by one server process
(``claimed_by``, see processes.py); runs a stopping or dead process left ``SENT_TO_EXECUTION``/
``RUNNING`` are queued again and start over from their entry point with the state file as they
last wrote it (``MAX_ATTEMPTS`` starts at most, then FAILED); ``QUEUED_FOR_TERMINATION`` ones end
ABORTED.

Run tokens: while its process runs, a run has a random token (32 hex characters, the same form
as user tokens) acting as the run's creator; only its SHA-256 is stored and it is cleared when
the run ends, so the token stops working then.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from sevenbridges_local import errors
from sevenbridges_local.clock import utcnow
from sevenbridges_local.db import Database
from sevenbridges_local.db.automations import Automation, AutomationPackage, AutomationRun
from sevenbridges_local.db.files import File
from sevenbridges_local.db.models import User
from sevenbridges_local.db.sql import order_key
from sevenbridges_local.security import hash_token
from sevenbridges_local.services import automations
from sevenbridges_local.services.context import Actor, Page, PageRequest, ServiceContext, paginate

logger = logging.getLogger(__name__)

CREATED = "CREATED"
QUEUED = "QUEUED_FOR_EXECUTION"
SENT = "SENT_TO_EXECUTION"
RUNNING = "RUNNING"
TERMINATING = "QUEUED_FOR_TERMINATION"
FINISHED = "FINISHED"
FAILED = "FAILED"
ABORTED = "ABORTED"
STATUSES = (CREATED, QUEUED, SENT, RUNNING, TERMINATING, FINISHED, FAILED, ABORTED)
TERMINAL = (FINISHED, FAILED, ABORTED)
ACTIVE = (SENT, RUNNING, TERMINATING)
MAX_ATTEMPTS = 3
NAME_MAX_LENGTH = 255
DEFAULT_TIME_LIMIT_SECONDS = 3600
MAX_TIME_LIMIT_SECONDS = 7 * 24 * 3600
TIME_LIMIT_SETTING = "time_limit"
# The state document a run may keep (its state file); larger ones fail the run.
STATE_MAX_BYTES = 1024 * 1024


def _not_found(run_id: str) -> errors.ApiError:
    return errors.not_found(f"Automation run '{run_id}' does not exist.", errors.RUN_NOT_FOUND)


def load_run(
    ctx: ServiceContext, run_id: Any, permission: str = "read", action: str = "do this"
) -> AutomationRun:
    if not isinstance(run_id, str) or not run_id:
        raise _not_found(str(run_id))
    run = ctx.session.get(AutomationRun, run_id)
    if run is None:
        raise _not_found(run_id)
    try:
        automations.load_automation(ctx, run.automation_id, permission, action)
    except errors.ApiError as exc:
        if exc.status == 404:
            raise _not_found(run_id) from None
        raise
    return run


def run_file(ctx: ServiceContext, file_id: str | None) -> File | None:
    """The run's log or state file (kept in the automation's storage project), if it exists."""
    return ctx.session.get(File, file_id) if file_id else None


def time_limit(settings: dict[str, Any]) -> int:
    value = settings.get(TIME_LIMIT_SETTING, DEFAULT_TIME_LIMIT_SECONDS)
    if isinstance(value, bool) or not isinstance(value, int):
        raise errors.bad_request(
            f"Setting '{TIME_LIMIT_SETTING}' must be an integer (seconds).",
            errors.RUN_SETTINGS_INVALID,
        )
    if not 1 <= value <= MAX_TIME_LIMIT_SECONDS:
        raise errors.bad_request(
            f"Setting '{TIME_LIMIT_SETTING}' must be between 1 and {MAX_TIME_LIMIT_SECONDS}.",
            errors.RUN_SETTINGS_INVALID,
        )
    return value


def _check_object(value: Any, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise errors.bad_request(f"'{what}' must be a JSON object.", errors.RUN_SETTINGS_INVALID)
    return value


def _check_name(name: Any, default: str) -> str:
    if name is None or name == "":
        return default
    if not isinstance(name, str) or len(name) > NAME_MAX_LENGTH:
        raise errors.bad_request(
            f"Run name must be a string of at most {NAME_MAX_LENGTH} characters.",
            errors.RUN_SETTINGS_INVALID,
        )
    return name


def create_run(
    ctx: ServiceContext,
    *,
    package_id: Any,
    inputs: Any = None,
    settings: Any = None,
    resume_from: Any = None,
    name: Any = None,
    secret_settings: Any = None,
    memory_limit: Any = None,
) -> AutomationRun:
    package = automations.load_package(ctx, package_id, "execute", "start runs")
    automation: Automation = package.automation
    if automation.archived or package.archived:
        what = "automation" if automation.archived else "package"
        raise errors.conflict(
            f"The {what} is archived: restore it to start runs.", errors.AUTOMATION_ARCHIVED
        )
    inputs = automations.check_inputs(package.schema or {}, {} if inputs is None else inputs)
    settings = _check_object(settings, "settings")
    time_limit(settings)
    secret = _check_object(secret_settings, "secret_settings")
    limit = automations.check_memory_limit(memory_limit)
    resumed = None
    if resume_from is not None:
        previous = load_run(ctx, resume_from)
        if previous.automation_id != automation.id:
            raise errors.bad_request(
                "'resume_from' must be a run of the same automation.", errors.RUN_SETTINGS_INVALID
            )
        if previous.status not in TERMINAL:
            raise errors.conflict(
                f"Run '{previous.id}' has not ended yet; it cannot be resumed from.",
                errors.RUN_STATE_CONFLICT,
            )
        resumed = previous.id
    now = utcnow()
    run = AutomationRun(
        id=uuid.uuid4().hex,
        automation_id=automation.id,
        package_id=package.id,
        name=_check_name(name, f"{automation.name} {package.version}"),
        status=QUEUED,
        message="Queued for execution.",
        inputs=inputs,
        outputs={},
        settings=settings,
        secret_settings=secret,
        memory_limit=limit,
        resumed_from=resumed,
        project_id=None,
        created_by_id=ctx.actor.user_id,
        created_on=now,
        attempts=0,
        log_size=0,
    )
    ctx.session.add(run)
    ctx.session.commit()
    return run


def list_runs(
    ctx: ServiceContext, page: PageRequest, filters: dict[str, Any]
) -> Page[AutomationRun]:
    statement = select(AutomationRun).where(
        AutomationRun.automation_id.in_(automations.visible_automation_ids(ctx.actor.user_id))
    )
    if filters.get("automation_id"):
        statement = statement.where(AutomationRun.automation_id == filters["automation_id"])
    if filters.get("package_id"):
        statement = statement.where(AutomationRun.package_id == filters["package_id"])
    if filters.get("status"):
        statement = statement.where(AutomationRun.status == filters["status"])
    if filters.get("name"):
        statement = statement.where(AutomationRun.name == filters["name"])
    if filters.get("created_by"):
        creator = select(User.id).where(User.username == filters["created_by"])
        statement = statement.where(AutomationRun.created_by_id.in_(creator))
    for key, compare in (("created_from", "__ge__"), ("created_to", "__le__")):
        if filters.get(key) is not None:
            statement = statement.where(getattr(AutomationRun.created_on, compare)(filters[key]))
    if filters.get("project_id"):
        statement = statement.where(AutomationRun.project_id == filters["project_id"])
    order_column = {
        "created_on": AutomationRun.created_on,
        "name": AutomationRun.name,
        "status": AutomationRun.status,
        "start_time": AutomationRun.start_time,
        "end_time": AutomationRun.end_time,
    }.get(filters.get("order_by") or "created_on")
    if order_column is None:
        raise errors.bad_request(
            "'order_by' must be created_on, name, status, start_time or end_time.",
            errors.BAD_REQUEST,
        )
    descending = (filters.get("order") or "asc").lower() == "desc"
    statement = statement.order_by(order_key(order_column, descending=descending), AutomationRun.id)
    return paginate(ctx.session, statement, page)


def update_run(ctx: ServiceContext, run_id: str, changes: dict[str, Any]) -> AutomationRun:
    run = load_run(ctx, run_id, "execute", "change runs")
    if "name" in changes:
        run.name = _check_name(changes["name"], run.name)
    touches_execution = {"inputs", "settings", "memory_limit"} & set(changes)
    if touches_execution and run.status != QUEUED:
        raise errors.conflict(
            "Inputs, settings and memory limit can only change while the run is queued.",
            errors.RUN_STATE_CONFLICT,
        )
    if "inputs" in changes:
        run.inputs = automations.check_inputs(run.package.schema or {}, changes["inputs"] or {})
    if "settings" in changes:
        settings = _check_object(changes["settings"], "settings")
        time_limit(settings)
        run.settings = settings
    if "memory_limit" in changes:
        run.memory_limit = automations.check_memory_limit(changes["memory_limit"])
    ctx.session.commit()
    return run


def stop_run(ctx: ServiceContext, run_id: str) -> AutomationRun:
    run = load_run(ctx, run_id, "execute", "stop runs")
    if run.status in TERMINAL:
        raise errors.conflict(
            f"Run '{run.id}' has already ended ({run.status}).", errors.RUN_STATE_CONFLICT
        )
    if run.status in (QUEUED, CREATED):
        run.status = ABORTED
        run.message = f"Stopped by {ctx.actor.username} before it started."
        run.end_time = utcnow()
    else:
        run.status = TERMINATING
        run.message = f"Stop requested by {ctx.actor.username}."
    ctx.session.commit()
    return run


def rerun(ctx: ServiceContext, run_id: str) -> AutomationRun:
    """A new run of the same package with the same inputs, settings and name."""
    previous = load_run(ctx, run_id, "execute", "rerun runs")
    return create_run(
        ctx,
        package_id=previous.package_id,
        inputs=dict(previous.inputs or {}),
        settings=dict(previous.settings or {}),
        name=previous.name,
        secret_settings=dict(previous.secret_settings or {}),
        memory_limit=previous.memory_limit,
    )


def get_state(ctx: ServiceContext, run_id: str, live_state: Any = None) -> Any:
    run = load_run(ctx, run_id)
    if run.status not in TERMINAL and live_state is not None:
        return live_state
    return run.state if run.state is not None else {}


# --------------------------------------------------------------------------------------------
# Run tokens (checked by the authentication of every request)


def authenticate_run_token(session: Session, token: str) -> Actor | None:
    """The creator of the active run holding ``token``; None for any other token."""
    run = session.scalar(select(AutomationRun).where(AutomationRun.token_hash == hash_token(token)))
    if run is None or run.status not in ACTIVE:
        return None
    user = run.created_by
    if user is None or user.disabled:
        return None
    return Actor(user_id=user.id, username=user.username, role=user.role)


def new_run_token() -> tuple[str, str]:
    token = secrets.token_hex(16)
    return token, hash_token(token)


# --------------------------------------------------------------------------------------------
# The runner's side: claim, start, finish, recover


def _taken_back(live_owners: set[str] | None) -> Any:
    """The condition picking the unfinished runs no live process holds (all: one process)."""
    active = AutomationRun.status.in_((SENT, RUNNING, TERMINATING))
    if live_owners is None:
        return active
    return and_(
        active,
        or_(
            AutomationRun.claimed_by.is_(None),
            AutomationRun.claimed_by.not_in(sorted(live_owners)),
        ),
    )


def runs_claimed_by(database: Database, owners: set[str]) -> set[str]:
    """Ids of the unfinished runs that one of ``owners`` (server process ids) holds."""
    with database.read_session() as session:
        return set(
            session.scalars(
                select(AutomationRun.id).where(
                    AutomationRun.status.in_(ACTIVE),
                    AutomationRun.claimed_by.in_(sorted(owners)),
                )
            )
        )


def orphaned_runs(database: Database, live_owners: set[str] | None) -> list[str]:
    """Ids of the unfinished runs that :func:`recover_interrupted` would take back now."""
    with database.read_session() as session:
        return list(session.scalars(select(AutomationRun.id).where(_taken_back(live_owners))))


def recover_interrupted(
    database: Database,
    live_owners: set[str] | None = None,
    states: dict[str, Any] | None = None,
    *,
    run_id: str | None = None,
) -> tuple[int, int]:
    """Queue again the runs a stop or a dead process cut off (or fail them); (queued, ended).

    ``live_owners``: ids of the server processes still alive (processes.py); only runs claimed
    by none of them are taken back. None: every unfinished run (one process, at its start).
    ``states``: the state files such runs left behind (by run id), kept for their next start.
    ``run_id``: only this run (this process is stopping under it).
    """
    now = utcnow()
    taken_back = _taken_back(live_owners)
    if run_id is not None:
        taken_back = and_(taken_back, AutomationRun.id == run_id)
    released = {"token_hash": None, "claimed_by": None}
    with database.write_session() as session:
        ended = (
            session.execute(
                update(AutomationRun)
                .where(taken_back, AutomationRun.status == TERMINATING)
                .values(
                    status=ABORTED,
                    message="Stopped (the platform restarted meanwhile).",
                    end_time=now,
                    **released,
                )
            ).rowcount
            or 0
        )
        ended += (
            session.execute(
                update(AutomationRun)
                .where(taken_back, AutomationRun.attempts >= MAX_ATTEMPTS)
                .values(
                    status=FAILED,
                    message=f"Interrupted by platform restarts {MAX_ATTEMPTS} times; given up.",
                    end_time=now,
                    **released,
                )
            ).rowcount
            or 0
        )
        for key, state in (states or {}).items():
            if state is not None:
                session.execute(
                    update(AutomationRun)
                    .where(taken_back, AutomationRun.id == key)
                    .values(state=state)
                )
        queued = (
            session.execute(
                update(AutomationRun)
                .where(taken_back)
                .values(
                    status=QUEUED,
                    message="Interrupted by a platform restart; queued again.",
                    **released,
                )
            ).rowcount
            or 0
        )
        session.commit()
    return queued, ended


def claim_next(database: Database, worker: str | None = None) -> str | None:
    """The oldest queued run, now SENT_TO_EXECUTION and claimed by ``worker`` (a server
    process id); None when there is none."""
    with database.write_session() as session:
        run_id = session.scalar(
            select(AutomationRun.id)
            .where(AutomationRun.status == QUEUED)
            .order_by(AutomationRun.created_on, AutomationRun.id)
            .limit(1)
            # SQLite serialises writers; on PostgreSQL two runners must not take the same run.
            # Only the id: the run's eager joins cannot be locked FOR UPDATE.
            .with_for_update(skip_locked=True)
        )
        run = session.get(AutomationRun, run_id) if run_id is not None else None
        if run is None:
            session.rollback()
            return None
        run.status = SENT
        run.message = "Sent to execution."
        run.attempts += 1
        run.claimed_by = worker
        session.commit()
        return run.id


def mark_running(database: Database, run_id: str, token_hash: str) -> bool:
    """RUNNING with its token live; False when a stop came first."""
    with database.write_session() as session:
        run = session.get(AutomationRun, run_id)
        if run is None or run.status != SENT:
            session.rollback()
            return False
        run.status = RUNNING
        run.message = "Running."
        run.token_hash = token_hash
        if run.start_time is None:
            run.start_time = utcnow()
        session.commit()
        return True


def stop_requested(database: Database, run_id: str) -> bool:
    with database.read_session() as session:
        status = session.scalar(select(AutomationRun.status).where(AutomationRun.id == run_id))
    return status in (TERMINATING, ABORTED) or status is None


def run_status(database: Database, run_id: str) -> str | None:
    with database.read_session() as session:
        return session.scalar(select(AutomationRun.status).where(AutomationRun.id == run_id))


def resume_state(database: Database, run_id: str) -> Any:
    """The state a run starts from: its own (a restart) or that of the run it resumes."""
    with database.read_session() as session:
        run = session.get(AutomationRun, run_id)
        if run is None:
            return None
        if run.state is not None:
            return run.state
        if run.resumed_from:
            previous = session.get(AutomationRun, run.resumed_from)
            return previous.state if previous is not None else None
    return None


def package_for(database: Database, run_id: str) -> dict[str, Any] | None:
    """What the runner needs to start a run (detached from the session)."""
    with database.read_session() as session:
        run = session.get(AutomationRun, run_id)
        if run is None:
            return None
        package: AutomationPackage = run.package
        automation: Automation = run.automation
        memory = run.memory_limit or package.memory_limit or automation.memory_limit
        return {
            "blob_key": package.blob_key,
            "entrypoint": package.entrypoint,
            "inputs": dict(run.inputs or {}),
            "settings": dict(run.settings or {}),
            "secret_settings": {
                **(automation.secret_settings or {}),
                **(run.secret_settings or {}),
            },
            "memory_limit_mb": memory,
            "time_limit": time_limit(dict(run.settings or {})),
            "automation_id": automation.id,
            "automation_name": automation.name,
            "storage_project_id": automation.storage_project_id,
            "created_by_id": run.created_by_id,
            "resumed_from": run.resumed_from,
        }


def finish(
    database: Database,
    run_id: str,
    status: str,
    message: str,
    *,
    state: Any = None,
    outputs: dict[str, Any] | None = None,
    log_file_id: str | None = None,
    state_file_id: str | None = None,
    log_size: int = 0,
) -> None:
    """End the run (token revoked); a stop that came meanwhile turns success into ABORTED."""
    with database.write_session() as session:
        run = session.get(AutomationRun, run_id)
        if run is None:
            session.rollback()
            return
        if run.status in (TERMINATING, ABORTED) and status != FAILED:
            status = ABORTED
            message = run.message if run.status == ABORTED else "Stopped."
        run.status = status
        run.message = message
        run.token_hash = None
        run.claimed_by = None
        run.end_time = utcnow()
        if state is not None:
            run.state = state
        if outputs is not None:
            run.outputs = outputs
        if log_file_id is not None:
            run.log_file_id = log_file_id
        if state_file_id is not None:
            run.state_file_id = state_file_id
        run.log_size = log_size
        session.commit()


def requeue(database: Database, run_id: str, state: Any = None) -> None:
    """The platform is stopping under a running run: queue it again at once (with the state
    it wrote so far), so that another server process, or this one after its restart, resumes
    it; a run stopped meanwhile ends ABORTED, one interrupted too often FAILED."""
    recover_interrupted(database, None, {run_id: state}, run_id=run_id)
