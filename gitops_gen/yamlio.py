"""YAML reading with line numbers, and deterministic YAML writing.

People's files are read with ruamel.yaml so that every error can point at ``file:line``; the
loaded tree is turned into plain Python data plus an index of ``key path -> line``. Output is
written with PyYAML's C emitter when available (rendering thousands of files must be fast) with a
fixed style, so the same data always gives the same bytes.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError

from gitops_gen.errors import InputError

KeyPath = tuple[str | int, ...]

try:  # the C loader/dumper are 5-10x faster; fall back so a build without libyaml still works
    _SafeLoader: Any = yaml.CSafeLoader
    _SafeDumper: Any = yaml.CSafeDumper
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _SafeLoader = yaml.SafeLoader
    _SafeDumper = yaml.SafeDumper


@dataclass(frozen=True)
class LocatedDocument:
    """Plain data loaded from a file, with the 1-based line of every key path."""

    path: Path
    data: Any
    lines: dict[KeyPath, int] = field(default_factory=dict)

    def line_of(self, key_path: KeyPath) -> int | None:
        """The line of ``key_path`` or of its closest existing ancestor."""
        probe = tuple(key_path)
        while probe:
            if probe in self.lines:
                return self.lines[probe]
            probe = probe[:-1]
        return self.lines.get((), None)

    def where(self, key_path: KeyPath, display_root: Path | None = None) -> str:
        shown = _display(self.path, display_root)
        line = self.line_of(key_path)
        return f"{shown}:{line}" if line else shown


def _display(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return str(path.relative_to(root))
        except ValueError:
            pass
    return str(path)


def load_located(path: Path, display_root: Path | None = None) -> LocatedDocument:
    """Read one YAML document, keeping line numbers; malformed YAML is an :class:`InputError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{_display(path, display_root)}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{_display(path, display_root)}: cannot read: {exc}") from None
    return parse_located(text, path, display_root)


def parse_located(text: str, path: Path, display_root: Path | None = None) -> LocatedDocument:
    parser = YAML(typ="rt")
    parser.allow_duplicate_keys = False
    try:
        tree = parser.load(text)
    except DuplicateKeyError as exc:
        mark = exc.problem_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        found = re.search(r'found duplicate key "(.*?)"', str(exc.problem))
        key = found.group(1) if found else "?"
        first = exc.context_mark
        earlier = f" (first defined on line {first.line + 1})" if first is not None else ""
        raise InputError(
            f"{_display(path, display_root)}{line}: duplicate key '{key}'{earlier}; each key may "
            "appear once in a mapping: rename or merge the two"
        ) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = exc.problem or exc.context or "invalid YAML"
        raise InputError(
            f"{_display(path, display_root)}{line}: malformed YAML: {problem}; "
            "fix the syntax (indentation, quoting, ':' after keys)"
        ) from None
    except Exception as exc:  # ruamel raises several unrelated types for duplicate keys etc.
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{_display(path, display_root)}: malformed YAML: {message}") from None
    lines: dict[KeyPath, int] = {(): 1}
    data = _plain(tree, (), lines)
    return LocatedDocument(path=path, data=data, lines=lines)


def _plain(node: Any, here: KeyPath, lines: dict[KeyPath, int]) -> Any:
    if isinstance(node, CommentedMap):
        out: dict[str, Any] = {}
        for key, value in node.items():
            child = (*here, str(key))
            with contextlib.suppress(KeyError, TypeError):
                lines[child] = node.lc.key(key)[0] + 1
            out[str(key)] = _plain(value, child, lines)
        return out
    if isinstance(node, CommentedSeq):
        items = []
        for index, value in enumerate(node):
            child = (*here, index)
            with contextlib.suppress(KeyError, TypeError, IndexError):
                lines[child] = node.lc.item(index)[0] + 1
            items.append(_plain(value, child, lines))
        return items
    if isinstance(node, str):
        return str(node)  # drop ruamel's scalar-string subclasses
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return node


class _StableDumper(_SafeDumper):  # type: ignore[misc]
    """Block style, no aliases, insertion order kept, multi-line strings as literal blocks."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_StableDumper.add_representer(str, _represent_str)


def dump(data: Any) -> str:
    """Deterministic YAML text for ``data`` (mappings keep their insertion order)."""
    return yaml.dump(
        data,
        Dumper=_StableDumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=1000,
        indent=2,
    )


def dump_all(documents: list[Any]) -> str:
    return yaml.dump_all(
        documents,
        Dumper=_StableDumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=1000,
        indent=2,
    )


def load_fast(text: str) -> Any:
    """Parse trusted, machine-written YAML (rendered output) quickly."""
    return yaml.load(text, Loader=_SafeLoader)  # noqa: S506 - a safe loader


def load_all_fast(text: str) -> list[Any]:
    return [doc for doc in yaml.load_all(text, Loader=_SafeLoader) if doc is not None]


def is_mapping(value: object) -> bool:
    return isinstance(value, Mapping)
