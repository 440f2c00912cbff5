"""The promotion's "Changes in the cluster": hydrate the affected Applications before and
after, and compare object by object. The same engine as ``hydrate`` and ``drift --hydrate``.

The GitOps repository is read as Argo CD would read it at each point: the rendered files of
the base commit, and of the tree the promotion is built in (committed or, for a dry run,
not).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gitops_gen.hydrate import Fetcher, Settings
from gitops_gen.hydrate.diff import ClusterChanges, compare
from gitops_gen.hydrate.engine import GitopsRepo, Hydrator
from gitops_gen.hydrate.environment import applications_in
from gitops_gen.model import Environment, Platform
from gitops_gen.promote.apply import target_paths
from gitops_gen.promote.plan import PromotionPlan


@dataclass(frozen=True)
class HydrationSetup:
    """How to hydrate: the engine's settings and where to fetch sources from."""

    settings: Settings = field(default_factory=Settings)
    url_map: Mapping[str, str] = field(default_factory=dict)


def files_at(root: Path, commit: str, prefixes: Sequence[str]) -> dict[str, str]:
    """The files under ``prefixes`` at ``commit``, read from git in one batch."""
    listed = subprocess.run(
        ["git", "ls-tree", "-r", "-z", "--name-only", commit, "--", *prefixes],
        cwd=root,
        capture_output=True,
        check=True,
    ).stdout.decode()
    names = [n for n in listed.split("\0") if n]
    if not names:
        return {}
    batch = subprocess.run(
        ["git", "cat-file", "--batch"],
        cwd=root,
        input="".join(f"{commit}:{n}\n" for n in names).encode(),
        capture_output=True,
        check=True,
    ).stdout
    out: dict[str, str] = {}
    pos = 0
    for name in names:
        header_end = batch.index(b"\n", pos)
        size = int(batch[pos:header_end].split()[2])
        start = header_end + 1
        out[name] = batch[start : start + size].decode("utf-8", errors="replace")
        pos = start + size + 1
    return out


def cluster_changes(
    gitops_url: str,
    env: Environment,
    before: tuple[str, Mapping[str, str]],
    after: tuple[str, Mapping[str, str]],
    applications: Iterable[str],
    setup: HydrationSetup,
) -> ClusterChanges:
    """Hydrate ``applications`` of ``env`` at both points (revision, files) and compare."""
    wanted = set(applications)
    fetcher = Fetcher(url_map=dict(setup.url_map))
    results = []
    for revision, files in (before, after):
        apps = [a for a in applications_in(files, env.cluster_name, env.name) if a.name in wanted]
        hydrator = Hydrator(GitopsRepo(gitops_url, revision, files), fetcher, setup.settings)
        results.append(hydrator.hydrate(apps))
    return compare(results[0], results[1])


def for_commits(
    platform: Platform,
    root: Path,
    plan: PromotionPlan,
    base: str,
    head: str,
    applications: Iterable[str],
    setup: HydrationSetup,
) -> ClusterChanges:
    env = platform.environment(plan.target)
    prefixes = target_paths(env)
    return cluster_changes(
        platform.catalog.platform.gitops_repo,
        env,
        (base, files_at(root, base, prefixes)),
        (head, files_at(root, head, prefixes)),
        applications,
        setup,
    )


def files_in(tree: Path, prefixes: Sequence[str]) -> dict[str, str]:
    """The files under ``prefixes`` in a checked-out tree (the worktree a promotion is built in)."""
    out: dict[str, str] = {}
    for prefix in prefixes:
        top = tree / prefix
        paths = [top] if top.is_file() else sorted(p for p in top.rglob("*") if p.is_file())
        for path in paths:
            out[path.relative_to(tree).as_posix()] = path.read_text(encoding="utf-8")
    return out


def for_tree(
    platform: Platform,
    root: Path,
    plan: PromotionPlan,
    base: str,
    tree: Path,
    applications: Iterable[str],
    setup: HydrationSetup,
) -> ClusterChanges:
    """Base commit against the tree a promotion was just built in: the same files whether the
    run commits them or is a dry run that stops before the commit."""
    env = platform.environment(plan.target)
    prefixes = target_paths(env)
    return cluster_changes(
        platform.catalog.platform.gitops_repo,
        env,
        (base, files_at(root, base, prefixes)),
        ("(this promotion)", files_in(tree, prefixes)),
        applications,
        setup,
    )
