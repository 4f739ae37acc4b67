"""Local clouds for the volume tests (a pytest plugin loaded by ``tests/conftest.py``).

- ``moto_cloud``: moto's server mode (S3, STS, IAM) in a subprocess on a free loopback port. The
  fixture first creates, unauthenticated, the IAM users, keys and role the tests need, then turns
  moto's request authentication on (its ``INITIAL_NO_AUTH_ACTION_COUNT`` setting, set to 0
  through ``/moto-api/reset-auth``): from then on every request must be signed with a real
  key of a user allowed to do it, so a wrong key or a role that does not trust the caller is
  refused as AWS would.
- ``gcs_emulator``: ``gcp-storage-emulator`` (in memory) in a subprocess on a free port.
- ``cloud_platform``: a local platform pointed at both (``SBG_LOCAL_S3_ENDPOINT_URL``,
  ``SBG_LOCAL_GCS_ENDPOINT_URL``), holding the AWS identity of the ``sbg-platform`` user, the
  one role volumes trust.

Everything is session-scoped, started on first use and stopped at the end of the session.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from sevenbridges_local.embedded import EmbeddedServer

ACCOUNT_ID = "123456789012"  # moto's default account
REGION = "us-east-1"
EXTERNAL_ID = "sbg-local-external-id"
STARTUP_SECONDS = 30.0
# Short waits for the platform's calls to the clouds, so the "unreachable" tests stay quick.
PLATFORM_VOLUME_TIMEOUT = 1.5
_direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with {process.returncode}: {log.read_text()[-2000:]}")
        try:
            with _direct.open(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except (urllib.error.URLError, OSError):
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"{url} did not answer within {STARTUP_SECONDS:.0f} s")


def _start(command: list[str], probe_url: str, log: Path, env: dict[str, str]) -> subprocess.Popen:
    with open(log, "wb") as output:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT, env=env
        )
    _wait_for(probe_url, process, log)
    return process


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _clean_environment() -> dict[str, str]:
    # The emulators must not see AWS or Google settings of the developer's shell.
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "GOOGLE_", "SBG_LOCAL_"))
    }


@dataclass(frozen=True)
class AwsKeys:
    access_key_id: str
    secret_access_key: str = field(repr=False)


@dataclass
class MotoCloud:
    """moto's server with authentication on, and the identities created in it."""

    url: str
    admin: AwsKeys  # may do anything: tests use it to make buckets and objects
    platform: AwsKeys  # the local platform's own identity: it may only assume roles
    reader: AwsKeys  # the keys S3 volumes are created with
    role_arn: str  # trusts ``platform`` with EXTERNAL_ID; may use S3
    external_id: str = EXTERNAL_ID

    def client(self, service: str = "s3", keys: AwsKeys | None = None) -> Any:
        import boto3
        from botocore.config import Config

        keys = keys or self.admin
        return boto3.session.Session(
            aws_access_key_id=keys.access_key_id,
            aws_secret_access_key=keys.secret_access_key,
            region_name=REGION,
        ).client(
            service,
            endpoint_url=self.url,
            config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}),
        )

    def new_bucket(self, prefix: str = "bucket") -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:10]}"
        self.client().create_bucket(Bucket=name)
        return name

    def ensure_bucket(self, name: str) -> str:
        s3 = self.client()
        existing = {bucket["Name"] for bucket in s3.list_buckets().get("Buckets", [])}
        if name not in existing:
            s3.create_bucket(Bucket=name)
        return name

    def put(self, bucket: str, key: str, data: bytes = b"x") -> None:
        self.client().put_object(Bucket=bucket, Key=key, Body=data)


def _policy(statements: list[dict[str, Any]]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def _set_up_identities(url: str) -> MotoCloud:
    import boto3

    iam = boto3.session.Session(
        aws_access_key_id="setup", aws_secret_access_key="setup", region_name=REGION
    ).client("iam", endpoint_url=url)

    def user(name: str, statements: list[dict[str, Any]]) -> AwsKeys:
        iam.create_user(UserName=name)
        iam.put_user_policy(UserName=name, PolicyName="access", PolicyDocument=_policy(statements))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return AwsKeys(key["AccessKeyId"], key["SecretAccessKey"])

    admin = user("sbg-test-admin", [{"Effect": "Allow", "Action": "*", "Resource": "*"}])
    platform = user(
        "sbg-platform", [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]
    )
    reader = user("volume-user", [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}])
    trust = _policy(
        [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:user/sbg-platform"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}},
            }
        ]
    )
    role = iam.create_role(RoleName="sbg-volume-role", AssumeRolePolicyDocument=trust)["Role"]
    iam.put_role_policy(
        RoleName="sbg-volume-role",
        PolicyName="s3",
        PolicyDocument=_policy([{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]),
    )
    return MotoCloud(url=url, admin=admin, platform=platform, reader=reader, role_arn=role["Arn"])


def _enable_authentication(url: str) -> None:
    request = urllib.request.Request(
        f"{url}/moto-api/reset-auth",
        data=b"0",
        method="POST",
        headers={"Content-Type": "text/plain"},  # moto reads the raw body, not a form
    )
    with _direct.open(request, timeout=10) as answer:
        assert json.loads(answer.read())["status"] == "ok"


@pytest.fixture(scope="session")
def moto_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoCloud]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    process = _start(command, f"{url}/moto-api/", log, _clean_environment())
    try:
        cloud = _set_up_identities(url)
        _enable_authentication(url)
        yield cloud
    finally:
        _stop(process)


