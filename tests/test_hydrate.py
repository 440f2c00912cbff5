"""gitops-gen hydrate / promote --hydrated / diff --hydrated, with the real helm binary,
a loopback HTTP chart repository and a local git app repository holding the platform chart."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from gitops_gen.hydrate.helm import find_helm
from tests.helpers import git, invoke_cli, run_cli, tree_digest
from tests.hydrate_support import Sources, aether_copy, ensure_helm, local_sources

DEV_APPS = {
    "dev-aether-platform",
    "dev-drift-audit",
    "dev-kafka",
    "dev-nats",
    "dev-redis",
    "dev-secrets",
    "dev-sops-secrets-operator",
    "dev-timescaledb",
}


@pytest.fixture(scope="module")
def helm() -> Path:
    return ensure_helm()


@pytest.fixture(scope="module")
def sources(helm: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sources]:
    with local_sources(tmp_path_factory.mktemp("sources")) as served:
        yield served


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, helm: Path, sources: Sources) -> Path:
    """The Aether repository, rendered and committed; a cold chart cache of its own."""
    repo = aether_copy(tmp_path / "aether", sources)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("GITOPS_GEN_HELM", str(helm))
    return repo


def _load(path: Path) -> dict[str, object]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_hydrate_writes_one_folder_per_application_deterministically(
    repo: Path, sources: Sources, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    run_cli("hydrate", "dev", "-o", str(out), *sources.args(), repo=repo, expect=0)
    assert {p.name for p in out.iterdir()} == DEV_APPS

    kafka = _load(out / "dev-kafka" / "Service_aether_kafka.yaml")
    metadata = kafka["metadata"]
    assert isinstance(metadata, dict)
    assert metadata["namespace"] == "aether"  # the destination namespace, as Argo CD applies it
    assert metadata["annotations"]["argocd.argoproj.io/tracking-id"] == (
        "dev-kafka:/Service:aether/kafka"
    )
    assert metadata["labels"]["app.kubernetes.io/instance"] == "kafka"  # helm.releaseName
    # the platform chart came from the app repository at the pinned commit, with $values applied
    ui = _load(out / "dev-aether-platform" / "Deployment.apps_aether_aether-2-ui.yaml")
    assert "image: ghcr.io/aether/aether-2-ui:2.15.0-rc.1" in yaml.safe_dump(ui)
    # directory sources: the SopsSecrets, attributed to the secrets Application
    assert any(p.name.startswith("SopsSecret") for p in (out / "dev-secrets").iterdir())

    first = tree_digest(out)
    run_cli("hydrate", "dev", "-o", str(out), *sources.args(), repo=repo, expect=0)
    assert tree_digest(out) == first


def test_hydrate_one_app_to_stdout_carries_release_name_and_namespace(
    repo: Path, sources: Sources
) -> None:
    result = run_cli("hydrate", "dev", "--app", "kafka", *sources.args(), repo=repo, expect=0)
    docs = [d for d in yaml.safe_load_all(result.stdout) if d]
    assert {(d["kind"], d["metadata"]["name"]) for d in docs} == {
        ("ConfigMap", "kafka-standin"),
        ("Service", "kafka"),
    }
    assert "# Application: dev-kafka" in result.stdout


def test_unreachable_chart_names_application_and_source_and_the_rest_renders(
    repo: Path, sources: Sources, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    args = sources.args()
    bitnami = args.index("https://charts.bitnami.com/bitnami=" + sources.chart_url)
    args[bitnami] = "https://charts.bitnami.com/bitnami=http://127.0.0.1:9"  # nothing listens
    result = run_cli("hydrate", "dev", "-o", str(out), *args, repo=repo, expect=2)
    assert "Traceback" not in result.output
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("error: dev-")]
    assert len(errors) == 3  # kafka, redis, timescaledb come from that repository
    assert any(
        "dev-kafka: source https://charts.bitnami.com/bitnami chart kafka at 31.1.0" in e
        and "unreachable" in e
        for e in errors
    )
    assert "3 of 8 Application(s) could not be hydrated" in result.stderr
    assert {p.name for p in out.iterdir()} == DEV_APPS - {
        "dev-kafka",
        "dev-redis",
        "dev-timescaledb",
    }


def test_unknown_app_and_missing_helm_are_one_line_errors(
    repo: Path, sources: Sources, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_cli("hydrate", "dev", "--app", "kafak", *sources.args(), repo=repo, expect=2)
    assert "--app kafak: no such Application in dev" in result.stderr
    assert "did you mean" in result.stderr

    monkeypatch.setenv("GITOPS_GEN_HELM", str(repo / "no-helm"))
    find_helm.cache_clear()
    try:
        named = run_cli("hydrate", "dev", "--app", "kafka", *sources.args(), repo=repo, expect=2)
        monkeypatch.delenv("GITOPS_GEN_HELM")  # HOME and XDG_CACHE_HOME are empty temp folders
        find_helm.cache_clear()
        # exit 2 without helm on PATH; a helm on PATH is found and used (checked below)
        missing = invoke_cli("hydrate", "dev", "--app", "kafka", *sources.args(), repo=repo)
    finally:
        find_helm.cache_clear()
    assert "Traceback" not in named.output
    assert f"GITOPS_GEN_HELM is {repo / 'no-helm'}, which is not an executable helm binary" in (
        named.stderr
    )
    if shutil.which("helm") is None:
        assert missing.exit_code == 2
        assert "helm not found: install helm v3.19.0 (at least v3.14.0)" in missing.stderr


def test_promotion_that_bumps_a_chart_shows_the_object_changes_of_the_new_chart(
    repo: Path, sources: Sources
) -> None:
    before = tree_digest(repo)
    result = run_cli(
        "promote", "staging", "prod", "--dry-run", "--hydrated", *sources.args(),
        "-o", "json", repo=repo, expect=0,
    )  # fmt: skip
    outcome = json.loads(result.stdout)
    changed = {
        (c["application"], c["kind"], c["name"], c["change"])
        for c in outcome["plan"]["changedObjects"]
    }
    # kafka 31.0.0 -> 31.1.0: the new chart labels every object it makes with its version
    assert {c for c in changed if c[0] == "prod-kafka"} == {
        ("prod-kafka", "ConfigMap", "kafka-standin", "modified"),
        ("prod-kafka", "Service", "kafka", "modified"),
    }
    body = outcome["body"]
    assert "### Changes in the cluster" in body
    assert "<code>prod-kafka</code>: 2 object(s) (+2 &minus;2)" in body
    assert "-    helm.sh/chart: kafka-31.0.0\n+    helm.sh/chart: kafka-31.1.0\n" in body
    assert tree_digest(repo) == before  # a dry run changes nothing


def test_promotion_commit_body_has_cluster_changes_and_plan_round_trips(
    repo: Path, sources: Sources
) -> None:
    result = run_cli(
        "promote", "staging", "prod", "--hydrated", *sources.args(), repo=repo, expect=0
    )
    assert "### Changes in the cluster" in result.stdout
    assert "<code>prod-kafka</code>" in result.stdout
    assert "Not hydrated" not in result.stdout
    branches = git(repo, "branch", "--list", "promote/*").split()
    assert branches, "a promotion branch was created"
    assert len(result.stdout) <= 65_536


def test_values_change_shows_the_deployment_fields_it_changes(repo: Path, sources: Sources) -> None:
    env_file = repo / "environments" / "dev.yaml"
    text = env_file.read_text(encoding="utf-8")
    assert 'ui: {tag: "2.15.0-rc.1", replicas: 1}' in text
    env_file.write_text(
        text.replace('ui: {tag: "2.15.0-rc.1", replicas: 1}', 'ui: {tag: "9.9.9", replicas: 3}'),
        encoding="utf-8",
    )
    run_cli("render", repo=repo, expect=0)
    result = run_cli("diff", "dev", "--hydrated", *sources.args(), repo=repo, expect=1)
    marker = "# dev-aether-platform: Deployment.apps aether/aether-2-ui modified"
    assert marker in result.stdout
    section = result.stdout.split(marker, 1)[1].split("\n# ", 1)[0]
    changed = sorted(
        " ".join(ln.split())
        for ln in section.splitlines()
        if ln.startswith(("+", "-")) and not ln.startswith(("+++", "---"))
    )
    assert changed == [
        "+ image: ghcr.io/aether/aether-2-ui:9.9.9",
        "+ replicas: 3",
        "- image: ghcr.io/aether/aether-2-ui:2.15.0-rc.1",
        "- replicas: 1",
    ], changed


@pytest.mark.parametrize("fmt", ["markdown"])
def test_diff_hydrated_markdown_has_the_section(repo: Path, sources: Sources, fmt: str) -> None:
    env_file = repo / "environments" / "dev.yaml"
    env_file.write_text(
        env_file.read_text(encoding="utf-8").replace(
            "kafka: {chart: 31.1.0}", "kafka: {chart: 31.0.0}"
        ),
        encoding="utf-8",
    )
    run_cli("render", repo=repo, expect=0)
    result = run_cli("diff", "dev", "--hydrated", "-o", fmt, *sources.args(), repo=repo, expect=1)
    assert "### Changes in the cluster" in result.stdout
    assert "`Service aether/kafka` modified (+1 −1)" in result.stdout


def test_helm_binary_is_the_pinned_version(helm: Path) -> None:
    os.environ["GITOPS_GEN_HELM"] = str(helm)
    find_helm.cache_clear()
    assert find_helm().version.startswith("v3.19")
