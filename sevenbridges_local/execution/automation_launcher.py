"""The first process of an automation run, inside its sandbox: drop privileges, cap memory,
then become the package's entry point (``python <entrypoint>``).

``python -m sevenbridges_local.execution.automation_launcher <code_dir> <entrypoint>
<memory_bytes> <uid or -> <gid or ->``; stdout/stderr are already the run's log.
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import sys

from sevenbridges_local.execution.namespaces import _drop_privileges

PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the sweep's kill is all there is
        pass


def main(argv: list[str] | None = None) -> int:
    code_dir, entrypoint, memory, uid, gid = (argv if argv is not None else sys.argv[1:])[:5]
    _drop_privileges(None if uid == "-" else int(uid), None if gid == "-" else int(gid))
    # After the drop (a change of credentials clears it): the run dies with the server process
    # that started it, even by kill -9, so a run taken back by another process runs only there.
    _die_with_parent()
    limit = int(memory)
    if limit > 0:
        # Address space, not resident memory: the only limit that needs no cgroup.
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    os.chdir(code_dir)
    sys.stdout.flush()
    os.execv(sys.executable, [sys.executable, "-u", os.path.join(code_dir, entrypoint)])
    return 127  # not reached


if __name__ == "__main__":
    raise SystemExit(main())
