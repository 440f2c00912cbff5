"""Rendering the embedded Aether platform: content, determinism, atomicity, --check."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.helpers import run_cli, tree_digest


def _load(path: Path) -> dict:  # type: ignore[type-arg]
    return yaml.safe_load(path.read_text())


def test_render_writes_root_project_and_applications(aether: Path) -> None:
    result = run_cli("render", repo=aether)
    assert result.exit_code == 0, result.output
    assert "rendered dev, prod, staging: 27 applications" in result.stderr
    root = _load(aether / "clusters/prod-eu1/root.yaml")
    assert root["kind"] == "Application"
    assert root["spec"]["source"]["path"] == "clusters/prod-eu1/apps"
    assert root["spec"]["source"]["directory"] == {"recurse": True}

    project = _load(aether / "clusters/prod-eu1/apps/prod/project.yaml")
    assert project["kind"] == "AppProject"
    assert project["spec"]["destinations"] == [
        {"server": "https://prod-eu1.k8s.example.com", "namespace": "aether"}
    ]
    assert "https://git.example.com/aether/aether-gitops.git" in project["spec"]["sourceRepos"]

    kafka = _load(aether / "clusters/prod-eu1/apps/prod/kafka.yaml")
    chart_source, values_source = kafka["spec"]["sources"]
    assert chart_source["chart"] == "kafka"
    assert chart_source["targetRevision"] == "31.0.0"  # prod's own pin, not staging's
    assert chart_source["helm"]["valueFiles"] == [
        "$values/clusters/prod-eu1/values/prod/kafka.yaml"
    ]
    assert values_source["ref"] == "values"
    assert kafka["metadata"]["finalizers"] == ["resources-finalizer.argocd.argoproj.io"]
    # prod never prunes automatically; dev and staging do
    assert kafka["spec"]["syncPolicy"]["automated"] == {
        "enabled": True,
        "prune": False,
        "selfHeal": True,
    }
    dev_kafka = _load(aether / "clusters/dev-eu1/apps/dev/kafka.yaml")
    assert dev_kafka["spec"]["syncPolicy"]["automated"] == {
        "enabled": True,
        "prune": True,
        "selfHeal": True,
    }


def test_sync_waves_follow_the_install_order(aether: Path) -> None:
    run_cli("render", "prod", repo=aether)
    apps = aether / "clusters/prod-eu1/apps/prod"

    def wave(name: str) -> int:
        return int(
            _load(apps / f"{name}.yaml")["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]
        )

    assert (
        max(wave(d) for d in ("timescaledb", "redis", "kafka", "nats"))
        < wave("platform")
        < wave("ui")
    )


def test_hpa_owned_replicas_are_ignored(aether: Path) -> None:
    run_cli("render", "prod", repo=aether)
    platform = _load(aether / "clusters/prod-eu1/apps/prod/platform.yaml")
    ignored = {entry["name"] for entry in platform["spec"]["ignoreDifferences"]}
    assert "risk-service" in ignored  # has an HPA
    assert "reports-service" not in ignored  # fixed replicas: drift in replicas matters
    for entry in platform["spec"]["ignoreDifferences"]:
        assert entry["jsonPointers"] == ["/spec/replicas"]


def test_platform_values_encode_the_guide(aether: Path) -> None:
    run_cli("render", "prod", repo=aether)
    values = _load(aether / "clusters/prod-eu1/values/prod/aether-platform.yaml")
    assert values["global"]["tls"]["issuer"] == "letsencrypt-production"
    assert values["global"]["ingressClassName"] == "nginx"
    assert values["global"]["krakenSecrets"]["secretNames"] == [
        "kraken-keys-company",
        "kraken-keys-directors",
    ]
    assert values["runtimeSafety"]["_ALLOW_INSECURE_DEFAULTS"] is False
    risk = values["backends"]["risk-service"]
    assert risk["image"] == {"repository": "ghcr.io/aether/risk-service", "tag": "2.13.2"}
    assert risk["autoscaling"]["minReplicas"] == 3  # prod override of the catalog's 2
    assert risk["ingress"]["host"] == "risk-api.aether.example.com"
    assert values["endpoints"]["timescaledb"]["host"] == "timescaledb.aether.svc.cluster.local"
    assert len(values["backends"]) == 15
    assert set(values["dataPipelines"]) == {
        "kraken-ws-ingest",
        "marketdata-ingestor",
        "risk-ingestor",
    }
    assert values["feast"]["onlineStore"]["redisHost"] == "redis.aether.svc.cluster.local"
    assert values["ui"]["enabled"] is False  # the UI is its own, later Application
    ui = _load(aether / "clusters/prod-eu1/values/prod/aether-ui.yaml")
    assert ui["ui"]["env"] == {
        "NEXT_PUBLIC_API_BASE_URL": "https://risk-api.aether.example.com",
        "VITE_API_BASE_URL": "https://risk-api.aether.example.com",
    }
    assert not (aether / "clusters/dev-eu1").exists()  # rendering prod alone leaves dev alone


def test_render_is_deterministic(aether: Path) -> None:
    run_cli("render", repo=aether)
    first = tree_digest(aether / "clusters")
    run_cli("render", repo=aether)
    assert tree_digest(aether / "clusters") == first


def test_removed_component_loses_its_files(aether: Path) -> None:
    run_cli("render", repo=aether)
    catalog = aether / "environments/platform.yaml"
    text = catalog.read_text()
    start = text.index("  nats:\n")
    end = text.index("# §1: the FastAPI backend services")
    catalog.write_text(text[:start] + text[end:])
    for env in ("dev", "staging", "prod"):
        path = aether / f"environments/{env}.yaml"
        path.write_text(
            "".join(line for line in path.read_text().splitlines(True) if "nats:" not in line)
        )
    result = run_cli("render", repo=aether)
    assert result.exit_code == 0, result.output
    assert "6 removed" in result.stderr  # an Application and a values file in each of 3 envs
    assert not (aether / "clusters/prod-eu1/apps/prod/nats.yaml").exists()
    assert not (aether / "clusters/prod-eu1/values/prod/nats.yaml").exists()
    assert (aether / "clusters/prod-eu1/apps/prod/kafka.yaml").exists()


def test_check_reports_stale_files_and_writes_nothing(aether: Path) -> None:
    assert run_cli("render", repo=aether).exit_code == 0
    assert run_cli("render", "--check", repo=aether).exit_code == 0
    prod = aether / "environments/prod.yaml"
    prod.write_text(prod.read_text().replace("kafka: {chart: 31.0.0}", "kafka: {chart: 31.1.0}"))
    stray = aether / "clusters/prod-eu1/apps/prod/stray.yaml"
    stray.write_text("kind: ConfigMap\n")
    before = tree_digest(aether)
    result = run_cli("render", "--check", repo=aether)
    assert result.exit_code == 1
    assert "would change: clusters/prod-eu1/apps/prod/kafka.yaml" in result.stdout
    assert "would remove: clusters/prod-eu1/apps/prod/stray.yaml" in result.stdout
    assert tree_digest(aether) == before


def test_render_one_environment_keeps_the_others(aether: Path) -> None:
    run_cli("render", repo=aether)
    dev_before = tree_digest(aether / "clusters/dev-eu1")
    (aether / "clusters/dev-eu1/apps/dev/kafka.yaml").write_text("edited by hand\n")
    run_cli("render", "prod", repo=aether)
    assert (aether / "clusters/dev-eu1/apps/dev/kafka.yaml").read_text() == "edited by hand\n"
    run_cli("render", "dev", repo=aether)
    assert tree_digest(aether / "clusters/dev-eu1") == dev_before


def test_failed_render_leaves_clusters_untouched(aether: Path) -> None:
    run_cli("render", repo=aether)
    template = aether / "templates/application.yaml.j2"
    template.write_text(
        template.read_text().replace("{{ app.release_name }}", "{{ app.relase_name }}")
    )
    before = tree_digest(aether)
    result = run_cli("render", repo=aether)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: templates/application.yaml.j2:")
    assert "relase_name" in result.stderr
    assert "Traceback" not in result.output
    assert tree_digest(aether) == before


def test_json_output(aether: Path) -> None:
    import json

    result = run_cli("render", "dev", "-o", "json", repo=aether)
    data = json.loads(result.stdout)
    assert data["environments"] == ["dev"]
    assert data["upToDate"] is False
    assert "clusters/dev-eu1/apps/dev/platform.yaml" in data["added"]


def test_drift_audit_application_is_self_sufficient(aether: Path) -> None:
    """Its first sync creates its namespace and retries, whatever the other Applications do."""
    result = run_cli("render", repo=aether)
    assert result.exit_code == 0, result.output
    audit = _load(aether / "clusters/dev-eu1/apps/dev/drift-audit.yaml")
    policy = audit["spec"]["syncPolicy"]
    assert "CreateNamespace=true" in policy["syncOptions"]
    assert policy["retry"]["limit"] == 5
    assert policy["automated"]["enabled"] is True
