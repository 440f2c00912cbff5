"""The platform values, merged with the chart's defaults the way Helm merges them, carry what
environments/ says: tags, replicas and HPAs per environment; every secret of the guide wired
into the workloads that consume it; no Secret and no data-plane workload from the chart.

The chart is the stand-in (tests/fixtures/charts/aether-platform), whose defaults and templates
reproduce the real chart's at 1ef53dd3 (README: the chart mapping, the hand check with Helm).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from gitops_gen.chart.coalesce import coalesce
from gitops_gen.chart.template_refs import chart_reads, is_read
from gitops_gen.model import ComponentKind, load_platform
from gitops_gen.model.schema import chart_key
from gitops_gen.render.chart_values import platform_values
from tests.helpers import PROJECT_ROOT
from tests.testenv.apprepo import STANDIN_CHART

ENVIRONMENTS = ("dev", "staging", "prod")
# The guide's §4 table: each secret and the workloads that must receive it.
GUIDE_SECRETS = {
    "account-service-database": {"account-service", "bootstrap.accounts"},
    "account-service-secrets": {"account-service"},
    "fastapi-credentials": {"oms-service", "pricing-service"},
    "fastapi-secrets": {"kraken-ws-ingest", "marketdata-ingestor", "marketdata-service"},
    "auth-service-config": {"auth-service"},
    "behavior-service-database": {"behavior-service"},
    "compliance-service-database": {"risk-service", "compliance-service"},
    "capital-allocator-database": {"capital-allocator"},
    "config-service-database": {"config-service", "bootstrap.config"},
    "kraken-keys-company": {"risk-service", "oms-service", "secrets-service"},
    "kraken-keys-director-1": {"risk-service", "oms-service", "secrets-service"},
    "kraken-keys-director-2": {"risk-service", "oms-service", "secrets-service"},
    "platform-account-allowlists": {"*backends"},
    "release-manifest-database": {"*backends", "bootstrap.migrations"},
    "strategy-orchestrator-database": {"strategy-orchestrator"},
    "feast-offline-store": {"feast"},
    "feast-backup-object-storage": {"feast"},
}


@pytest.fixture(scope="module")
def merged() -> dict[str, dict[str, Any]]:
    platform = load_platform(PROJECT_ROOT)
    defaults = yaml.safe_load((STANDIN_CHART / "values.yaml").read_text())
    return {
        name: coalesce(defaults, platform_values(platform, platform.environments[name]).values)
        for name in ENVIRONMENTS
    }


def _walk(node: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _secrets_in(node: Any) -> set[str]:
    names = set()
    for key, value in _walk(node):
        if key in {"secretRef", "secretKeyRef"}:
            names.add(value["name"])
        elif key == "secret" and isinstance(value, dict) and "secretName" in value:
            names.add(value["secretName"])
        elif key in {"databaseSecret", "riskDatabaseSecret", "releaseManifestSecret"}:
            names.add(value["name"])
        elif key in {"offlineStoreSecret", "objectStoreSecret"}:
            names.add(value)
    return names


def _consumers(values: dict[str, Any]) -> dict[str, set[str]]:
    """Secret name -> the workloads (by Deployment name) that receive it, as the templates do."""
    g = values["global"]
    backends = {k: v for k, v in values["backendServices"].items() if v["enabled"]}
    out: dict[str, set[str]] = {}

    def add(secrets: set[str], who: str) -> None:
        for name in secrets:
            out.setdefault(name, set()).add(who)

    for backend in backends.values():
        who = backend["nameOverride"]
        add(_secrets_in({k: backend[k] for k in ("env", "envFrom")}), who)
        if g["krakenSecrets"]["enabled"] and backend["usesKrakenSecrets"]:
            add({a["secretName"] for a in g["krakenSecrets"]["accounts"]}, who)
    allow = g["accountAllowlists"]
    add({allow["admin"]["secretName"], allow["director"]["secretName"]}, "*backends")
    add({g["releaseManifest"]["databaseSecretName"]}, "*backends")
    for pipeline in values["dataPipelines"]["deployments"].values():
        add(_secrets_in(pipeline), pipeline["nameOverride"])
    add(_secrets_in(values["feast"]), "feast")
    for job in ("config", "accounts", "migrations"):
        if values["bootstrap"][job]["enabled"]:
            add(_secrets_in(values["bootstrap"][job]), f"bootstrap.{job}")
    return out


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_tags_replicas_and_hpas_are_the_environments(
    merged: dict[str, dict[str, Any]], env_name: str
) -> None:
    env = load_platform(PROJECT_ROOT).environments[env_name]
    values = merged[env_name]
    for w in env.workloads_of(ComponentKind.SERVICE):
        backend = values["backendServices"][w.spec.chart_key or chart_key(w.name)]
        assert backend["nameOverride"] == w.name
        assert backend["image"] == {"repository": w.image, "tag": w.tag}
        assert backend["replicaCount"] == w.replicas
        if w.hpa is None:
            assert backend["hpa"]["enabled"] is False
        else:
            assert (backend["hpa"]["minReplicas"], backend["hpa"]["maxReplicas"]) == (
                w.hpa.min,
                w.hpa.max,
            )
    for w in env.workloads_of(ComponentKind.PIPELINE):
        pipeline = values["dataPipelines"]["deployments"][chart_key(w.name)]
        assert (pipeline["image"]["tag"], pipeline["replicaCount"]) == (w.tag, w.replicas)
    ui = env.workload("ui")
    assert ui is not None and values["ui"]["image"]["tag"] == ui.tag


def test_prod_pins_its_own_versions(merged: dict[str, dict[str, Any]]) -> None:
    prod = merged["prod"]["backendServices"]
    assert prod["risk"]["image"]["tag"] == "2.13.2"
    assert (prod["risk"]["hpa"]["minReplicas"], prod["risk"]["hpa"]["maxReplicas"]) == (3, 10)
    assert prod["accountService"]["replicaCount"] == 3
    assert merged["prod"]["dataPipelines"]["deployments"]["krakenWsIngest"]["replicaCount"] == 2
    assert merged["dev"]["backendServices"]["risk"]["image"]["tag"] == "2.15.0-rc.1"


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_only_the_platforms_workloads_run_and_none_from_chart_defaults(
    merged: dict[str, dict[str, Any]], env_name: str
) -> None:
    values = merged[env_name]
    enabled = {
        v["nameOverride"]: v["image"]["tag"]
        for v in values["backendServices"].values()
        if v["enabled"]
    }
    env = load_platform(PROJECT_ROOT).environments[env_name]
    assert set(enabled) == {w.name for w in env.workloads_of(ComponentKind.SERVICE)}
    pipelines = values["dataPipelines"]["deployments"].values()
    tags = [*enabled.values(), *(p["image"]["tag"] for p in pipelines)]
    tags += [values["ui"]["image"]["tag"], values["feast"]["image"]["tag"]]
    tags += [values["feast"]["backup"]["image"]["tag"], values["bootstrap"]["image"]["tag"]]
    assert "latest" not in tags  # nothing deploys from the chart's `latest` defaults


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_no_secret_and_no_data_plane_from_the_chart(
    merged: dict[str, dict[str, Any]], env_name: str
) -> None:
    values = merged[env_name]
    # managed-secrets.yaml and postgres-init-scripts.yaml render only while secrets exist:
    # `enabled: false` alone does not stop them (`enabled | default true`).
    assert "secrets" not in values["managedSecrets"]
    assert {d["enabled"] for d in values["dependencies"].values()} == {False}
    # Every hostname points at the separately installed releases, never the chart's aether-*.
    text = yaml.safe_dump(
        {k: values[k] for k in ("global", "dataPipelines", "feast", "backendServices")}
    )
    assert "aether-redis" not in text and "aether-kafka" not in text
    assert values["feast"]["redis"]["host"] == "redis-master.aether.svc.cluster.local"
    assert values["global"]["sessionStore"]["redisUrl"] == (
        "redis://redis-master.aether.svc.cluster.local:6379/0"
    )


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_every_guide_secret_reaches_its_workloads(
    merged: dict[str, dict[str, Any]], env_name: str
) -> None:
    consumers = _consumers(merged[env_name])
    for secret, expected in GUIDE_SECRETS.items():
        assert expected <= consumers.get(secret, set()), (secret, consumers.get(secret))
    # and nothing references a secret the catalog does not provide
    required = {s.name for s in load_platform(PROJECT_ROOT).environments[env_name].required_secrets}
    assert set(consumers) <= required


def test_every_rendered_key_is_read_by_the_stand_in_templates(
    merged: dict[str, dict[str, Any]],
) -> None:
    """The stand-in reads the same paths as the real chart; what we render, it reads."""
    reads = chart_reads(p for p in (STANDIN_CHART / "templates").iterdir())
    platform = load_platform(PROJECT_ROOT)
    values = platform_values(platform, platform.environments["prod"]).values

    def leaves(node: Any, here: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
        if isinstance(node, dict):
            for key, value in node.items():
                if value is not None:
                    yield from leaves(value, (*here, key))
        else:
            yield here

    unread = [p for p in leaves(values) if not is_read(p, reads)]
    # Read by the schema only (a policy gate), and by Chart.yaml's dependency conditions; the
    # schema declares all three, so CHART002 does not report them.
    assert unread == [
        ("runtimeSafety", "_ALLOW_INSECURE_DEFAULTS"),
        ("dependencies", "kafka", "enabled"),
        ("dependencies", "nats", "enabled"),
    ]
