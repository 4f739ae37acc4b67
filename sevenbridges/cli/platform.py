"""``sbg local ...`` and ``sbg demo`` (handed to their own parsers), and ``sbg completion``."""

from __future__ import annotations

import click
from click.shell_completion import get_completion_class

from sevenbridges.cli.main import EXIT_USAGE, CliError

PASS_THROUGH = {
    "ignore_unknown_options": True,
    "allow_extra_args": True,
    "allow_interspersed_args": False,
    "help_option_names": [],
}


@click.command(context_settings=PASS_THROUGH, add_help_option=False)
@click.argument("arguments", nargs=-1, type=click.UNPROCESSED)
def local(arguments: tuple[str, ...]) -> int:
    """Run and manage the local platform: serve, token, users, status, sample-data, reset."""
    try:
        from sevenbridges_local.cli import main as local_main
    except ImportError as exc:  # the server lives in an optional extra
        raise CliError(
            "sbg local needs the local platform: "
            f"pip install 'sevenbridges-toolkit[local]' ({exc})",
            EXIT_USAGE,
        )
    return local_main(list(arguments))


@click.command(context_settings=PASS_THROUGH, add_help_option=False)
@click.argument("arguments", nargs=-1, type=click.UNPROCESSED)
def demo(arguments: tuple[str, ...]) -> int:
    """Start a throw-away local platform and run the main flow end to end (sbg demo --help)."""
    from sevenbridges.cli.demo import main as demo_main

    return demo_main(list(arguments))


@click.command()
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    """Print the shell completion script, e.g. eval "$(sbg completion bash)"."""
    from sevenbridges.cli.main import cli

    completer = get_completion_class(shell)
    assert completer is not None
    click.echo(completer(cli, {}, "sbg", "_SBG_COMPLETE").source())
