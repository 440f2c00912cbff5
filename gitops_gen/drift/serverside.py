"""``--server-side``: let the API server canonicalise the desired objects.

Each desired object is server-side-applied as a dry run (nothing is persisted); the result is
what the object would become, with every default the server, a CRD schema or a mutating
webhook would add. Projected back onto the fields the manifest sets, it replaces the desired
object in the comparison, so defaults and canonical forms need no guessing.
"""

from __future__ import annotations

from typing import Any

from gitops_gen.drift.canonical import Tokens, element_key, is_zero, merge_key

FIELD_MANAGER = "gitops-gen-drift"


def project(result: Any, desired: Any, tokens: Tokens = ()) -> Any:
    """``result`` reduced to the fields ``desired`` sets (the server's spelling of them).

    A ``false``/``0``/``""`` the server would not store (a Go non-pointer field) is dropped:
    what is left must be live exactly, so a removed ``allowPrivilegeEscalation: false`` is
    drift and a ``hostNetwork: false`` that was never stored is not.
    """
    if isinstance(desired, dict):
        if not isinstance(result, dict):
            return desired
        return {
            key: project(result[key], value, (*tokens, key)) if key in result else value
            for key, value in desired.items()
            if key in result or not _unstored(value)
        }
    if isinstance(desired, list):
        if not isinstance(result, list):
            return desired
        keys = merge_key(tokens, desired)
        if keys is not None:
            # Apply merges keyed lists: the result also holds elements owned by other managers.
            by_key = {element_key(e, keys): e for e in result if isinstance(e, dict)}
            out = []
            for index, element in enumerate(desired):
                match = by_key.get(element_key(element, keys))
                out.append(element if match is None else project(match, element, (*tokens, index)))
            return out
        if len(result) == len(desired):
            return [
                project(r, d, (*tokens, i))
                for i, (r, d) in enumerate(zip(result, desired, strict=True))
            ]
        return result
    return result


def _unstored(value: Any) -> bool:
    return value is None or value == "" or is_zero(value) or value == {} or value == []


def shape(tokens: Tokens) -> Tokens:
    """A field's place regardless of which list element it is in (what Go types decide)."""
    return tuple(0 if isinstance(t, int) else t for t in tokens)


def zero_storage(desired: Any, result: Any) -> dict[Tokens, bool]:
    """For each ``false``/``0``/``""`` the manifest sets: does the server store it there?

    ``result`` is a dry run of ``desired``; a zero value it does not return is one the server
    drops (a Go non-pointer ``omitempty`` field), one it returns is stored (a pointer field, a
    map's key), so its absence live is drift.
    """
    found: dict[Tokens, bool] = {}

    def walk(want: Any, got: Any, tokens: Tokens) -> None:
        if isinstance(want, dict):
            for key, value in want.items():
                child = (*tokens, key)
                present = isinstance(got, dict) and key in got and got[key] is not None
                if _zero_scalar(value):
                    found.setdefault(shape(child), present)
                elif present:
                    walk(value, got[key], child)
        elif isinstance(want, list) and isinstance(got, list) and len(want) == len(got):
            for index, (w, g) in enumerate(zip(want, got, strict=True)):
                walk(w, g, (*tokens, index))

    # projected, the result lines up with the manifest (keyed lists by key), minus the zero
    # values the server dropped
    walk(desired, project(result, desired), ())
    return found


def _zero_scalar(value: Any) -> bool:
    return value == "" or is_zero(value)
