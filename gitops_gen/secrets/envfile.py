"""Read a dotenv file (``KEY=value`` lines) for ``secrets import``, never echoing a value.

Parsing is python-dotenv's (quotes, ``export``, escapes, multi-line quoted values); nothing is
interpolated (``${VAR}`` stays as written). Every problem is reported by line number and key
name only: the line itself may be a secret.
"""

from __future__ import annotations

import io
from collections.abc import Mapping

from dotenv.parser import parse_stream

from gitops_gen.errors import InputError


def parse_env_file(text: str, source: str) -> Mapping[str, str]:
    """Key -> value, in file order; ``source`` names the input in messages."""
    values: dict[str, str] = {}
    lines: dict[str, int] = {}
    for binding in parse_stream(io.StringIO(text)):
        line = binding.original.line
        if binding.error:
            raise InputError(
                f"{source}: line {line} is not KEY=value (dotenv format: KEY=value, "
                "'export KEY=value', quotes for spaces, # for comments)"
            )
        if binding.key is None:
            continue  # a comment or a blank line
        if binding.value is None:
            raise InputError(f"{source}: line {line}: {binding.key} has no value (KEY=value)")
        if binding.value == "":
            raise InputError(
                f"{source}: line {line}: {binding.key} is empty; refusing to store an empty "
                "secret (drop the line to leave the key unchanged)"
            )
        if binding.key in values:
            raise InputError(
                f"{source}: line {line}: {binding.key} is set twice (first on line "
                f"{lines[binding.key]}); keep one"
            )
        values[binding.key] = binding.value
        lines[binding.key] = line
    if not values:
        raise InputError(f"{source}: no KEY=value line; nothing to import")
    return values
