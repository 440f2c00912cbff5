"""Turn a promotion plan into one commit on a new branch, without touching the work tree.

The commit is built in a temporary detached worktree of the base commit: the target's
environment file is edited there, the target is re-rendered there, and only the target's
environment file and rendered folders are staged. The person's checkout, index and current
branch are never modified; the branch appears only once its commit exists (a compare-and-swap
creation, so two runs can never overwrite each other's branch). A dry run goes through the same
:func:`build_in` and stops before the commit, so it lists exactly the commit's files.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from gitops_gen.errors import GitopsGenError, InputError, RepoError
from gitops_gen.gitrepo import GitRepo
from gitops_gen.model import Environment, Platform, load_platform
from gitops_gen.promote.diffing import AppDiff, FileChange, application_of, rendered_diff
from gitops_gen.promote.edit import FieldChange, apply_changes, changes_for
from gitops_gen.promote.plan import PromotionPlan, plan_moves, promotable_fields
from gitops_gen.promote.trailers import commit_message
from gitops_gen.render import apply_plan, check_plan, layout, plan_render
from gitops_gen.render.writer import existing_files


class PromotionConflict(RepoError):
    """The target moved under the promotion in a way that cannot be merged automatically."""


class StaleRender(InputError):
    """The committed render of the target is not what ``render`` writes for the committed files."""


@dataclass(frozen=True)
class Built:
    """What one promotion changes: the plan, the rendered diffs and the exact files.

    ``commit`` is empty for a dry run, which stops before the commit and the branch are written
    (staging in the throwaway worktree leaves only unreferenced blobs, which git's gc prunes).
    """

    plan: PromotionPlan
    commit: str
    diffs: tuple[AppDiff, ...]
    files: tuple[FileChange, ...]


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
    fresh = plan_moves(
        plan.source,
        target,
        wanted,
        wanted.keys(),
        skip_order=plan.skip_order,
        allow_rolled_back=plan.allow_rolled_back,
    )
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


def build_commit(repo: GitRepo, base: str, plan: PromotionPlan) -> Built | None:
    """Re-plan ``plan`` onto ``base`` (a moved remote) and build its commit there; None when
    nothing moves any more."""
    with repo.worktree(base) as wt:
        platform = load_platform(wt)
        plan = rebase_plan(plan, platform.environment(plan.target))
        if plan.empty:
            return None
        return build_in(repo, wt, base, plan, platform, commit=True)


def build_in(
    repo: GitRepo,
    wt: Path,
    base: str,
    plan: PromotionPlan,
    platform: Platform,
    *,
    commit: bool,
) -> Built:
    """Apply ``plan`` in ``wt`` (a detached worktree of ``base``, loaded as ``platform``).

    Dry runs and real runs both come here, so the plan, the body and the file list a dry run
    prints are the commit's; a dry run only skips writing the commit object.
    """
    target = platform.environment(plan.target)
    check_render_current(wt, platform, target, base)
    plan = replace(plan, base_commit=base)
    rel = target.source.relative_to(wt).as_posix()
    before = _rendered(wt, target)
    env_file = wt / rel
    write_text_atomic(env_file, edited_text(env_file.read_text("utf-8"), plan, rel))
    edited = load_platform(wt)
    apply_plan(wt, plan_render(edited, [plan.target]))
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
    files = staged_files(worktree, base)
    if not files:
        raise GitopsGenError(  # pragma: no cover - the plan said something moves
            "the promotion changed no file; nothing was committed"
        )
    sha = ""
    if commit:
        tree = worktree.run("write-tree", what="write-tree")
        sha = worktree.commit_tree(tree, base, commit_message(plan))
    return Built(plan, sha, tuple(diffs), files)


def staged_files(worktree: GitRepo, base: str) -> tuple[FileChange, ...]:
    out = worktree.run("diff", "--cached", "--no-renames", "--name-status", "-z", base)
    parts = [p for p in out.split("\0") if p]
    return tuple(FileChange(parts[i][0], parts[i + 1]) for i in range(0, len(parts) - 1, 2))


def check_render_current(root: Path, platform: Platform, env: Environment, base: str) -> None:
    """Refuse to promote on top of a stale render: its commit would carry changes (a hand edit
    under clusters/, a template change never rendered) that its title, table and trailers do
    not mention."""
    prefixes = tuple(target_paths(env))
    result = check_plan(root, plan_render(platform, [env.name]))
    stale = [path for path, _ in result.all_paths if path.startswith(prefixes)]
    if stale:
        shown = ", ".join(stale[:3]) + (f" and {len(stale) - 3} more" if len(stale) > 3 else "")
        count = "1 file differs" if len(stale) == 1 else f"{len(stale)} files differ"
        raise StaleRender(
            f"clusters/ at {base[:12]} is stale for {env.name}: {count} from what render "
            f"writes ({shown}); run 'gitops-gen render {env.name}', commit the result, then "
            "promote again"
        )
