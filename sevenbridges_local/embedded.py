"""A local platform in a subprocess, for tests, the demo and benchmarks.

with EmbeddedServer(tmp_path) as server:
    api = sevenbridges.Api(url=server.url, token=server.token("alice"), debug=True)
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import ClassVar

from sevenbridges_local.bootstrap import ADMIN_USERNAME, PreparedPlatform, prepare
from sevenbridges_local.db import Database
from sevenbridges_local.security import load_or_create_secret_key
from sevenbridges_local.settings import Settings
from sevenbridges_local.tls import tls_files

logger = logging.getLogger(__name__)

STARTUP_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 15.0
LOG_FILE_NAME = "server.log"
_LOG_TAIL_CHARS = 4000
# Loopback only: never send readiness probes through a proxy from the environment.
_direct_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _free_port(host: str) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class EmbeddedServer:
    """Runs ``python -m sevenbridges_local serve`` on a free loopback port until stopped."""

    # Test suites set this to give every server settings and environment variables of their
    # own unless a server names them itself (e.g. the S3 blob store: tests/storage_fixtures.py);
    # called once per server with the settings it was given, so each may get fresh values (a
    # bucket prefix of its own) or none.
    defaults: ClassVar[
        Callable[[Mapping[str, object]], tuple[Mapping[str, object], Mapping[str, str]]] | None
    ] = None
    # For test suites that run every platform on another database (tests/conftest.py with
    # SBG_TEST_DATABASE=postgresql): given a new server's data directory, returns the URL of a
    # fresh database for it. None: SQLite in the data directory.
    database_factory: ClassVar[Callable[[Path], str] | None] = None

    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        host: str = "127.0.0.1",
        port: int | None = None,
        rate_limit: int | None = None,
        rate_limit_window: int | None = None,
        maintenance: bool = False,
        settings: Mapping[str, object] | None = None,
        tls: bool = False,
        environment: Mapping[str, str] | None = None,
        database_url: str | None = None,
    ) -> None:
        """``settings``: other ``Settings`` fields for the server (e.g. ``{"db_busy_timeout": 1}``),
        passed to it as ``SBG_LOCAL_*`` environment variables; ``environment``: any other
        variables for the server process; ``tls``: serve HTTPS (``sbg local serve --tls``),
        clients trust :attr:`ca_bundle`; ``database_url``: e.g. ``postgresql://...`` (default:
        :attr:`database_factory`'s, or SQLite in the data directory)."""
        self.data_dir = Path(data_dir).resolve()
        base_settings: dict[str, object] = {}
        base_environment: dict[str, str] = {}
        if EmbeddedServer.defaults is not None:
            defaults_settings, defaults_environment = EmbeddedServer.defaults(settings or {})
            base_settings.update(defaults_settings)
            base_environment.update(defaults_environment)
        base_settings.update(settings or {})
        base_environment.update(environment or {})
        factory = type(self).database_factory
        if database_url is None:
            database_url = (
                factory(self.data_dir)
                if factory is not None
                else f"sqlite:///{self.data_dir / 'platform.db'}"
            )
        self.database_url = database_url
        self.extra_settings = {
            name: str(value).lower() if isinstance(value, bool) else str(value)
            for name, value in base_settings.items()
        }
        self.environment = base_environment
        self.host = host
        self.port = port
        self.rate_limit = rate_limit
        self.rate_limit_window = rate_limit_window
        self.maintenance = maintenance
        self.tls = tls
        self.log_path = self.data_dir / LOG_FILE_NAME
        self._process: subprocess.Popen[bytes] | None = None
        self._platform: PreparedPlatform | None = None
        self._lock = threading.Lock()
        self._exit_hook_registered = False

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<EmbeddedServer {self.url if self.port else '(no port yet)'} {state}>"

    # -- addresses --------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The API root, e.g. ``http://127.0.0.1:50123/v2`` (``https://`` with ``tls``)."""
        if self.port is None:
            raise RuntimeError("the server has no port until it is started")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}/v2"

    @property
    def ca_bundle(self) -> Path:
        """The local CA and the public roots: ``REQUESTS_CA_BUNDLE`` for clients of a TLS server."""
        return tls_files(self.data_dir).bundle

    @property
    def pid(self) -> int | None:
        """The server process's id while it runs (benchmarks sample its memory)."""
        return self._process.pid if self.running and self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _settings(self) -> Settings:
        # Every field explicit: SBG_LOCAL_* variables of the caller must not redirect us elsewhere.
        return Settings(
            host=self.host,
            port=self.port or 0,
            data_dir=self.data_dir,
            database_url=self.database_url,
            rate_limit=self.rate_limit or 1000,
            rate_limit_window=self.rate_limit_window or 300,
            maintenance=self.maintenance,
            tls=self.tls,
        )

    # -- lifecycle --------------------------------------------------------------------------

    def _command(self) -> list[str]:
        command = [sys.executable, "-m", "sevenbridges_local", "serve"]
        command += ["--host", self.host, "--port", str(self.port), "--data-dir", str(self.data_dir)]
        if self.rate_limit is not None:
            command += ["--rate-limit", str(self.rate_limit)]
        if self.rate_limit_window is not None:
            command += ["--rate-limit-window", str(self.rate_limit_window)]
        if self.maintenance:
            command.append("--maintenance")
        if self.tls:
            command.append("--tls")
        return command

    def start(self) -> EmbeddedServer:
        """Start the subprocess and wait until ``GET /v2/`` answers; a no-op when running."""
        if self.running:
            return self
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        if self.port is None:
            self.port = _free_port(self.host)
        environment = {k: v for k, v in os.environ.items() if not k.startswith("SBG_LOCAL_")}
        environment.update(self.environment)
        # In the environment, not on the command line: a URL may hold a password.
        environment["SBG_LOCAL_DATABASE_URL"] = self.database_url
        environment.update(
            {f"SBG_LOCAL_{name.upper()}": value for name, value in self.extra_settings.items()}
        )
        log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        # The log may quote requests and paths: readable by the platform's user only.
        log_fd = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(log_fd, "ab") as log:
            self._process = subprocess.Popen(
                self._command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=environment,
            )
        if not self._exit_hook_registered:
            atexit.register(self.stop)  # never leave an orphan server behind
            self._exit_hook_registered = True
        self._wait_until_ready(log_offset)
        logger.info("local platform running at %s (pid %s)", self.url, self._process.pid)
        return self

    def _opener(self) -> urllib.request.OpenerDirector:
        if not self.tls:
            return _direct_opener
        # Trust only this server's CA (read afresh: the server may create it while we wait).
        context = tls_files(self.data_dir).client_context()
        return urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context)
        )

    def _answers(self) -> bool:
        try:
            with self._opener().open(self.url + "/", timeout=2):
                return True
        except urllib.error.HTTPError:
            return True  # any HTTP answer (e.g. 503 in maintenance mode) means it is serving
        except (urllib.error.URLError, OSError):
            return False

    def _log_since(self, offset: int) -> str:
        try:
            with open(self.log_path, "rb") as log:
                log.seek(offset)
                text = log.read().decode(errors="replace")
        except OSError:
            return "(no server log)"
        return text[-_LOG_TAIL_CHARS:] or "(the server wrote nothing)"

    def _wait_until_ready(self, log_offset: int) -> None:
        assert self._process is not None
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        delay = 0.02
        while not self._answers():
            exit_code = self._process.poll()
            if exit_code is not None:
                self._process = None
                raise RuntimeError(
                    f"the local platform exited with code {exit_code} while starting on "
                    f"{self.host}:{self.port}. Server output:\n{self._log_since(log_offset)}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"the local platform did not answer on {self.url} within "
                    f"{STARTUP_TIMEOUT_SECONDS:.0f} s. Server output:\n"
                    + self._log_since(log_offset)
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.2)

    def stop(self) -> None:
        """SIGTERM, then wait for a graceful exit (kill after a while); a no-op when stopped."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            if os.name == "posix":
                process.send_signal(signal.SIGTERM)
            else:
                process.terminate()
            try:
                process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                logger.warning("local platform pid %s ignored SIGTERM; killing it", process.pid)
                process.kill()
                process.wait()
        with self._lock:
            if self._platform is not None:
                self._platform.database.dispose()
                self._platform = None

    def restart(self) -> EmbeddedServer:
        """Stop and start again with the same data directory and port."""
        self.stop()
        return self.start()

    def __enter__(self) -> EmbeddedServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- users ------------------------------------------------------------------------------

    def token(self, username: str = ADMIN_USERNAME) -> str:
        """A user's token, creating the user and their billing group when missing.

        Runs in this process against the same database, so it works while the server runs.
        """
        with self._lock:
            if self._platform is None:
                settings = self._settings()
                if self.running:  # the server has already migrated and seeded the database
                    self._platform = PreparedPlatform(
                        settings=settings,
                        database=Database(settings.database_url or ""),
                        secret_key=load_or_create_secret_key(settings.secret_key_path),
                    )
                else:
                    self._platform = prepare(settings)
            return self._platform.token(username)
