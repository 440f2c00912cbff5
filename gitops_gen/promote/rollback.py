"""Rollbacks: a promotion-style commit that restores earlier promotable fields.

``--to`` returns to a state (right after a promotion, ``ID~1`` right before it, or a commit);
``--undo`` takes one promotion back, component by component, and refuses to revert what changed
after it. Both go through the same plan, build and finish as a promotion.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from gitops_gen.errors import InputError
from gitops_gen.gitrepo import GitRepo
from gitops_gen.model import Environment, load_platform
from gitops_gen.promote.apply import build_in
from gitops_gen.promote.edit import read_fields
from gitops_gen.promote.plan import Fields, plan_moves, promotable_fields, select_components
from gitops_gen.promote.service import (
    Options,
    Outcome,
    Progress,
    env_at_head,
    finish,
    nothing_outcome,
    preflight,
    quiet,
)
from gitops_gen.promote.trailers import (
    HistoryEntry,
    new_promotion_id,
    promotion_elsewhere,
    read_history,
    short_id,
)


def _by_id(history: list[HistoryEntry], prefix: str) -> HistoryEntry | None:
    """The entry whose promotion id is ``prefix`` or starts with it (at least 4 characters)."""
    matches = [e for e in history if e.promotion_id.startswith(prefix)] if len(prefix) >= 4 else []
    ids = sorted({e.promotion_id for e in matches})
    if len(ids) > 1:
        raise InputError(f"promotion id '{prefix}' is ambiguous: {', '.join(ids)}")
    return matches[0] if matches else None


def _recent(history: list[HistoryEntry], env: str) -> str:
    known = ", ".join(e.promotion_id for e in history[:5]) or "none"
    return f"recent promotions: {known}; see 'gitops-gen history {env}'"


def resolve_point(repo: GitRepo, env: str, to: str) -> tuple[str, str]:
    """``--to`` as (commit, label): a promotion id (or unique prefix) into ``env``, optionally
    followed by a revision suffix such as ``~1`` (the state before it), or a commit."""
    history = read_history(repo, env)
    cut = min((i for i in (to.find("~"), to.find("^")) if i >= 0), default=len(to))
    name, suffix = to[:cut], to[cut:]
    entry = _by_id(history, name)
    if entry is not None:
        if not suffix:
            return entry.commit, entry.promotion_id
        return repo.rev_parse(entry.commit + suffix), entry.promotion_id + suffix
    try:
        sha = repo.rev_parse(to)
    except InputError:
        raise InputError(
            f"--to {to}: neither a promotion into {env} nor a commit ({_recent(history, env)})"
        ) from None
    return sha, sha[:12]


def find_promotion(repo: GitRepo, env: str, promotion_id: str) -> HistoryEntry:
    """The promotion (or rollback) into ``env`` with this id or unique id prefix."""
    history = read_history(repo, env)
    entry = _by_id(history, promotion_id)
    if entry is None:
        other = promotion_elsewhere(repo, promotion_id)
        if other is not None and other.target != env:
            raise InputError(
                f"--undo {promotion_id}: that is a {other.kind} into {other.target}, not {env}; "
                f"run 'gitops-gen rollback {other.target} --undo {promotion_id}' to undo it"
            )
        raise InputError(
            f"--undo {promotion_id}: no promotion into {env} has this id ({_recent(history, env)})"
        )
    return entry


@dataclass(frozen=True)
class _Point:
    commit: str  # where the restored fields are read
    label: str  # Rollback-Of
    components: tuple[str, ...] | None  # None: every component
    expected: dict[str, Fields]  # --undo: what each component must still be


def _undo_point(
    repo: GitRepo, target: Environment, rel: str, promotion_id: str, chosen: Sequence[str]
) -> _Point:
    entry = find_promotion(repo, target.name, promotion_id)
    names = [c.component for c in entry.components]
    for name in chosen:
        if name not in names:
            raise InputError(
                f"--component {name}: promotion {entry.promotion_id} did not change it "
                f"(it changed {', '.join(names)})"
            )
    selected = tuple(chosen) or tuple(names)
    parent = repo.rev_parse(f"{entry.commit}^1")
    promoted = repo.show_file(entry.commit, rel) or ""
    expected = {}
    for name in selected:
        component = target.component(name)
        if component is not None:
            expected[name] = read_fields(promoted, name, component.kind.value)
    return _Point(parent, f"before {entry.promotion_id}", selected, expected)


def _moved_since(target: Environment, expected: dict[str, Fields], label: str) -> None:
    """Undoing a promotion must not silently revert what came after it."""
    changed = []
    for name, fields in expected.items():
        component = target.component(name)
        if component is None:
            changed.append(f"{name} (no longer in {target.name})")
            continue
        now = promotable_fields(component)
        if {k: v for k, v in now.items() if v is not None} != {
            k: v for k, v in fields.items() if v is not None
        }:
            changed.append(f"{name} (now {component.version or 'nothing'})")
    if changed:
        undone = label.removeprefix("before ")
        raise InputError(
            f"cannot undo {undone}: {', '.join(changed)} changed after it; undo the later "
            "promotions first, leave these out with --component, or use --to"
        )


def rollback(
    root: Path,
    env: str,
    to: str | None,
    options: Options,
    progress: Progress = quiet,
    *,
    undo: str | None = None,
) -> Outcome:
    """Restore ``env``'s promotable fields as they were at ``to``, or as they were before the
    promotion ``undo`` (only the components it changed)."""
    if (to is None) == (undo is None):
        raise InputError("give exactly one of --to POINT and --undo PROMOTION_ID")
    platform = load_platform(root)
    platform.environment(env)
    promotion_id = new_promotion_id()
    checked, branch = preflight(root, options, f"rollback/{env}/{short_id(promotion_id)}")
    repo = checked.repo
    with repo.worktree(checked.head) as wt:
        committed = load_platform(wt)
        target = env_at_head(committed, env, checked.head)
        rel = target.source.relative_to(wt).as_posix()
        if undo is not None:
            point = _undo_point(repo, target, rel, undo, options.components)
            _moved_since(target, point.expected, point.label)
        else:
            assert to is not None
            commit, label = resolve_point(repo, env, to)
            chosen = None
            if options.components:
                chosen = tuple(sorted(select_components(target, options.components) or ()))
            point = _Point(commit, label, chosen, {})
        earlier = repo.show_file(point.commit, rel)
        if earlier is None:
            raise InputError(f"{rel} does not exist at {point.commit[:12]}; pick a later point")
        wanted = {}
        for component in target.components:
            if point.components is not None and component.name not in point.components:
                continue
            fields = read_fields(earlier, component.name, component.kind.value)
            if any(v is not None for v in fields.values()):
                wanted[component.name] = fields
        plan = plan_moves(env, target, wanted)
        plan = replace(
            plan,
            promotion_id=promotion_id,
            source_commit=point.commit,
            base_commit=checked.head,
            rollback_of=point.label,
        )
        if plan.empty:
            if plan.blocked:
                return nothing_outcome(plan, env)
            return Outcome(
                "nothing",
                plan,
                message=f"nothing to roll back: {env} already matches {point.label}",
            )
        built = build_in(repo, wt, checked.head, plan, committed, commit=not options.dry_run)
    return finish(checked, built, options, branch, progress)
