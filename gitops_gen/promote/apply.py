"""Turn a promotion plan into one commit on a new branch, without touching the work tree.

The commit is built in a temporary detached worktree of the base commit: the target's
environment file is edited there, the target is re-rendered there, and only the target's
environment file and rendered folders are staged. The person's checkout, index and current
branch are never modified; the branch appears only once its commit exists (a compare-and-swap
creation, so two runs can never overwrite each other's branch).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from gitops_gen.errors import GitopsGenError, RepoError
from gitops_gen.gitrepo import GitRepo
from gitops_gen.model import Environment, Platform, load_platform
from gitops_gen.promote.diffing import AppDiff, application_of, rendered_diff
from gitops_gen.promote.edit import FieldChange, apply_changes, changes_for
from gitops_gen.promote.plan import PromotionPlan, plan_moves, promotable_fields
from gitops_gen.promote.trailers import commit_message
from gitops_gen.render import apply_plan, layout, plan_render
from gitops_gen.render.writer import existing_files


class PromotionConflict(RepoError):
    """The target moved under the promotion in a way that cannot be merged automatically."""


@dataclass(frozen=True)
class Built:
    plan: PromotionPlan
    commit: str
    diffs: tuple[AppDiff, ...]


def field_changes(plan: PromotionPlan) -> list[FieldChange]:
    changes: list[FieldChange] = []
    for move in plan.moves:
        changes.extend(changes_for(move.component, move.kind, move.before, move.after))
    return changes


def edited_text(text: str, plan: PromotionPlan, display: str) -> str:
    return apply_changes(text, field_changes(plan), display)


def target_paths(env: Environment) -> list[str]:
    """Repository-relative paths a promotion into ``env`` may change."""
    return list(layout.owned_prefixes(env.cluster_name, env.name))


def _rendered(root: Path, env: Environment) -> dict[str, str]:
    prefixes = target_paths(env)
    return {
        rel: path.read_text(encoding="utf-8")
        for rel, path in existing_files(root).items()
        if any(rel.startswith(p) for p in prefixes)
    }


def write_text_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        Path(tmp).chmod(path.stat().st_mode & 0o7777 if path.exists() else 0o644)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def preview(platform: Platform, plan: PromotionPlan) -> list[AppDiff]:
    """The rendered diff a plan would cause, computed in a scratch copy (dry runs)."""
    root = platform.root
    target = platform.environment(plan.target)
    rel = target.source.relative_to(root).as_posix()
    new_text = edited_text(target.source.read_text(encoding="utf-8"), plan, rel)
    scratch = Path(tempfile.mkdtemp(prefix="gitops-gen-preview-"))
    try:
        shutil.copytree(root / "environments", scratch / "environments")
        shutil.copytree(root / "templates", scratch / "templates")
        (scratch / rel).write_text(new_text, encoding="utf-8")
        edited = load_platform(scratch)
        render = plan_render(edited, [plan.target])
        prefixes = target_paths(target)
        new = {p: t for p, t in render.files.items() if any(p.startswith(x) for x in prefixes)}
        return rendered_diff(_rendered(root, target), new, application_of(edited, [plan.target]))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def rebase_plan(plan: PromotionPlan, target: Environment) -> PromotionPlan:
    """Re-plan ``plan`` against a newer version of its target environment.

    A component whose value is still what the plan moved it from moves as planned; one already
    at the planned value drops out; one that someone else changed to a third value is a
    conflict: overwriting it would lose their change.
    """
    conflicts = []
    for move in plan.moves:
        component = target.component(move.component)
        if component is None:
            conflicts.append(f"{move.component} no longer exists in {target.name}")
            continue
        now = promotable_fields(component)
        if now not in (move.before, move.after):
            shown = component.version or "nothing"
            conflicts.append(
                f"{move.component} is now {shown} (this promotion expected {move.from_version})"
            )
    if conflicts:
        raise PromotionConflict("; ".join(conflicts))
    wanted = {m.component: m.after for m in plan.moves}
    fresh = plan_moves(plan.source, target, wanted, wanted.keys(), forced=plan.forced)
    return replace(
        fresh,
        held=plan.held + fresh.held,
        blocked=plan.blocked + fresh.blocked,
        warnings=plan.warnings + tuple(w for w in fresh.warnings if w not in plan.warnings),
        promotion_id=plan.promotion_id,
        source_commit=plan.source_commit,
        rollback_of=plan.rollback_of,
        extra=plan.extra,
    )


def build_commit(
    repo: GitRepo,
    base: str,
    plan: PromotionPlan,
    *,
    replan: bool = False,
    known: Environment | None = None,
) -> Built | None:
    """Build the promotion commit on ``base``; None when (after re-planning) nothing moves.

    ``known`` is the target as loaded from ``base`` by the caller (saves loading it twice).
    """
    with repo.worktree(base) as wt:
        if replan or known is None:
            target = load_platform(wt).environment(plan.target)
            rel = target.source.relative_to(wt).as_posix()
        else:
            # the base is the commit ``known`` was loaded from: no need to load it again
            target = known
            rel = target.source.relative_to(repo.root).as_posix()
        if replan:
            plan = rebase_plan(plan, target)
            if plan.empty:
                return None
        plan = replace(plan, base_commit=base)
        before = _rendered(wt, target)
        env_file = wt / rel
        write_text_atomic(env_file, edited_text(env_file.read_text("utf-8"), plan, rel))
        edited = load_platform(wt)
        render = plan_render(edited, [plan.target])
        apply_plan(wt, render)
        after = _rendered(wt, target)
        diffs = rendered_diff(before, after, application_of(edited, [plan.target]))
        worktree = GitRepo(wt)
        # 'git add' refuses a pathspec matching nothing: stage only folders that exist now or
        # held tracked files before (a folder whose files all went away)
        tracked = worktree.run("ls-files", "--", *target_paths(target)).splitlines()
        paths = [rel]
        paths += [
            p
            for p in target_paths(target)
            if (wt / p).exists() or any(t.startswith(p) for t in tracked)
        ]
        worktree.run("add", "-A", "--", *paths, what="add")
        tree = worktree.run("write-tree", what="write-tree")
        if tree == worktree.run("rev-parse", f"{base}^{{tree}}"):
            raise GitopsGenError(  # pragma: no cover - the plan said something moves
                "the promotion changed no file; nothing was committed"
            )
        commit = worktree.commit_tree(tree, base, commit_message(plan))
    return Built(plan, commit, tuple(diffs))
