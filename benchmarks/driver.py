"""Timing driver: runs inside the interpreter of the client being measured.

``benchmarks/api.py`` starts it once per client (ours: ``.venv/bin/python``, official:
``.venv-official/bin/python``) with ``python -I driver.py``, so both clients are timed the same way
and interpreter start-up is excluded. Reads ``BENCH_URL``, ``BENCH_TOKEN``, ``BENCH_ME_CALLS``,
``BENCH_EXPECTED_PROJECTS``, ``BENCH_RUNS``; writes one JSON object to stdout.
Standard library plus the ``sevenbridges`` under test only.
"""

from __future__ import annotations

import json
import os
import sys
import time

import sevenbridges as sbg


def time_me_calls(api: sbg.Api, calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        api.users.me()
    return time.perf_counter() - started


def time_project_listing(api: sbg.Api, expected: int) -> tuple[float, int]:
    started = time.perf_counter()
    count = sum(1 for _ in api.projects.query(limit=100).all())
    elapsed = time.perf_counter() - started
    if count != expected:
        raise SystemExit(f"listed {count} projects, expected {expected}")
    return elapsed, count


def main() -> int:
    url = os.environ["BENCH_URL"]
    me_calls = int(os.environ["BENCH_ME_CALLS"])
    expected = int(os.environ["BENCH_EXPECTED_PROJECTS"])
    runs = int(os.environ["BENCH_RUNS"])
    # debug=True: the local platform is plain http on loopback, which the official client refuses
    # otherwise; it only relaxes the scheme check.
    api = sbg.Api(url=url, token=os.environ["BENCH_TOKEN"], debug=True)
    api.users.me()  # warm up: connection pool, lazy imports

    me_seconds = [time_me_calls(api, me_calls) for _ in range(runs)]
    listing = [time_project_listing(api, expected) for _ in range(runs)]
    json.dump(
        {
            "client": f"sevenbridges {getattr(sbg, '__version__', '?')}",
            "location": os.path.dirname(os.path.abspath(sbg.__file__)),
            "python": sys.version.split()[0],
            "me_seconds": me_seconds,
            "list_seconds": [seconds for seconds, _ in listing],
            "listed": listing[0][1] if listing else 0,
        },
        sys.stdout,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
