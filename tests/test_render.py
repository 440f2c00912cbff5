"""Rendering the embedded Aether platform: content, determinism, atomicity, --check."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.helpers import run_cli, tree_digest


def _load(path: Path) -> dict:  # type: ignore[type-arg]
    return yaml.safe_load(path.read_text())


def test_render_writes_root_project_and_applications(aether: Path) -> None:
    result = run_cli("render", repo=aether, expect=0)
    assert "rendered dev, prod, staging: 24 applications" in result.stderr
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
    run_cli("render", "prod", repo=aether, expect=0)
    apps = aether / "clusters/prod-eu1/apps/prod"

    def wave(name: str) -> int:
        return int(
            _load(apps / f"{name}.yaml")["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]
        )

    deps = ("timescaledb", "redis", "kafka", "nats")
    # Secrets first: the dependencies' credentials are pinned to the sops-managed Secrets.
    assert wave("secrets") < min(wave(d) for d in deps)
    assert max(wave(d) for d in deps) < wave("platform")
    assert not (apps / "ui.yaml").exists()  # the UI is part of the platform release


def test_hpa_owned_replicas_are_ignored(aether: Path) -> None:
    run_cli("render", "prod", repo=aether, expect=0)
    platform = _load(aether / "clusters/prod-eu1/apps/prod/platform.yaml")
    ignored = {entry["name"] for entry in platform["spec"]["ignoreDifferences"]}
    assert "risk-service" in ignored  # has an HPA
    assert "reports-service" not in ignored  # fixed replicas: drift in replicas matters
    for entry in platform["spec"]["ignoreDifferences"]:
        assert entry["jsonPointers"] == ["/spec/replicas"]


def test_platform_values_use_the_chart_keys(aether: Path) -> None:
    run_cli("render", "prod", repo=aether, expect=0)
    values = _load(aether / "clusters/prod-eu1/values/prod/aether-platform.yaml")
    assert values["global"]["tls"]["issuer"] == "letsencrypt-production"
    assert values["global"]["ingressClassName"] == "nginx"
    assert [a["secretName"] for a in values["global"]["krakenSecrets"]["accounts"]] == [
        "kraken-keys-company",
        "kraken-keys-director-1",
        "kraken-keys-director-2",
    ]
    assert values["runtimeSafety"]["_ALLOW_INSECURE_DEFAULTS"] is False
    risk = values["backendServices"]["risk"]
    assert risk["nameOverride"] == "risk-service"
    assert risk["image"] == {"repository": "ghcr.io/aether/risk-service", "tag": "2.13.2"}
    assert risk["hpa"]["minReplicas"] == 3  # prod override of the catalog's 2
    assert risk["ingress"] == {
        "enabled": True,
        "host": "risk-api.aether.example.com",
        "tlsSecret": "risk-service-tls",
    }
    assert values["backendServices"]["accountService"]["nameOverride"] == "account-service"
    enabled = [k for k, v in values["backendServices"].items() if v["enabled"]]
    assert len(enabled) == 15
    assert values["backendServices"]["advisor"] == {"enabled": False}  # a chart default
    assert set(values["dataPipelines"]["deployments"]) == {"krakenWsIngest", "marketdataIngestor"}
    ingestor = values["dataPipelines"]["deployments"]["marketdataIngestor"]
    assert ingestor["image"]["repository"] == "ghcr.io/aether/risk-ingestor"
    assert {"name": "tls", "secret": {"secretName": "kafka-tls"}} in ingestor["volumes"]
    assert values["feast"]["redis"] == {
        "host": "redis-master.aether.svc.cluster.local",
        "port": 6379,
    }
    assert values["global"]["sessionStore"]["redisUrl"].startswith("redis://redis-master.aether.")
    assert values["dependencies"] == {
        n: {"enabled": False} for n in ("postgresql", "redis", "kafka", "nats")
    }
    assert values["managedSecrets"] == {"enabled": False, "secrets": None}
    assert values["ui"]["enabled"] is True  # the UI is part of the platform release
    assert values["ui"]["env"] == [
        {"name": "NEXT_PUBLIC_API_BASE_URL", "value": "https://risk-api.aether.example.com"},
        {"name": "VITE_API_BASE_URL", "value": "https://risk-api.aether.example.com"},
    ]
    assert values["bootstrap"]["actor"] == "gitops-gen"
    assert (
        values["bootstrap"]["migrations"]["riskDatabaseSecret"]["name"] == "risk-service-database"
    )
    assert not (aether / "clusters/dev-eu1").exists()  # rendering prod alone leaves dev alone


def test_render_is_deterministic(aether: Path) -> None:
    run_cli("render", repo=aether, expect=0)
    first = tree_digest(aether / "clusters")
    # two empty trees would compare equal: the first render wrote every environment
    assert "dev-eu1/apps/dev/platform.yaml" in first and "prod-eu1/root.yaml" in first
    second = run_cli("render", repo=aether, expect=0)
    assert "(0 added, 0 changed, 0 removed)" in second.stderr, second.stderr
    assert tree_digest(aether / "clusters") == first


def test_removed_component_loses_its_files(aether: Path) -> None:
    run_cli("render", repo=aether, expect=0)
    catalog = aether / "environments/platform.yaml"
    text = catalog.read_text()
    start = text.index("  nats:\n    repoURL")
    end = text.index("# §1: the FastAPI backend services")
    catalog.write_text(text[:start] + text[end:])
    for env in ("dev", "staging", "prod"):
        path = aether / f"environments/{env}.yaml"
        path.write_text(
            "".join(line for line in path.read_text().splitlines(True) if "nats:" not in line)
        )
    result = run_cli("render", repo=aether, expect=0)
    assert "6 removed" in result.stderr  # an Application and a values file in each of 3 envs
    assert not (aether / "clusters/prod-eu1/apps/prod/nats.yaml").exists()
    assert not (aether / "clusters/prod-eu1/values/prod/nats.yaml").exists()
    assert (aether / "clusters/prod-eu1/apps/prod/kafka.yaml").exists()


def test_check_reports_stale_files_and_writes_nothing(aether: Path) -> None:
    run_cli("render", repo=aether, expect=0)
    run_cli("render", "--check", repo=aether, expect=0)
    prod = aether / "environments/prod.yaml"
    prod.write_text(prod.read_text().replace("kafka: {chart: 31.0.0}", "kafka: {chart: 31.1.0}"))
    stray = aether / "clusters/prod-eu1/apps/prod/stray.yaml"
    stray.write_text("kind: ConfigMap\n")
    before = tree_digest(aether)
    result = run_cli("render", "--check", repo=aether, expect=1)
    assert "would change: clusters/prod-eu1/apps/prod/kafka.yaml" in result.stdout
    assert "would remove: clusters/prod-eu1/apps/prod/stray.yaml" in result.stdout
    assert tree_digest(aether) == before


def test_render_one_environment_keeps_the_others(aether: Path) -> None:
    run_cli("render", repo=aether, expect=0)
    dev_before = tree_digest(aether / "clusters/dev-eu1")
    (aether / "clusters/dev-eu1/apps/dev/kafka.yaml").write_text("edited by hand\n")
    run_cli("render", "prod", repo=aether, expect=0)
    assert (aether / "clusters/dev-eu1/apps/dev/kafka.yaml").read_text() == "edited by hand\n"
    run_cli("render", "dev", repo=aether, expect=0)
    assert tree_digest(aether / "clusters/dev-eu1") == dev_before


def test_failed_render_leaves_clusters_untouched(aether: Path) -> None:
    run_cli("render", repo=aether, expect=0)
    assert (aether / "clusters/prod-eu1/apps/prod/platform.yaml").is_file()  # something to keep
    template = aether / "templates/application.yaml.j2"
    template.write_text(
        template.read_text().replace("{{ app.release_name }}", "{{ app.relase_name }}")
    )
    before = tree_digest(aether)
    result = run_cli("render", repo=aether, expect=2)
    assert result.stderr.startswith("error: templates/application.yaml.j2:")
    assert "relase_name" in result.stderr
    assert "Traceback" not in result.output
    assert tree_digest(aether) == before


def test_json_output(aether: Path) -> None:
    import json

    result = run_cli("render", "dev", "-o", "json", repo=aether, expect=0)
    data = json.loads(result.stdout)
    assert data["environments"] == ["dev"]
    assert data["upToDate"] is False
    assert "clusters/dev-eu1/apps/dev/platform.yaml" in data["added"]


def test_drift_audit_application_is_self_sufficient(aether: Path) -> None:
    """Its first sync creates its namespace and retries, whatever the other Applications do."""
    run_cli("render", repo=aether, expect=0)
    audit = _load(aether / "clusters/dev-eu1/apps/dev/drift-audit.yaml")
    policy = audit["spec"]["syncPolicy"]
    assert "CreateNamespace=true" in policy["syncOptions"]
    assert policy["retry"]["limit"] == 5
    assert policy["automated"]["enabled"] is True


def test_notify_targets_reach_the_audit_as_secret_references_and_notify_is_passed(
    aether: Path,
) -> None:
    env_file = aether / "environments" / "dev.yaml"
    env_file.write_text(
        env_file.read_text().replace(
            'drift: {schedule: "0 * * * *"}',
            'drift:\n  schedule: "0 * * * *"\n  notify:\n    remindEvery: 12h\n    targets:\n'
            "      - {name: ops-chat, type: slack, url: {secret: drift-notify, key: slack-url}}\n"
            "      - {name: tracker, type: github, project: acme/aether-gitops,\n"
            "         token: {secret: drift-notify, key: github-token}}\n",
        )
    )
    run_cli("render", "dev", repo=aether, expect=0)
    cronjob = _load(aether / "clusters/dev-eu1/audit/dev/cronjob.yaml")
    (container,) = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    assert container["args"][-1] == "--notify"
    assert container["args"][-3:-1] == ["--report-config-map", "drift-report-dev"]
    assert container["env"][1:] == [
        {
            "name": "GITOPS_GEN_NOTIFY_OPS_CHAT_URL",
            "valueFrom": {"secretKeyRef": {"name": "drift-notify", "key": "slack-url"}},
        },
        {
            "name": "GITOPS_GEN_NOTIFY_TRACKER_TOKEN",
            "valueFrom": {"secretKeyRef": {"name": "drift-notify", "key": "github-token"}},
        },
    ]
    # without notify: neither
    run_cli("render", "staging", repo=aether, expect=0)
    plain = _load(aether / "clusters/staging-eu1/audit/staging/cronjob.yaml")
    (container,) = plain["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    assert "--notify" not in container["args"]
    assert [e["name"] for e in container["env"]] == ["HOME"]


def test_notify_without_the_report_config_map_is_refused(aether: Path) -> None:
    env_file = aether / "environments" / "dev.yaml"
    before = env_file.read_text().replace(
        'drift: {schedule: "0 * * * *"}',
        "drift:\n  reportConfigMap: false\n  notify:\n    targets:\n"
        "      - {name: hooks, type: webhook, url: {secret: s, key: url}}\n",
    )
    env_file.write_text(before)
    result = run_cli("render", "dev", repo=aether, expect=2)
    assert "drift.notify needs drift.reportConfigMap: true (it keeps the state)" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (aether / "clusters").exists() or not list((aether / "clusters").rglob("*.yaml"))
