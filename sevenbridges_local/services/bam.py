"""Reading a BAM file's header with the standard library, for genome markers.

A BAM file is BGZF: a series of gzip members (each at most 64 KiB of data). Its decompressed
stream starts with the magic ``BAM\\1``, ``l_text`` (int32) and that many bytes of SAM header
text, then ``n_ref`` (int32) and, per reference, ``l_name`` (int32), the NUL-terminated name and
``l_ref`` (int32, the reference's length). All integers are little-endian.

Only what markers need is kept (reference name -> length). Reading is bounded: at most
``MAX_COMPRESSED_BYTES`` of the file and ``MAX_HEADER_BYTES`` of decompressed header, so a huge
or hostile file costs little. Blobs never change, so a parsed header is cached per blob key.
"""

from __future__ import annotations

import struct
import threading
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import BinaryIO

MAGIC = b"BAM\x01"
# A real header (SAM text, thousands of contigs) fits well within these.
MAX_HEADER_BYTES = 32 * 1024 * 1024
MAX_COMPRESSED_BYTES = 32 * 1024 * 1024
MAX_REFERENCES = 1_000_000
MAX_NAME_LENGTH = 256 * 1024
_READ_CHUNK = 64 * 1024
_CACHE_SIZE = 128
_INT32 = struct.Struct("<i")


class NotBam(ValueError):
    """The bytes are not a BAM file (or its header is beyond the limits); the message says why."""


@dataclass(frozen=True)
class BamHeader:
    references: dict[str, int]  # reference name -> length in bases


class _Stream:
    """Decompressed bytes of concatenated gzip members, read on demand and within limits."""

    def __init__(self, reader: BinaryIO) -> None:
        self._reader = reader
        self._buffer = bytearray()
        self._inflater = zlib.decompressobj(wbits=31)  # 31: gzip framing
        self._compressed = 0
        self._produced = 0
        self._ended = False

    def take(self, count: int) -> bytes:
        while len(self._buffer) < count:
            if not self._more():
                raise NotBam("the file ends inside the BAM header")
        data = bytes(self._buffer[:count])
        del self._buffer[:count]
        return data

    def int32(self) -> int:
        return _INT32.unpack(self.take(4))[0]

    def _more(self) -> bool:
        if self._ended:
            return False
        if self._compressed >= MAX_COMPRESSED_BYTES:
            raise NotBam(f"the BAM header is not within the first {MAX_COMPRESSED_BYTES} bytes")
        chunk = self._reader.read(min(_READ_CHUNK, MAX_COMPRESSED_BYTES - self._compressed))
        if not chunk:
            self._ended = True
            return False
        self._compressed += len(chunk)
        pending = chunk
        while pending:
            try:
                room = MAX_HEADER_BYTES - self._produced + 1
                data = self._inflater.decompress(pending, room)
            except zlib.error as exc:
                raise NotBam(f"not BGZF (gzip) compressed: {exc}") from None
            self._produced += len(data)
            if self._produced > MAX_HEADER_BYTES:
                raise NotBam(f"the BAM header is larger than {MAX_HEADER_BYTES} bytes")
            self._buffer.extend(data)
            if self._inflater.eof:  # one BGZF block done: the rest starts the next member
                pending = self._inflater.unused_data
                self._inflater = zlib.decompressobj(wbits=31)
            else:
                pending = self._inflater.unconsumed_tail
                if pending and not data:
                    break  # nothing more comes out of this input (cannot happen with room > 0)
        return True


def read_header(reader: BinaryIO) -> BamHeader:
    """Parse the BAM header at the start of ``reader``; ``NotBam`` when it is not one."""
    stream = _Stream(reader)
    try:
        magic = stream.take(len(MAGIC))
    except NotBam:
        raise NotBam("the file is not BGZF-compressed BAM data") from None
    if magic != MAGIC:
        raise NotBam("the decompressed data does not start with the BAM magic 'BAM\\1'")
    text_length = stream.int32()
    if not 0 <= text_length <= MAX_HEADER_BYTES:
        raise NotBam(f"invalid header text length {text_length}")
    stream.take(text_length)
    count = stream.int32()
    if not 0 <= count <= MAX_REFERENCES:
        raise NotBam(f"invalid number of references {count}")
    references: dict[str, int] = {}
    for _ in range(count):
        name_length = stream.int32()
        if not 1 <= name_length <= MAX_NAME_LENGTH:
            raise NotBam(f"invalid reference name length {name_length}")
        raw = stream.take(name_length)
        if raw[-1:] != b"\x00":
            raise NotBam("a reference name is not NUL-terminated")
        try:
            name = raw[:-1].decode("ascii")
        except UnicodeDecodeError:
            raise NotBam("a reference name is not ASCII") from None
        length = stream.int32()
        if length < 0:
            raise NotBam(f"reference {name!r} has a negative length")
        references[name] = length
    return BamHeader(references=references)


_cache: OrderedDict[str, BamHeader | str] = OrderedDict()
_cache_lock = threading.Lock()


def cached_header(blob_key: str, open_blob) -> BamHeader:
    """The header of an immutable blob, parsed once (``open_blob()`` opens it for reading).
    A blob found not to be BAM is remembered too, with its reason."""
    with _cache_lock:
        found = _cache.get(blob_key)
        if found is not None:
            _cache.move_to_end(blob_key)
    if found is None:
        try:
            with open_blob() as reader:
                found = read_header(reader)
        except NotBam as exc:
            found = str(exc)
        with _cache_lock:
            _cache[blob_key] = found
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
    if isinstance(found, str):
        raise NotBam(found)
    return found
