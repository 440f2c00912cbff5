"""Promote, roll back, push: the thin imperative shell around the pure plan.

Order matters: every check that can refuse (bad names, repository state, identity, branch,
remote, forge token) runs before anything is created, so a refusal changes nothing. The only
thing a successful run creates locally is the new branch.

A dry run takes exactly the path of a real run (the plan is made from ``HEAD``, applied and
re-rendered in a worktree of ``HEAD``, and the files are staged there); it only stops before the
commit object and the branch are written. So what it prints is what the commit will hold.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from gitops_gen.errors import ExternalToolError, GitopsGenError, InputError
from gitops_gen.gitrepo import GitRepo, PushRejected
from gitops_gen.hydrate.diff import ClusterChanges
from gitops_gen.model import Environment, Platform, load_platform
from gitops_gen.promote import forge, hydrated
from gitops_gen.promote.apply import Built, PromotionConflict, build_commit, build_in
from gitops_gen.promote.body import render_body, title
from gitops_gen.promote.diffing import AppDiff, FileChange
from gitops_gen.promote.hydrated import HydrationSetup
from gitops_gen.promote.plan import (
    PromotionPlan,
    plan_promotion,
)
from gitops_gen.promote.secretkeys import missing_keys
from gitops_gen.promote.trailers import (
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
    # set: add "Changes in the cluster" (hydrated, object-level diffs) to the body and plan
    hydrated: HydrationSetup | None = None


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


def quiet(_: str) -> None:
    return None


@dataclass(frozen=True)
class _Checked:
    repo: GitRepo
    head: str
    base_branch: str | None
    notes: tuple[str, ...] = ()


def preflight(root: Path, options: Options, default_branch: str) -> tuple[_Checked, str]:
    """Every refusal that depends on git, before anything is planned or written.

    A dry run makes the same checks of its arguments (branch name, remote, --open-pr without
    --push), so a dry run that passes in CI is not followed by a real run refused for them.
    It skips only what concerns the checkout it runs in: a detached HEAD (a CI checkout of a
    pull request), the git identity, and uncommitted changes, which it names in a note.
    """
    repo = GitRepo(root)
    head = repo.head_sha()
    branch = options.branch or default_branch
    if options.dry_run:
        notes: tuple[str, ...] = ()
        if dirty := _refused_changes(repo):
            shown = ", ".join(dirty[:3]) + (f" and {len(dirty) - 3} more" if len(dirty) > 3 else "")
            notes = (
                f"uncommitted changes ({shown}) are not part of a promotion: this dry run shows "
                f"the commit built from HEAD ({head[:12]}); the real run refuses until they "
                "are committed or stashed",
            )
        _check_arguments(repo, options, branch)
        return _Checked(repo, head, repo.current_branch(), notes), branch
    base_branch = repo.require_branch()
    repo.identity()
    state = repo.status()
    if state.staged or state.unstaged:
        repo.require_clean()
    repo.require_clean(INPUTS)  # untracked files count only among the tool's inputs
    _check_arguments(repo, options, branch)
    if options.open_pr:
        forge.token_for(options.open_pr)
    return _Checked(repo, head, base_branch), branch


def _refused_changes(repo: GitRepo) -> list[str]:
    """What a real run refuses to start with: staged or uncommitted changes anywhere, and
    untracked files among the tool's inputs."""
    state = repo.status()
    inputs = repo.status(INPUTS)
    return sorted({*state.staged, *state.unstaged, *inputs.untracked})


def _check_arguments(repo: GitRepo, options: Options, branch: str) -> None:
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


def env_at_head(platform: Platform, name: str, head: str) -> Environment:
    if name not in platform.environments:
        raise InputError(
            f"environment '{name}' is not committed at HEAD ({head[:12]}); a promotion is built "
            f"from HEAD: commit environments/{name}.yaml first"
        )
    return platform.environments[name]


def promote(
    root: Path, source: str, target: str, options: Options, progress: Progress = quiet
) -> Outcome:
    platform = load_platform(root)
    src, dst = platform.environment(source), platform.environment(target)
    promotion_id = new_promotion_id()
    default_branch = f"promote/{source}-to-{target}/{short_id(promotion_id)}"
    # names first (pure), then the repository
    plan_promotion(src, dst, options.components, options.skip_order)
    checked, branch = preflight(root, options, default_branch)
    history = read_history(checked.repo, target)
    with checked.repo.worktree(checked.head) as wt:
        # the plan is made from HEAD, the commit's base, never from the work tree
        committed = load_platform(wt)
        src = env_at_head(committed, source, checked.head)
        dst = env_at_head(committed, target, checked.head)
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
            return nothing_outcome(plan, target, checked.notes)
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
        # hydrated from the tree the commit is built from, dry run or not: one path for both
        changes = None
        if options.hydrated is not None:
            progress(f"hydrating the changed Applications of {plan.target}")
            changes = hydrated.for_tree(
                committed, checked.repo.root, built.plan, checked.head, wt,
                _apps(built.diffs), options.hydrated,
            )  # fmt: skip
            built = replace(built, plan=replace(built.plan, changed_objects=changes.changes))
    return finish(checked, built, options, branch, progress, changes, committed)


def _count(plan: PromotionPlan) -> str:
    n = len(plan.moves)
    return f"{n} component" if n == 1 else f"{n} components"


def nothing_outcome(plan: PromotionPlan, target: str, notes: tuple[str, ...] = ()) -> Outcome:
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


def finish(
    checked: _Checked,
    built: Built,
    options: Options,
    branch: str,
    progress: Progress,
    changes: ClusterChanges | None = None,
    platform: Platform | None = None,
) -> Outcome:
    repo = checked.repo
    plan = built.plan
    if options.dry_run:
        return Outcome(
            "dry-run",
            plan,
            body=_body(built, branch, changes),
            files=built.files,
            notes=checked.notes,
            message=f"{title(plan)}: dry run, no branch was created",
        )
    repo.create_branch(branch, built.commit)
    progress(f"created branch {branch} at {built.commit[:12]}")
    outcome = Outcome(
        "committed",
        plan,
        body=_body(built, branch, changes),
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
        if changes is not None and platform is not None and options.hydrated is not None:
            # re-planned onto a moved remote: hydrate what is really pushed
            base = pushed.plan.base_commit or checked.head
            changes = hydrated.for_commits(
                platform, repo.root, pushed.plan, base, pushed.commit,
                _apps(pushed.diffs), options.hydrated,
            )  # fmt: skip
            pushed = replace(pushed, plan=replace(pushed.plan, changed_objects=changes.changes))
    body = _body(pushed, branch, changes)
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


def _body(built: Built, branch: str, changes: ClusterChanges | None = None) -> str:
    plan = built.plan
    base = plan.base_commit[:12] if plan.base_commit else "HEAD"
    hint = f"gitops-gen diff --base {base} --head {branch} {plan.target}"
    return render_body(
        plan, list(built.diffs), full_diff_hint=hint, files=built.files, cluster=changes
    )


def _apps(diffs: Sequence[AppDiff]) -> list[str]:
    return [d.application for d in diffs]


__all__ = ["Options", "Outcome", "PromotionConflict", "promote"]
