"""HTTPS for the local platform: a local CA and a server certificate in ``DATA_DIR/tls/``.

The CA is created once and reused, so a client that trusts ``ca-bundle.pem`` keeps trusting the
server across restarts. The CA is name-constrained to loopback and the names the platform listens
under, so its key (0600) cannot vouch for any other site even if it leaks. The server certificate
is issued again whenever the names it must cover change or it nears expiry.

``ca-bundle.pem`` is the local CA followed by the public roots of ``certifi``: one process with
``REQUESTS_CA_BUNDLE`` pointing at it reaches both this platform and the real one.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import logging
import os
import re
import socket
import ssl
import stat
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import certifi
import uvicorn
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

logger = logging.getLogger(__name__)

TLS_DIR_NAME = "tls"
CA_CERT_NAME = "ca.pem"
CA_KEY_NAME = "ca-key.pem"
SERVER_CERT_NAME = "server.pem"
SERVER_KEY_NAME = "server-key.pem"
BUNDLE_NAME = "ca-bundle.pem"

CA_LIFETIME = datetime.timedelta(days=10 * 365)
SERVER_LIFETIME = datetime.timedelta(days=365)
# A certificate this close to its end is replaced at start, so a long-running server never
# serves an expired one in practice.
RENEW_BEFORE = datetime.timedelta(days=30)
# Clocks of clients may lag a little behind ours.
BACKDATE = datetime.timedelta(hours=1)

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
_WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})
_ORGANIZATION = "Seven Bridges local platform"
# A DNS name a certificate may carry: ASCII labels of letters, digits, hyphens (and underscores,
# which some local host names have), 253 characters at most.
_DNS_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_DNS_NAME = re.compile(rf"(?=.{{1,253}}$){_DNS_LABEL}(?:\.{_DNS_LABEL})*")


class TlsError(Exception):
    """The ``tls/`` directory holds something unusable; the message says what to do."""


@dataclass(frozen=True)
class TlsFiles:
    """Where the CA, the server certificate and the bundle for clients are."""

    directory: Path

    @property
    def ca_cert(self) -> Path:
        return self.directory / CA_CERT_NAME

    @property
    def ca_key(self) -> Path:
        return self.directory / CA_KEY_NAME

    @property
    def server_cert(self) -> Path:
        return self.directory / SERVER_CERT_NAME

    @property
    def server_key(self) -> Path:
        return self.directory / SERVER_KEY_NAME

    @property
    def bundle(self) -> Path:
        return self.directory / BUNDLE_NAME

    def server_context(self) -> ssl.SSLContext:
        """A server-side context with the server certificate (for the data plane)."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.server_cert, self.server_key)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A client-side context that trusts the local CA only (readiness checks, tests)."""
        return ssl.create_default_context(cafile=str(self.ca_cert))


def tls_files(data_dir: Path) -> TlsFiles:
    return TlsFiles(Path(data_dir) / TLS_DIR_NAME)


def certificate_hosts(bind_host: str, extra_hosts: Iterable[str] = ()) -> list[str]:
    """Names the server certificate covers: loopback, the bind host (for a wildcard bind the
    machine's host name, what other machines would call it) and ``extra_hosts``."""
    hosts = list(LOOPBACK_NAMES)
    if bind_host in _WILDCARD_HOSTS:
        own = _normalized(socket.gethostname())
        if own is None:
            logger.warning(
                "the host name %r cannot be named in a certificate", socket.gethostname()
            )
        elif own not in hosts:
            hosts.append(own)
        named = list(extra_hosts)
    else:
        named = [bind_host, *extra_hosts]
    for host in named:
        normalized = _normalized(host)
        if normalized is None:
            raise TlsError(f"{host!r} is not a host name or IP address a certificate can name")
        if normalized not in hosts:
            hosts.append(normalized)
    return hosts


# --- names --------------------------------------------------------------------------------------


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _normalized(host: str) -> str | None:
    """``host`` as a certificate names it (IPs compressed, names lower-case), None when invalid."""
    host = host.strip().strip("[]").rstrip(".").lower()
    address = _ip(host)
    if address is not None:
        return address.compressed
    return host if _DNS_NAME.fullmatch(host) else None


