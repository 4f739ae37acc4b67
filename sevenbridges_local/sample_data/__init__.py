"""Small sample files shipped with the package (``sbg local sample-data`` copies them out).

``reads.fastq``: 24 single-end reads of 36 bases, sample NA12878 (random bases, made up).
"""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

SAMPLE_FILES = ("reads.fastq",)


def copy_sample_data(destination: Path) -> list[tuple[Path, bool]]:
    """Copy the sample files into ``destination``; ``(path, copied)`` for each, where an existing
    file of that name is left alone (``copied`` False)."""
    destination.mkdir(parents=True, exist_ok=True)
    copied = []
    package = resources.files(__name__)
    for name in SAMPLE_FILES:
        target = destination / name
        if target.exists():
            copied.append((target, False))
            continue
        with resources.as_file(package / name) as source:
            shutil.copyfile(source, target)
        copied.append((target, True))
    return copied
