"""Options shared by several commands."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from gitops_gen.secrets.keys import IDENTITY_ENVS

F = TypeVar("F", bound=Callable[..., Any])


def output_option(*choices: str, default: str = "text") -> Callable[[F], F]:
    return click.option(
        "-o",
        "--output",
        "output",
        type=click.Choice(list(choices)),
        default=default,
        show_default=True,
        help="Output format: " + ", ".join(choices) + ".",
    )


def environments_argument() -> Callable[[F], F]:
    return click.argument("environments", nargs=-1, metavar="[ENV]...")


def identity_option() -> Callable[[F], F]:
    """The age identity of the ``secrets`` commands and of ``drift --decrypt``."""
    return click.option(
        "--identity",
        type=click.Path(path_type=Path),
        default=None,
        help=f"age identity file (default: ${IDENTITY_ENVS[0]}, then ${IDENTITY_ENVS[1]}).",
    )
