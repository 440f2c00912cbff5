"""The promotion's "Changes in the cluster": hydrate the affected Applications before and
after, and compare object by object. The same engine as ``hydrate`` and ``drift --hydrate``.

The GitOps repository is read as Argo CD would read it at each point: the rendered files of
the base commit, and of the promotion commit (or, for a dry run, of the edited render).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gitops_gen.hydrate import Fetcher, Settings
from gitops_gen.hydrate.diff import ClusterChanges, compare
from gitops_gen.hydrate.engine import GitopsRepo, Hydrator
from gitops_gen.hydrate.environment import applications_in
from gitops_gen.model import Environment, Platform, load_platform
from gitops_gen.promote.apply import edited_text, target_paths
from gitops_gen.promote.plan import PromotionPlan
from gitops_gen.render import plan_render


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


def edited_files(platform: Platform, plan: PromotionPlan) -> dict[str, str]:
    """The target's rendered files after the plan, rendered in a scratch copy (dry runs)."""
    root = platform.root
    target = platform.environment(plan.target)
    rel = target.source.relative_to(root).as_posix()
    new_text = edited_text(target.source.read_text(encoding="utf-8"), plan, rel)
    scratch = Path(tempfile.mkdtemp(prefix="gitops-gen-hydrate-preview-"))
    try:
        # everything the real render reads, so the preview is the render (DESIGN §7)
        for name in ("environments", "templates", "secrets"):
            if (root / name).is_dir():
                shutil.copytree(root / name, scratch / name)
        if (root / ".sops.yaml").is_file():
            shutil.copy2(root / ".sops.yaml", scratch / ".sops.yaml")
        (scratch / rel).write_text(new_text, encoding="utf-8")
        render = plan_render(load_platform(scratch), [plan.target])
        prefixes = target_paths(target)
        return {p: t for p, t in render.files.items() if any(p.startswith(x) for x in prefixes)}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


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


def for_dry_run(
    platform: Platform,
    root: Path,
    plan: PromotionPlan,
    base: str,
    applications: Iterable[str],
    setup: HydrationSetup,
) -> ClusterChanges:
    env = platform.environment(plan.target)
    return cluster_changes(
        platform.catalog.platform.gitops_repo,
        env,
        (base, files_at(root, base, target_paths(env))),
        ("(dry run)", edited_files(platform, plan)),
        applications,
        setup,
    )
