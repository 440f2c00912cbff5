"""Edit an environment file in place: change only the promoted scalars, nothing else.

A full round-trip dump (load -> modify -> dump) through ruamel.yaml keeps comments and order
but may still re-wrap long lines, re-indent sequences or re-space flow mappings. People review
these files line by line, so the edit is done as text splices instead: ruamel.yaml's composer
gives the exact character span of every scalar, the new value is written into that span in the
scalar's original quoting style, and every other byte of the file stays as it was. The result
is then parsed again and compared with the intended data, so a splice can never silently
produce something else.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode

from gitops_gen.errors import GitopsGenError, InputError
from gitops_gen.model import ComponentKind
from gitops_gen.promote.plan import Fields

_SECTION = {
    ComponentKind.SERVICE.value: "services",
    ComponentKind.PIPELINE.value: "pipelines",
    ComponentKind.DEPENDENCY.value: "dependencies",
}


@dataclass(frozen=True)
class FieldChange:
    """Set (or, with ``value`` None, remove) ``key`` in the mapping at ``path``."""

    path: tuple[str, ...]
    key: str
    value: str | None


def mapping_path(component: str, kind: str) -> tuple[str, ...]:
    """Where a component's promotable fields live in its environment file."""
    if kind == ComponentKind.PLATFORM.value:
        return ("platform",)
    section = _SECTION.get(kind)
    return (section, component) if section else (component,)


def changes_for(component: str, kind: str, before: Fields, after: Fields) -> list[FieldChange]:
    path = mapping_path(component, kind)
    return [
        FieldChange(path, key, after.get(key))
        for key in sorted(set(before) | set(after), key=_field_order)
        if before.get(key) != after.get(key)
    ]


def _field_order(key: str) -> int:
    return {"tag": 0, "digest": 1}.get(key, 2)


def apply_changes(text: str, changes: Sequence[FieldChange], display: str = "") -> str:
    """``text`` with ``changes`` applied as splices; raises if the file's shape prevents it."""
    if not changes:
        return text
    root = _compose(text, display)
    splices: list[tuple[int, int, str]] = []
    by_mapping: dict[tuple[str, ...], list[FieldChange]] = {}
    for change in changes:
        by_mapping.setdefault(change.path, []).append(change)
    for path, group in by_mapping.items():
        node = _find(root, path, display)
        splices.extend(_splices_for(text, node, group, display, path))
    splices.sort(key=lambda s: (s[0], s[1]))
    for (_, end_a, _), (start_b, _, _) in itertools.pairwise(splices):
        if start_b < end_a:  # pragma: no cover - guarded by construction
            raise GitopsGenError(f"{display}: overlapping edits; nothing was written")
    out = text
    for start, end, replacement in reversed(splices):
        out = out[:start] + replacement + out[end:]
    _verify(text, out, changes, display)
    return out


def _compose(text: str, display: str) -> Node:
    try:
        node = YAML(typ="rt").compose(text)
    except Exception as exc:  # ruamel raises many unrelated types for malformed input
        raise InputError(f"{display}: cannot parse for editing: {exc}") from None
    if not isinstance(node, MappingNode):
        raise InputError(f"{display}: expected a mapping at the top level")
    return node


def _find(root: Node, path: tuple[str, ...], display: str) -> MappingNode:
    node: Node = root
    for part in path:
        if not isinstance(node, MappingNode):
            break
        child = next((v for k, v in node.value if _key(k) == part), None)
        if child is None:
            raise InputError(f"{display}: {'.'.join(path)}: not found; cannot promote into it")
        node = child
    if not isinstance(node, MappingNode):
        raise InputError(f"{display}: {'.'.join(path)}: expected a mapping; cannot promote into it")
    return node


def _key(node: Node) -> str:
    return str(node.value) if isinstance(node, ScalarNode) else ""


def _splices_for(
    text: str,
    mapping: MappingNode,
    group: list[FieldChange],
    display: str,
    path: tuple[str, ...],
) -> list[tuple[int, int, str]]:
    pairs: list[tuple[Node, Node]] = list(mapping.value)
    present = {_key(k): (k, v) for k, v in pairs}
    removals = [c for c in group if c.value is None and c.key in present]
    inserts = [c for c in group if c.value is not None and c.key not in present]
    replaces = [c for c in group if c.value is not None and c.key in present]
    out: list[tuple[int, int, str]] = []
    for change in replaces:
        _, value = present[change.key]
        if not isinstance(value, ScalarNode):
            raise InputError(f"{display}: {'.'.join((*path, change.key))}: expected a single value")
        out.append((value.start_mark.index, value.end_mark.index, _scalar(change.value, value)))
    # A removal paired with an insertion (tag -> digest or back) renames the pair in place:
    # the line keeps its position and any comment on it.
    while removals and inserts:
        gone, new = removals.pop(0), inserts.pop(0)
        key_node, value = present[gone.key]
        out.append((key_node.start_mark.index, key_node.end_mark.index, new.key))
        out.append((value.start_mark.index, value.end_mark.index, _quoted(new.value)))
    for change in removals:
        out.append(_removal(text, mapping, pairs, change.key))
    for change in inserts:
        out.append(_insertion(text, mapping, pairs, change))
    return out


