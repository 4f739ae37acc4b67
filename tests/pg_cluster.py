"""A throw-away PostgreSQL cluster for the tests: initdb and pg_ctl in a temporary directory.

The server listens on 127.0.0.1 on a free port (its unix socket stays inside the temporary
directory) and asks for a password that is made up per cluster, so other local users cannot use
it. initdb refuses to run as root: when the tests run as root, the cluster's files and processes
belong to an unprivileged account (``nobody``) instead.
"""

from __future__ import annotations

import glob
import itertools
import logging
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

logger = logging.getLogger(__name__)

SUPERUSER = "sbg_test"
_UNPRIVILEGED_ACCOUNT = "nobody"
_START_TIMEOUT_SECONDS = 60


class PostgresUnavailable(RuntimeError):
    """PostgreSQL cannot be started here (no binaries, no unprivileged account, initdb failed)."""


def find_bin_dir() -> Path:
    """``$SBG_TEST_PG_BIN``, else the newest ``/usr/lib/postgresql/*/bin`` holding initdb, else
    the directory of the initdb on PATH."""
    override = os.environ.get("SBG_TEST_PG_BIN")
    if override:  # the only place to look when given
        candidates = [override]
    else:
        candidates = sorted(
            glob.glob("/usr/lib/postgresql/*/bin"),
            key=lambda path: [int(p) for p in Path(path).parent.name.split(".") if p.isdigit()],
            reverse=True,
        )
        on_path = shutil.which("initdb")
        if on_path:
            candidates.append(str(Path(on_path).parent))
    for candidate in candidates:
        if (Path(candidate) / "initdb").is_file() and (Path(candidate) / "pg_ctl").is_file():
            return Path(candidate)
    if override:
        raise PostgresUnavailable(f"SBG_TEST_PG_BIN={override} holds no initdb and pg_ctl")
    raise PostgresUnavailable(
        "PostgreSQL server binaries (initdb, pg_ctl) not found under /usr/lib/postgresql/*/bin "
        "or on PATH; install the 'postgresql' package (make postgres-server) or set "
        "SBG_TEST_PG_BIN"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresCluster:
    """``start()``, then ``new_database()`` for each platform; ``stop()`` removes everything."""

    def __init__(self) -> None:
        self.bin_dir = find_bin_dir()
        self.password = secrets.token_urlsafe(18)
        self.port = 0
        self.root: Path | None = None
        self._numbers = itertools.count(1)
        self._user: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            try:
                self._user = pwd.getpwnam(_UNPRIVILEGED_ACCOUNT)
            except KeyError:
                raise PostgresUnavailable(
                    f"running as root and there is no '{_UNPRIVILEGED_ACCOUNT}' account to run "
                    "initdb as (it refuses root)"
                )

    @property
    def data_dir(self) -> Path:
        assert self.root is not None
        return self.root / "data"

    @property
    def log_path(self) -> Path:
        assert self.root is not None
        return self.root / "postgres.log"

    def _run(self, *args: str, timeout: float = _START_TIMEOUT_SECONDS) -> None:
        # Popen's user/group drop root for the child alone; no shell, no su.
        identity = (
            {"user": self._user.pw_uid, "group": self._user.pw_gid, "extra_groups": []}
            if self._user is not None
            else {}
        )
        environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"}
        result = subprocess.run(
            [str(self.bin_dir / args[0]), *args[1:]],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env=environment,
            cwd=str(self.root),
            timeout=timeout,
            **identity,  # type: ignore[arg-type]
        )
        if result.returncode != 0:
            output = (result.stderr or result.stdout)[-2000:]
            raise PostgresUnavailable(
                f"{args[0]} failed ({result.returncode}): {output}"
                + (f"\nserver log:\n{self._log_tail()}" if args[0] == "pg_ctl" else "")
            )

    def _log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-2000:]
        except OSError:
            return "(no server log)"

    def start(self) -> PostgresCluster:
        # Not under pytest's basetemp: that one is private to root, and the server runs as nobody.
        self.root = Path(tempfile.mkdtemp(prefix="sbg-test-pg-"))
        password_file = self.root / "password"
        password_file.write_text(self.password + "\n")
        if self._user is not None:
            os.chown(self.root, self._user.pw_uid, self._user.pw_gid)
            os.chown(password_file, self._user.pw_uid, self._user.pw_gid)
        password_file.chmod(0o600)
        self._run(
            "initdb",
            "-D",
            str(self.data_dir),
            "-U",
            SUPERUSER,
            "--pwfile",
            str(password_file),
            "--auth=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
        password_file.unlink()
        # Durability is not wanted of a test cluster: fsync off keeps it fast on a shared machine.
        options = " ".join(
            [
                "-c listen_addresses=127.0.0.1",
                f"-c unix_socket_directories={self.root}",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=400",
                "-c shared_buffers=32MB",
            ]
        )
        for attempt in range(3):  # the free port may be taken between probe and bind
            self.port = _free_port()
            try:
                self._run(
                    "pg_ctl",
                    "start",
                    "-w",
                    "-t",
                    str(_START_TIMEOUT_SECONDS),
                    "-D",
                    str(self.data_dir),
                    "-l",
                    str(self.log_path),
                    "-o",
                    f"-p {self.port} {options}",
                )
                break
            except PostgresUnavailable:
                if attempt == 2:
                    self.stop()
                    raise
        logger.info("test PostgreSQL cluster on 127.0.0.1:%s in %s", self.port, self.root)
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{SUPERUSER}:{self.password}@127.0.0.1:{self.port}/{database}"

    def new_database(self, prefix: str = "platform") -> str:
        """A fresh, empty database; returns its SQLAlchemy URL."""
        import psycopg

        name = f"{prefix}_{os.getpid()}_{next(self._numbers)}"
        with psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user=SUPERUSER,
            password=self.password,
            dbname="postgres",
            autocommit=True,
        ) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        if self.root is None:
            return
        if (self.data_dir / "postmaster.pid").exists():
            try:
                self._run("pg_ctl", "stop", "-D", str(self.data_dir), "-m", "immediate", "-w")
            except (PostgresUnavailable, subprocess.TimeoutExpired) as exc:
                logger.warning("could not stop the test PostgreSQL cluster: %s", exc)
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None
