"""The ``sbg`` application: global options, connection settings, exit codes, error reporting.

Exit codes (also in the README and ``sbg --help``):

* 0 - success
* 1 - the platform refused the request, a transfer failed, or an import/export ended FAILED
* 2 - usage: unknown command or option, bad value, missing local path, no configuration
* 3 - not found: the platform has no such resource (HTTP 404)
* 4 - not allowed: the token is invalid or lacks permission (HTTP 401/403)
* 5 - cannot reach the endpoint (connection refused, name not resolved, TLS failure)
* 6 - a task ended without completing (``tasks run --wait``, ``tasks watch``)
* 130 - interrupted (Ctrl-C)
"""

from __future__ import annotations

import difflib
import logging
import os
import sys
from dataclasses import dataclass, field
from typing import Any

import click
import requests

from sevenbridges import __version__
from sevenbridges.cli.output import OUTPUT_FORMATS, error_console, output_options
from sevenbridges.errors import SbgError

EXIT_OK = 0
EXIT_API_ERROR = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_NOT_ALLOWED = 4
EXIT_UNREACHABLE = 5
EXIT_TASK_FAILED = 6
EXIT_INTERRUPTED = 130

EXIT_CODES_HELP = (
    "Exit codes: 0 ok, 1 platform or transfer error, 2 usage, 3 not found, 4 not allowed, "
    "5 endpoint unreachable, 6 task did not complete, 130 interrupted."
)


class CliError(click.ClickException):
    """A failure the command explains itself, with the exit code it should end with."""

    def __init__(self, message: str, exit_code: int = EXIT_API_ERROR) -> None:
        super().__init__(message)
        self.exit_code = exit_code

    def show(self, file: Any = None) -> None:
        error_console().print(f"error: {self.format_message()}", markup=False, highlight=False)


@dataclass
class State:
    """Global options and the lazily created client, shared by every command."""

    profile: str | None = None
    endpoint: str | None = None
    token: str | None = None
    output: str = "table"
    verbosity: int = 0
    _api: Any = field(default=None, repr=False)

    @property
    def quiet(self) -> bool:
        return self.verbosity < 0

    def api(self) -> Any:
        if self._api is None:
            from sevenbridges.cli.connection import connect

            self._api = connect(self.profile, self.endpoint, self.token)
        return self._api


def state() -> State:
    return click.get_current_context().ensure_object(State)


def _one_line(text: Any) -> str:
    return " ".join(str(text).split())


def _untrusted_message(endpoint: str | None) -> str:
    """The server answered with a certificate this process does not trust."""
    from sevenbridges.api import _is_loopback_host

    where = endpoint or "the endpoint"
    if endpoint and _is_loopback_host(endpoint):
        return (
            f"the certificate of {where} is not trusted: for `sbg local serve --tls`, "
            "export REQUESTS_CA_BUNDLE=DATA_DIR/tls/ca-bundle.pem (its start-up lines show it)"
        )
    return (
        f"the certificate of {where} is not trusted: set REQUESTS_CA_BUNDLE to a bundle with its CA"
    )


def _describe_api_error(exc: SbgError) -> tuple[str, int]:
    """The one line shown for a client error, and the exit code it maps to."""
    cause = exc.__cause__ or exc.__context__
    # An SSLError is a ConnectionError too, but the server did answer: say what to trust.
    if isinstance(cause, requests.exceptions.SSLError) or "CERTIFICATE_VERIFY_FAILED" in str(
        exc.message
    ):
        from sevenbridges.cli import connection

        return _untrusted_message(connection.last_endpoint), EXIT_UNREACHABLE
    if isinstance(cause, requests.ConnectionError) or (
        exc.status is None and "Connection" in str(exc.message)
    ):
        from sevenbridges.cli import connection

        return connection.unreachable_message(connection.last_endpoint), EXIT_UNREACHABLE
    message = _one_line(exc.message or type(exc).__name__)
    details = []
    if exc.code not in (None, -1):
        details.append(f"code {exc.code}")
    if exc.status not in (None, -1):
        details.append(f"HTTP {exc.status}")
    line = message + (f" ({', '.join(details)})" if details else "")
    if exc.status == 404:
        return line, EXIT_NOT_FOUND
    if exc.status in (401, 403):
        return line, EXIT_NOT_ALLOWED
    return line, EXIT_API_ERROR


