"""What the benchmark scripts share: the results file's sections, percentiles, the load-average
line, and a database to measure on (SQLite in the data directory, or PostgreSQL: a given URL or
a throw-away cluster from tests/pg_cluster.py).

Not ``driver.py``: that one runs inside the measured client's interpreter (possibly the
official client's venv, with ``python -I``) and must need nothing but the standard library and
``sevenbridges``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS_FILE = REPO_ROOT / "docs" / "benchmarks.md"


def write_section(
    start: str,
    end: str,
    body: str,
    *,
    preamble: str = "",
    results_file: Path = RESULTS_FILE,
) -> None:
    """Put ``body`` between the ``start`` and ``end`` markers of the results file, replacing
    what was there; a new section goes at the end, after ``preamble`` (a heading, an intro)."""
    text = results_file.read_text() if results_file.exists() else "# Benchmarks\n"
    block = f"{start}\n{body.rstrip()}\n{end}"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        _, after = rest.split(end, 1)
        text = before + block + after
    else:
        text = text.rstrip("\n") + "\n\n" + preamble + block + "\n"
    results_file.write_text(text)


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (``fraction`` 0.5: median, 0.99: p99); NaN when empty."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return ordered[index]


def load_text(values: Sequence[float] | None = None) -> str:
    """The 1/5/15-minute load averages as ``a / b / c`` (now, when ``values`` is None)."""
    return " / ".join(f"{value:.1f}" for value in (values or os.getloadavg()))


@contextmanager
def database_url(kind: str, data_dir: Path, given: str | None, name: str) -> Iterator[str]:
    """A database URL for one measurement: ``sqlite`` in ``data_dir``; ``postgresql`` from
    ``given``, else a new database ``name`` in a cluster started now and stopped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{Path(data_dir) / 'platform.db'}"
        return
    if kind != "postgresql":
        raise SystemExit(f"unknown database {kind!r}")
    if given:
        yield given
        return
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))  # tests/pg_cluster.py
    from tests.pg_cluster import PostgresCluster

    cluster = PostgresCluster().start()
    try:
        yield cluster.new_database(name)
    finally:
        cluster.stop()