@dataclass
class GcsEmulator:
    url: str

    def client(self) -> Any:
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        return storage.Client(
            project="tests",
            credentials=AnonymousCredentials(),
            client_options={"api_endpoint": self.url},
        )

    def new_bucket(self, prefix: str = "gcs-bucket") -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:10]}"
        self.client().create_bucket(name)
        return name

    def put(self, bucket: str, key: str, data: bytes = b"x") -> None:
        self.client().bucket(bucket).blob(key).upload_from_string(data)


@pytest.fixture(scope="session")
def gcs_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GcsEmulator]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("gcs") / "gcs.log"
    command = [sys.executable, "-m", "gcp_storage_emulator", "start", "-H", "127.0.0.1"]
    command += ["--port", str(port), "-q", "--in-memory"]
    process = _start(command, f"{url}/", log, _clean_environment())
    try:
        yield GcsEmulator(url)
    finally:
        _stop(process)


@pytest.fixture(scope="session")
def cloud_platform(
    tmp_path_factory: pytest.TempPathFactory, moto_cloud: MotoCloud, gcs_emulator: GcsEmulator
) -> Iterator[EmbeddedServer]:
    """A platform whose S3/STS and GCS are the local emulators."""
    server = EmbeddedServer(
        tmp_path_factory.mktemp("cloud-platform"),
        settings={
            "s3_endpoint_url": moto_cloud.url,
            "gcs_endpoint_url": gcs_emulator.url,
            "volume_timeout": PLATFORM_VOLUME_TIMEOUT,
            # Exports of 6 MiB and more go in 5 MiB parts, so tests see multipart writes.
            "volume_multipart_threshold": 6 * 1024 * 1024,
            "volume_part_size": 5 * 1024 * 1024,
            # moto's server with authentication on refuses presigned URLs (it wants an
            # Authorization header): alias downloads stream through the platform instead.
            "volume_presigned_downloads": False,
        },
        environment={
            "AWS_ACCESS_KEY_ID": moto_cloud.platform.access_key_id,
            "AWS_SECRET_ACCESS_KEY": moto_cloud.platform.secret_access_key,
            "AWS_DEFAULT_REGION": REGION,
        },
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


class SilentServer:
    """A TCP server on loopback that accepts connections and never answers (a hung endpoint)."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(64)
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        self._accepted: list[socket.socket] = []
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        self._socket.settimeout(0.2)
        while not self._closed.is_set():
            try:
                connection, _ = self._socket.accept()
            except OSError:
                continue
            self._accepted.append(connection)  # held open, never read or answered

    def close(self) -> None:
        self._closed.set()
        self._thread.join(timeout=5)
        for connection in self._accepted:
            connection.close()
        self._socket.close()


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    server = SilentServer()
    try:
        yield server.url
    finally:
        server.close()


@pytest.fixture
def closed_endpoint() -> str:
    """A loopback URL where nothing listens (connections are refused at once)."""
    return f"http://127.0.0.1:{free_port()}"


class SwitchableForwarder:
    """A loopback TCP forwarder to ``target`` (``host:port``) that can go silent: while
    ``silent`` is set, new connections are accepted and never answered (a cloud that hangs
    after a volume was created through it). Connections already open keep forwarding."""

    def __init__(self, target: str) -> None:
        host, port = target.rsplit(":", 1)
        self._target = (host, int(port))
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(64)
        self._socket.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        self.silent = threading.Event()
        self._closed = threading.Event()
        self._held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._socket.accept()
            except OSError:
                continue
            if self.silent.is_set():
                self._held.append(client)
                continue
            upstream = socket.create_connection(self._target, timeout=10)
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self._closed.set()
        for connection in self._held:
            connection.close()
        self._socket.close()


@pytest.fixture
def forwarder_to_moto(moto_cloud: MotoCloud) -> Iterator[SwitchableForwarder]:
    forwarder = SwitchableForwarder(moto_cloud.url.removeprefix("http://"))
    try:
        yield forwarder
    finally:
        forwarder.close()
