"""The data plane: a small threaded HTTP/1.1 server that moves file bytes.

The API (uvicorn) hands out signed URLs; the bytes themselves go through this server on its own
loopback port, started and stopped with the API in the same process:

- ``PUT /parts/<upload id>/<part number>?expires=..&signature=..`` streams exactly
  ``Content-Length`` bytes into the blob store (for the multipart API: straight into the part's
  place in the final file; never a whole part in memory) and answers 200 with
  ``ETag: "<md5 hex>"``, as S3 does, once the part is on disk;
- ``GET|HEAD /objects/<blob key>?expires=..&signature=..`` serves an object, whole (200) or one
  ``Range`` (206 with ``Content-Range``; 416 when unsatisfiable), with ``socket.sendfile`` so the
  kernel copies the bytes.

Why not uvicorn: ASGI has no zero-copy file sending and buffers request bodies in Python chunks.
The data plane checks signatures only: it never touches the database, so it needs no token and
stays fast. Errors carry the platform's JSON error body.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import re
import socket
import socketserver
import ssl
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import BinaryIO
from urllib.parse import parse_qsl, urlsplit

from sevenbridges_local import errors
from sevenbridges_local.faults import FaultSwitches
from sevenbridges_local.signing import ExpiredSignature, SignatureError, UrlSigner
from sevenbridges_local.storage import (
    BlobStore,
    IncompleteBody,
    ObjectNotFound,
    PartDoesNotFit,
    StorageError,
    StorageFull,
    UploadNotFound,
)

logger = logging.getLogger(__name__)

PORT_FILE_NAME = "dataplane.port"
MAX_PART_SIZE = 5 * 1024**3
# Idle keep-alive connections and stalled transfers release their thread after this long.
SOCKET_TIMEOUT_SECONDS = 120
_DISCARD_CHUNK = 1024 * 1024
# A refused part up to this size is read and dropped so that the client can read the answer.
_DRAIN_LIMIT = 64 * 1024 * 1024

_PART_ROUTE = re.compile(r"^/parts/([A-Za-z0-9_-]{1,128})/([0-9]{1,5})$")
_OBJECT_ROUTE = re.compile(r"^/objects/([A-Za-z0-9_-]{1,128})$")

_WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})

UPLOAD_NOT_FOUND = 8003
FILE_NOT_FOUND = 5002


class RangeNotSatisfiable(Exception):
    """The requested byte range lies entirely outside the object."""


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive byte range to send for a ``Range`` header, or None for the whole object.

    One range only (``a-b``, ``a-`` or the suffix ``-n``); an end past the last byte is clamped.
    Headers this server does not understand (other units, several ranges, malformed syntax) are
    ignored, as HTTP allows, which means the whole object is sent.
    """
    if not header:
        return None
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    first, last = first.strip(), last.strip()
    if not dash or (first and not first.isdigit()) or (last and not last.isdigit()):
        return None
    if not first:
        if not last:
            return None
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable
        return max(0, size - suffix), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None  # syntactically invalid: ignored
    if start >= size:
        raise RangeNotSatisfiable
    return start, min(end, size - 1)


class _FlipFirstByte:
    """Reader wrapper for the ``corrupt_parts`` fault: damages the first byte that passes."""

    def __init__(self, inner: BinaryIO) -> None:
        self._inner = inner
        self._flipped = False

    def read(self, size: int = -1, /) -> bytes:
        data = self._inner.read(size)
        if data and not self._flipped:
            self._flipped = True
            data = bytes([data[0] ^ 0xFF]) + data[1:]
        return data


class _Pacer:
    """Holds one request's bytes to a rate (WAN emulation): sleeps when ahead of schedule."""

    def __init__(self, bytes_per_second: float) -> None:
        self.rate = bytes_per_second
        self._started = time.monotonic()
        self._moved = 0
        # Small steps keep the flow smooth; 50 per second is plenty for the emulation.
        self.step = max(16 * 1024, int(bytes_per_second / 50))

    def moved(self, count: int) -> None:
        self._moved += count
        ahead = self._moved / self.rate - (time.monotonic() - self._started)
        if ahead > 0:
            time.sleep(ahead)


