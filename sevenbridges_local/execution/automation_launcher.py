"""The first process of an automation run, inside its sandbox: drop privileges, cap memory,
then become the package's entry point (``python <entrypoint>``).

``python -m sevenbridges_local.execution.automation_launcher <code_dir> <entrypoint>
<memory_bytes> <uid or -> <gid or ->``; stdout/stderr are already the run's log.
"""

from __future__ import annotations

import os
import resource
import sys

from sevenbridges_local.execution.namespaces import _drop_privileges


def main(argv: list[str] | None = None) -> int:
    code_dir, entrypoint, memory, uid, gid = (argv if argv is not None else sys.argv[1:])[:5]
    _drop_privileges(None if uid == "-" else int(uid), None if gid == "-" else int(gid))
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
