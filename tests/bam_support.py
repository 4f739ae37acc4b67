"""Hand-built BAM files for the marker tests: the header only, BGZF-compressed with the standard
library (gzip members with the ``BC`` extra field, then the empty end-of-file block)."""

from __future__ import annotations

import struct
import zlib

GRCH38_SOME = {"chr1": 248_956_422, "chr17": 83_257_441, "chrM": 16_569}
BGZF_BLOCK_DATA = 65_280  # what samtools puts in one block


def bam_header_bytes(
    references: dict[str, int], text: str = "@HD\tVN:1.6\tSO:coordinate\n"
) -> bytes:
    """The uncompressed BAM header: magic, SAM text, references."""
    encoded = text.encode()
    parts = [
        b"BAM\x01",
        struct.pack("<i", len(encoded)),
        encoded,
        struct.pack("<i", len(references)),
    ]
    for name, length in references.items():
        raw = name.encode() + b"\x00"
        parts += [struct.pack("<i", len(raw)), raw, struct.pack("<i", length)]
    return b"".join(parts)


def bgzf_block(data: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    deflated = compressor.compress(data) + compressor.flush()
    # gzip header with FEXTRA: subfield 'BC' holds the block size minus one.
    block_size = 18 + len(deflated) + 8
    header = b"\x1f\x8b\x08\x04" + b"\x00" * 4 + b"\x00\xff" + struct.pack("<H", 6)
    header += b"BC" + struct.pack("<HH", 2, block_size - 1)
    return header + deflated + struct.pack("<II", zlib.crc32(data), len(data))


def bgzf(data: bytes) -> bytes:
    blocks = [
        bgzf_block(data[i : i + BGZF_BLOCK_DATA]) for i in range(0, len(data), BGZF_BLOCK_DATA)
    ]
    return b"".join(blocks) + bgzf_block(b"")


def bam_file_bytes(references: dict[str, int] | None = None, text: str | None = None) -> bytes:
    """A BAM file with the given references (default: three GRCh38 ones) and no reads."""
    references = GRCH38_SOME if references is None else references
    header = bam_header_bytes(references) if text is None else bam_header_bytes(references, text)
    return bgzf(header)
