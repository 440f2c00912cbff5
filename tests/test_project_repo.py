"""The embedded Aether repository itself: rendered output committed and up to date, valid."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitops_gen.model import load_platform
from gitops_gen.render import plan_render
from tests.helpers import PROJECT_ROOT, copy_aether, run_cli


def test_committed_clusters_folder_is_up_to_date() -> None:
    result = run_cli("render", "--check", repo=PROJECT_ROOT)
    assert result.exit_code == 0, result.stdout + result.stderr


def test_embedded_platform_validates_clean() -> None:
    result = run_cli("validate", repo=PROJECT_ROOT)
    assert result.exit_code == 0, result.stdout + result.stderr


def test_embedded_platform_encodes_the_guide() -> None:
    platform = load_platform(PROJECT_ROOT)
    catalog = platform.catalog
    assert set(catalog.dependencies) == {"timescaledb", "redis", "kafka", "nats"}
    assert {d.chart for d in catalog.dependencies.values()} >= {"postgresql", "redis", "kafka"}
    assert len(catalog.services) == 15
    # The guide's risk-ingestor is the image of the chart's marketdata-ingestor.
    assert set(catalog.pipelines) == {"kraken-ws-ingest", "marketdata-ingestor"}
    assert catalog.pipelines["marketdata-ingestor"].image == "ghcr.io/aether/risk-ingestor"
    # the guide's table (kraken-keys-* once), 3 the chart reads beyond it, 4 of the data plane
    assert len(catalog.secrets) == 15 + 3 + 4
    assert catalog.secrets["fastapi-secrets"].keys == (
        "KAFKA_BOOTSTRAP",
        "NATS_URL",
        "KAFKA_USERNAME",
        "KAFKA_PASSWORD",
        "NATS_USERNAME",
        "NATS_PASSWORD",
        "REDIS_URL",
    )
    assert catalog.globals.tls.issuer == "letsencrypt-production"
    assert platform.promotion_order() == ["dev", "staging", "prod"]
    prod = platform.environments["prod"]
    assert prod.protected and not prod.allow_insecure_defaults and not prod.sync.prune
    # the chart's schema accepts only false, in every environment
    assert not platform.environments["dev"].allow_insecure_defaults
    assert prod.platform_revision == "1ef53dd38e6d2116d669161582201ba087d8119f"
    assert [s.name for s in prod.required_secrets if s.name.startswith("kraken")] == [
        "kraken-keys-company",
        "kraken-keys-director-1",
        "kraken-keys-director-2",
    ]


_version = st.from_regex(r"\A[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}(-rc\.[0-9])?\Z")


@pytest.fixture(scope="module")
def scratch_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_aether(tmp_path_factory.mktemp("prop") / "repo")


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(tag=_version, chart=_version)
def test_render_is_a_function_of_its_input(scratch_repo: Path, tag: str, chart: str) -> None:
    """Any valid pins render; rendering twice gives the same bytes; the pins reach the output."""
    prod = scratch_repo / "environments/prod.yaml"
    original = (PROJECT_ROOT / "environments/prod.yaml").read_text()
    text = original.replace('risk-service: {tag: "2.13.2"', f'risk-service: {{tag: "{tag}"')
    prod.write_text(text.replace("kafka: {chart: 31.0.0}", f'kafka: {{chart: "{chart}"}}'))
    first = plan_render(load_platform(scratch_repo), ["prod"]).files
    second = plan_render(load_platform(scratch_repo), ["prod"]).files
    assert first == second
    values = yaml.safe_load(first["clusters/prod-eu1/values/prod/aether-platform.yaml"])
    assert values["backendServices"]["risk"]["image"]["tag"] == tag
    assert f'targetRevision: "{chart}"' in first["clusters/prod-eu1/apps/prod/kafka.yaml"]
