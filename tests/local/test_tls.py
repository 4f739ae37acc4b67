"""HTTPS for the local platform (``sbg local serve --tls``): the CA files, and a live TLS server
reached by plain requests, our client and ``sbg``."""

from __future__ import annotations

import datetime
import logging
import os
import socket
import ssl
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from cloud_fixtures import REGION, MotoCloud
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from local_helpers import Caller
from volume_support import s3_body

import sevenbridges as sbg
from sevenbridges.cli.main import cli
from sevenbridges_local.embedded import EmbeddedServer
from sevenbridges_local.settings import Settings
from sevenbridges_local.tls import TlsError, TlsFiles, ensure_tls, tls_files

NOW = datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc)


def _sans(path: Path) -> set[str]:
    certificate = x509.load_pem_x509_certificate(path.read_bytes())
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {str(name.value) for name in names}


def _handshake(files: TlsFiles, cert: Path, key: Path, server_hostname: str) -> None:
    """A TLS handshake over loopback: a server with ``cert``, a client trusting only our CA."""
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]

        def serve() -> None:
            connection, _ = listener.accept()
            try:
                with server_context.wrap_socket(connection, server_side=True) as tls:
                    tls.recv(1)
            except (ssl.SSLError, OSError):
                pass

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
                with files.client_context().wrap_socket(raw, server_hostname=server_hostname) as c:
                    c.sendall(b"x")
        finally:
            thread.join(timeout=5)


# --- the files ----------------------------------------------------------------------------------


def test_files_are_private_and_reused(tmp_path: Path) -> None:
    files = ensure_tls(tmp_path, "127.0.0.1", now=NOW)
    for path in (files.ca_key, files.server_key, files.ca_cert, files.server_cert, files.bundle):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(files.directory.stat().st_mode) == 0o700
    assert _sans(files.server_cert) == {"localhost", "127.0.0.1", "::1"}
    ca, server = files.ca_cert.read_bytes(), files.server_cert.read_bytes()
    # The bundle: our CA first, then the public roots.
    bundle = files.bundle.read_text()
    assert ca.decode().strip() in bundle
    assert bundle.count("BEGIN CERTIFICATE") > 50

    again = ensure_tls(tmp_path, "127.0.0.1", now=NOW + datetime.timedelta(days=10))
    assert again.ca_cert.read_bytes() == ca
    assert again.server_cert.read_bytes() == server


def test_server_certificate_is_issued_again_for_new_hosts_and_near_expiry(tmp_path: Path) -> None:
    files = ensure_tls(tmp_path, "127.0.0.1", now=NOW)
    ca, server = files.ca_cert.read_bytes(), files.server_cert.read_bytes()

    ensure_tls(tmp_path, "127.0.0.2", now=NOW)  # inside 127.0.0.0/8: the CA may sign it
    assert files.ca_cert.read_bytes() == ca
    assert _sans(files.server_cert) == {"localhost", "127.0.0.1", "::1", "127.0.0.2"}
    second = files.server_cert.read_bytes()
    assert second != server

    ensure_tls(tmp_path, "127.0.0.2", now=NOW + datetime.timedelta(days=350))
    assert files.ca_cert.read_bytes() == ca
    assert files.server_cert.read_bytes() != second
    renewed = x509.load_pem_x509_certificate(files.server_cert.read_bytes())
    assert renewed.not_valid_after_utc > NOW + datetime.timedelta(days=600)


def test_a_host_outside_the_name_constraints_gets_a_new_ca(tmp_path: Path) -> None:
    files = ensure_tls(tmp_path, "127.0.0.1", now=NOW)
    ca = files.ca_cert.read_bytes()
    ensure_tls(tmp_path, "platform.example.test", now=NOW)
    assert files.ca_cert.read_bytes() != ca
    assert "platform.example.test" in _sans(files.server_cert)
    constraints = (
        x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
        .extensions.get_extension_for_class(x509.NameConstraints)
        .value
    )
    assert x509.DNSName("platform.example.test") in (constraints.permitted_subtrees or [])


