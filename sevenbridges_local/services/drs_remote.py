"""Reaching other GA4GH DRS v1 servers: parsing ``drs://`` URIs, fetching objects and access
URLs, and streaming an object's bytes into the blob store.

Every network call has a connect and a read timeout (``SBG_LOCAL_DRS_TIMEOUT``), so a server
that is down or silent fails its item within seconds. Bearer tokens come from
``SBG_LOCAL_DRS_TOKENS`` and go only to the DRS API of the server they are configured for; the
bytes are fetched from the access URL with nothing but the headers the server handed out.
Problems are reported as :class:`~sevenbridges_local.errors.ApiError` for the item's result.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from sevenbridges_local import errors
from sevenbridges_local.services.drs import MD5_TYPE, Digests
from sevenbridges_local.storage import BlobStore, IncompleteBody, StorageError, StorageFull

logger = logging.getLogger(__name__)

DRS_API_PATH = "/ga4gh/drs/v1"
MAX_DRS_URI_LENGTH = 2_048
# A DRS object or access answer is a small JSON document; anything larger is refused.
MAX_DRS_ANSWER_BYTES = 1024 * 1024
_SHA256_TYPES = frozenset({"sha-256", "sha256", "sha_256"})
_HTTP_ACCESS_TYPES = frozenset({"https", "http"})
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


@dataclass(frozen=True)
class DrsClientSettings:
    """How the import worker reaches DRS servers (from ``Settings``)."""

    scheme: str = "auto"  # "auto", "https" or "http"
    timeout: float = 5.0
    # "host:port" or "host" -> bearer token; never logged (repr hides it).
    tokens: Mapping[str, str] = field(default_factory=dict, repr=False)
    # "host:port" spellings of this platform's own API: such URIs are served from the local
    # database and store with the importing user's own permissions (no token, no HTTP).
    own_netlocs: frozenset[str] = frozenset()
    # Host names (lower case) the worker may contact, for DRS APIs, access URLs and their
    # redirects; None allows any host (SBG_LOCAL_DRS_ALLOWED_HOSTS).
    allowed_hosts: frozenset[str] | None = None

    def is_own(self, location: DrsLocation) -> bool:
        return location.netloc in self.own_netlocs

    def check_host(self, host: str | None, uri: str) -> None:
        """Refuse a host outside the allow-list before any connection is made to it."""
        if self.allowed_hosts is None:
            return
        name = (host or "").lower().strip("[]")
        if name not in self.allowed_hosts:
            raise errors.bad_request(
                f"'{uri}' needs the host '{name}', which this platform may not contact "
                "(SBG_LOCAL_DRS_ALLOWED_HOSTS)."
            )


def own_netlocs(host: str, port: int) -> frozenset[str]:
    """How clients may spell this platform's address in a ``drs://`` URI."""
    if not port:
        return frozenset()
    hosts = {host.lower()}
    if host in ("0.0.0.0", "::", "") or _is_loopback_name(host):
        hosts |= {"127.0.0.1", "localhost", "::1"}
    return frozenset(f"[{name}]:{port}" if ":" in name else f"{name}:{port}" for name in hosts)


def _is_loopback_name(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class DrsLocation:
    """A parsed ``drs://host[:port]/id``."""

    uri: str
    host: str  # as written, lower-cased (brackets stripped for IPv6)
    port: int | None
    object_id: str

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}" if self.port is not None else host

    @property
    def is_loopback(self) -> bool:
        return _is_loopback_name(self.host)


def bad_uri(uri: Any, reason: str) -> errors.ApiError:
    shown = uri if isinstance(uri, str) and len(uri) <= 200 else "(the given value)"
    return errors.bad_request(f"Bad DRS URI {shown!r}: {reason}.")


