"""What an audit must not report: an Application's ``ignoreDifferences`` and owned fields.

Argo CD's semantics (user-guide/diffing): a rule matches by group and kind (``*`` allowed),
optionally name and namespace; ``jsonPointers`` and ``jqPathExpressions`` name fields, and
``managedFieldsManagers`` ignores every field those field managers own. Fields written by
controllers the repository delegates to are ignored the same way: the replicas of an
HPA-scaled workload and the rules of an aggregated ClusterRole.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import jq

from gitops_gen.drift.canonical import Tokens
from gitops_gen.drift.findings import ObjectRef, parse_pointer

Path = tuple[str, ...]
SCALED_KINDS = frozenset({("apps", "Deployment"), ("apps", "StatefulSet"), ("apps", "ReplicaSet")})


@dataclass(frozen=True)
class IgnoreRule:
    group: str
    kind: str
    name: str = ""
    namespace: str = ""
    json_pointers: tuple[str, ...] = ()
    jq_paths: tuple[str, ...] = ()
    managers: tuple[str, ...] = ()

    def matches(self, ref: ObjectRef) -> bool:
        return (
            self.group in ("*", ref.group)
            and self.kind in ("*", ref.kind)
            and self.name in ("", ref.name)
            and self.namespace in ("", ref.namespace)
        )


def rules_of_application(app: dict[str, Any]) -> list[IgnoreRule]:
    rules = []
    for entry in (app.get("spec") or {}).get("ignoreDifferences") or []:
        if not isinstance(entry, dict):
            continue
        rules.append(
            IgnoreRule(
                group=str(entry.get("group") or ""),
                kind=str(entry.get("kind") or ""),
                name=str(entry.get("name") or ""),
                namespace=str(entry.get("namespace") or ""),
                json_pointers=tuple(entry.get("jsonPointers") or ()),
                jq_paths=tuple(entry.get("jqPathExpressions") or ()),
                managers=tuple(entry.get("managedFieldsManagers") or ()),
            )
        )
    return rules


def hpa_targets(objects: Iterable[dict[str, Any]]) -> set[tuple[str, str, str, str]]:
    """(group, kind, namespace, name) of every workload an HPA among ``objects`` scales."""
    out = set()
    for obj in objects:
        if obj.get("kind") != "HorizontalPodAutoscaler":
            continue
        target = (obj.get("spec") or {}).get("scaleTargetRef") or {}
        group = str(target.get("apiVersion", "")).rpartition("/")[0]
        namespace = str((obj.get("metadata") or {}).get("namespace") or "")
        out.add((group, str(target.get("kind", "")), namespace, str(target.get("name", ""))))
    return out


def ignored_paths(
    ref: ObjectRef,
    desired: dict[str, Any],
    live: dict[str, Any],
    rules: Iterable[IgnoreRule],
    *,
    hpa_scaled: bool,
) -> set[Path]:
    """Paths (as string tokens) under which nothing is reported for this object."""
    paths: set[Path] = set()
    if hpa_scaled and ref.type_key in SCALED_KINDS:
        paths.add(("spec", "replicas"))
    aggregated = ref.kind == "ClusterRole" and bool(desired.get("aggregationRule"))
    if aggregated and ref.group == "rbac.authorization.k8s.io":
        paths.add(("rules",))  # the aggregation controller owns them
    for rule in rules:
        if not rule.matches(ref):
            continue
        for text in rule.json_pointers:
            try:
                paths.add(parse_pointer(text))
            except ValueError:
                continue
        for expression in rule.jq_paths:
            paths.update(_jq_paths(expression, desired))
            paths.update(_jq_paths(expression, live))
        if rule.managers:
            for entry in (live.get("metadata") or {}).get("managedFields") or []:
                if entry.get("manager") in rule.managers:
                    paths.update(fields_paths(entry.get("fieldsV1") or {}, live, ()))
    return paths


def is_ignored(tokens: Tokens, paths: set[Path]) -> bool:
    text = tuple(str(t) for t in tokens)
    return any(text[: len(p)] == p for p in paths)


def _jq_paths(expression: str, obj: dict[str, Any]) -> Iterator[Path]:
    try:
        found = jq.compile(f"[path({expression})]").input_value(obj).first()
    except ValueError:
        return  # the expression does not apply to this object (Argo CD ignores it too)
    for path in found or []:
        yield tuple(str(p) for p in path)


def fields_paths(fields: dict[str, Any], node: Any, prefix: Path) -> Iterator[Path]:
    """Leaf paths of a managedFields ``fieldsV1`` set, resolved against the live object.

    ``f:name`` is a field, ``k:{json}`` a list element by its keys, ``v:json`` a set member,
    ``i:n`` a positional element and ``.`` the node itself.
    """
    for key, sub in fields.items():
        if key == ".":
            yield prefix
            continue
        kind, _, rest = key.partition(":")
        child: Any = None
        path: Path | None = None
        if kind == "f" and isinstance(node, dict):
            path, child = (*prefix, rest), node.get(rest)
        elif kind in ("k", "v") and isinstance(node, list):
            wanted = json.loads(rest)
            for index, element in enumerate(node):
                hit = (
                    isinstance(element, dict)
                    and isinstance(wanted, dict)
                    and all(element.get(k) == v for k, v in wanted.items())
                ) or (kind == "v" and element == wanted)
                if hit:
                    path, child = (*prefix, str(index)), element
                    break
        elif kind == "i" and isinstance(node, list) and rest.isdigit() and int(rest) < len(node):
            path, child = (*prefix, rest), node[int(rest)]
        if path is None:
            continue
        if not sub:
            yield path
        else:
            yield from fields_paths(sub, child, path)
