"""Plan a promotion: a pure function of two loaded environments.

The plan says which promotable fields move (image tag/digest, dependency chart version, the
platform chart's app-repo revision), which do not and why (held, blocked), and what a reviewer
must know. Nothing here touches the disk or git; :mod:`gitops_gen.promote.apply` does.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gitops_gen.errors import InputError
from gitops_gen.hydrate.diff import ObjectChange
from gitops_gen.model import Component, ComponentKind, Environment
from gitops_gen.model.loader import suggest
from gitops_gen.model.schema import MUTABLE_TAGS

PLAN_FORMAT = 1

# The fields of one component a promotion may move; everything else is environment-specific.
Fields = dict[str, str | None]


def promotable_fields(component: Component) -> Fields:
    if component.kind is ComponentKind.DEPENDENCY:
        return {"chart": component.chart}
    if component.kind is ComponentKind.PLATFORM:
        return {"revision": component.revision}
    return {"tag": component.tag, "digest": component.digest}


def version_of(fields: Mapping[str, str | None]) -> str:
    """The one comparable string of a field set (as :attr:`Component.version` spells it)."""
    if "chart" in fields:
        return fields["chart"] or ""
    if "revision" in fields:
        return fields["revision"] or ""
    tag, digest = fields.get("tag"), fields.get("digest")
    if tag and digest:
        return f"{tag}@{digest}"
    return digest or tag or ""


def is_mutable(fields: Mapping[str, str | None]) -> bool:
    """A reference that can point at different content tomorrow: no tag, or a moving tag or
    branch name without a digest to pin it."""
    if fields.get("digest"):
        return False
    value = fields.get("tag", fields.get("revision", fields.get("chart")))
    if value is None or not value.strip():
        return True
    return value.strip().lower() in MUTABLE_TAGS | {"head"}


@dataclass(frozen=True)
class Move:
    """One component's promotable fields, from DST's values to SRC's."""

    component: str
    kind: str
    before: Fields
    after: Fields
    reason: str = ""  # why it does not move (held, blocked); empty for a real move

    @property
    def from_version(self) -> str:
        return version_of(self.before)

    @property
    def to_version(self) -> str:
        return version_of(self.after)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "component": self.component,
            "kind": self.kind,
            "from": self.from_version,
            "to": self.to_version,
            "before": dict(self.before),
            "after": dict(self.after),
        }
        if self.reason:
            out["reason"] = self.reason
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Move:
        return cls(
            component=str(data["component"]),
            kind=str(data["kind"]),
            before=dict(data["before"]),
            after=dict(data["after"]),
            reason=str(data.get("reason", "")),
        )


@dataclass(frozen=True)
class PromotionPlan:
    source: str
    target: str
    moves: tuple[Move, ...]
    held: tuple[Move, ...] = ()
    blocked: tuple[Move, ...] = ()
    warnings: tuple[str, ...] = ()
    skip_order: bool = False  # --skip-order: SRC is not DST's promotedFrom
    allow_rolled_back: bool = False  # --allow-rolled-back: versions a rollback took out may return
    protected: bool = False
    # provenance, filled in by the caller once known (the plan itself is pure)
    promotion_id: str = ""
    source_commit: str = ""
    base_commit: str = ""
    rollback_of: str = ""  # set for a rollback: the promotion id or commit restored
    extra: dict[str, Any] = field(default_factory=dict)
    # the objects the promotion changes in the cluster (promote --hydrated); None: not hydrated
    changed_objects: tuple[ObjectChange, ...] | None = None

    @property
    def empty(self) -> bool:
        return not self.moves

    @property
    def kind(self) -> str:
        return "rollback" if self.rollback_of else "promotion"

    def to_json(self) -> dict[str, Any]:
        return {
            "format": PLAN_FORMAT,
            "kind": self.kind,
            "id": self.promotion_id,
            "source": {"environment": self.source, "commit": self.source_commit},
            "target": {"environment": self.target, "baseCommit": self.base_commit},
            "skipOrder": self.skip_order,
            "allowRolledBack": self.allow_rolled_back,
            "protected": self.protected,
            "rollbackOf": self.rollback_of,
            "moves": [m.to_json() for m in self.moves],
            "held": [m.to_json() for m in self.held],
            "blocked": [m.to_json() for m in self.blocked],
            "warnings": list(self.warnings),
            "extra": self.extra,
        } | (
            {"changedObjects": [c.to_json() for c in self.changed_objects]}
            if self.changed_objects is not None
            else {}
        )

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PromotionPlan:
        if data.get("format") != PLAN_FORMAT:
            raise InputError(
                f"promotion plan format {data.get('format')!r} is not supported "
                f"(expected {PLAN_FORMAT})"
            )
        return cls(
            source=str(data["source"]["environment"]),
            target=str(data["target"]["environment"]),
            moves=tuple(Move.from_json(m) for m in data["moves"]),
            held=tuple(Move.from_json(m) for m in data["held"]),
            blocked=tuple(Move.from_json(m) for m in data["blocked"]),
            warnings=tuple(str(w) for w in data["warnings"]),
            # plans written before the flags were split carry one "forced" for both
            skip_order=bool(data.get("skipOrder", data.get("forced", False))),
            allow_rolled_back=bool(data.get("allowRolledBack", data.get("forced", False))),
            protected=bool(data["protected"]),
            promotion_id=str(data["id"]),
            source_commit=str(data["source"]["commit"]),
            base_commit=str(data["target"]["baseCommit"]),
            rollback_of=str(data.get("rollbackOf", "")),
            extra=dict(data.get("extra", {})),
            changed_objects=(
                tuple(ObjectChange.from_json(c) for c in data["changedObjects"])
                if "changedObjects" in data
                else None
            ),
        )


