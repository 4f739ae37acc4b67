"""Which server processes share the database, so that work claimed by a dead one is taken back.

With ``sbg local serve --workers N`` (or several machines on one PostgreSQL database) every
process claims tasks and work items under its own id (``host:pid:random``) and keeps a row in
``server_processes`` fresh with a heartbeat. A process is dead when its row is gone, when its
heartbeat is older than the lease, or, on the same host, when its pid no longer exists (so a
``kill -9`` is noticed within one heartbeat, not one lease). Each process sweeps: it removes dead
rows and gives their claims back to the queues (the registered ``sweepers``). A graceful stop
removes the process's row, so what it left unfinished is resumed at once by the others.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, update

from sevenbridges_local.clock import utcnow
from sevenbridges_local.db import Database
from sevenbridges_local.db.processes import ServerProcess

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 2.0
# A process on another host is presumed dead after this long without a heartbeat; long enough
# that a database stalled by a burst of writers does not make a live process look dead.
LEASE_SECONDS = 60.0

# Every this many heartbeats the sweepers run even when no death was seen.
FULL_SWEEP_EVERY = 15

Sweeper = Callable[[set[str]], object]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True


class ProcessRegistry:
    """This process's row in ``server_processes``, its heartbeat, and the sweep of dead ones."""

    def __init__(
        self,
        database: Database,
        *,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
        lease_seconds: float = LEASE_SECONDS,
    ) -> None:
        self.database = database
        self.host = socket.gethostname()[:200]
        self.pid = os.getpid()
        self.id = f"{self.host}:{self.pid}:{uuid.uuid4().hex[:8]}"
        self.heartbeat_seconds = heartbeat_seconds
        self.lease_seconds = lease_seconds
        self._sweepers: list[Sweeper] = []
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def add_sweeper(self, sweeper: Sweeper) -> None:
        """``sweeper(live_ids)`` gives back the claims of every owner not in ``live_ids``."""
        self._sweepers.append(sweeper)

    def register(self) -> None:
        moment = utcnow()
        with self.database.write_session() as session:
            session.merge(
                ServerProcess(
                    id=self.id, host=self.host, pid=self.pid, started_on=moment, heartbeat_on=moment
                )
            )
            session.commit()

    def start(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="sbg-heartbeat", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(self.heartbeat_seconds + 5)
            self._thread = None
        try:
            with self.database.write_session() as session:
                session.execute(delete(ServerProcess).where(ServerProcess.id == self.id))
                session.commit()
        except Exception:  # the others find out by the lease instead
            logger.exception("could not remove this process from server_processes")

    def live_ids(self) -> tuple[set[str], bool]:
        """Ids of the live processes (this one included), and whether dead ones were found (and
        their rows removed)."""
        cutoff = utcnow() - timedelta(seconds=self.lease_seconds)
        with self.database.read_session() as session:
            rows = list(
                session.execute(
                    select(
                        ServerProcess.id,
                        ServerProcess.host,
                        ServerProcess.pid,
                        ServerProcess.heartbeat_on,
                    )
                )
            )
        dead = [
            row.id
            for row in rows
            if row.id != self.id
            and (row.heartbeat_on < cutoff or (row.host == self.host and not _pid_alive(row.pid)))
        ]
        if dead:
            with self.database.write_session() as session:
                session.execute(delete(ServerProcess).where(ServerProcess.id.in_(dead)))
                session.commit()
            logger.warning("server process(es) gone, their work is taken back: %s", dead)
        return {row.id for row in rows if row.id not in dead} | {self.id}, bool(dead)

    def sweep(self, *, always: bool = False) -> None:
        """Give back the claims of dead processes (every sweeper runs when one was found)."""
        live, found_dead = self.live_ids()
        if not (found_dead or always):
            return
        for sweeper in self._sweepers:
            try:
                sweeper(live)
            except Exception:
                logger.exception("giving back the work of dead processes failed")

    def _beat(self) -> None:
        with self.database.write_session() as session:
            found = session.execute(
                update(ServerProcess)
                .where(ServerProcess.id == self.id)
                .values(heartbeat_on=utcnow())
            ).rowcount
            session.commit()
        if not found:  # taken for dead (a stall longer than the lease): say so and rejoin
            logger.error("this process was taken for dead by another one; registering again")
            self.register()

    def _run(self) -> None:
        beats = 0
        while not self._stopping.wait(self.heartbeat_seconds):
            beats += 1
            try:
                self._beat()
                # Now and then even without a death seen here: another process may have removed
                # a dead row and stopped before giving its claims back.
                self.sweep(always=beats % FULL_SWEEP_EVERY == 0)
            except Exception:
                logger.exception("heartbeat failed")


PROCESS_HEADER = "X-SBG-Local-Process"


class ProcessHeaderMiddleware:
    """With several API processes: which one answered (its index), for load-balancing checks
    and for telling in a log or a test which process saw a request."""

    def __init__(self, app: Any, index: int) -> None:
        self.app = app
        self.header = (PROCESS_HEADER.lower().encode(), str(index).encode())

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Any) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), self.header]}
            await send(message)

        await self.app(scope, receive, send_with_header)