def _removal(
    text: str, mapping: MappingNode, pairs: list[tuple[Node, Node]], key: str
) -> tuple[int, int, str]:
    index = next(i for i, (k, _) in enumerate(pairs) if _key(k) == key)
    key_node, value = pairs[index]
    if mapping.flow_style:
        if index + 1 < len(pairs):  # "key: v, next: w" -> "next: w"
            return (key_node.start_mark.index, pairs[index + 1][0].start_mark.index, "")
        if index > 0:  # "prev: u, key: v" -> "prev: u"
            return (pairs[index - 1][1].end_mark.index, value.end_mark.index, "")
        return (key_node.start_mark.index, value.end_mark.index, "")
    start = text.rfind("\n", 0, key_node.start_mark.index) + 1
    end = text.find("\n", value.end_mark.index)
    return (start, len(text) if end < 0 else end + 1, "")


def _insertion(
    text: str, mapping: MappingNode, pairs: list[tuple[Node, Node]], change: FieldChange
) -> tuple[int, int, str]:
    assert change.value is not None
    entry = f"{change.key}: {_quoted(change.value)}"
    # tag goes before digest, anything else after the last promotable key present
    anchor_after = next(
        (p for p in reversed(pairs) if _key(p[0]) in {"tag", "revision", "chart"}), None
    )
    if mapping.flow_style:
        if change.key == "tag" or anchor_after is None:
            first = pairs[0][0].start_mark.index if pairs else None
            if first is None:
                return (mapping.end_mark.index - 1, mapping.end_mark.index - 1, entry)
            return (first, first, entry + ", ")
        at = anchor_after[1].end_mark.index
        return (at, at, ", " + entry)
    anchor = pairs[0] if change.key == "tag" or anchor_after is None else anchor_after
    indent = anchor[0].start_mark.column
    if change.key == "tag" or anchor_after is None:
        at = text.rfind("\n", 0, anchor[0].start_mark.index) + 1
        return (at, at, " " * indent + entry + "\n")
    end = text.find("\n", anchor[1].end_mark.index)
    at = len(text) if end < 0 else end
    return (at, at, "\n" + " " * indent + entry)


def _scalar(value: str | None, original: ScalarNode) -> str:
    """``value`` in ``original``'s quoting style, when that style can hold it faithfully."""
    assert value is not None
    if original.style == "'" and "\n" not in value:
        return "'" + value.replace("'", "''") + "'"
    if original.style is None and _plain_ok(value):
        return value
    return _quoted(value)


def _quoted(value: str | None) -> str:
    # A JSON string is a valid YAML double-quoted scalar with the same meaning.
    return json.dumps(value, ensure_ascii=False)


def _plain_ok(value: str) -> bool:
    """Would ``value`` written unquoted read back as the same string, in flow or block style?"""
    if not value or value != value.strip() or any(c in value for c in ",[]{}#&*!|>'\"%@`"):
        return False
    try:
        block = yaml.safe_load(f"k: {value}")
        flow = yaml.safe_load(f"{{k: {value}}}")
    except yaml.YAMLError:
        return False
    return bool(block == {"k": value} and flow == {"k": value})


def _plain_data(text: str) -> Any:
    return YAML(typ="safe", pure=True).load(text)


def _verify(before: str, after: str, changes: Sequence[FieldChange], display: str) -> None:
    expected = _plain_data(before)
    for change in changes:
        target: Any = expected
        for part in change.path:
            target = target[part]
        if change.value is None:
            target.pop(change.key, None)
        else:
            target[change.key] = change.value
    try:
        actual = _plain_data(after)
    except Exception:
        actual = None
    if actual != expected:
        raise GitopsGenError(
            f"{display}: editing the promoted fields would change more than those fields "
            "(unusual YAML layout); nothing was written, edit the file by hand"
        )


def read_fields(text: str, component: str, kind: str) -> Fields:
    """A component's promotable fields as written in an environment file's text."""
    data = _plain_data(text)
    node: Any = data
    for part in mapping_path(component, kind):
        node = node.get(part) if isinstance(node, Mapping) else None
    if not isinstance(node, Mapping):
        return {}
    keys = {"platform": ("revision",), "dependency": ("chart",)}.get(kind, ("tag", "digest"))
    return {k: (None if node.get(k) is None else str(node.get(k))) for k in keys}
