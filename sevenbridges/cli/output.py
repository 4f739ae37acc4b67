"""Rendering results: rich tables for people, the API's own JSON for scripts, tab-separated text.

``--json`` prints exactly the objects the platform answered with (a resource's raw dict, a list
of them for listings); ``table`` and ``text`` show a chosen set of columns.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import click
from rich.console import Console
from rich.table import Table

OUTPUT_FORMATS = ("table", "json", "text")

# A column: its header, and the raw-dict key (dotted for nested values) or a function of the dict.
Column = tuple[str, "str | Callable[[dict[str, Any]], Any]"]


def console() -> Console:
    # Piped into a file or another program: wide enough that ids are never folded.
    width = None if sys.stdout.isatty() else max(int(os.environ.get("COLUMNS") or 0), 200)
    return Console(soft_wrap=False, width=width)


def error_console() -> Console:
    return Console(stderr=True, soft_wrap=True)


def _set_output(ctx: click.Context, _param: click.Parameter, value: Any) -> None:
    from sevenbridges.cli.main import State

    if value:
        ctx.ensure_object(State).output = "json" if value is True else value


def output_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--output``/``--json`` after the subcommand, as well as before it."""
    command = click.option(
        "--json",
        "as_json",
        is_flag=True,
        expose_value=False,
        callback=_set_output,
        help="Same as --output json.",
    )(command)
    return click.option(
        "--output",
        "-o",
        type=click.Choice(OUTPUT_FORMATS),
        expose_value=False,
        callback=_set_output,
        help="table (default), json or text.",
    )(command)


def raw(item: Any) -> Any:
    """The API's own JSON for a resource (or a list of them); plain values unchanged."""
    if isinstance(item, (list, tuple)):
        return [raw(element) for element in item]
    data = getattr(item, "_data", None)
    if data is not None and hasattr(data, "data"):
        return data.data
    return item


def _value(record: dict[str, Any], getter: Any) -> Any:
    if callable(getter):
        return getter(record)
    value: Any = record
    for part in str(getter).split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), default=str)
    return str(value)


def print_json(value: Any) -> None:
    click.echo(json.dumps(raw(value), indent=2, default=str))


def emit_list(
    fmt: str, items: Iterable[Any], columns: Sequence[Column], title: str | None = None
) -> None:
    """A listing: one row per item (``json``: the list of raw objects)."""
    records = [raw(item) for item in items]
    if fmt == "json":
        print_json(records)
        return
    if fmt == "text":
        for record in records:
            click.echo("\t".join(_cell(_value(record, getter)) for _, getter in columns))
        return
    table = Table(title=title, show_edge=False, header_style="bold")
    for header, _ in columns:
        table.add_column(header, overflow="fold")
    for record in records:
        table.add_row(*(_cell(_value(record, getter)) for _, getter in columns))
    console().print(table)
    if not records:
        console().print("(none)", style="dim")


def emit_one(fmt: str, item: Any, columns: Sequence[Column]) -> None:
    """One resource: ``json`` its raw object, ``table`` a field/value table, ``text`` tab-separated
    field/value lines."""
    record = raw(item)
    if fmt == "json":
        print_json(record)
        return
    rows = [(header, _cell(_value(record, getter))) for header, getter in columns]
    if fmt == "text":
        for header, value in rows:
            click.echo(f"{header}\t{value}")
        return
    table = Table(show_header=False, show_edge=False, box=None, padding=(0, 2, 0, 0))
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for header, value in rows:
        table.add_row(header, value)
    console().print(table)


def note(message: str) -> None:
    """A human remark on stderr (kept off stdout so JSON output stays parseable)."""
    error_console().print(message, markup=False, highlight=False)


def human_size(size: Any) -> str:
    if size is None:
        return ""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return str(size)
