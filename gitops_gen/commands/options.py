"""Options shared by several commands."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from gitops_gen.output import output_option
from gitops_gen.secrets.keys import IDENTITY_ENVS

F = TypeVar("F", bound=Callable[..., Any])

__all__ = ["environments_argument", "identity_option", "output_option"]


def environments_argument() -> Callable[[F], F]:
    return click.argument("environments", nargs=-1, metavar="[ENV]...")


def identity_option(env_default: bool = True) -> Callable[[F], F]:
    """The age identity of the ``secrets`` commands and of ``drift --decrypt``; ``env_default``:
    the command also finds ENV's default identity file (keys.identity_or_default)."""
    fallback = ", then ENV's identity from 'secrets keygen' if it exists" if env_default else ""
    return click.option(
        "--identity",
        type=click.Path(path_type=Path),
        default=None,
        help=(
            f"age identity file (default: ${IDENTITY_ENVS[0]}, then ${IDENTITY_ENVS[1]}{fallback})."
        ),
    )