def test_the_ca_cannot_vouch_for_other_names(tmp_path: Path) -> None:
    """A leaked CA key must not be able to impersonate another site: the name constraints hold."""
    files = ensure_tls(tmp_path, "127.0.0.1")
    ca = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
    ca_key = serialization.load_pem_private_key(files.ca_key.read_bytes(), password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    forged = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("api.sbgenomics.com")]), critical=True
        )
        .sign(ca_key, hashes.SHA256())
    )
    cert, key_path = tmp_path / "forged.pem", tmp_path / "forged-key.pem"
    cert.write_bytes(forged.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(ssl.SSLCertVerificationError, match="permitted subtree violation"):
        _handshake(files, cert, key_path, "api.sbgenomics.com")
    # The platform's own certificate passes the same handshake.
    _handshake(files, files.server_cert, files.server_key, "localhost")


def test_the_setting_and_extra_hosts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SBG_LOCAL_TLS", "1")
    monkeypatch.setenv("SBG_LOCAL_TLS_HOSTS", '["192.0.2.10", "Workstation.LAN.", "[::1]"]')
    settings = Settings(data_dir=tmp_path, port=9999)
    assert settings.api_root == "https://127.0.0.1:9999/v2"
    files = ensure_tls(settings.data_dir, settings.host, settings.tls_hosts)
    assert _sans(files.server_cert) == {
        "localhost",
        "127.0.0.1",
        "::1",
        "192.0.2.10",
        "workstation.lan",
    }
    constraints = (
        x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
        .extensions.get_extension_for_class(x509.NameConstraints)
        .value
    )
    permitted = {str(tree.value) for tree in constraints.permitted_subtrees or []}
    assert permitted == {"localhost", "127.0.0.0/8", "::1/128", "192.0.2.10/32", "workstation.lan"}


@pytest.mark.parametrize("host", ["bad host", "exa mple/../x", "", "-x.example"])
def test_a_name_no_certificate_can_carry_is_refused(tmp_path: Path, host: str) -> None:
    with pytest.raises(TlsError, match="not a host name or IP address"):
        ensure_tls(tmp_path, "127.0.0.1", [host])
    assert not (tmp_path / "tls" / "ca.pem").exists()


def _serve_tls(data_dir: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "sevenbridges_local", "serve", "--tls", "--port", str(port)]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SBG_LOCAL_")}
    return subprocess.run(
        [*command, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**environment, "HOME": str(data_dir), **variables},
    )


@pytest.mark.parametrize("name", ["ca.pem", "ca-key.pem", "server.pem", "server-key.pem"])
def test_corrupt_tls_files_stop_the_server_with_one_line(tmp_path: Path, name: str) -> None:
    data_dir = tmp_path / "data"
    files = ensure_tls(data_dir, "127.0.0.1")
    target = files.directory / name
    target.write_text("-----BEGIN GARBAGE-----\nnot base64\n")
    before = {path.name: path.read_bytes() for path in files.directory.iterdir()}

    result = _serve_tls(data_dir)

    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and str(target) in lines[0]
    assert "Traceback" not in result.stderr
    assert "Seven Bridges local platform at" not in result.stdout  # it never started
    # Nothing was replaced: the user decides what to do with their CA.
    assert {path.name: path.read_bytes() for path in files.directory.iterdir()} == before


def test_an_unusable_tls_host_stops_the_server_with_one_line(tmp_path: Path) -> None:
    result = _serve_tls(tmp_path / "data", SBG_LOCAL_TLS_HOSTS='["no such/name"]')
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.strip().splitlines() == [
        "error: 'no such/name' is not a host name or IP address a certificate can name"
    ]


# --- a live TLS server --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    server = EmbeddedServer(tmp_path_factory.mktemp("tls-platform"), tls=True)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def https(tls_platform: EmbeddedServer) -> Iterator[requests.Session]:
    session = requests.Session()
    session.trust_env = False
    session.verify = str(tls_platform.ca_bundle)
    yield session
    session.close()


def test_api_and_hrefs_are_https_for_the_host_called(
    tls_platform: EmbeddedServer, https: requests.Session
) -> None:
    assert tls_platform.url.startswith("https://127.0.0.1:")
    token = tls_platform.token("tls-alice")
    for host in ("127.0.0.1", "localhost"):
        root = tls_platform.url.replace("127.0.0.1", host)
        user = https.get(f"{root}/user", headers={"X-SBG-Auth-Token": token})
        assert user.status_code == 200, user.text
        assert user.json()["href"] == f"{root}/users/tls-alice"
        page = https.get(f"{root}/projects", headers={"X-SBG-Auth-Token": token})
        assert page.json()["href"].startswith(f"{root}/projects?")


def test_a_client_without_the_ca_gets_an_ssl_error(tls_platform: EmbeddedServer) -> None:
    session = requests.Session()
    session.trust_env = False
    with session, pytest.raises(requests.exceptions.SSLError):
        session.get(tls_platform.url + "/")
    # Plain HTTP on the TLS port is no way around it.
    with requests.Session() as plain, pytest.raises(requests.exceptions.ConnectionError):
        plain.trust_env = False
        plain.get(tls_platform.url.replace("https://", "http://") + "/", timeout=5)


def test_our_client_uploads_and_downloads_over_https(
    tls_platform: EmbeddedServer,
    https: requests.Session,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls_platform.ca_bundle))
    api = sbg.Api(url=tls_platform.url, token=tls_platform.token("tls-bob"))
    assert api.users.me().username == "tls-bob"
    billing = api.billing_groups.query()[0]
    project = api.projects.create(name="tls", billing_group=billing.id)
    source = tmp_path / "reads.txt"
    source.write_bytes(os.urandom(300_000))
    upload = api.files.upload(str(source), project=project, part_size=5 * 1024 * 1024)
    uploaded = upload.result()
    assert uploaded.href.startswith(tls_platform.url + "/files/")

    url = uploaded.download_info().url
    assert url.startswith("https://127.0.0.1:")
    target = tmp_path / "back.txt"
    uploaded.download(str(target))
    assert target.read_bytes() == source.read_bytes()

    # GA4GH DRS: the access URL is an https data-plane URL too; self_uri names the host called.
    headers = {"X-SBG-Auth-Token": tls_platform.token("tls-bob")}
    drs_root = tls_platform.url.removesuffix("/v2") + "/ga4gh/drs/v1"
    drs_object = https.get(f"{drs_root}/objects/{uploaded.id}", headers=headers).json()
    assert drs_object["self_uri"] == f"drs://{tls_platform.url.split('/')[2]}/{uploaded.id}"
    access_id = drs_object["access_methods"][0]["access_id"]
    access = https.get(f"{drs_root}/objects/{uploaded.id}/access/{access_id}", headers=headers)
    assert access.json()["url"].startswith("https://127.0.0.1:")
    assert https.get(access.json()["url"]).content == source.read_bytes()
    # The data plane refuses plain HTTP as the API does.
    with requests.Session() as plain, pytest.raises(requests.exceptions.ConnectionError):
        plain.trust_env = False
        plain.get(access.json()["url"].replace("https://", "http://"), timeout=5)


