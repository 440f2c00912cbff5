"""Promote, roll back, push: the thin imperative shell around the pure plan.

Order matters: every check that can refuse (bad names, repository state, identity, branch,
remote, forge token) runs before anything is created, so a refusal changes nothing. The only
thing a successful run creates locally is the new branch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from gitops_gen.errors import ExternalToolError, GitopsGenError, InputError, RepoError
from gitops_gen.gitrepo import GitRepo, PushRejected
from gitops_gen.hydrate.diff import ClusterChanges
from gitops_gen.model import Platform, load_platform
from gitops_gen.promote import forge, hydrated
from gitops_gen.promote.apply import Built, PromotionConflict, build_commit, preview
from gitops_gen.promote.body import render_body, title
from gitops_gen.promote.diffing import AppDiff
from gitops_gen.promote.edit import read_fields
from gitops_gen.promote.hydrated import HydrationSetup
from gitops_gen.promote.plan import PromotionPlan, plan_moves, plan_promotion
from gitops_gen.promote.secretkeys import missing_keys
from gitops_gen.promote.text import format_plan
from gitops_gen.promote.trailers import (
    new_promotion_id,
    read_history,
    rolled_back_versions,
    short_id,
)

MAX_PUSH_ATTEMPTS = 3

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Options:
    components: tuple[str, ...] = ()
    force: bool = False
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

    def to_json(self) -> dict[str, object]:
        return {
            "status": self.status,
            "message": self.message,
            "branch": self.branch,
            "commit": self.commit,
            "remote": self.remote,
            "pullRequest": self.pull_request,
            "rebases": self.rebases,
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


def _preflight(root: Path, options: Options, default_branch: str) -> tuple[_Checked, str]:
    """Every refusal that depends on git, before anything is planned or written."""
    repo = GitRepo(root)
    head = repo.head_sha()
    if options.dry_run:
        return _Checked(repo, head, repo.current_branch()), options.branch or default_branch
    base_branch = repo.require_branch()
    repo.identity()
    repo.require_clean()
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


def promote(
    root: Path, source: str, target: str, options: Options, progress: Progress = _quiet
) -> Outcome:
    platform = load_platform(root)
    src, dst = platform.environment(source), platform.environment(target)
    promotion_id = new_promotion_id()
    default_branch = f"promote/{source}-to-{target}/{short_id(promotion_id)}"
    # names first (pure), then the repository
    plan_promotion(src, dst, options.components, options.force)
    checked, branch = _preflight(root, options, default_branch)
    history = read_history(checked.repo, target)
    plan = plan_promotion(
        src, dst, options.components, options.force, rolled_back_versions(history)
    )
    plan = replace(
        plan,
        promotion_id=promotion_id,
        source_commit=checked.head,
        base_commit=checked.head,
    )
    if plan.empty:
        return _nothing(plan, target)
    secret_warnings, secret_note = missing_keys(
        platform, src, dst, [m.component for m in plan.moves]
    )
    plan = replace(
        plan,
        warnings=plan.warnings + tuple(secret_warnings),
        extra={"secretCheck": secret_note} if secret_note else {},
    )
    return _execute(platform, checked, plan, options, branch, progress)


def _nothing(plan: PromotionPlan, target: str) -> Outcome:
    reasons = []
    if plan.held:
        reasons.append(f"{len(plan.held)} held")
    if plan.blocked:
        reasons.append(f"{len(plan.blocked)} blocked")
    extra = f" ({', '.join(reasons)}; see the plan)" if reasons else ""
    if plan.blocked:
        # something would have moved but may not: that is a refusal, not a no-op
        details = "; ".join(f"{m.component}: {m.reason}" for m in plan.blocked)
        raise InputError(f"nothing can be promoted into {target}: {details}")
    return Outcome("nothing", plan, message=f"nothing to promote into {target}{extra}")


def _execute(
    platform: Platform,
    checked: _Checked,
    plan: PromotionPlan,
    options: Options,
    branch: str,
    progress: Progress,
) -> Outcome:
    repo = checked.repo
    if options.dry_run:
        diffs = preview(platform, plan)
        changes = None
        if options.hydrated is not None:
            progress(f"hydrating the changed Applications of {plan.target}")
            changes = hydrated.for_dry_run(
                platform, repo.root, plan, checked.head, _apps(diffs), options.hydrated
            )
            plan = replace(plan, changed_objects=changes.changes)
        return Outcome("dry-run", plan, body=_body(plan, diffs, branch, changes), branch=None)
    progress(f"building the commit for {len(plan.moves)} components of {plan.target}")
    built = build_commit(repo, checked.head, plan, known=platform.environment(plan.target))
    assert built is not None
    built, changes = _hydrate(platform, repo, built, checked.head, options, progress)
    repo.create_branch(branch, built.commit)
    progress(f"created branch {branch} at {built.commit[:12]}")
    outcome = Outcome(
        "committed",
        built.plan,
        body=_body(built.plan, built.diffs, branch, changes),
        branch=branch,
        commit=built.commit,
        message=f"{title(built.plan)}: branch {branch}",
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
            built.plan,
            message=(
                f"nothing to promote into {plan.target}: {options.push}/{upstream} already has "
                "these versions; no branch was pushed"
            ),
        )
    if pushed.commit != built.commit:
        repo.move_branch(branch, pushed.commit, built.commit)
        base = pushed.plan.base_commit or checked.head
        pushed, changes = _hydrate(platform, repo, pushed, base, options, progress)
    body = _body(pushed.plan, pushed.diffs, branch, changes)
    outcome = replace(
        outcome,
        status="pushed",
        plan=pushed.plan,
        body=body,
        commit=pushed.commit,
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
                rebuilt = build_commit(repo, onto, current.plan, replan=True)
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


def _body(
    plan: PromotionPlan,
    diffs: list[AppDiff] | tuple[AppDiff, ...],
    branch: str,
    changes: ClusterChanges | None = None,
) -> str:
    base = plan.base_commit[:12] if plan.base_commit else "HEAD"
    hint = f"gitops-gen diff --base {base} --head {branch} {plan.target}"
    return render_body(plan, list(diffs), full_diff_hint=hint, cluster=changes)


def _apps(diffs: list[AppDiff] | tuple[AppDiff, ...]) -> list[str]:
    return [d.application for d in diffs]


def _hydrate(
    platform: Platform,
    repo: GitRepo,
    built: Built,
    base: str,
    options: Options,
    progress: Progress,
) -> tuple[Built, ClusterChanges | None]:
    """With --hydrated: the cluster changes between ``base`` and the built commit."""
    if options.hydrated is None:
        return built, None
    progress(f"hydrating the changed Applications of {built.plan.target}")
    changes = hydrated.for_commits(
        platform, repo.root, built.plan, base, built.commit, _apps(built.diffs), options.hydrated
    )
    return replace(built, plan=replace(built.plan, changed_objects=changes.changes)), changes


# --- rollback ------------------------------------------------------------------------------


def resolve_point(repo: GitRepo, env: str, to: str) -> tuple[str, str]:
    """``--to`` as (commit, label): a promotion id (or unique prefix) into ``env``, or a commit."""
    history = read_history(repo, env)
    matches = [e for e in history if e.promotion_id.startswith(to)] if len(to) >= 4 else []
    ids = {e.promotion_id for e in matches}
    if len(ids) > 1:
        raise InputError(f"promotion id '{to}' is ambiguous: {', '.join(sorted(ids))}")
    if matches:
        return matches[0].commit, matches[0].promotion_id
    try:
        sha = repo.rev_parse(to)
    except InputError:
        known = ", ".join(e.promotion_id for e in history[:5]) or "none"
        raise InputError(
            f"--to {to}: neither a promotion into {env} nor a commit "
            f"(recent promotions: {known}; see 'gitops-gen history {env}')"
        ) from None
    return sha, sha[:12]


def rollback(
    root: Path, env: str, to: str, options: Options, progress: Progress = _quiet
) -> Outcome:
    platform = load_platform(root)
    target = platform.environment(env)
    promotion_id = new_promotion_id()
    checked, branch = _preflight(root, options, f"rollback/{env}/{short_id(promotion_id)}")
    commit, label = resolve_point(checked.repo, env, to)
    rel = target.source.relative_to(root).as_posix()
    earlier = checked.repo.show_file(commit, rel)
    if earlier is None:
        raise InputError(f"{rel} does not exist at {commit[:12]}; pick a later point")
    wanted = {}
    for component in target.components:
        fields = read_fields(earlier, component.name, component.kind.value)
        if any(v is not None for v in fields.values()):
            wanted[component.name] = fields
    plan = plan_moves(env, target, wanted, forced=options.force)
    plan = replace(
        plan,
        promotion_id=promotion_id,
        source_commit=commit,
        base_commit=checked.head,
        rollback_of=label,
    )
    if plan.empty:
        if plan.blocked:
            return _nothing(plan, env)
        return Outcome(
            "nothing", plan, message=f"nothing to roll back: {env} already matches {label}"
        )
    return _execute(platform, checked, plan, options, branch, progress)


# --- for make demo and other callers -------------------------------------------------------


def dry_run_report(root: Path, source: str, target: str) -> str:
    """The plan and the pull-request body a promotion would produce; changes nothing."""
    try:
        outcome = promote(root, source, target, Options(dry_run=True))
    except RepoError:
        pass  # not a git repository with commits yet (a fresh scaffold): plan from the files
    else:
        if outcome.status == "nothing":
            return outcome.message + "\n"
        return format_plan(outcome.plan) + "\n" + outcome.body
    platform = load_platform(root)
    plan = plan_promotion(platform.environment(source), platform.environment(target))
    if plan.empty:
        return f"nothing to promote into {target}\n"
    return format_plan(plan) + "\n" + _body(plan, preview(platform, plan), "(dry run)")


__all__ = ["Options", "Outcome", "PromotionConflict", "dry_run_report", "promote", "rollback"]
