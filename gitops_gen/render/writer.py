"""Apply a :class:`RenderPlan` to ``clusters/`` atomically, or report how it differs.

The new tree is built in a sibling temporary folder and swapped in with two renames, so a
failure at any point before the swap leaves ``clusters/`` exactly as it was.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from gitops_gen.errors import InputError
from gitops_gen.render.layout import CLUSTERS_DIR
from gitops_gen.render.plan import RenderPlan


@dataclass(frozen=True)
class CheckResult:
    added: tuple[str, ...]  # render would create
    changed: tuple[str, ...]  # render would rewrite
    removed: tuple[str, ...]  # render would delete

    @property
    def up_to_date(self) -> bool:
        return not (self.added or self.changed or self.removed)

    @property
    def all_paths(self) -> list[tuple[str, str]]:
        rows = [(p, "added") for p in self.added]
        rows += [(p, "changed") for p in self.changed]
        rows += [(p, "removed") for p in self.removed]
        return sorted(rows)


def _clusters_root(root: Path) -> Path:
    clusters = root / CLUSTERS_DIR
    if clusters.exists() and not clusters.is_dir():
        raise InputError(
            f"{CLUSTERS_DIR}: exists but is a file; gitops-gen writes rendered output into a "
            f"folder of that name: move the file away"
        )
    return clusters


def existing_files(root: Path) -> dict[str, Path]:
    clusters = _clusters_root(root)
    if not clusters.is_dir():
        return {}
    out: dict[str, Path] = {}
    for dirpath, dirnames, filenames in os.walk(clusters):
        dirnames.sort()
        for filename in filenames:
            path = Path(dirpath) / filename
            out[path.relative_to(root).as_posix()] = path
    return out


def check_plan(root: Path, plan: RenderPlan) -> CheckResult:
    current = existing_files(root)
    added: list[str] = []
    changed: list[str] = []
    for rel, text in plan.files.items():
        path = current.get(rel)
        if path is None:
            added.append(rel)
        elif path.read_bytes() != text.encode("utf-8"):
            changed.append(rel)
    removed = [rel for rel in current if plan.owns(rel) and rel not in plan.files]
    return CheckResult(tuple(sorted(added)), tuple(sorted(changed)), tuple(sorted(removed)))


def apply_plan(root: Path, plan: RenderPlan) -> CheckResult:
    """Make ``clusters/`` match ``plan``; returns what changed. Atomic with respect to failures."""
    result = check_plan(root, plan)
    if result.up_to_date:
        return result
    clusters = _clusters_root(root)
    current = existing_files(root)
    staging = Path(tempfile.mkdtemp(prefix=".clusters.new-", dir=root))
    try:
        for rel, src in current.items():
            if plan.owns(rel):
                continue  # replaced (or dropped) by the plan
            kept = staging / Path(rel).relative_to(CLUSTERS_DIR)
            kept.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, kept)
        made: set[str] = set()
        prefix = CLUSTERS_DIR + "/"
        for rel, text in plan.files.items():
            # plain os calls: thousands of small files, where pathlib's overhead adds up
            written = os.path.join(staging, rel.removeprefix(prefix))
            folder = os.path.dirname(written)
            if folder not in made:
                os.makedirs(folder, exist_ok=True)
                made.add(folder)
            fd = os.open(written, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                os.write(fd, text.encode("utf-8"))
            finally:
                os.close(fd)
        staging.chmod(0o755)
        _swap(clusters, staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return result


def _swap(clusters: Path, staging: Path) -> None:
    if not clusters.exists():
        staging.rename(clusters)
        return
    retired = Path(tempfile.mkdtemp(prefix=".clusters.old-", dir=clusters.parent))
    retired.rmdir()  # we only wanted a unique name; rename needs the target absent
    clusters.rename(retired)
    try:
        staging.rename(clusters)
    except BaseException:
        retired.rename(clusters)  # put the old tree back before reporting the failure
        raise
    shutil.rmtree(retired, ignore_errors=True)
