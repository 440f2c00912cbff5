"""The render plan in-process: which files a render owns, labels Argo CD and drift rely on, and
secrets copied verbatim. Found by mutation testing (docs/testing.md); no git or CLI needed."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops_gen.errors import InputError, TemplateError
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


PROD = "clusters/prod-eu1/apps/prod"
GITOPS = "https://git.example.com/aether/aether-gitops.git"
BITNAMI = "https://charts.bitnami.com/bitnami"
# component -> (Application, sync wave, chart repository, chart or path, version or revision)
PROD_APPS = {
    "timescaledb": ("prod-timescaledb", "0", BITNAMI, "postgresql", "16.4.0"),
    "redis": ("prod-redis", "0", BITNAMI, "redis", "20.6.2"),
    "kafka": ("prod-kafka", "0", BITNAMI, "kafka", "31.0.0"),
    "nats": ("prod-nats", "0", "https://nats-io.github.io/k8s/helm/charts/", "nats", "1.2.8"),
    "sops-secrets-operator": (
        "prod-sops-secrets-operator",
        "-5",
        "https://isindir.github.io/sops-secrets-operator/",
        "sops-secrets-operator",
        "0.24.1",
    ),
    "platform": (
        "prod-aether-platform",
        "20",
        "https://github.com/CMS-InfoSec/Aether_2.git",
        "deploy/helm/aether-platform",
        "1ef53dd38e6d2116d669161582201ba087d8119f",
    ),
}


def test_each_application_installs_what_the_environment_pins(root: Path) -> None:
    """What Argo CD reads from each rendered Application: the chart and version prod pins, the
    release, the values file beside it, the wave of the install order, the destination."""
    plan = plan_render(load_platform(root))
    for component, (name, wave, repo, chart, version) in PROD_APPS.items():
        doc = yaml.safe_load(plan.files[f"{PROD}/{component}.yaml"])
        assert doc["metadata"]["name"] == name
        assert doc["metadata"]["labels"]["gitops-gen.io/component"] == component
        assert doc["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] == wave
        chart_source, values_source = doc["spec"]["sources"]
        release = name.removeprefix("prod-")
        values = f"clusters/prod-eu1/values/prod/{release}.yaml"
        assert chart_source == {
            "repoURL": repo,
            ("path" if component == "platform" else "chart"): chart,
            "targetRevision": version,
            "helm": {"releaseName": release, "valueFiles": [f"$values/{values}"]},
        }
        assert values in plan.files  # the values file the Application names is rendered
        assert values_source == {"repoURL": GITOPS, "targetRevision": "main", "ref": "values"}
        assert doc["spec"]["destination"] == {
            "server": "https://prod-eu1.k8s.example.com",
            "namespace": "aether",
        }
    platform = yaml.safe_load(plan.files[f"{PROD}/platform.yaml"])
    # the Deployments prod scales with an HPA: Argo CD leaves their replicas to it
    ignored = [d["name"] for d in platform["spec"]["ignoreDifferences"]]
    assert ignored == [
        "auth-service",
        "marketdata-service",
        "oms-service",
        "policy-service",
        "pricing-service",
        "risk-service",
    ]


def test_project_allows_exactly_the_sources_and_cluster_writes_needed(root: Path) -> None:
    plan = plan_render(load_platform(root))
    project = yaml.safe_load(plan.files[f"{PROD}/project.yaml"])
    assert project["metadata"]["name"] == "aether-prod"
    assert project["spec"]["description"] == "aether prod (prod) on prod-eu1"
    assert project["spec"]["sourceRepos"] == [
        BITNAMI,
        GITOPS,
        "https://github.com/CMS-InfoSec/Aether_2.git",
        "https://isindir.github.io/sops-secrets-operator/",
        "https://nats-io.github.io/k8s/helm/charts/",
    ]
    assert [(r["group"], r["kind"]) for r in project["spec"]["clusterResourceWhitelist"]] == [
        ("", "Namespace"),
        ("apiextensions.k8s.io", "CustomResourceDefinition"),
        ("rbac.authorization.k8s.io", "ClusterRole"),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ]
    # dev without encrypted secrets: the audit's RBAC only; without the audit either, nothing
    shutil.rmtree(root / "secrets/dev")
    dev = "clusters/dev-eu1/apps/dev"

    def whitelist() -> list[str]:
        plan = plan_render(load_platform(root))
        project = yaml.safe_load(plan.files[f"{dev}/project.yaml"])
        return [r["kind"] for r in project["spec"]["clusterResourceWhitelist"]]

    assert whitelist() == ["Namespace", "ClusterRole", "ClusterRoleBinding"]
    _replace(
        root,
        "environments/dev.yaml",
        'drift: {schedule: "0 * * * *"}',
        "drift: {enabled: false}",
    )
    assert whitelist() == ["Namespace"]
    plan = plan_render(load_platform(root))
    assert f"{dev}/drift-audit.yaml" not in plan.files
    assert "dev-drift-audit" not in plan.applications["dev"]
    assert "prod-drift-audit" in plan.applications["prod"]


def test_a_mirrored_operator_chart_and_a_dependency_namespace(root: Path) -> None:
    mirror = "https://charts.internal.example.com/sops"
    _replace(
        root,
        "environments/platform.yaml",
        "  argocdNamespace:",
        f"  secretsOperatorRepo: {mirror}\n  argocdNamespace:",
    )
    _replace(
        root,
        "environments/platform.yaml",
        "    host: timescaledb\n",
        "    host: timescaledb\n    namespace: data\n",
    )
    plan = plan_render(load_platform(root))
    operator = yaml.safe_load(plan.files[f"{PROD}/sops-secrets-operator.yaml"])
    assert operator["spec"]["sources"][0]["repoURL"] == mirror
    project = yaml.safe_load(plan.files[f"{PROD}/project.yaml"])
    assert mirror in project["spec"]["sourceRepos"]
    assert "https://isindir.github.io/sops-secrets-operator/" not in project["spec"]["sourceRepos"]
    timescaledb = yaml.safe_load(plan.files[f"{PROD}/timescaledb.yaml"])
    assert timescaledb["spec"]["destination"]["namespace"] == "data"


def test_the_root_follows_the_most_careful_environment_on_its_cluster(root: Path) -> None:
    # staging moves onto prod's cluster: prod does not prune, staging does not self-heal
    _replace(
        root,
        "environments/staging.yaml",
        "cluster: {name: staging-eu1, server: https://staging-eu1.k8s.example.com}",
        "cluster: {name: prod-eu1, server: https://prod-eu1.k8s.example.com}",
    )
    _replace(
        root,
        "environments/staging.yaml",
        "sync: {automated: true, prune: true, selfHeal: true}",
        "sync: {automated: true, prune: true, selfHeal: false}",
    )
    plan = plan_render(load_platform(root))
    assert "clusters/staging-eu1/root.yaml" not in plan.files
    prod = yaml.safe_load(plan.files["clusters/prod-eu1/root.yaml"])
    assert prod["spec"]["syncPolicy"]["automated"] == {
        "enabled": True,
        "prune": False,
        "selfHeal": False,
    }
    dev = yaml.safe_load(plan.files["clusters/dev-eu1/root.yaml"])
    assert dev["spec"]["syncPolicy"]["automated"] == {
        "enabled": True,
        "prune": True,
        "selfHeal": True,
    }
    _replace(
        root,
        "environments/staging.yaml",
        "sync: {automated: true,",
        "sync: {automated: false,",
    )
    prod = yaml.safe_load(plan_render(load_platform(root)).files["clusters/prod-eu1/root.yaml"])
    assert "automated" not in prod["spec"]["syncPolicy"]


def _replace(root: Path, rel: str, old: str, new: str) -> None:
    path = root / rel
    text = path.read_text()
    assert old in text, f"fixture drifted: {old!r} not in {rel}"
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize(
    ("template", "text", "message"),
    [
        (
            "dependency-values.yaml.j2",
            "# {{ dependency.name }}\nkey: [unclosed\n",
            "templates/dependency-values.yaml.j2: rendered invalid YAML (output line 3): did "
            "not find expected ',' or ']'; fix the template's indentation or quoting",
        ),
        (
            "secrets-application.yaml.j2",
            "# a comment\n- a list\n",
            "templates/secrets-application.yaml.j2: rendered output is not a YAML mapping; fix "
            "the template",
        ),
    ],
    ids=["invalid-yaml", "not-a-mapping"],
)
def test_a_template_that_renders_broken_yaml_is_named(
    root: Path, template: str, text: str, message: str
) -> None:
    """An edited template that renders broken YAML fails the render, naming the template and
    the line of its output, before anything is written."""
    (root / "templates" / template).write_text(text)
    with pytest.raises(TemplateError) as info:
        plan_render(load_platform(root))
    assert str(info.value) == message


def test_each_component_lands_under_its_chart_key(root: Path) -> None:
    """The chart's keys for the catalog's names: `-service` dropped, the rest camelCase, and
    `chartKey` where the chart differs (account-service)."""
    plan = plan_render(load_platform(root))
    values = yaml.safe_load(plan.files["clusters/dev-eu1/values/dev/aether-platform.yaml"])
    backends = {
        key: spec["nameOverride"]
        for key, spec in values["backendServices"].items()
        if spec["enabled"]
    }
    assert backends == {
        "risk": "risk-service",
        "policy": "policy-service",
        "oms": "oms-service",
        "secrets": "secrets-service",
        "reports": "reports-service",
        "accountService": "account-service",
        "auth": "auth-service",
        "behavior": "behavior-service",
        "compliance": "compliance-service",
        "capitalAllocator": "capital-allocator",
        "config": "config-service",
        "strategyOrchestrator": "strategy-orchestrator",
        "releaseManifest": "release-manifest",
        "pricing": "pricing-service",
        "marketdata": "marketdata-service",
    }
    assert sorted(values["dataPipelines"]["deployments"]) == [
        "krakenWsIngest",
        "marketdataIngestor",
    ]