def check_pair(source: Environment, target: Environment, skip_order: bool) -> list[str]:
    """Refuse promotions that skip the declared order unless ``skip_order``; else warnings."""
    if source.name == target.name:
        raise InputError(
            f"source and target are both '{source.name}'; name two different environments"
        )
    warnings: list[str] = []
    if target.promoted_from != source.name:
        declared = (
            f"'{target.name}' is promoted from '{target.promoted_from}'"
            if target.promoted_from
            else f"'{target.name}' is the start of the promotion chain (no promotedFrom)"
        )
        if not skip_order:
            hint = (
                f"promote {target.promoted_from} -> {target.name}"
                if target.promoted_from
                else "promote into an environment promoted from it"
            )
            raise InputError(
                f"{declared}, not from '{source.name}'; {hint}, or pass --skip-order to "
                "promote out of order"
            )
        warnings.append(
            f"--skip-order: {declared}; this promotion from '{source.name}' skips the order"
        )
    return warnings


def select_components(target: Environment, names: Sequence[str]) -> set[str] | None:
    """Validate ``--component`` names against the target; None means every component."""
    if not names:
        return None
    known = [c.name for c in target.components]
    for name in names:
        if name not in known:
            raise InputError(
                f"unknown component '{name}'{suggest(name, known)} "
                f"(components of {target.name}: {', '.join(sorted(known))})"
            )
    return set(names)


def plan_promotion(
    source: Environment,
    target: Environment,
    components: Sequence[str] = (),
    skip_order: bool = False,
    rolled_back: Mapping[str, tuple[str, str]] | None = None,
    allow_rolled_back: bool = False,
) -> PromotionPlan:
    """What promoting ``source`` into ``target`` would change.

    ``rolled_back`` maps a component to a version a rollback took out of ``target`` (and the
    rollback's commit): promoting that version again needs ``allow_rolled_back``, so automation
    cannot silently undo a rollback.
    """
    warnings = check_pair(source, target, skip_order)
    selected = select_components(target, components)
    return plan_moves(
        source.name,
        target,
        {c.name: promotable_fields(c) for c in source.components},
        selected,
        warnings=warnings,
        skip_order=skip_order,
        allow_rolled_back=allow_rolled_back,
        rolled_back=None if allow_rolled_back else rolled_back,
    )


def plan_moves(
    source_name: str,
    target: Environment,
    wanted: Mapping[str, Fields],
    selected: Iterable[str] | None = None,
    *,
    warnings: Sequence[str] = (),
    skip_order: bool = False,
    allow_rolled_back: bool = False,
    honour_holds: bool = True,
    rolled_back: Mapping[str, tuple[str, str]] | None = None,
) -> PromotionPlan:
    """Moves that bring ``target``'s components to the ``wanted`` field values."""
    chosen = set(selected) if selected is not None else None
    moves: list[Move] = []
    held: list[Move] = []
    blocked: list[Move] = []
    unpinned: list[Move] = []
    for component in target.components:
        if chosen is not None and component.name not in chosen:
            continue
        after = wanted.get(component.name)
        if after is None:
            continue
        before = promotable_fields(component)
        if version_of(before) == version_of(after) and before == after:
            continue
        move = Move(component.name, component.kind.value, before, dict(after))
        if component.held is not None and honour_holds:
            held.append(_with_reason(move, f"held in {target.name}: {component.held}"))
        elif rolled_back and rolled_back.get(component.name, ("", ""))[0] == version_of(after):
            commit = rolled_back[component.name][1][:12]
            blocked.append(
                _with_reason(
                    move,
                    f"rolled back in {target.name} by {commit}; pass --allow-rolled-back to "
                    "promote again",
                )
            )
        elif target.protected and is_mutable(after):
            blocked.append(
                _with_reason(
                    move,
                    f"a mutable reference; {target.name} is protected and only takes immutable "
                    "versions (a release tag or a digest)",
                )
            )
        elif drops_pin(before, after) and target.protected:
            blocked.append(
                _with_reason(
                    move,
                    f"drops the digest pin of {move.from_version}; {target.name} is protected "
                    "and keeps images pinned: pin the image by digest in the source first",
                )
            )
        else:
            moves.append(move)
            if drops_pin(before, after):
                unpinned.append(move)
    notes = list(warnings)
    notes.extend(
        f"{m.component} drops its digest pin: {m.from_version} -> {m.to_version or 'no tag'} "
        "(the image is no longer pinned to one build)"
        for m in unpinned
    )
    notes.extend(f"{m.component} not promoted: {m.reason}" for m in held)
    notes.extend(f"{m.component} blocked: {m.reason}" for m in blocked)
    if target.protected and moves:
        notes.append(
            f"{target.name} is protected: merge only after review; Argo CD syncs it on merge"
        )
    return PromotionPlan(
        source=source_name,
        target=target.name,
        moves=tuple(moves),
        held=tuple(held),
        blocked=tuple(blocked),
        warnings=tuple(notes),
        skip_order=skip_order,
        allow_rolled_back=allow_rolled_back,
        protected=target.protected,
    )


def drops_pin(before: Mapping[str, str | None], after: Mapping[str, str | None]) -> bool:
    """An image pinned by digest would afterwards run by tag alone."""
    return bool(before.get("digest")) and not after.get("digest")


def _with_reason(move: Move, reason: str) -> Move:
    return Move(move.component, move.kind, move.before, move.after, reason)
