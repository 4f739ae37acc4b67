"""The ``sbg`` command line: one entry point for the client and the local platform."""

from __future__ import annotations

import argparse
import sys


def _local(argv: list[str]) -> int:
    try:
        from sevenbridges_local.cli import main as local_main
    except ImportError as exc:  # the server lives in an optional extra
        print(
            "sbg local needs the local platform extra: "
            f"pip install 'sevenbridges-toolkit[local]' ({exc})",
            file=sys.stderr,
        )
        return 2
    return local_main(argv)


def _demo(argv: list[str]) -> int:
    from sevenbridges.cli.demo import main as demo_main

    return demo_main(argv)


COMMANDS = {
    "local": (_local, "run and manage the local platform (serve, token, users)"),
    "demo": (_demo, "start an embedded local platform and run the main flow end to end"),
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        prog="sbg",
        description="Seven Bridges toolkit: client commands and the local platform.",
    )
    parser.add_argument("command", choices=sorted(COMMANDS), help="; ".join(
        f"{name}: {help_}" for name, (_, help_) in sorted(COMMANDS.items())
    ))
    if not argv or argv[0] in ("-h", "--help"):
        parser.print_help()
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        parser.error(f"unknown command {command!r}")
    handler, _ = COMMANDS[command]
    return handler(rest)


if __name__ == "__main__":
    sys.exit(main())