def parse_drs_uri(uri: Any) -> DrsLocation:
    """``drs://host/id`` or ``drs://host:port/id``; compact ``drs://prefix:accession`` URIs
    need a resolver (identifiers.org) and are refused with a message that says so."""
    if not isinstance(uri, str) or not uri.strip():
        raise bad_uri(uri, "expected a string such as drs://host/object-id")
    if len(uri) > MAX_DRS_URI_LENGTH:
        raise bad_uri(uri, f"longer than {MAX_DRS_URI_LENGTH} characters")
    if any(char.isspace() or ord(char) < 32 for char in uri):
        raise bad_uri(uri, "it contains white space or control characters")
    try:
        parts = urlsplit(uri)
    except ValueError as exc:
        raise bad_uri(uri, str(exc)) from None
    if parts.scheme.lower() != "drs":
        raise bad_uri(uri, "the scheme must be drs://")
    if parts.query or parts.fragment or "@" in parts.netloc:
        raise bad_uri(uri, "no user name, query or fragment is allowed")
    if not parts.path or parts.path == "/":
        if ":" in parts.netloc and not parts.netloc.rpartition(":")[2].isdigit():
            raise bad_uri(
                uri,
                "compact identifiers (drs://prefix:accession) are not supported; "
                "use the hostname form drs://host/object-id",
            )
        raise bad_uri(uri, "the object id is missing (drs://host/object-id)")
    try:
        host = parts.hostname
        port = parts.port
    except ValueError:
        raise bad_uri(uri, "the port must be a number from 1 to 65535") from None
    if not host:
        raise bad_uri(uri, "the host name is missing")
    object_id = parts.path[1:]
    if not object_id or "/" in object_id:
        raise bad_uri(uri, "the object id must be one non-empty path segment")
    if port == 0:
        raise bad_uri(uri, "the port must be a number from 1 to 65535")
    return DrsLocation(uri=uri, host=host.lower(), port=port, object_id=object_id)


@dataclass(frozen=True)
class RemoteObject:
    """The parts of a DRS object the import needs."""

    id: str
    name: str | None
    size: int
    checksums: dict[str, str]  # type (lower case) -> hex digest (lower case)
    access_methods: list[dict[str, Any]]


@dataclass(frozen=True)
class AccessUrl:
    url: str
    headers: dict[str, str]


def _describe_failure(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.ConnectTimeout):
        return "the connection timed out"
    if isinstance(exc, requests.ReadTimeout):
        return "it did not answer in time"
    if isinstance(exc, requests.ConnectionError):
        return "the connection failed (is the server running?)"
    return type(exc).__name__


