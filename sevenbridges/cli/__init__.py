"""The ``sbg`` command line (an optional extra: ``pip install 'sevenbridges-toolkit[cli]'``).

The library itself needs only ``requests``; the command line is built on click and rich, which
this module checks for before importing anything that needs them.
"""

from __future__ import annotations

import sys

INSTALL_HINT = "sbg needs the command-line extra: pip install 'sevenbridges-toolkit[cli]'"


def main(argv: list[str] | None = None) -> int:
    """Run ``sbg`` with ``argv`` (default: the process arguments); returns the exit code."""
    try:
        import click  # noqa: F401
        import rich  # noqa: F401
    except ImportError:
        print(INSTALL_HINT, file=sys.stderr)
        return 2
    from sevenbridges.cli.main import cli

    return int(cli.main(args=argv, prog_name="sbg", standalone_mode=False) or 0)


if __name__ == "__main__":
    sys.exit(main())