class _PacedReader:
    """A request body reader that never goes faster than its pacer allows."""

    def __init__(self, inner: BinaryIO, pacer: _Pacer) -> None:
        self._inner = inner
        self._pacer = pacer

    def readinto(self, buffer: memoryview | bytearray) -> int:
        view = memoryview(buffer)[: self._pacer.step]
        count = self._inner.readinto(view) or 0
        self._pacer.moved(count)
        return count

    def read(self, size: int = -1, /) -> bytes:
        step = self._pacer.step if size is None or size < 0 else min(size, self._pacer.step)
        data = self._inner.read(step)
        self._pacer.moved(len(data))
        return data


class DataPlaneServer(ThreadingHTTPServer):
    """One thread per connection; threads are daemons so a stuck client never blocks shutdown."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        *,
        store: BlobStore,
        signer: UrlSigner,
        switches: FaultSwitches,
        ssl_context: ssl.SSLContext | None = None,
        bind_and_activate: bool = True,
    ) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.store = store
        self.signer = signer
        self.switches = switches
        self.ssl_context = ssl_context
        super().__init__(address, DataPlaneHandler, bind_and_activate)

    def get_request(self) -> tuple[socket.socket, object]:
        connection, address = super().get_request()
        if self.ssl_context is not None:
            # The handshake happens in the connection's own thread (DataPlaneHandler.handle):
            # a slow or silent client must not hold up the accept loop.
            connection = self.ssl_context.wrap_socket(
                connection, server_side=True, do_handshake_on_connect=False
            )
        return connection, address

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks up the host's FQDN, which can stall on a broken resolver.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)


class DataPlaneHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: clients reuse connections across parts
    server_version = "SevenBridgesLocalDataPlane/1"
    timeout = SOCKET_TIMEOUT_SECONDS
    server: DataPlaneServer

    # --- plumbing -----------------------------------------------------------------------------
    def version_string(self) -> str:
        return self.server_version  # no Python version in the Server header

    def setup(self) -> None:
        super().setup()
        # Small responses (a PUT's 200, headers before sendfile) must not wait for delayed ACKs.
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle(self) -> None:
        if isinstance(self.connection, ssl.SSLSocket):
            try:
                self.connection.do_handshake()
            except (ssl.SSLError, OSError) as exc:  # e.g. plain HTTP, or a client without our CA
                logger.debug(
                    "data plane TLS handshake with %s failed: %s", self.client_address[0], exc
                )
                self.close_connection = True
                return
        super().handle()

    def _path_only(self) -> str:
        # The query string holds the signature, a bearer credential: never log it.
        path = getattr(self, "path", None)  # unset when the request line was unreadable
        return urlsplit(path).path if isinstance(path, str) else "-"

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        logger.debug("%s %s -> %s", self.command, self._path_only(), code)

    def log_message(self, format: str, *args: object) -> None:
        logger.debug("data plane %s: %s", self.client_address[0], format % args)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Errors detected by http.server itself (bad request line, oversized headers)."""
        phrase = message or HTTPStatus(code).phrase
        platform_code = {404: errors.NOT_FOUND, 405: errors.METHOD_NOT_ALLOWED}.get(
            code, errors.BAD_REQUEST if code < 500 else errors.UNEXPECTED
        )
        self._error(code, platform_code, phrase, close=True)

    def _error(
        self,
        status: int,
        code: int,
        message: str,
        *,
        close: bool = False,
        headers: dict[str, str] | None = None,
    ) -> None:
        body = json.dumps(errors.ApiError(status, code, message).body()).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if close:
            # An unread request body would otherwise be parsed as the next request.
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if getattr(self, "command", None) != "HEAD":
            self.wfile.write(body)

    def _pause_if_asked(self) -> None:
        state = self.server.switches.state
        delay_ms = state.transfer_delay_ms + state.wan_latency_ms
        if delay_ms > 0:
            time.sleep(delay_ms / 1000)

    def _pacer(self) -> _Pacer | None:
        """A pacer for this request when WAN emulation caps the bandwidth."""
        mbps = self.server.switches.state.wan_bandwidth_mbps
        return _Pacer(mbps * 1_000_000 / 8) if mbps > 0 else None

    def _query(self) -> dict[str, str]:
        return dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True))

    def _authorized(self, method: str, *, close: bool) -> bool:
        try:
            self.server.signer.verify(method, self._path_only(), self._query())
        except ExpiredSignature:
            self._error(403, errors.FORBIDDEN, "The signed URL has expired.", close=close)
            return False
        except SignatureError:
            self._error(403, errors.FORBIDDEN, "The URL signature is not valid.", close=close)
            return False
        return True

    def _route(self) -> tuple[str, re.Match[str]] | None:
        path = self._path_only()
        for kind, pattern in (("part", _PART_ROUTE), ("object", _OBJECT_ROUTE)):
            match = pattern.match(path)
            if match:
                return kind, match
        return None

    def _dispatch(self, allowed_kind: str) -> re.Match[str] | None:
        """The route match when this method fits the path; otherwise answers 404 or 405."""
        found = self._route()
        if found is None or found[0] != allowed_kind:
            self._not_allowed()
            return None
        return found[1]

    def _not_allowed(self) -> None:
        found = self._route()
        allow = {"part": "PUT", "object": "GET, HEAD"}.get(found[0]) if found else None
        if allow is None:
            self._error(404, errors.NOT_FOUND, f"Nothing at {self._path_only()}.", close=True)
            return
        message = f"Method {self.command} is not allowed on {self._path_only()}."
        self._error(405, errors.METHOD_NOT_ALLOWED, message, close=True, headers={"Allow": allow})

    do_POST = do_PATCH = do_DELETE = do_OPTIONS = _not_allowed

    # --- uploads ------------------------------------------------------------------------------
    def handle_expect_100(self) -> bool:
        # Refuse before the client sends a body it cannot use (curl asks first for big bodies).
        if self.command == "PUT" and self._route() is not None:
            if not self._authorized("PUT", close=True):
                return False
            raw = (self.headers.get("Content-Length") or "").strip()
            if raw.isdigit():
                try:
                    self.server.store.ensure_space(int(raw), "store this part")
                except StorageFull as exc:
                    self._error(507, errors.UNEXPECTED, str(exc), close=True)
                    return False
        return super().handle_expect_100()

    def _refuse_for_space(self, exc: StorageFull, unread: int) -> None:
        """507 for a part there is no room for. A body of usual part size is read and dropped
        first, so the client gets to read the answer instead of a reset connection."""
        logger.warning("refused a part of %d bytes: %s", unread, exc)
        self._drain(unread)
        self._error(507, errors.UNEXPECTED, str(exc), close=True)

    def _drain(self, unread: int) -> None:
        """Read and drop a refused body of usual part size, so the client sees the answer."""
        if unread <= _DRAIN_LIMIT:
            with contextlib.suppress(OSError):
                while unread:
                    chunk = self.rfile.read(min(unread, _DISCARD_CHUNK))
                    if not chunk:
                        break
                    unread -= len(chunk)

    def do_PUT(self) -> None:
        self._pause_if_asked()
        match = self._dispatch("part")
        if match is None or not self._authorized("PUT", close=True):
            return
        upload_id, part_number = match.group(1), int(match.group(2))
        length = self._content_length()
        if length is None:
            return
        store = self.server.store
        if not store.upload_exists(upload_id):
            self._error(404, UPLOAD_NOT_FOUND, "The upload does not exist.", close=True)
            return
        try:  # before reading the body (the store checks again when it writes)
            store.ensure_space(length, f"store part {part_number}")
        except StorageFull as exc:
            self._refuse_for_space(exc, length)
            return
        if self.server.switches.consume("drop_transfers"):
            self._drop_upload(length)
            return
        body: BinaryIO | _FlipFirstByte | _PacedReader = self.rfile
        pacer = self._pacer()
        if pacer is not None:
            body = _PacedReader(self.rfile, pacer)
        if length and self.server.switches.consume("corrupt_parts"):
            body = _FlipFirstByte(body)  # type: ignore[arg-type]
        try:
            part = store.write_part(upload_id, part_number, body, length)
        except IncompleteBody as exc:
            self._error(400, errors.BAD_REQUEST, f"Incomplete body: {exc}.", close=True)
            return
        except PartDoesNotFit as exc:
            self._drain(length)  # refused before a byte was read
            self._error(400, errors.BAD_REQUEST, str(exc), close=True)
            return
        except UploadNotFound:
            self._error(404, UPLOAD_NOT_FOUND, "The upload does not exist.", close=True)
            return
        except StorageFull as exc:
            # The disk filled up while the part was written (or the body could not be read):
            # nothing was stored and the message says why.
            logger.warning("storing part %s of upload %s failed: %s", part_number, upload_id, exc)
            self._error(507, errors.UNEXPECTED, str(exc), close=True)
            return
        except StorageError as exc:
            logger.error("storing part %s of upload %s failed: %s", part_number, upload_id, exc)
            self._error(500, errors.UNEXPECTED, str(exc), close=True)
            return
        self.send_response(200)
        self.send_header("ETag", f'"{part.etag}"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _content_length(self) -> int | None:
        if self.headers.get("Transfer-Encoding"):
            self._error(411, errors.BAD_REQUEST, "Send the part with a Content-Length.", close=True)
            return None
        raw = self.headers.get("Content-Length")
        if raw is None:
            self._error(411, errors.BAD_REQUEST, "Content-Length is required.", close=True)
            return None
        raw = raw.strip()
        if not raw.isdigit():
            self._error(400, errors.BAD_REQUEST, "Content-Length is not a number.", close=True)
            return None
        length = int(raw)
        if length > MAX_PART_SIZE:
            self._error(
                413, errors.BAD_REQUEST, f"A part holds at most {MAX_PART_SIZE} bytes.", close=True
            )
            return None
        return length

    def _drop_upload(self, length: int) -> None:
        """The ``drop_transfers`` fault: take half the body, store nothing, hang up."""
        remaining = length // 2
        with contextlib.suppress(OSError):
            while remaining:
                chunk = self.rfile.read(min(remaining, _DISCARD_CHUNK))
                if not chunk:
                    break
                remaining -= len(chunk)
        logger.info("fault injection: dropped an upload of %s after %s bytes", length, length // 2)
        self._hang_up()

    def _hang_up(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    # --- downloads ----------------------------------------------------------------------------
    def do_GET(self) -> None:
        self._serve_object(send_body=True)

    def do_HEAD(self) -> None:
        self._serve_object(send_body=False)

    def _open_object(self, key: str) -> BinaryIO | None:
        store = self.server.store
        try:
            path = store.local_path(key)
            return open(path, "rb") if path is not None else store.open(key)
        except (FileNotFoundError, ObjectNotFound, StorageError):
            return None

    def _serve_object(self, *, send_body: bool) -> None:
        self._pause_if_asked()
        match = self._dispatch("object")
        if match is None or not self._authorized("GET", close=False):
            return
        source = self._open_object(match.group(1))
        if source is None:
            self._error(404, FILE_NOT_FOUND, "The object does not exist.")
            return
        with source:
            try:
                size = os.fstat(source.fileno()).st_size
            except OSError:  # a store's reader without a file behind it (S3): ask the reader
                size = source.seek(0, os.SEEK_END)
            try:
                wanted = parse_range(self.headers.get("Range"), size)
            except RangeNotSatisfiable:
                self._error(
                    416,
                    errors.BAD_REQUEST,
                    f"The range is not satisfiable for an object of {size} bytes.",
                    headers={"Content-Range": f"bytes */{size}"},
                )
                return
            start, end = wanted if wanted is not None else (0, size - 1)
            count = end - start + 1 if size else 0
            dropping = self.server.switches.consume("drop_transfers")
            if dropping and not send_body:
                self._hang_up()
                return
            self.send_response(206 if wanted is not None else 200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(count))
            self.send_header("Accept-Ranges", "bytes")
            if wanted is not None:
                self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
            self.end_headers()
            if not send_body:
                return
            if dropping:
                logger.info("fault injection: dropped a download after %s bytes", count // 2)
                self._send_file(source, start, count // 2)
                self._hang_up()
                return
            self._send_file(source, start, count)

    def _send_file(self, source: BinaryIO, offset: int, count: int) -> None:
        if count <= 0:
            return
        pacer = self._pacer()
        try:
            if pacer is None:
                # os.sendfile underneath for regular files: the kernel copies, no Python loop.
                self.connection.sendfile(source, offset, count)
                return
            end = offset + count
            while offset < end:  # WAN emulation: the kernel still copies, in paced steps
                step = min(pacer.step, end - offset)
                self.connection.sendfile(source, offset, step)
                offset += step
                pacer.moved(step)
        except OSError as exc:  # the client went away or stalled past the timeout
            logger.debug("download of %s bytes interrupted: %s", count, exc)
            self.close_connection = True


class DataPlane:
    """Owns the data-plane server thread: ``start()``, ``port``, ``base_url()``, ``stop()``."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        store: BlobStore,
        signer: UrlSigner,
        switches: FaultSwitches,
        port_file: Path | None = None,
        avoid_port: int | None = None,
        ssl_context: ssl.SSLContext | None = None,
        listen_socket: socket.socket | None = None,
        public_port: int | None = None,
    ) -> None:
        """``listen_socket``: a socket already bound and listening (shared by several API
        processes, see cli.py); ``public_port``: the port a trusted proxy exposes it on."""
        self.host = host
        self.listen_socket = listen_socket
        self.public_port = public_port
        self.ssl_context = ssl_context
        self.scheme = "https" if ssl_context is not None else "http"
        self.requested_port = port
        self.store = store
        self.signer = signer
        self.switches = switches
        self.port_file = port_file
        self.avoid_port = avoid_port
        self._server: DataPlaneServer | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        where = f"{self.host}:{self.port}" if self._server else "stopped"
        return f"<DataPlane {where}>"

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the data plane is not running")
        return self._server.server_port

    def _remembered_port(self) -> int | None:
        if self.port_file is None:
            return None
        with contextlib.suppress(OSError, ValueError):
            port = int(self.port_file.read_text().strip())
            if 0 < port < 65536 and port != self.avoid_port:
                return port
        return None

    def _adopt(self, sock: socket.socket) -> DataPlaneServer:
        server = DataPlaneServer(
            sock.getsockname()[:2],
            store=self.store,
            signer=self.signer,
            switches=self.switches,
            ssl_context=self.ssl_context,
            bind_and_activate=False,
        )
        server.socket.close()
        server.socket = sock
        server.server_address = sock.getsockname()
        server.server_name, server.server_port = str(self.host), int(server.server_address[1])
        return server

    def _bind(self, port: int) -> DataPlaneServer:
        return DataPlaneServer(
            (self.host, port),
            store=self.store,
            signer=self.signer,
            switches=self.switches,
            ssl_context=self.ssl_context,
        )

    def _bind_any(self) -> DataPlaneServer:
        # The API port may still be free while its server starts: never take it.
        for _ in range(10):
            server = self._bind(0)
            if server.server_port != self.avoid_port:
                return server
            server.server_close()
        raise OSError(errno.EADDRINUSE, "no free port for the data plane")

    def start(self) -> None:
        if self._server is not None:
            return
        if self.listen_socket is not None:
            server = self._adopt(self.listen_socket)
        elif self.requested_port:
            server = self._bind(self.requested_port)
        else:
            # Reusing the last port keeps signed URLs handed out before a restart working.
            server = None
            remembered = self._remembered_port()
            if remembered is not None:
                with contextlib.suppress(OSError):
                    server = self._bind(remembered)
            server = server or self._bind_any()
        self._server = server
        if self.port_file is not None:
            with contextlib.suppress(OSError):
                self.port_file.write_text(f"{server.server_port}\n")
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="data-plane",
            daemon=True,
        )
        self._thread.start()
        logger.info("data plane listening on %s:%s", self.host, server.server_port)

    def base_url(self, client_host: str | None = None, scheme: str | None = None) -> str:
        """``http(s)://host:port`` for a client that reached the API under ``client_host``.

        Bound to one address, that address is the answer; bound to every interface, the name
        the client used for the API reaches this server too. ``scheme``: the client came
        through a trusted proxy (forwarded.py) with this scheme; the URL then names the host
        it forwarded and the public data port (a proxy in front of the data plane as well).
        """
        if scheme is not None and client_host:
            host = f"[{client_host}]" if ":" in client_host else client_host
            return f"{scheme}://{host}:{self.public_port or self.port}"
        host = self.host
        if host in _WILDCARD_HOSTS:
            host = client_host if client_host and client_host not in _WILDCARD_HOSTS else ""
            host = host or "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"{self.scheme}://{host}:{self.port}"

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        logger.info("data plane stopped")