class DrsClient:
    """HTTP calls to DRS servers for one import item."""

    def __init__(self, settings: DrsClientSettings, location: DrsLocation) -> None:
        self.settings = settings
        self.location = location
        settings.check_host(location.host, location.uri)
        self.session = requests.Session()
        # Loopback servers are reached directly, whatever proxies the environment names.
        self.session.trust_env = not location.is_loopback
        self.session.hooks["response"].append(self._check_redirect)

    def _check_redirect(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        # Runs for every hop before requests follows it: a redirect may not leave the allow-list.
        if response.is_redirect:
            target = urlsplit(response.headers.get("location", ""))
            if target.hostname:
                self.settings.check_host(target.hostname, self.location.uri)

    def close(self) -> None:
        self.session.close()

    # --- addresses -----------------------------------------------------------------------------
    @property
    def scheme(self) -> str:
        if self.settings.scheme in ("http", "https"):
            return self.settings.scheme
        return "http" if self.location.is_loopback else "https"

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.location.netloc}{DRS_API_PATH}"

    def _token(self) -> str | None:
        tokens = self.settings.tokens
        return tokens.get(self.location.netloc) or tokens.get(self.location.host)

    @property
    def _timeouts(self) -> tuple[float, float]:
        return (self.settings.timeout, self.settings.timeout)

    # --- DRS API -------------------------------------------------------------------------------
    def _get_json(self, path: str, what: str) -> dict[str, Any]:
        url = self.base_url + path
        headers = {"Accept": "application/json"}
        token = self._token()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        host = self.location.netloc
        try:
            response = self.session.get(
                url, headers=headers, timeout=self._timeouts, allow_redirects=False, stream=True
            )
        except requests.RequestException as exc:
            raise errors.bad_request(
                f"The DRS server {host} could not be reached for {what}: {_describe_failure(exc)}."
            ) from None
        with response:
            status = response.status_code
            if status == 404:
                raise errors.not_found(
                    f"The DRS server {host} has no object '{self.location.object_id}' "
                    f"(or does not show it to this platform's credentials)."
                )
            if status in (401, 403):
                raise errors.forbidden(
                    f"The DRS server {host} refused access to {what} (HTTP {status}); the "
                    "platform sends the token configured for it in SBG_LOCAL_DRS_TOKENS."
                )
            if status != 200:
                raise errors.bad_request(
                    f"The DRS server {host} answered HTTP {status} for {what}."
                )
            try:
                raw = response.raw.read(MAX_DRS_ANSWER_BYTES + 1, decode_content=True)
            except Exception:  # the connection broke or timed out mid-answer
                raise errors.bad_request(
                    f"The DRS server {host} broke off its answer for {what}."
                ) from None
        if len(raw) > MAX_DRS_ANSWER_BYTES:
            raise errors.bad_request(f"The DRS server {host} sent an oversized answer for {what}.")
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise errors.bad_request(f"The DRS server {host} sent no JSON object for {what}.")
        return body

    def get_object(self) -> RemoteObject:
        object_id = self.location.object_id
        body = self._get_json(f"/objects/{quote(object_id, safe='')}", f"object '{object_id}'")
        return _remote_object(body, self.location)

    def access_url(self, remote: RemoteObject) -> AccessUrl:
        """The first HTTP(S) access method: its inline ``access_url`` or one fetched by id."""
        for method in remote.access_methods:
            if str(method.get("type", "")).lower() not in _HTTP_ACCESS_TYPES:
                continue
            inline = method.get("access_url")
            if isinstance(inline, dict):
                return _access_from(inline, self.location)
            access_id = method.get("access_id")
            if isinstance(access_id, str) and access_id:
                path = (
                    f"/objects/{quote(self.location.object_id, safe='')}"
                    f"/access/{quote(access_id, safe='')}"
                )
                return _access_from(
                    self._get_json(path, f"an access URL of '{self.location.object_id}'"),
                    self.location,
                )
        raise errors.bad_request(
            f"DRS object '{self.location.uri}' offers no http(s) access method this platform "
            "can use."
        )

    # --- bytes ---------------------------------------------------------------------------------
    def stream_into(
        self, store: BlobStore, staging_id: str, access: AccessUrl, remote: RemoteObject
    ) -> Digests:
        """Stream the object's bytes into staging part 1 of ``staging_id``; their digests.

        Memory stays bounded (the store reads through a fixed buffer); a short, long or broken
        body fails without leaving a part behind.
        """
        headers = {**access.headers, "Accept-Encoding": "identity"}
        self.settings.check_host(urlsplit(access.url).hostname, self.location.uri)
        try:
            response = self.session.get(
                access.url, headers=headers, timeout=self._timeouts, stream=True
            )
        except requests.RequestException as exc:
            raise errors.bad_request(
                f"The bytes of '{self.location.uri}' could not be fetched: "
                f"{_describe_failure(exc)}."
            ) from None
        with response:
            if response.status_code != 200:
                raise errors.bad_request(
                    f"The access URL of '{self.location.uri}' answered HTTP {response.status_code}."
                )
            reader = _HashingReader(response.raw)
            try:
                store.write_part(staging_id, 1, reader, remote.size)
            except StorageFull as exc:
                raise errors.insufficient_storage(str(exc)) from None
            except IncompleteBody:
                raise errors.bad_request(
                    f"The content of '{self.location.uri}' ended after {reader.count} of the "
                    f"{remote.size} bytes its DRS object announces."
                ) from None
            except StorageError as exc:
                raise errors.ApiError(
                    500, errors.UNEXPECTED, f"Storing '{self.location.uri}' failed: {exc}."
                ) from None
            if reader.read(1):
                raise errors.bad_request(
                    f"The content of '{self.location.uri}' is longer than the {remote.size} "
                    "bytes its DRS object announces."
                )
        return reader.digests()