def _subject_names(hosts: Iterable[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for host in hosts:
        address = _ip(host)
        names.append(x509.IPAddress(address) if address else x509.DNSName(host))
    return names


def _permitted_subtrees(hosts: Iterable[str]) -> list[x509.GeneralName]:
    """What the CA may sign: all of 127.0.0.0/8 and ::1, ``localhost``, and each other host."""
    subtrees: list[x509.GeneralName] = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_network("127.0.0.0/8")),
        x509.IPAddress(ipaddress.ip_network("::1/128")),
    ]
    for host in hosts:
        address = _ip(host)
        if address is not None:
            if address.is_loopback:
                continue
            subtree: x509.GeneralName = x509.IPAddress(ipaddress.ip_network(address))
        elif host == "localhost":
            continue
        else:
            subtree = x509.DNSName(host)
        if subtree not in subtrees:
            subtrees.append(subtree)
    return subtrees


def _ca_permits(ca: x509.Certificate, hosts: Iterable[str]) -> bool:
    try:
        constraints = ca.extensions.get_extension_for_class(x509.NameConstraints).value
    except x509.ExtensionNotFound:
        return False  # an unconstrained CA is not ours to keep using
    permitted = constraints.permitted_subtrees or []
    for host in hosts:
        address = _ip(host)
        if address is not None:
            ok = any(
                isinstance(tree, x509.IPAddress)
                and isinstance(tree.value, ipaddress.IPv4Network | ipaddress.IPv6Network)
                and address in tree.value
                for tree in permitted
            )
        else:
            ok = any(
                isinstance(tree, x509.DNSName)
                and (host == tree.value or host.endswith("." + tree.value))
                for tree in permitted
            )
        if not ok:
            return False
    return True


# --- files --------------------------------------------------------------------------------------


