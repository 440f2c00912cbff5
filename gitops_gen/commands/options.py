"""Options shared by several commands."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

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
