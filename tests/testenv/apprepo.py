"""A local application repository holding the stand-in platform chart, served over file://.

The real app repository (CMS-InfoSec/Aether_2) keeps the chart at deploy/helm/aether-platform and
has no tags, so environments pin commit SHAs; `tag_names` exists for the tests that need a tag.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

STANDIN_CHART = Path(__file__).resolve().parent.parent / "fixtures" / "charts" / "aether-platform"
CHART_PATH = "deploy/helm/aether-platform"

# Fixed identity and dates: the same chart gives the same commit SHA on every run.
_GIT_ENV = {
    "GIT_AUTHOR_NAME": "Aether App",
    "GIT_AUTHOR_EMAIL": "app@example.com",
    "GIT_COMMITTER_NAME": "Aether App",
    "GIT_COMMITTER_EMAIL": "app@example.com",
    "GIT_AUTHOR_DATE": "2025-10-13T12:00:00+00:00",
    "GIT_COMMITTER_DATE": "2025-10-13T12:00:00+00:00",
}


@dataclass(frozen=True)
class AppRepo:
    path: Path
    url: str  # file:// URL, what platform.appRepo names
    head: str  # full commit SHA of the chart commit


def _git(repo: Path, *args: str) -> str:
    import os

    env = {**os.environ, **_GIT_ENV}
    done = subprocess.run(
        ["git", "-c", "init.defaultBranch=main", *args],
        cwd=repo,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


def make_app_repo(
    path: Path, *, chart_src: Path = STANDIN_CHART, tag_names: Sequence[str] = ()
) -> AppRepo:
    """Create a git repository at `path` with `chart_src` at deploy/helm/aether-platform."""
    path.mkdir(parents=True, exist_ok=True)
    _git(path, "init", "--quiet")
    shutil.copytree(chart_src, path / CHART_PATH, dirs_exist_ok=True)
    _git(path, "add", "--all")
    _git(path, "commit", "--quiet", "--no-gpg-sign", "-m", "aether-platform chart")
    for tag in tag_names:
        _git(path, "tag", tag)
    head = _git(path, "rev-parse", "HEAD")
    return AppRepo(path=path, url=path.resolve().as_uri(), head=head)


# The app repository and commit the embedded environments pin (the real chart's interface the
# stand-in reproduces).
UPSTREAM_URL = "https://github.com/CMS-InfoSec/Aether_2.git"
UPSTREAM_COMMIT = "1ef53dd38e6d2116d669161582201ba087d8119f"


def seed_chart_cache(
    url: str = UPSTREAM_URL, commit: str = UPSTREAM_COMMIT, *, chart_src: Path = STANDIN_CHART
) -> Path:
    """Put ``chart_src`` in the chart cache as ``url`` at ``commit`` (what a fetch leaves), so
    validate reads it offline. The cache folder comes from $GITOPS_GEN_CHART_CACHE."""
    from gitops_gen.chart.fetch import repo_cache_dir

    target = repo_cache_dir(url) / commit / CHART_PATH
    if not (target / "Chart.yaml").is_file():
        shutil.copytree(chart_src, target, dirs_exist_ok=True)
    return target