def _write_private(path: Path, data: bytes, mode: int) -> None:
    """Replace ``path`` atomically; the content is never readable with looser permissions."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _tighten(path: Path) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        logger.warning("%s was readable by others (mode %o); restricting it to 0600", path, mode)
        os.chmod(path, 0o600)


def _load_certificate(path: Path, fix: str) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except ValueError as exc:
        raise TlsError(f"{path} is not a valid PEM certificate ({exc}); {fix}") from None


def _load_key(path: Path, fix: str) -> ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise TlsError(
            f"{path} is not a valid unencrypted PEM private key ({exc}); {fix}"
        ) from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise TlsError(f"{path} is not an EC private key as this platform writes; {fix}")
    return key


def _same_public_key(key: ec.EllipticCurvePrivateKey, certificate: x509.Certificate) -> bool:
    return key.public_key() == certificate.public_key()


# --- the CA -------------------------------------------------------------------------------------


def _new_ca(
    files: TlsFiles, hosts: list[str], now: datetime.datetime
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, _ORGANIZATION),
            x509.NameAttribute(
                NameOID.COMMON_NAME, f"{_ORGANIZATION} CA {now.strftime('%Y-%m-%d %H:%M:%S')}"
            ),
        ]
    )
    public = key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.NameConstraints(
                permitted_subtrees=_permitted_subtrees(hosts), excluded_subtrees=None
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    # Key first: a certificate on disk always has its key next to it.
    _write_private(files.ca_key, _key_pem(key), 0o600)
    _write_private(files.ca_cert, certificate.public_bytes(serialization.Encoding.PEM), 0o600)
    # The old server certificate was signed by the old CA.
    for stale in (files.server_cert, files.server_key):
        with contextlib.suppress(FileNotFoundError):
            stale.unlink()
    logger.info("created a local certificate authority in %s", files.ca_cert)
    return certificate, key


def _load_or_create_ca(
    files: TlsFiles, hosts: list[str], now: datetime.datetime
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    fix = f"move {files.directory} away to create a new local CA (clients then need the new bundle)"
    if not files.ca_cert.exists():
        # A key without its certificate is a creation cut short: start again.
        return _new_ca(files, hosts, now)
    if not files.ca_key.exists():
        raise TlsError(f"{files.ca_key} is missing next to {files.ca_cert}; {fix}")
    _tighten(files.ca_key)
    certificate = _load_certificate(files.ca_cert, fix)
    key = _load_key(files.ca_key, fix)
    if not _same_public_key(key, certificate):
        raise TlsError(f"{files.ca_key} is not the key of {files.ca_cert}; {fix}")
    if certificate.not_valid_after_utc - now < RENEW_BEFORE:
        logger.warning("the local CA in %s is about to expire: creating a new one", files.directory)
        return _new_ca(files, hosts, now)
    if not _ca_permits(certificate, hosts):
        # Its name constraints do not cover a new bind host: only a new CA can.
        logger.warning(
            "the local CA in %s may not sign for %s: creating a new one; clients need the new %s",
            files.directory,
            ", ".join(hosts),
            files.bundle,
        )
        return _new_ca(files, hosts, now)
    return certificate, key


# --- the server certificate ---------------------------------------------------------------------


def _server_usable(
    certificate: x509.Certificate,
    key: ec.EllipticCurvePrivateKey,
    ca: x509.Certificate,
    hosts: list[str],
    now: datetime.datetime,
) -> bool:
    if not _same_public_key(key, certificate) or certificate.issuer != ca.subject:
        return False
    try:
        certificate.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    if certificate.not_valid_after_utc - now < RENEW_BEFORE:
        return False
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    return set(names) == set(_subject_names(hosts))


def _issue_server(
    files: TlsFiles,
    ca: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    hosts: list[str],
    now: datetime.datetime,
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key()
    # No common name: verifiers match the alternative names, and a CN like "127.0.0.1" would be
    # checked as a DNS name against the CA's name constraints by some of them.
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, _ORGANIZATION)])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(min(now + SERVER_LIFETIME, ca.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(_subject_names(hosts)), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write_private(files.server_key, _key_pem(key), 0o600)
    _write_private(files.server_cert, certificate.public_bytes(serialization.Encoding.PEM), 0o600)
    logger.info("issued a server certificate for %s", ", ".join(hosts))


def _ensure_server(
    files: TlsFiles,
    ca: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    hosts: list[str],
    now: datetime.datetime,
) -> None:
    fix = (
        f"delete {files.server_cert.name} and {files.server_key.name} in {files.directory} "
        "(they are issued again at start)"
    )
    if files.server_cert.exists() and files.server_key.exists():
        _tighten(files.server_key)
        certificate = _load_certificate(files.server_cert, fix)
        key = _load_key(files.server_key, fix)
        if _server_usable(certificate, key, ca, hosts, now):
            return
    _issue_server(files, ca, ca_key, hosts, now)


def _write_bundle(files: TlsFiles) -> None:
    """The local CA, then the public roots: requests takes a single file for both."""
    public_roots = Path(certifi.where()).read_bytes()
    local = files.ca_cert.read_bytes()
    content = (
        b"# Seven Bridges local platform CA ("
        + str(files.ca_cert).encode()
        + b")\n"
        + local.rstrip(b"\n")
        + b"\n\n# Public roots (certifi)\n"
        + public_roots
    )
    if files.bundle.exists() and files.bundle.read_bytes() == content:
        return
    _write_private(files.bundle, content, 0o600)


def ensure_tls(
    data_dir: Path,
    bind_host: str,
    extra_hosts: Iterable[str] = (),
    now: datetime.datetime | None = None,
) -> TlsFiles:
    """Create or reuse the CA, (re)issue the server certificate when needed, write the bundle.

    Raises :class:`TlsError` (one line, naming the file and the fix) for unusable files or a
    host that no certificate can name.
    """
    now = now or datetime.datetime.now(datetime.timezone.utc)
    files = tls_files(data_dir)
    hosts = certificate_hosts(bind_host, extra_hosts)
    try:
        files.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(files.directory, 0o700)
        ca, ca_key = _load_or_create_ca(files, hosts, now)
        _ensure_server(files, ca, ca_key, hosts, now)
        _write_bundle(files)
    except OSError as exc:
        raise TlsError(f"cannot prepare the TLS files in {files.directory}: {exc}") from None
    return files


class TlsServer(uvicorn.Server):
    """uvicorn, minus a wait of up to 30 s at shutdown for clients that keep a TLS connection.

    uvicorn closes idle connections when it stops, but asyncio then waits for the client's TLS
    close_notify, which a client that merely holds a pooled connection never sends; plain HTTP
    has no such wait. A connection the server has already closed is aborted instead.
    Connections still answering a request are not closing yet and are left to finish.
    """

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        reaper = asyncio.create_task(self._abort_closed_connections())
        try:
            await super().shutdown(sockets)
        finally:
            reaper.cancel()

    async def _abort_closed_connections(self) -> None:
        while True:
            await asyncio.sleep(0.2)
            for connection in list(self.server_state.connections):
                transport = getattr(connection, "transport", None)
                if transport is not None and transport.is_closing():
                    transport.abort()
