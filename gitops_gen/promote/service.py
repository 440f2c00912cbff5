"""Promote, roll back, push: the thin imperative shell around the pure plan.

Order matters: every check that can refuse (bad names, repository state, identity, branch,
remote, forge token) runs before anything is created, so a refusal changes nothing. The only
thing a successful run creates locally is the new branch.

A dry run takes exactly the path of a real run (the plan is made from ``HEAD``, applied and
re-rendered in a worktree of ``HEAD``, and the files are staged there); it only stops before the
commit object and the branch are written. So what it prints is what the commit will hold.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from gitops_gen.errors import ExternalToolError, GitopsGenError, InputError, RepoError
from gitops_gen.gitrepo import GitRepo, PushRejected
from gitops_gen.model import Environment, Platform, load_platform
from gitops_gen.promote import forge
from gitops_gen.promote.apply import Built, PromotionConflict, build_commit, build_in
from gitops_gen.promote.body import render_body, title
from gitops_gen.promote.diffing import FileChange
from gitops_gen.promote.edit import read_fields
from gitops_gen.promote.plan import (
    Fields,
    PromotionPlan,
    plan_moves,
    plan_promotion,
    promotable_fields,
    select_components,
)
from gitops_gen.promote.secretkeys import missing_keys
from gitops_gen.promote.text import format_plan
from gitops_gen.promote.trailers import (
    HistoryEntry,
    new_promotion_id,
    read_history,
    rolled_back_versions,
    short_id,
)

MAX_PUSH_ATTEMPTS = 3

# What a promotion reads. Untracked files elsewhere (a pull-request body written next to the
# checkout, editor backups) cannot change a commit built from HEAD, so they do not block.
INPUTS = ("environments", "templates", "secrets", ".sops.yaml", "clusters")

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Options:
    components: tuple[str, ...] = ()
    skip_order: bool = False
    allow_rolled_back: bool = False
    dry_run: bool = False
    branch: str | None = None
    push: str | None = None
    open_pr: str | None = None


@dataclass(frozen=True)
class Outcome:
    status: str  # nothing | dry-run | committed | pushed
    plan: PromotionPlan
    body: str = ""
    branch: str | None = None
    commit: str | None = None
    remote: str | None = None
    pull_request: str | None = None
    rebases: int = 0
    message: str = ""
    files: tuple[FileChange, ...] = ()
    notes: tuple[str, ...] = ()  # for the person running it (stderr), not for reviewers

    def to_json(self) -> dict[str, object]:
        return {
            "status": self.status,
            "message": self.message,
            "branch": self.branch,
            "commit": self.commit,
            "remote": self.remote,
            "pullRequest": self.pull_request,
            "rebases": self.rebases,
            "files": [{"status": f.status, "path": f.path} for f in self.files],
            "notes": list(self.notes),
            "plan": self.plan.to_json(),
            "body": self.body,
        }


def _quiet(_: str) -> None:
    return None


@dataclass(frozen=True)
class _Checked:
    repo: GitRepo
    head: str
    base_branch: str | None
    notes: tuple[str, ...] = ()


def _preflight(root: Path, options: Options, default_branch: str) -> tuple[_Checked, str]:
    """Every refusal that depends on git, before anything is planned or written."""
    repo = GitRepo(root)
    head = repo.head_sha()
    if options.dry_run:
        notes: tuple[str, ...] = ()
        state = repo.status(INPUTS)
        if dirty := sorted({*state.staged, *state.unstaged, *state.untracked}):
            shown = ", ".join(dirty[:3]) + (f" and {len(dirty) - 3} more" if len(dirty) > 3 else "")
            notes = (
                f"uncommitted changes ({shown}) are not part of a promotion: this dry run shows "
                f"the commit built from HEAD ({head[:12]}), as the real run would",
            )
        return _Checked(repo, head, repo.current_branch(), notes), options.branch or default_branch
    base_branch = repo.require_branch()
    repo.identity()
    state = repo.status()
    if state.staged or state.unstaged:
        repo.require_clean()
    repo.require_clean(INPUTS)  # untracked files count only among the tool's inputs
    branch = options.branch or default_branch
    repo.check_branch_name(branch)
    if repo.branch_exists(branch):
        raise InputError(
            f"branch '{branch}' already exists; pass another --branch NAME or delete it "
            f"('git branch -D {branch}')"
        )
    if options.open_pr and not options.push:
        raise InputError("--open-pr needs --push REMOTE: the forge needs the branch to exist")
    if options.push:
        repo.require_remote(options.push)
    if options.open_pr:
        forge.token_for(options.open_pr)
    return _Checked(repo, head, base_branch), branch


def _at_head(platform: Platform, name: str, head: str) -> Environment:
    if name not in platform.environments:
        raise InputError(
            f"environment '{name}' is not committed at HEAD ({head[:12]}); a promotion is built "
            f"from HEAD: commit environments/{name}.yaml first"
        )
    return platform.environments[name]


def promote(
    root: Path, source: str, target: str, options: Options, progress: Progress = _quiet
) -> Outcome:
    platform = load_platform(root)
    src, dst = platform.environment(source), platform.environment(target)
    promotion_id = new_promotion_id()
    default_branch = f"promote/{source}-to-{target}/{short_id(promotion_id)}"
    # names first (pure), then the repository
    plan_promotion(src, dst, options.components, options.skip_order)
    checked, branch = _preflight(root, options, default_branch)
    history = read_history(checked.repo, target)
    with checked.repo.worktree(checked.head) as wt:
        # the plan is made from HEAD, the commit's base, never from the work tree
        committed = load_platform(wt)
        src = _at_head(committed, source, checked.head)
        dst = _at_head(committed, target, checked.head)
        plan = plan_promotion(
            src,
            dst,
            options.components,
            options.skip_order,
            rolled_back_versions(history),
            options.allow_rolled_back,
        )
        plan = replace(
            plan,
            promotion_id=promotion_id,
            source_commit=checked.head,
            base_commit=checked.head,
        )
        if plan.empty:
            return _nothing(plan, target, checked.notes)
        secret_warnings, secret_note = missing_keys(
            committed, src, dst, [m.component for m in plan.moves]
        )
        plan = replace(
            plan,
            warnings=plan.warnings + tuple(secret_warnings),
            extra={"secretCheck": secret_note} if secret_note else {},
        )
        progress(f"building the commit for {_count(plan)} of {plan.target}")
        built = build_in(
            checked.repo, wt, checked.head, plan, committed, commit=not options.dry_run
        )
    return _finish(checked, built, options, branch, progress)


def _count(plan: PromotionPlan) -> str:
    n = len(plan.moves)
    return f"{n} component" if n == 1 else f"{n} components"


def _nothing(plan: PromotionPlan, target: str, notes: tuple[str, ...] = ()) -> Outcome:
    reasons = []
    if plan.held:
        reasons.append(f"{len(plan.held)} held")
    if plan.blocked:
        reasons.append(f"{len(plan.blocked)} blocked")
    extra = f" ({', '.join(reasons)}; see the plan)" if reasons else ""
    if plan.blocked:
        # something would have moved but may not: that is a refusal, not a no-op
        raise InputError(f"nothing can be promoted into {target}: {blocked_summary(plan)}")
    return Outcome("nothing", plan, message=f"nothing to promote into {target}{extra}", notes=notes)


def blocked_summary(plan: PromotionPlan) -> str:
    """One clause per distinct reason, listing its components (not one sentence each)."""
    by_reason: dict[str, list[str]] = {}
    for move in plan.blocked:
        by_reason.setdefault(move.reason, []).append(
            f"{move.component} {move.to_version or '(no tag)'}"
        )
    return "; ".join(f"{', '.join(names)}: {reason}" for reason, names in by_reason.items())


def _finish(
    checked: _Checked, built: Built, options: Options, branch: str, progress: Progress
) -> Outcome:
    repo = checked.repo
    plan = built.plan
    if options.dry_run:
        return Outcome(
            "dry-run",
            plan,
            body=_body(built, branch),
            files=built.files,
            notes=checked.notes,
            message=f"{title(plan)}: dry run, no branch was created",
        )
    repo.create_branch(branch, built.commit)
    progress(f"created branch {branch} at {built.commit[:12]}")
    outcome = Outcome(
        "committed",
        plan,
        body=_body(built, branch),
        branch=branch,
        commit=built.commit,
        files=built.files,
        message=f"{title(plan)}: branch {branch}",
    )
    if not options.push:
        return outcome
    assert checked.base_branch is not None
    upstream = repo.upstream_branch(checked.base_branch, options.push)
    pushed, rebases = _push(repo, options.push, branch, upstream, built, progress)
    if pushed is None:
        repo.delete_branch(branch, built.commit)
        return Outcome(
            "nothing",
            plan,
            message=(
                f"nothing to promote into {plan.target}: {options.push}/{upstream} already has "
                "these versions; no branch was pushed"
            ),
        )
    if pushed.commit != built.commit:
        repo.move_branch(branch, pushed.commit, built.commit)
    body = _body(pushed, branch)
    outcome = replace(
        outcome,
        status="pushed",
        plan=pushed.plan,
        body=body,
        commit=pushed.commit,
        files=pushed.files,
        remote=options.push,
        rebases=rebases,
        message=f"{title(pushed.plan)}: pushed {branch} to {options.push}",
    )
    if options.open_pr:
        try:
            url = forge.open_pull_request(
                options.open_pr,
                repo.remote_url(options.push),
                forge.PullRequest(title=title(pushed.plan), body=body, head=branch, base=upstream),
            )
        except GitopsGenError as exc:
            raise type(exc)(
                f"{exc.message} (branch {branch} was pushed to {options.push}; open the pull "
                "request by hand or run again with another --branch)"
            ) from None
        outcome = replace(outcome, pull_request=url)
    return outcome


def _push(
    repo: GitRepo, remote: str, branch: str, upstream: str, built: Built, progress: Progress
) -> tuple[Built | None, int]:
    """Push with compare-and-swap semantics: the commit is always planned against the tip the
    remote had when it was read, and a plain (never forced) push only lands if that tip did not
    move; if it did, fetch, re-plan onto the new tip and try again, a bounded number of times."""
    current = built
    rebases = 0
    for _attempt in range(MAX_PUSH_ATTEMPTS):
        # an existing remote branch of the same name holds someone's promotion: stack on it
        onto = repo.fetch_branch(remote, branch) or repo.fetch_branch(remote, upstream)
        if onto is not None and not repo.is_ancestor(onto, current.commit):
            progress(f"{remote} moved to {onto[:12]}; re-planning the promotion onto it")
            try:
                rebuilt = build_commit(repo, onto, current.plan)
            except PromotionConflict as exc:
                raise PromotionConflict(
                    f"cannot rebase onto {remote}/{upstream} ({onto[:12]}): {exc.message}; "
                    f"nothing was pushed and the local branch {branch} is intact"
                ) from None
            if rebuilt is None:
                return None, rebases
            current = rebuilt
            rebases += 1
        try:
            repo.push(remote, current.commit, branch)
        except PushRejected:
            progress(f"{remote}/{branch} changed while pushing; retrying")
            continue
        progress(f"pushed {branch} to {remote}")
        return current, rebases
    raise ExternalToolError(
        f"git push to '{remote}' kept being rejected after {MAX_PUSH_ATTEMPTS} attempts "
        f"(the remote keeps moving); the local branch {branch} is intact, run the push again"
    )


def _body(built: Built, branch: str) -> str:
    plan = built.plan
    base = plan.base_commit[:12] if plan.base_commit else "HEAD"
    hint = f"gitops-gen diff --base {base} --head {branch} {plan.target}"
    return render_body(plan, list(built.diffs), full_diff_hint=hint, files=built.files)


# --- rollback ------------------------------------------------------------------------------


def resolve_point(repo: GitRepo, env: str, to: str) -> tuple[str, str]:
    """``--to`` as (commit, label): a promotion id (or unique prefix) into ``env``, optionally
    followed by a revision suffix such as ``~1`` (the state before it), or a commit."""
    history = read_history(repo, env)
    cut = min((i for i in (to.find("~"), to.find("^")) if i >= 0), default=len(to))
    name, suffix = to[:cut], to[cut:]
    matches = [e for e in history if e.promotion_id.startswith(name)] if len(name) >= 4 else []
    ids = {e.promotion_id for e in matches}
    if len(ids) > 1:
        raise InputError(f"promotion id '{name}' is ambiguous: {', '.join(sorted(ids))}")
    if matches:
        entry = matches[0]
        if not suffix:
            return entry.commit, entry.promotion_id
        return repo.rev_parse(entry.commit + suffix), entry.promotion_id + suffix
    try:
        sha = repo.rev_parse(to)
    except InputError:
        known = ", ".join(e.promotion_id for e in history[:5]) or "none"
        raise InputError(
            f"--to {to}: neither a promotion into {env} nor a commit "
            f"(recent promotions: {known}; see 'gitops-gen history {env}')"
        ) from None
    return sha, sha[:12]


def find_promotion(repo: GitRepo, env: str, promotion_id: str) -> HistoryEntry:
    """The promotion (or rollback) into ``env`` with this id or unique id prefix."""
    history = read_history(repo, env)
    matches = (
        [e for e in history if e.promotion_id.startswith(promotion_id)]
        if len(promotion_id) >= 4
        else []
    )
    if len({e.promotion_id for e in matches}) > 1:
        ids = ", ".join(sorted({e.promotion_id for e in matches}))
        raise InputError(f"promotion id '{promotion_id}' is ambiguous: {ids}")
    if not matches:
        known = ", ".join(e.promotion_id for e in history[:5]) or "none"
        raise InputError(
            f"--undo {promotion_id}: no promotion into {env} has this id (recent promotions: "
            f"{known}; see 'gitops-gen history {env}')"
        )
    return matches[0]


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
    progress: Progress = _quiet,
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
    checked, branch = _preflight(root, options, f"rollback/{env}/{short_id(promotion_id)}")
    repo = checked.repo
    with repo.worktree(checked.head) as wt:
        committed = load_platform(wt)
        target = _at_head(committed, env, checked.head)
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
                return _nothing(plan, env)
            return Outcome(
                "nothing",
                plan,
                message=f"nothing to roll back: {env} already matches {point.label}",
            )
        built = build_in(repo, wt, checked.head, plan, committed, commit=not options.dry_run)
    return _finish(checked, built, options, branch, progress)


# --- for make demo and other callers -------------------------------------------------------


def dry_run_report(root: Path, source: str, target: str) -> str:
    """The plan and the pull-request body a promotion would produce; changes nothing.

    Outside a git repository with commits (an unpacked tarball, a container image) the files
    are copied, whole, into a scratch repository and committed there, so the report still comes
    from the one promotion path.
    """
    try:
        GitRepo(root).head_sha()
    except RepoError:
        return _report_from_copy(root, source, target)
    return _report(root, source, target)


def _report(root: Path, source: str, target: str) -> str:
    outcome = promote(root, source, target, Options(dry_run=True))
    notes = "".join(f"note: {n}\n" for n in outcome.notes)
    if outcome.status == "nothing":
        return notes + outcome.message + "\n"
    return notes + format_plan(outcome.plan) + "\n" + outcome.body


def _report_from_copy(root: Path, source: str, target: str) -> str:
    scratch = Path(tempfile.mkdtemp(prefix="gitops-gen-dry-run-"))
    try:
        copy = scratch / "repo"
        shutil.copytree(root, copy, symlinks=True, ignore=shutil.ignore_patterns(".git"))
        for argv in (
            ["init", "-q", "-b", "main"],
            ["add", "-A"],
            [
                "-c",
                "user.name=gitops-gen",
                "-c",
                "user.email=gitops-gen@localhost",
                "commit",
                "-q",
                "--no-verify",
                "-m",
                "snapshot for a dry run",
            ],
        ):
            subprocess.run(["git", *argv], cwd=copy, check=True, capture_output=True)
        return _report(copy, source, target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


__all__ = ["Options", "Outcome", "PromotionConflict", "dry_run_report", "promote", "rollback"]