class _HashingReader:
    """A file-like view of a response body that hashes (SHA-256, MD5) and counts what it reads."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.count = 0
        self._sha256 = hashlib.sha256()
        self._md5 = hashlib.md5(usedforsecurity=False)

    def read(self, size: int = -1, /) -> bytes:
        try:
            chunk = self.raw.read(size if size >= 0 else None, decode_content=False)
        except Exception as exc:  # urllib3's timeouts and protocol errors are not OSErrors
            raise OSError(f"reading the content failed: {type(exc).__name__}") from exc
        chunk = chunk or b""
        self._sha256.update(chunk)
        self._md5.update(chunk)
        self.count += len(chunk)
        return chunk

    def digests(self) -> Digests:
        return Digests(sha256=self._sha256.hexdigest(), md5=self._md5.hexdigest())


def _remote_object(body: dict[str, Any], location: DrsLocation) -> RemoteObject:
    host = location.netloc
    size = body.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise errors.bad_request(
            f"The DRS server {host} gave object '{location.object_id}' no valid size."
        )
    checksums: dict[str, str] = {}
    for entry in body.get("checksums") or []:
        if isinstance(entry, dict):
            kind, value = entry.get("type"), entry.get("checksum")
            if isinstance(kind, str) and isinstance(value, str):
                checksums[kind.strip().lower()] = value.strip().lower()
    methods = [entry for entry in body.get("access_methods") or [] if isinstance(entry, dict)]
    name = body.get("name")
    return RemoteObject(
        id=str(body.get("id") or location.object_id),
        name=name if isinstance(name, str) and name.strip() else None,
        size=size,
        checksums=checksums,
        access_methods=methods,
    )


def _access_from(body: dict[str, Any], location: DrsLocation) -> AccessUrl:
    url = body.get("url")
    scheme = urlsplit(url).scheme.lower() if isinstance(url, str) else ""
    if scheme not in ("http", "https"):
        raise errors.bad_request(
            f"The DRS server {location.netloc} gave no http(s) URL for '{location.uri}'."
        )
    headers: dict[str, str] = {}
    for line in body.get("headers") or []:
        # DRS sends headers as "Name: value" strings.
        if isinstance(line, str) and ":" in line:
            name, _, value = line.partition(":")
            if name.strip():
                headers[name.strip()] = value.strip()
    return AccessUrl(url=url, headers=headers)


def verify_checksums(location: DrsLocation, remote: RemoteObject, digests: Digests) -> str | None:
    """Compare the fetched bytes with the object's SHA-256 or MD5; the type verified (None when
    the object lists neither, which is logged). A mismatch is the item's 400."""
    expected = next(
        (remote.checksums[kind] for kind in _SHA256_TYPES if kind in remote.checksums), None
    )
    kind, actual = "sha-256", digests.sha256
    if expected is None and MD5_TYPE in remote.checksums:
        expected, kind, actual = remote.checksums[MD5_TYPE], MD5_TYPE, digests.md5
    if expected is None:
        logger.warning(
            "DRS object %s lists no sha-256 or md5 checksum; its content is not verified",
            location.uri,
        )
        return None
    if expected != actual:
        raise errors.bad_request(
            f"The content of '{location.uri}' does not match its {kind} checksum "
            f"(expected {expected}, got {actual}); nothing was imported."
        )
    return kind
