"""Object-level diffs between two hydrations: what a change does to the cluster.

Per Application, per object, a unified diff of the canonical YAML. Secret values (``data``,
``stringData``, and a SopsSecret's templates) are masked, equal values to equal masks, so a
reviewer sees that a value changed but never what it is. CustomResourceDefinitions are
summarised: their schemas run to thousands of lines nobody reviews in a pull request.
"""

from __future__ import annotations

import copy
import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gitops_gen.drift.mask import Masker
from gitops_gen.hydrate.engine import HydratedApp
from gitops_gen.hydrate.objects import ObjectKey, dump, key_of

CRD = ("apiextensions.k8s.io", "CustomResourceDefinition")


@dataclass(frozen=True)
class ObjectChange:
    application: str
    key: ObjectKey
    change: str  # added | removed | modified
    diff: str  # unified diff (or a one-line summary for CRDs)
    added: int
    removed: int

    def to_json(self) -> dict[str, Any]:
        return {
            "application": self.application,
            **self.key.to_json(),
            "change": self.change,
            "added": self.added,
            "removed": self.removed,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ObjectChange:
        key = ObjectKey(
            str(data["group"]), str(data["kind"]), str(data["namespace"]), str(data["name"])
        )
        return cls(
            str(data["application"]),
            key,
            str(data["change"]),
            "",
            int(data.get("added", 0)),
            int(data.get("removed", 0)),
        )


@dataclass(frozen=True)
class ClusterChanges:
    changes: tuple[ObjectChange, ...]
    errors: tuple[str, ...] = ()  # Applications that could not be hydrated, one line each
    applications: tuple[str, ...] = ()  # the Applications compared


def compare(
    before: Sequence[HydratedApp], after: Sequence[HydratedApp], masker: Masker | None = None
) -> ClusterChanges:
    """Object changes from ``before`` to ``after``, Application by Application."""
    masker = masker or Masker()
    old = {a.name: a for a in before}
    new = {a.name: a for a in after}
    errors = sorted({a.error for a in (*before, *after) if a.error})
    failed = {a.name for a in (*before, *after) if a.error}
    changes: list[ObjectChange] = []
    for name in sorted(set(old) | set(new)):
        if name in failed:
            continue
        a = {key_of(o): o for o in (old[name].objects if name in old else ())}
        b = {key_of(o): o for o in (new[name].objects if name in new else ())}
        for key in sorted(set(a) | set(b), key=_order):
            change = _change(name, key, a.get(key), b.get(key), masker)
            if change is not None:
                changes.append(change)
    return ClusterChanges(tuple(changes), tuple(errors), tuple(sorted(set(old) | set(new))))


def _order(key: ObjectKey) -> tuple[str, str, str, str]:
    return (key.group, key.kind, key.namespace, key.name)


def _change(
    app: str,
    key: ObjectKey,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    masker: Masker,
) -> ObjectChange | None:
    if before == after:
        return None  # most objects: nothing to dump or diff
    old = dump(masked(before, masker)) if before is not None else ""
    new = dump(masked(after, masker)) if after is not None else ""
    if old == new:
        return None
    kind = "added" if before is None else "removed" if after is None else "modified"
    label = f"{app}/{key.file_name()}"
    lines = list(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile=f"a/{label}" if before is not None else "/dev/null",
            tofile=f"b/{label}" if after is not None else "/dev/null",
            n=3,
        )
    )
    added = sum(1 for ln in lines if ln.startswith("+") and not ln.startswith("+++"))
    removed = sum(1 for ln in lines if ln.startswith("-") and not ln.startswith("---"))
    if (key.group, key.kind) == CRD:
        text = _crd_summary(key, before, after, kind, added, removed)
    else:
        text = "".join(ln if ln.endswith("\n") else ln + "\n" for ln in lines)
    return ObjectChange(app, key, kind, text, added, removed)


def _crd_summary(
    key: ObjectKey,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    kind: str,
    added: int,
    removed: int,
) -> str:
    def versions(obj: dict[str, Any] | None) -> str:
        served = [str(v.get("name")) for v in ((obj or {}).get("spec") or {}).get("versions") or []]
        return ", ".join(served) or "none"

    return (
        f"CustomResourceDefinition {key.name} {kind} (+{added} -{removed} lines, not shown); "
        f"versions: {versions(before)} -> {versions(after)}\n"
    )


_SOPS_GROUP = "isindir.github.com"


