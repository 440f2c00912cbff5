"""Where output goes and how it looks: colour policy, consoles, "is this a terminal".

One policy decides colour for every console the tool creates:

1. ``--color always|never`` when given;
2. ``NO_COLOR`` (non-empty) means no styling at all: no colour, and no bold, italic or
   underline either (https://no-color.org asks for "no ANSI colour"; a half-styled log is
   still full of escape codes);
3. ``FORCE_COLOR`` (non-empty, not ``0``) means colour even when the stream is not a terminal,
   for CI logs that render ANSI;
4. otherwise colour only when the stream is a terminal.

Layout never follows the colour decision: tables are drawn for people only when stdout really
is a terminal (see :func:`stream_is_tty`), so ``FORCE_COLOR`` in CI does not bring wrapping back.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import IO

from rich.console import Console

COLOR_MODES = ("auto", "always", "never")


def color_enabled(
    mode: str, stream: IO[str] | None = None, environ: Mapping[str, str] | None = None
) -> bool:
    """Whether ``stream`` gets ANSI styling under ``mode`` and the environment."""
    env = os.environ if environ is None else environ
    if mode == "always":
        return True
    if mode == "never":
        return False
    if env.get("NO_COLOR", ""):
        return False
    force = env.get("FORCE_COLOR", "")
    if force and force != "0":
        return True
    return stream_is_tty(stream if stream is not None else sys.stdout)


def stream_is_tty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or replaced stream
        return False


def make_console(mode: str = "auto", *, stderr: bool = False) -> Console:
    """A console that follows the colour policy and never wraps plain lines.

    ``color_system=None`` is what makes rich emit no escape code at all (``no_color`` alone
    keeps bold and italic). Markup is off: messages quote file contents and names, and a
    ``[bold]`` inside a value must be printed, not interpreted.
    """
    stream = sys.stderr if stderr else sys.stdout
    if not color_enabled(mode, stream):
        return Console(
            stderr=stderr,
            color_system=None,
            no_color=True,
            soft_wrap=True,
            highlight=False,
            markup=False,
            emoji=False,
        )
    return Console(
        stderr=stderr,
        # detection finds nothing on a pipe; CI logs understand the 16 standard colours
        color_system="auto" if stream_is_tty(stream) else "standard",
        no_color=False,
        soft_wrap=True,
        highlight=False,
        markup=False,
        emoji=False,
    )
