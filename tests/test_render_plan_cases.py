"""The render plan in-process: which files a render owns, labels Argo CD and drift rely on, and
secrets copied verbatim. Found by mutation testing (docs/testing.md); no git or CLI needed."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops_gen.errors import InputError
from gitops_gen.model import load_platform
from gitops_gen.render import plan_render
from tests.helpers import PROJECT_ROOT


@pytest.fixture
def root(tmp_path: Path) -> Path:
    for part in ("environments", "templates", "secrets", ".sops.yaml"):
        source = PROJECT_ROOT / part
        if source.is_dir():
            shutil.copytree(source, tmp_path / part)
        else:
            shutil.copy(source, tmp_path / part)
    return tmp_path


def _docs(files: dict[str, str], prefix: str) -> dict[str, dict[str, Any]]:
    return {
        path: yaml.safe_load(text)
        for path, text in files.items()
        if path.startswith(prefix) and path.endswith(".yaml")
    }


def test_every_application_is_labelled_for_its_environment_and_component(root: Path) -> None:
    plan = plan_render(load_platform(root))
    apps = _docs(plan.files, "clusters/prod-eu1/apps/prod/")
    assert len(apps) == 9  # 8 Applications (the UI is part of the platform release) + AppProject
    names = []
    for path, doc in apps.items():
        labels = doc["metadata"]["labels"]
        assert labels["app.kubernetes.io/managed-by"] == "gitops-gen", path
        assert labels["app.kubernetes.io/part-of"] == "aether", path
        assert labels["gitops-gen.io/environment"] == "prod", path
        if doc["kind"] == "Application":
            names.append(doc["metadata"]["name"])
            assert labels["gitops-gen.io/component"], path
            assert doc["spec"]["project"] == "aether-prod", path
    assert sorted(names) == sorted(plan.applications["prod"])
    assert "prod-aether-platform" in names and "prod-aether-ui" not in names


def test_a_full_render_owns_clusters_and_a_partial_one_only_its_environment(root: Path) -> None:
    platform = load_platform(root)
    full = plan_render(platform)
    assert full.full and full.environments == ("dev", "prod", "staging")
    assert full.owns("clusters/anything/left/over.yaml")
    assert not full.owns("environments/dev.yaml")
    partial = plan_render(platform, ["prod", "prod"])
    assert not partial.full and partial.environments == ("prod",)
    assert partial.owns("clusters/prod-eu1/apps/prod/stray.yaml")
    assert partial.owns("clusters/prod-eu1/root.yaml")
    assert not partial.owns("clusters/dev-eu1/apps/dev/kafka.yaml")
    assert not partial.owns("clusters/prod-eu1/apps/other/kafka.yaml")
    assert not any(path.startswith("clusters/dev-eu1/") for path in partial.files)
    assert plan_render(platform, ["staging", "prod", "dev"]).full


def test_an_unknown_environment_is_refused_before_anything_renders(root: Path) -> None:
    with pytest.raises(InputError, match=r"^unknown environment 'prdo'; did you mean 'prod'\?"):
        plan_render(load_platform(root), ["prdo"])


def test_secrets_are_copied_verbatim_with_their_operator(root: Path) -> None:
    plan = plan_render(load_platform(root))
    for source in sorted((root / "secrets/staging").glob("*.yaml")):
        copied = plan.files[f"clusters/staging-eu1/secrets/staging/{source.name}"]
        assert copied == source.read_text()  # ciphertext as committed: render needs no key
    project = yaml.safe_load(plan.files["clusters/staging-eu1/apps/staging/project.yaml"])
    operator = yaml.safe_load(
        plan.files["clusters/staging-eu1/apps/staging/sops-secrets-operator.yaml"]
    )
    repo = operator["spec"]["sources"][0]["repoURL"]
    assert repo in project["spec"]["sourceRepos"]
    assert project["spec"]["sourceRepos"] == sorted(project["spec"]["sourceRepos"])
    secrets_app = yaml.safe_load(plan.files["clusters/staging-eu1/apps/staging/secrets.yaml"])
    assert secrets_app["metadata"]["name"] == "staging-secrets"
    assert secrets_app["spec"]["source"]["path"] == "clusters/staging-eu1/secrets/staging"
    assert "staging-secrets" in plan.applications["staging"]


def test_an_environment_without_secrets_gets_no_operator(root: Path) -> None:
    shutil.rmtree(root / "secrets/dev")
    plan = plan_render(load_platform(root))
    dev = [path for path in plan.files if path.startswith("clusters/dev-eu1/")]
    assert not any("secrets" in path or "sops" in path for path in dev)
    project = yaml.safe_load(plan.files["clusters/dev-eu1/apps/dev/project.yaml"])
    assert not any("sops" in repo for repo in project["spec"]["sourceRepos"])
    resources = {r["kind"] for r in project["spec"]["clusterResourceWhitelist"]}
    assert "CustomResourceDefinition" not in resources
    assert "Namespace" in resources
    # staging still has its operator
    assert "clusters/staging-eu1/apps/staging/sops-secrets-operator.yaml" in plan.files


def test_root_application_per_cluster(root: Path) -> None:
    plan = plan_render(load_platform(root))
    roots = {p: yaml.safe_load(t) for p, t in plan.files.items() if p.endswith("/root.yaml")}
    assert sorted(roots) == [f"clusters/{c}-eu1/root.yaml" for c in ("dev", "prod", "staging")]
    prod = roots["clusters/prod-eu1/root.yaml"]
    assert prod["spec"]["source"]["path"] == "clusters/prod-eu1/apps"
    assert prod["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "gitops-gen"
