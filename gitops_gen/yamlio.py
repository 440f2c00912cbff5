"""YAML reading with line numbers, and deterministic YAML writing.

People's files are read so that every error can point at ``file:line``: plain Python data plus
an index of ``key path -> line``. Output is written with PyYAML's C emitter when available
(rendering thousands of files must be fast) with a fixed style, so the same data always gives
the same bytes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

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
    # the source text of unquoted values YAML did not read as strings (``2.10`` -> 2.1): the
    # loader's messages quote what the person wrote, not what YAML made of it
    plain: dict[KeyPath, str] = field(default_factory=dict)

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
    shown = _display(path, display_root)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{shown}: file not found") from None
    except OSError as exc:
        raise InputError(f"{shown}: cannot read ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{shown}:{not_utf8(raw, exc)}") from None
    return parse_located(text, path, display_root)


def not_utf8(raw: bytes, exc: UnicodeDecodeError) -> str:
    """``line:column: ...`` of the first byte that is not UTF-8 (column counts characters)."""
    before = raw[: exc.start]
    line = before.count(b"\n") + 1
    line_start = before.rfind(b"\n") + 1
    column = len(before[line_start:].decode("utf-8", errors="replace")) + 1
    return (
        f"{line}:{column}: not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the file as "
        "UTF-8 (e.g. 'iconv -f latin1 -t utf-8')"
    )


def parse_located(text: str, path: Path, display_root: Path | None = None) -> LocatedDocument:
    """Parse with PyYAML's C parser (ruamel's pure-Python parser is ~10x slower and loading
    must stay fast for large platforms), recording each key's and item's line."""
    loader = _LocatingLoader(text)
    try:
        tree = loader.get_single_data()
    except _DuplicateKey as exc:
        raise InputError(
            f"{_display(path, display_root)}:{exc.line}: duplicate key '{exc.key}' (first "
            f"defined on line {exc.first_line}); each key may appear once in a mapping: rename "
            "or merge the two"
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = exc.problem or exc.context or "invalid YAML"
        raise InputError(
            f"{_display(path, display_root)}{line}: malformed YAML: {problem}; "
            "fix the syntax (indentation, quoting, ':' after keys)"
        ) from None
    except yaml.YAMLError as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{_display(path, display_root)}: malformed YAML: {message}") from None
    finally:
        loader.dispose()
    lines: dict[KeyPath, int] = {(): 1}
    plain: dict[KeyPath, str] = {}
    _index(tree, (), loader, lines, plain)
    return LocatedDocument(path=path, data=tree, lines=lines, plain=plain)


class _DuplicateKey(Exception):
    def __init__(self, key: str, line: int, first_line: int) -> None:
        super().__init__(key)
        self.key, self.line, self.first_line = key, line, first_line


class _LocatingLoader(_SafeLoader):  # type: ignore[misc]
    """A safe loader that remembers where each mapping key and sequence item was written,
    keyed by the identity of the container it built, and refuses duplicate keys."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.key_lines: dict[int, dict[str, int]] = {}
        self.item_lines: dict[int, list[int]] = {}
        self.key_plain: dict[int, dict[str, str]] = {}
        self.item_plain: dict[int, dict[int, str]] = {}

    def construct_located_map(self, node: yaml.MappingNode) -> Any:
        data: dict[Any, Any] = {}
        yield data
        where: dict[str, int] = {}
        plain: dict[str, str] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in where and key != "<<":
                raise _DuplicateKey(key, line, where[key])
            where[key] = line
            if _is_plain_non_string(value_node):
                plain[key] = value_node.value
        data.update(self.construct_mapping(node))
        self.key_lines[id(data)] = where
        if plain:
            self.key_plain[id(data)] = plain

    def construct_located_seq(self, node: yaml.SequenceNode) -> Any:
        data: list[Any] = []
        yield data
        data.extend(self.construct_sequence(node))
        self.item_lines[id(data)] = [item.start_mark.line + 1 for item in node.value]
        plain = {i: item.value for i, item in enumerate(node.value) if _is_plain_non_string(item)}
        if plain:
            self.item_plain[id(data)] = plain


def _is_plain_non_string(node: yaml.Node) -> bool:
    return (
        isinstance(node, yaml.ScalarNode)
        and not node.style  # written without quotes (the C parser says "", Python None)
        and node.tag != "tag:yaml.org,2002:str"
        and node.value != ""
    )


_LocatingLoader.add_constructor("tag:yaml.org,2002:map", _LocatingLoader.construct_located_map)
_LocatingLoader.add_constructor("tag:yaml.org,2002:seq", _LocatingLoader.construct_located_seq)
# YAML 1.2 (Helm, Argo CD, kubectl) reads 1e3 as a number; PyYAML's YAML 1.1 rules want a dot.
# Read people's files the stricter way so an unquoted 1e3 is reported, not passed on as text
# that a later reader turns into 1000.
_LocatingLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def _index(
    node: Any,
    here: KeyPath,
    loader: _LocatingLoader,
    lines: dict[KeyPath, int],
    plain: dict[KeyPath, str],
) -> None:
    if isinstance(node, dict):
        where = loader.key_lines.get(id(node), {})
        texts = loader.key_plain.get(id(node), {})
        for key, value in node.items():
            child = (*here, str(key))
            if str(key) in where:
                lines[child] = where[str(key)]
            if str(key) in texts:
                plain[child] = texts[str(key)]
            _index(value, child, loader, lines, plain)
    elif isinstance(node, list):
        items = loader.item_lines.get(id(node), [])
        item_texts = loader.item_plain.get(id(node), {})
        for index, value in enumerate(node):
            child = (*here, index)
            if index < len(items):
                lines[child] = items[index]
            if index in item_texts:
                plain[child] = item_texts[index]
            _index(value, child, loader, lines, plain)


class _StableDumper(_SafeDumper):  # type: ignore[misc]
    """Block style, no aliases, insertion order kept, multi-line strings as literal blocks."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_StableDumper.add_representer(str, _represent_str)


# one fixed style: block mappings, insertion order, no line folding, no aliases
_DUMP_STYLE: dict[str, Any] = {
    "Dumper": _StableDumper,
    "sort_keys": False,
    "default_flow_style": False,
    "allow_unicode": True,
    "width": 1000,
    "indent": 2,
}


def dump(data: Any) -> str:
    """Deterministic YAML text for ``data`` (mappings keep their insertion order)."""
    return str(yaml.dump(data, **_DUMP_STYLE))


def dump_all(documents: list[Any]) -> str:
    return str(yaml.dump_all(documents, **_DUMP_STYLE))


def load_fast(text: str) -> Any:
    """Parse trusted, machine-written YAML (rendered output) quickly."""
    return yaml.load(text, Loader=_SafeLoader)  # noqa: S506 - a safe loader


def is_single_mapping(text: str) -> bool:
    """Well-formed YAML whose one document is a mapping; raises ``yaml.YAMLError`` if malformed.
    Walks parser events in C without building nodes, so checking rendered output stays cheap."""
    documents = 0
    top_is_mapping = False
    depth = 0
    for event in yaml.parse(text, Loader=_SafeLoader):
        if isinstance(event, yaml.DocumentStartEvent):
            documents += 1
        elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            if depth == 0:
                top_is_mapping = isinstance(event, yaml.MappingStartEvent)
            depth += 1
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
    return documents == 1 and top_is_mapping


def load_all_fast(text: str) -> list[Any]:
    return [doc for doc in yaml.load_all(text, Loader=_SafeLoader) if doc is not None]


def is_mapping(value: object) -> bool:
    return isinstance(value, Mapping)
