"""One way for every command to print what it reports: ``-o text|json|yaml`` (+ its own formats).

A command declares ``@output_option()`` (or ``@output_option("markdown")`` for extra formats of
its own), builds one JSON-ready mapping and calls :func:`emit`. JSON and YAML are the same
document with a ``schemaVersion`` (``gitops-gen.io/<command>/v1``); its JSON Schema is
``docs/cli/schemas/<command>.schema.json`` and a test validates real output against it.

Tables go through :func:`print_rows`: boxed and folded for a person at a terminal, and one
line per row (aligned, never wrapped, whatever the width) when stdout is a pipe or a file, so
``| grep NAME`` finds every row.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from gitops_gen import yamlio
from gitops_gen.terminal import stream_is_tty

F = TypeVar("F", bound=Callable[..., Any])

SCHEMA_DOMAIN = "gitops-gen.io"
STANDARD_FORMATS = ("text", "json", "yaml")
# Names earlier releases used; still accepted so scripts keep working, not advertised.
ALIASES = {"table": "text"}


def schema_version(kind: str, version: int = 1) -> str:
    """A document's ``schemaVersion``, e.g. ``gitops-gen.io/validate/v1``."""
    return f"{SCHEMA_DOMAIN}/{kind}/v{version}"


class OutputFormat(click.Choice):  # type: ignore[type-arg]
    """A choice of formats that also accepts the old names in :data:`ALIASES`."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and value in ALIASES and ALIASES[value] in self.choices:
            value = ALIASES[value]
        return super().convert(value, param, ctx)


def formats_of(*own: str) -> tuple[str, ...]:
    """``text, json, yaml`` followed by a command's own formats (duplicates and aliases dropped)."""
    out: list[str] = []
    for name in (*STANDARD_FORMATS, *own):
        name = ALIASES.get(name, name)
        if name not in out:
            out.append(name)
    return tuple(out)


def output_option(
    *own: str, default: str = "text", multiple: bool = False, name: str = "output"
) -> Callable[[F], F]:
    """``-o/--output`` with ``text, json, yaml`` and the command's own formats (``own``).

    The value reaches the command as ``name`` (a tuple of formats with ``multiple=True``).
    """
    choices = formats_of(*own)
    shown = ", ".join(choices)
    return click.option(
        "-o",
        "--output",
        name,
        type=OutputFormat(list(choices)),
        default=() if multiple else ALIASES.get(default, default),
        multiple=multiple,
        show_default=not multiple,
        metavar="FORMAT",
        help=(
            f"Output format: {shown} (repeatable: each is printed in turn; default: text)."
            if multiple
            else f"Output format: {shown}."
        ),
    )


def command_kind(ctx: click.Context | None = None) -> str:
    """The running command's path without the program name: ``secrets list`` -> ``secrets-list``."""
    ctx = ctx or click.get_current_context()
    return "-".join(ctx.command_path.split()[1:]) or "gitops-gen"


def document(data: Mapping[str, Any], kind: str, version: int = 1) -> dict[str, Any]:
    """``data`` with its ``schemaVersion`` first."""
    return {"schemaVersion": schema_version(kind, version), **data}


def to_json(doc: Mapping[str, Any]) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def to_yaml(doc: Mapping[str, Any]) -> str:
    return yamlio.dump(dict(doc))


def json_to_yaml(text: str) -> str:
    """The YAML form of a JSON document a command already renders (one source of truth)."""
    return to_yaml(json.loads(text))


@dataclass(frozen=True)
class Rows:
    """A table: column names and rows of cells (each cell one string)."""

    columns: Sequence[str]
    rows: Sequence[Sequence[str]]
    title: str | None = None


TextRenderer = Callable[[], "str | Rows | None"]


def emit(
    output: str,
    data: Mapping[str, Any],
    *,
    text: TextRenderer | str | Rows | None = None,
    kind: str | None = None,
    version: int = 1,
    console: Console | None = None,
    **own: Callable[[], str],
) -> None:
    """Print ``data`` in the format ``output``.

    ``json``/``yaml``: ``data`` with its ``schemaVersion``. ``text``: what ``text`` returns (a
    string, :class:`Rows`, or ``None`` when it printed by itself); without ``text``, the YAML
    document. A command's own formats are keyword arguments: ``emit(..., markdown=render_md)``.
    """
    if output in ("json", "yaml"):
        doc = document(data, kind or command_kind(), version)
        click.echo(to_json(doc) if output == "json" else to_yaml(doc), nl=False)
        return
    if output in own:
        click.echo(own[output](), nl=False)
        return
    if output != "text":
        raise click.UsageError(f"-o {output}: this command has no such format")
    produced = text() if callable(text) else text
    if produced is None and text is None:
        produced = to_yaml(data)
    if isinstance(produced, Rows):
        print_rows(produced, console)
    elif produced:
        click.echo(produced, nl=not produced.endswith("\n"))


def print_rows(table: Rows, console: Console | None = None) -> None:
    """A table for a person at a terminal; one unwrapped line per row everywhere else."""
    target = console if console is not None else _current_console()
    if stream_is_tty(target.file):
        rich_table = Table(title=table.title)
        for column in table.columns:
            rich_table.add_column(column, overflow="fold")
        for row in table.rows:
            rich_table.add_row(*row)
        target.print(rich_table)
        return
    for line in plain_rows(table):
        # click.echo, not the console: the console would wrap at its width
        click.echo(line)


def plain_rows(table: Rows) -> list[str]:
    """Header and rows, columns aligned with two spaces, one line each, never wrapped.

    Upper-case headers and ``-`` for an empty cell (as kubectl prints) keep every row's field
    count the same for ``awk``; line breaks inside a cell become spaces.
    """
    header = [c.upper() for c in table.columns]
    cells = [[_cell(c) for c in row] for row in table.rows]
    widths = [len(h) for h in header]
    for row in cells:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    lines = []
    for row in [header, *cells]:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)).rstrip())
    return lines


def _cell(value: str) -> str:
    flat = " ".join(str(value).split())
    return flat or "-"


def _current_console() -> Console:
    from gitops_gen.context import AppContext

    ctx = click.get_current_context(silent=True)
    app = ctx.find_object(AppContext) if ctx is not None else None
    if app is not None:
        return app.out
    from gitops_gen.terminal import make_console

    return make_console()
