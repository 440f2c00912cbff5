"""Test support for hydration: helm from the test cache, and the Aether repository with every
source served locally — the stand-in dependency charts over loopback HTTP
(tests/testenv/chartrepo.py) and the stand-in platform chart in a local git repository
(tests/testenv/apprepo.py) — reached through ``--source-map``, as a user reaches a mirror.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from gitops_gen.hydrate.helm import HELM_ENV, HELM_VERSION, find_helm
from tests.helpers import copy_aether, git, run_cli
from tests.testenv import gobuild
from tests.testenv.apprepo import AppRepo, make_app_repo
from tests.testenv.argocd import build_helm, helm_dir
from tests.testenv.chartrepo import ChartRepo

CHART_REPOS = (
    "https://charts.bitnami.com/bitnami",
    "https://nats-io.github.io/k8s/helm/charts/",
    "https://isindir.github.io/sops-secrets-operator/",
)
ENVIRONMENTS = ("dev", "staging", "prod")


def ensure_helm() -> Path:
    """helm v3.19.0 from the test environment's cache, built (minutes) on first use by the same
    code that builds Argo CD's helm; points gitops-gen at it through $GITOPS_GEN_HELM."""
    folder = helm_dir(HELM_VERSION)
    binary = folder / "helm"
    with gobuild.build_lock(folder):
        build_helm(HELM_VERSION, folder)  # returns at once when the cached build is current
    os.environ[HELM_ENV] = str(binary)
    find_helm.cache_clear()
    return binary


@dataclass(frozen=True)
class Sources:
    chart_url: str
    app_repo: AppRepo
    app_repo_url: str  # what the catalog names (platform.appRepo)

    def args(self) -> list[str]:
        """--source-map options pointing every source of the Aether repo at the local ones."""
        out: list[str] = []
        for url in CHART_REPOS:
            out += ["--source-map", f"{url}={self.chart_url}"]
        out += ["--source-map", f"{self.app_repo_url}={self.app_repo.url}"]
        return out

    def url_map(self) -> dict[str, str]:
        return dict(pair.split("=", 1) for pair in self.args()[1::2])


@contextlib.contextmanager
def local_sources(root: Path) -> Iterator[Sources]:
    """The chart repository (started) and the app repository, for the Aether catalog."""
    from gitops_gen.model import load_platform
    from tests.helpers import PROJECT_ROOT

    app_repo_url = load_platform(PROJECT_ROOT).catalog.platform.app_repo
    with ChartRepo(root / "charts") as charts:
        yield Sources(charts.url, make_app_repo(root / "aether-2"), app_repo_url)


def aether_copy(target: Path, sources: Sources) -> Path:
    """The Aether repository pinned to the local app repository's commit, rendered, committed.

    The environments pin the upstream chart commit; the local app repository has its own."""
    repo = copy_aether(target, with_clusters=True)
    for env in ENVIRONMENTS:
        path = repo / "environments" / f"{env}.yaml"
        text = re.sub(
            r"(?m)^platform: \{revision: [^}]+\}",
            f"platform: {{revision: {sources.app_repo.head}}}",
            path.read_text(encoding="utf-8"),
        )
        path.write_text(text, encoding="utf-8")
    run_cli("render", repo=repo, expect=0)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "pin the local app repository")
    return repo
