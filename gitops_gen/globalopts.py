"""The global options (``--repo``, ``-v``, ``-q``, ``--debug``, ``--color``), accepted before
*and* after the subcommand: ``gitops-gen -v render`` and ``gitops-gen render -v`` are the same.

The group declares them with :func:`global_options`; :func:`accept_global_options` adds the same
options to every subcommand (recursively, for groups such as ``secrets``) when the CLI loads it,
so a command written anywhere gets them without declaring anything. Each option only updates
the shared :class:`~gitops_gen.context.AppContext`; none reaches a command's parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from click.core import ParameterSource

from gitops_gen.context import AppContext
from gitops_gen.terminal import COLOR_MODES

F = TypeVar("F", bound=Callable[..., Any])

REPO_META = "gitops_gen.repo"  # where --repo is kept for shell completion (ctx.meta is shared)


def _given(ctx: click.Context, param: click.Parameter) -> bool:
    source = ctx.get_parameter_source(param.name or "")
    return source in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)


def _app(ctx: click.Context) -> AppContext:
    return ctx.ensure_object(AppContext)


def _set_repo(ctx: click.Context, param: click.Parameter, value: Path | None) -> None:
    if value is not None and _given(ctx, param):
        _app(ctx).set_repo(value)
        ctx.meta[REPO_META] = value


def _set_verbose(ctx: click.Context, param: click.Parameter, value: int) -> None:
    if value and _given(ctx, param):
        app = _app(ctx)
        app.verbosity = max(app.verbosity, 0) + value


def _set_quiet(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value and _given(ctx, param):
        _app(ctx).verbosity = -1


def _set_debug(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value and _given(ctx, param):
        _app(ctx).debug = True


def _set_color(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None and _given(ctx, param):
        _app(ctx).set_color(value)


GLOBAL_NOTE = "Global options (--repo, -v, -q, --debug, --color) work here too."


class _UnlistedOption(click.Option):
    """An option left out of ``--help`` (the command's help names the global options in one
    line) that still completes, which ``hidden=True`` would prevent."""

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        return None


def _options(unlisted: bool = False) -> list[click.Option]:
    """Fresh option objects (click binds an option to one command); ``unlisted`` for the copies
    a subcommand gets."""
    cls = _UnlistedOption if unlisted else click.Option
    return [
        cls(
            ["--repo"],
            type=click.Path(path_type=Path, file_okay=True, dir_okay=True),
            default=None,
            expose_value=False,
            callback=_set_repo,
            help="The GitOps repository (default: the git repository enclosing the current "
            "folder).",
        ),
        cls(
            ["-v", "--verbose"],
            count=True,
            expose_value=False,
            callback=_set_verbose,
            help="Say more (repeatable).",
        ),
        cls(
            ["-q", "--quiet"],
            is_flag=True,
            expose_value=False,
            callback=_set_quiet,
            help="Print only results and errors.",
        ),
        cls(
            ["--debug"],
            is_flag=True,
            expose_value=False,
            callback=_set_debug,
            help="Show tracebacks for errors.",
        ),
        cls(
            ["--color"],
            type=click.Choice(COLOR_MODES),
            default=None,
            expose_value=False,
            callback=_set_color,
            help="Colour and styling: auto (a terminal, unless NO_COLOR is set; FORCE_COLOR "
            "forces it), always or never.",
        ),
    ]


def global_options(f: F) -> F:
    """Declare the global options on the top-level group."""
    params: list[click.Parameter] = getattr(f, "__click_params__", [])
    # click applies decorators bottom-up and reverses the list; keep the declared order
    params.extend(reversed(_options()))
    f.__click_params__ = params  # type: ignore[attr-defined]
    return f


def accept_global_options(command: click.Command) -> click.Command:
    """Add the global options to ``command`` and its subcommands (idempotent).

    An option is skipped where the command already uses one of its names or flags, so a
    command's own ``-q`` (say) keeps its meaning.
    """
    taken = {o for p in command.params for o in (*p.opts, *p.secondary_opts)}
    names = {p.name for p in command.params}
    added = False
    for option in _options(unlisted=True):
        if option.name in names or taken.intersection(option.opts):
            continue
        command.params.append(option)
        added = True
    if added and GLOBAL_NOTE not in (command.epilog or ""):
        command.epilog = f"{command.epilog}\n\n{GLOBAL_NOTE}" if command.epilog else GLOBAL_NOTE
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            accept_global_options(sub)
    return command
