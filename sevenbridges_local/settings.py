"""Configuration of the local platform (environment variables prefixed ``SBG_LOCAL_``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_PORT = 8765
# Toil's own batch systems (toil.batchSystems.registry, Toil 9); a plugin may add more, which
# are looked up in Toil's registry only when a name is not one of these.
TOIL_BATCH_SYSTEMS = (
    "aws_batch",
    "grid_engine",
    "htcondor",
    "kubernetes",
    "lsf",
    "mesos",
    "single_machine",
    "slurm",
    "torque",
)


def redact_url(url: str | None) -> str | None:
    """``url`` fit to show or log: a password (in the authority or a ``password`` query
    parameter) becomes ``***``."""
    if not url:
        return url
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:  # not parseable as a URL: show only its scheme
        return url.split(":", 1)[0] + "://***"
    if password is None and "password" not in parts.query.lower():
        return url  # nothing to hide (and sqlite:////abs/path stays as written)
    netloc = parts.netloc
    if password is not None:
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.split(':', 1)[0]}:***@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode(
            [(key, "***" if "password" in key.lower() else value) for key, value in pairs],
            safe="*",
        )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _toil_plugin_batch_systems() -> set[str]:
    try:
        from toil.batchSystems.registry import get_batch_systems
    except Exception:  # Toil not installed (or broken): only the known names are accepted
        return set()
    try:
        return set(get_batch_systems())
    except Exception:
        return set()


def default_data_dir() -> Path:
    # Resolved at construction time so a changed $HOME (tests, CLI) is honoured.
    return Path.home() / ".sevenbridges" / "local"


class Settings(BaseSettings):
    """Everything the server needs to start; command-line flags override the environment."""

    model_config = SettingsConfigDict(env_prefix="SBG_LOCAL_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=DEFAULT_PORT, ge=0, le=65535)
    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str | None = None
    rate_limit: int = Field(default=1000, ge=0)
    rate_limit_window: int = Field(default=300, ge=1)
    maintenance: bool = False
    # HTTPS for the API and the data plane, with a local CA in DATA_DIR/tls (see tls.py).
    tls: bool = False
    # More names the server certificate must cover (e.g. the machine's LAN address when listening
    # on 0.0.0.0), as JSON: SBG_LOCAL_TLS_HOSTS='["192.0.2.10", "workstation.lan"]'.
    tls_hosts: list[str] = Field(default_factory=list)
    # The data plane (part uploads, downloads) listens on its own port next to the API; 0 picks
    # one at start (the last one used in this data directory when it is free again).
    data_port: int = Field(default=0, ge=0, le=65535)
    # Seconds a signed upload or download URL stays valid (S3's maximum is 7 days).
    signed_url_ttl: int = Field(default=3600, ge=0, le=7 * 24 * 3600)
    # WAN emulation on the data plane (0: off): a delay before each transfer request is answered
    # and a bandwidth cap per connection, in megabits per second (also in /_local/faults).
    wan_latency_ms: int = Field(default=0, ge=0, le=600_000)
    wan_bandwidth_mbps: int = Field(default=0, ge=0, le=1_000_000)
    # Tasks: how many run at once, with which executor, and whether tools run in containers
    # (None: no containers; "docker", "podman" or "singularity" for apps that ask for one).
    task_workers: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1, le=256)
    executor: Literal["cwltool", "toil"] = "cwltool"
    # How much lower than the server's the CPU priority of task processes is (a nice step,
    # 0-19): tasks are batch work and must not slow the API down on a shared machine.
    task_nice: int = Field(default=10, ge=0, le=19)
    container_engine: Literal["docker", "podman", "singularity"] | None = None
    # The Toil executor (execution/toil_executor.py): the batch system its jobs run on
    # (single_machine, slurm, kubernetes, htcondor, lsf, aws_batch...), where job stores live
    # (None: DATA_DIR/toil; on a cluster, storage every node mounts at the same path), more
    # toil-cwl-runner arguments as JSON (SBG_LOCAL_TOIL_ARGS='["--maxCores", "4"]'), the
    # toil-cwl-runner to use (None: the one installed with this package) and the names of
    # environment variables the leader may see besides TOIL_* (e.g. a scheduler's settings).
    toil_batch_system: str = Field(default="single_machine", pattern=r"^[a-z][a-z0-9_]{0,63}$")
    toil_job_store: Path | None = None
    toil_args: list[str] = Field(default_factory=list)
    toil_cwl_runner: str | None = None
    toil_environment: list[str] = Field(default_factory=list)
    # Keep each task's work directory (DATA_DIR/tasks/<id>) after it ends, for debugging.
    keep_task_dirs: bool = False
    # Task isolation (see execution/sandbox.py): "auto" uses bubblewrap when it works and says
    # loudly when it does not; "bwrap" refuses to start without it; "none" turns it off.
    sandbox: Literal["auto", "bwrap", "none"] = "auto"
    sandbox_bwrap: str = "bwrap"
    # Whether tasks may use the network (off: they only have their own loopback).
    sandbox_network: bool = False
    # The identity tasks run as when the platform runs as root (default nobody/nogroup).
    sandbox_uid: int = Field(default=65534, ge=1)
    sandbox_gid: int = Field(default=65534, ge=1)
    # More read-only directories tasks may see (e.g. a tool installation under /opt).
    sandbox_paths: list[Path] = Field(default_factory=list)
    # A folder of ontology files (EDAM.owl...) that apps' ``$schemas`` entries resolve to by
    # file name (services/cwl_schemas.py); None: apps with ``$schemas`` are refused.
    cwl_schemas_dir: Path | None = None
    # Disk space: blob writes (parts, assembly, task outputs) that would leave less than this many
    # bytes free are refused with 507, so the database always has room to record what happens.
    min_free_space: int = Field(default=64 * 1024 * 1024, ge=0)
    # When a write finds the disk too full, unfinished uploads idle for this many seconds are
    # removed at once (otherwise after 7 days) so that they do not block the next upload.
    upload_idle_under_pressure: int = Field(default=3600, ge=0)
    # Seconds a database write waits for another writer before the API answers 503 (retryable).
    db_busy_timeout: float = Field(default=30.0, gt=0, le=3600)
    # Where volumes' clouds are (None: the real ones). The S3 endpoint also serves STS (role
    # volumes) and OSS volumes that name no endpoint of their own; e.g. http://127.0.0.1:5000.
    s3_endpoint_url: str | None = None
    gcs_endpoint_url: str | None = None
    # Where file contents live: None (DATA_DIR/storage) or s3://bucket/prefix, an S3 bucket
    # reached through s3_endpoint_url (see storage/s3.py).
    storage: str | None = None
    # Seconds to connect to a volume's cloud, and to wait for each answer, in API calls that
    # reach it (create, PATCH, listing, object info); two attempts at most, so an unreachable
    # endpoint is reported within a few seconds instead of hanging the request.
    volume_timeout: float = Field(default=3.0, gt=0, le=120)
    # DRS imports: how the worker reaches other DRS servers. "auto" uses http for loopback hosts
    # (127.0.0.0/8, ::1, localhost) and https for every other host; "https" / "http" force one.
    drs_scheme: Literal["auto", "https", "http"] = "auto"
    # Seconds to connect to a DRS server (or the host of an access URL) and to wait for each
    # answer or chunk of bytes; an unreachable server fails its item within a few seconds.
    drs_timeout: float = Field(default=5.0, gt=0, le=300)
    # Bearer tokens for DRS servers, by "host:port" (or "host" for any port), as JSON:
    # SBG_LOCAL_DRS_TOKENS='{"127.0.0.1:8766": "<token>"}'. Sent only to that server's DRS API,
    # never to access URLs or other hosts; never logged or shown.
    drs_tokens: dict[str, SecretStr] = Field(default_factory=dict)
    # Host names DRS imports may contact (DRS APIs, access URLs, redirects), as JSON:
    # SBG_LOCAL_DRS_ALLOWED_HOSTS='["127.0.0.1", "drs.example.org"]'. Unset: any host.
    drs_allowed_hosts: list[str] | None = None
    # Exports of files at least this large are written as multipart uploads of
    # ``volume_part_size`` parts (S3 needs 5 MiB at least, but the last part).
    volume_multipart_threshold: int = Field(default=64 * 1024 * 1024, ge=5 * 1024 * 1024)
    # Downloads of volume aliases: a presigned URL of the provider where it has them (S3, OSS),
    # or (False, or GCS) a signed URL of this API that streams the object from the bucket.
    volume_presigned_downloads: bool = True
    # A pause after each file of a prefix import (tests use it to restart mid-import).
    volume_import_item_delay: float = Field(default=0.0, ge=0, le=10)
    volume_part_size: int = Field(default=32 * 1024 * 1024, ge=5 * 1024 * 1024, le=5 * 1024**3)
    # Background work: the first retry of a failed work item waits this long (then twice as
    # long each time, 60 s at most; the pool gives up after 5 attempts).
    work_retry_seconds: float = Field(default=1.0, gt=0, le=60)
    # Fault injection for tests, as JSON: failures to inject by fault point, e.g.
    # SBG_LOCAL_WORK_FAULTS='{"volume_export.run": 5}' (a work kind: before its handler) or
    # '{"volume_export.run:written": 1}' (a step inside the handler). Empty in real use.
    work_faults: dict[str, int] = Field(default_factory=dict)

    # API processes serving the same port(s), one database and blob store (`serve --workers N`,
    # cli.py's supervisor). Above 1, rate limits and fault switches live in the database.
    workers: int = Field(default=1, ge=1, le=64)
    # Peers whose X-Forwarded-Proto / X-Forwarded-Host / Forwarded headers are believed (for
    # hrefs and signed URLs), as JSON addresses or CIDRs:
    # SBG_LOCAL_TRUSTED_PROXIES='["10.0.0.0/8"]'.
    # The default is loopback only; '[]' trusts no one.
    trusted_proxies: list[str] = Field(default_factory=lambda: ["127.0.0.1", "::1"])
    # The port clients reach the data plane on when a trusted proxy forwards (a TLS proxy in front
    # of it); 0: the data plane's own port.
    public_data_port: int = Field(default=0, ge=0, le=65535)

    @field_validator("trusted_proxies", mode="after")
    @classmethod
    def _proxies(cls, value: list[str]) -> list[str]:
        import ipaddress

        for entry in value:
            try:
                ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError:
                raise ValueError(
                    f"{entry!r} is not an IP address or CIDR (e.g. 10.0.0.0/8)"
                ) from None
        return [entry.strip() for entry in value]

    @field_validator("toil_batch_system", mode="after")
    @classmethod
    def _batch_system(cls, value: str) -> str:
        if value in TOIL_BATCH_SYSTEMS or value in _toil_plugin_batch_systems():
            return value
        raise ValueError(f"expected one of {', '.join(TOIL_BATCH_SYSTEMS)}")

    @field_validator("s3_endpoint_url", "gcs_endpoint_url", mode="before")
    @classmethod
    def _endpoint(cls, value: object) -> object:
        if value is None:
            return None
        if not isinstance(value, str):
            return value
        value = value.strip().rstrip("/")
        if not value:
            return None  # an empty variable means the real cloud
        parsed = urlsplit(value)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError("expected an http(s) URL such as http://127.0.0.1:5000")
        if parsed.query or parsed.fragment or parsed.username or parsed.password:
            raise ValueError("an endpoint URL has no query, fragment or user name")
        return value

    @field_validator("storage", mode="before")
    @classmethod
    def _storage(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        value = value.strip()
        if not value or value == "local":
            return None
        if not value.startswith("s3://") or not value[len("s3://") :].split("/", 1)[0]:
            raise ValueError("expected s3://bucket or s3://bucket/prefix")
        return value.rstrip("/")

    @field_validator("database_url", mode="before")
    @classmethod
    def _database(cls, value: object) -> object:
        # SQLite or PostgreSQL only; the message never repeats the URL (it may hold a password).
        if not isinstance(value, str):
            return value
        value = value.strip()
        if not value:
            return None  # an empty variable means SQLite in the data directory
        scheme = value.split(":", 1)[0].lower()
        if not scheme.startswith(("sqlite", "postgres")):
            raise ValueError(
                "expected postgresql://USER:PASSWORD@HOST:PORT/NAME (or sqlite:///PATH)"
            )
        return value

    @field_validator("container_engine", mode="before")
    @classmethod
    def _no_engine(cls, value: object) -> object:
        # An empty SBG_LOCAL_CONTAINER_ENGINE (or "none") means no containers.
        if isinstance(value, str) and value.strip().lower() in ("", "none"):
            return None
        return value.strip().lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _fill_database_url(self) -> Settings:
        self.data_dir = self.data_dir.expanduser()
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir.resolve() / 'platform.db'}"
        return self

    @model_validator(mode="after")
    def _separate_data_port(self) -> Settings:
        if self.data_port and self.data_port == self.port:
            raise ValueError("data_port must differ from port (the API's)")
        return self

    @property
    def secret_key_path(self) -> Path:
        return self.data_dir / "secret.key"

    @property
    def public_host(self) -> str:
        """Host name clients should use: a wildcard bind address is reachable on loopback."""
        return "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    @property
    def api_root(self) -> str:
        host = f"[{self.public_host}]" if ":" in self.public_host else self.public_host
        return f"{self.scheme}://{host}:{self.port}/v2"