def test_sbg_command_line_over_https(tls_platform: EmbeddedServer, tmp_path: Path) -> None:
    token = tls_platform.token("tls-carol")
    runner = CliRunner()
    base = ["--endpoint", tls_platform.url, "--token", token]
    environment = {"HOME": str(tmp_path), "REQUESTS_CA_BUNDLE": str(tls_platform.ca_bundle)}

    whoami = runner.invoke(cli, [*base, "whoami", "--json"], env=environment)
    assert whoami.exit_code == 0, whoami.output
    assert '"username": "tls-carol"' in whoami.output

    refused = runner.invoke(cli, [*base, "whoami", "--json"], env={"HOME": str(tmp_path)})
    assert refused.exit_code == 5, refused.output
    assert "Traceback" not in refused.output
    assert "is not trusted" in refused.output and "REQUESTS_CA_BUNDLE" in refused.output


def test_an_untrusted_certificate_is_not_asked_about_again(
    tls_platform: EmbeddedServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The next attempt would be shown the same certificate: the client fails at once (it
    retried for a minute before), whatever its retry settings."""
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    api = sbg.Api(url=tls_platform.url, token=tls_platform.token("tls-erin"), retry_count=6)
    caplog.set_level(logging.INFO, logger="sevenbridges")
    with pytest.raises(sbg.SbgError) as raised:
        api.users.me()
    assert "CERTIFICATE_VERIFY_FAILED" in str(raised.value)
    assert not [record for record in caplog.records if "retrying" in record.getMessage()]


def test_tls_files_for_another_data_dir_are_independent(tmp_path: Path) -> None:
    first = ensure_tls(tmp_path / "a", "127.0.0.1")
    second = ensure_tls(tmp_path / "b", "127.0.0.1")
    assert first.ca_cert.read_bytes() != second.ca_cert.read_bytes()
    assert tls_files(tmp_path / "a") == first


def test_volume_content_urls_are_https(
    tmp_path_factory: pytest.TempPathFactory, moto_cloud: MotoCloud
) -> None:
    """Alias downloads streamed by the API (no presigned URL) are signed https URLs too."""
    server = EmbeddedServer(
        tmp_path_factory.mktemp("tls-cloud"),
        tls=True,
        settings={"s3_endpoint_url": moto_cloud.url, "volume_presigned_downloads": False},
        environment={"AWS_DEFAULT_REGION": REGION},
    )
    with server, requests.Session() as session:
        session.trust_env = False
        session.verify = str(server.ca_bundle)
        caller = Caller(session, server.url, server.token("tls-dave"), "tls-dave")
        bucket = moto_cloud.new_bucket("tls")
        moto_cloud.put(bucket, "reads.fq", b"@r1\nACGT\n")
        volume = caller.post("/storage/volumes", json=s3_body(moto_cloud, bucket))
        assert volume.status_code == 201, volume.text
        project = caller.create_project("tls-aliases")
        job = caller.post(
            "/storage/imports",
            json={
                "source": {"volume": volume.json()["id"], "location": "reads.fq"},
                "destination": {"project": project["id"]},
            },
        ).json()
        deadline = time.monotonic() + 60
        while job["state"] not in ("COMPLETED", "FAILED"):
            assert time.monotonic() < deadline, job
            time.sleep(0.1)
            job = caller.get(job["href"]).json()
        assert job["state"] == "COMPLETED", job
        assert job["href"].startswith(server.url + "/storage/imports/")
        url = caller.get(f"/files/{job['result']['id']}/download_info").json()["url"]
        assert url.startswith(server.url.removesuffix("/v2") + "/volume-content/")
        assert session.get(url).content == b"@r1\nACGT\n"