def _configure_logging(verbosity: int) -> None:
    level = {-1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO}.get(
        max(-1, min(verbosity, 2)), logging.DEBUG
    )
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", force=True)
    if verbosity < 2:
        # urllib3 warns of each transport retry; the final failure is reported as one line.
        logging.getLogger("urllib3").setLevel(logging.ERROR if verbosity < 1 else logging.INFO)
    # A failed transfer is reported once, in the command's summary.
    logging.getLogger("sevenbridges.transfer._engine").setLevel(max(level, logging.CRITICAL))


class SbgGroup(click.Group):
    """The top-level group: suggests close commands, turns errors into exit codes."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            close = difflib.get_close_matches(name, self.list_commands(ctx), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            ctx.fail(f"No such command '{name}'.{hint}")
        return super().resolve_command(ctx, args)

    def main(  # type: ignore[override]
        self,
        args: list[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        code = self._run(args, prog_name, complete_var, **extra)
        if standalone_mode:
            sys.exit(code)
        return code

    def _run(self, args: Any, prog_name: Any, complete_var: Any, **extra: Any) -> int:
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.Exit as exc:
            return exc.exit_code
        except click.ClickException as exc:
            exc.show()
            return exc.exit_code
        except (click.Abort, KeyboardInterrupt):
            error_console().print("interrupted", highlight=False)
            return EXIT_INTERRUPTED
        except SbgError as exc:
            line, code = _describe_api_error(exc)
            error_console().print(f"error: {line}", markup=False, highlight=False)
            return code
        except BrokenPipeError:
            # `sbg files ls | head`: the reader left; say nothing more.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return EXIT_OK
        except Exception as exc:  # a bug: one line, the traceback only when asked for
            if logging.getLogger().isEnabledFor(logging.DEBUG):
                raise
            error_console().print(
                f"error: unexpected {type(exc).__name__}: {_one_line(exc)} (run with -vv for "
                "the traceback)",
                markup=False,
                highlight=False,
            )
            return EXIT_API_ERROR
        return result if isinstance(result, int) else EXIT_OK


CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(
    cls=SbgGroup,
    context_settings=CONTEXT_SETTINGS,
    epilog=EXIT_CODES_HELP,
)
@click.option(
    "--profile",
    metavar="NAME",
    help="Credentials-file profile to use (default: the environment, then [default]).",
)
@click.option("--endpoint", metavar="URL", help="API endpoint, e.g. https://api.sbgenomics.com/v2.")
@click.option("--token", metavar="TOKEN", help="Authentication token (overrides the profile's).")
@click.option(
    "--output",
    "-o",
    type=click.Choice(OUTPUT_FORMATS),
    default="table",
    show_default=True,
    help="Output format (also accepted after the command).",
)
@click.option("--json", "as_json", is_flag=True, help="Same as --output json.")
@click.option("-v", "--verbose", count=True, help="More logging (-vv: HTTP details).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors; no progress bars.")
@click.version_option(__version__, "--version", prog_name="sbg", message="%(prog)s %(version)s")
@click.pass_context
def cli(
    ctx: click.Context,
    profile: str | None,
    endpoint: str | None,
    token: str | None,
    output: str,
    as_json: bool,
    verbose: int,
    quiet: bool,
) -> None:
    """Seven Bridges command line: projects, files, apps and tasks on any platform endpoint,
    and the local platform (sbg local serve)."""
    current = ctx.ensure_object(State)
    current.profile = profile
    current.endpoint = endpoint
    current.token = token
    current.output = "json" if as_json else output
    current.verbosity = -1 if quiet else verbose
    _configure_logging(current.verbosity)


def _register() -> None:
    from sevenbridges.cli import (
        account,
        apps,
        files,
        platform,
        projects,
        tasks,
        transfers,
        volume_jobs,
        volumes,
    )

    cli.add_command(account.configure)
    cli.add_command(account.whoami)
    cli.add_command(projects.projects)
    cli.add_command(files.files)
    cli.add_command(transfers.transfers)
    cli.add_command(apps.apps)
    cli.add_command(tasks.tasks)
    cli.add_command(volumes.volumes)
    cli.add_command(volume_jobs.imports)
    cli.add_command(volume_jobs.exports)
    cli.add_command(platform.local)
    cli.add_command(platform.demo)
    cli.add_command(platform.completion)


_register()

__all__ = ["cli", "CliError", "State", "state", "output_options"]