def masked(obj: dict[str, Any] | None, masker: Masker) -> dict[str, Any]:
    """A copy with Secret values (and SopsSecret template values) replaced by masks."""
    if obj is None:
        return {}
    key = key_of(obj)
    if key.kind == "Secret" and key.group == "":
        out = copy.deepcopy(obj)
        for field in ("data", "stringData"):
            if isinstance(out.get(field), dict):
                out[field] = {k: masker.mask_value(v) for k, v in out[field].items()}
        return out
    if key.group == _SOPS_GROUP and key.kind == "SopsSecret":
        out = copy.deepcopy(obj)
        for template in (out.get("spec") or {}).get("secretTemplates") or []:
            for field in ("data", "stringData"):
                if isinstance(template.get(field), dict):
                    template[field] = {k: masker.mask_value(v) for k, v in template[field].items()}
        return out
    return obj


def as_text(changes: ClusterChanges) -> str:
    parts: list[str] = []
    for change in changes.changes:
        parts.append(
            f"# {change.application}: {change.key.display()} {change.change} "
            f"(+{change.added} -{change.removed})\n{change.diff}"
        )
    parts.extend(f"# error: {e}\n" for e in changes.errors)
    return "".join(parts)


# --- the pull-request section ---------------------------------------------------------------

SECTION_TITLE = "### Changes in the cluster"


def markdown_section(changes: ClusterChanges, budget: int, full_hint: str = "") -> str:
    """The section within ``budget`` characters: the largest diffs are collapsed to one line
    each, largest first, until it fits; a note says how many and where to see them all."""
    head = [SECTION_TITLE, ""]
    if changes.errors:
        head += ["**Not hydrated** (the diff below leaves these out):", ""]
        head += [f"- {_one_line(e)}" for e in changes.errors]
        head.append("")
    if not changes.changes and changes.errors:
        head.append(
            "_No object changes in the Applications that could be hydrated; what the ones "
            "above change in the cluster is unknown._"
        )
        return "\n".join(head) + "\n"
    if not changes.changes:
        head.append("_No object changes in the hydrated manifests._")
        return "\n".join(head) + "\n"
    collapsed: set[int] = set()
    while True:
        text = _render(changes, collapsed, head, full_hint)
        if len(text) <= budget:
            return text
        open_ = [(len(c.diff), i) for i, c in enumerate(changes.changes) if i not in collapsed]
        if not open_:
            return _cut(text, budget)
        collapsed.add(max(open_)[1])


def _render(changes: ClusterChanges, collapsed: set[int], head: list[str], full_hint: str) -> str:
    out = ["\n".join(head), "\n"]
    by_app: dict[str, list[int]] = {}
    for index, change in enumerate(changes.changes):
        by_app.setdefault(change.application, []).append(index)
    for app, indexes in by_app.items():
        objs = [changes.changes[i] for i in indexes]
        added = sum(c.added for c in objs)
        removed = sum(c.removed for c in objs)
        out.append(
            f"<details><summary><code>{app}</code>: {len(objs)} object(s) "
            f"(+{added} &minus;{removed})</summary>\n\n"
        )
        for i in indexes:
            change = changes.changes[i]
            title = f"`{change.key.display()}` {change.change} (+{change.added} −{change.removed})"
            if i in collapsed:
                out.append(f"- {title}: _diff collapsed to fit the description_\n")
            elif (change.key.group, change.key.kind) == CRD:
                out.append(f"- {_one_line(change.diff)}\n")
            else:
                fence = "`" * max(3, _longest_backticks(change.diff) + 1)
                out.append(f"- {title}\n\n{fence}diff\n{change.diff}{fence}\n")
        out.append("\n</details>\n\n")
    if collapsed:
        note = (
            f"> **{len(collapsed)} object diff(s) collapsed**, largest first, to keep the "
            f"description within 65,536 characters."
        )
        if full_hint:
            note += f" All of them: `{full_hint}`."
        out.append(note + "\n")
    return "".join(out)


def _cut(text: str, budget: int) -> str:
    # only when even the one-line summaries do not fit (thousands of objects)
    note = "\n> **Section truncated** to fit the description.\n"
    cut = text[: max(0, budget - len(note))]
    return cut[: cut.rfind("\n") + 1] + note


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _longest_backticks(text: str) -> int:
    return max((len(r) for r in re.findall(r"`+", text)), default=0)
