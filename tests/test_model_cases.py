"""Loading the catalog and environments: the records everything downstream reads, and each
cross-file mistake as one line naming the file, line and key with a fix. Found by mutation
testing (docs/testing.md); in-process, no git or CLI needed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gitops_gen.errors import InputError
from gitops_gen.model import load_platform
from gitops_gen.model.loader import unknown_environment
from gitops_gen.model.resolved import Component, ComponentKind, image_ref
from tests.helpers import PROJECT_ROOT

CATALOG = "environments/platform.yaml"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    shutil.copytree(PROJECT_ROOT / "environments", tmp_path / "environments")
    return tmp_path


def _edit(root: Path, rel: str, old: str, new: str) -> None:
    path = root / rel
    text = path.read_text()
    assert old in text, f"fixture drifted: {old!r} not in {rel}"
    path.write_text(text.replace(old, new, 1))


def _error(root: Path) -> str:
    with pytest.raises(InputError) as info:
        load_platform(root)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_required_secrets_expand_per_kraken_account_in_name_order(root: Path) -> None:
    secrets = load_platform(root).environment("prod").required_secrets
    names = [s.name for s in secrets]
    assert names == sorted(names) and len(names) == 24
    kraken = [s for s in secrets if s.catalog_name == "kraken-keys-*"]
    assert [(s.name, s.keys) for s in kraken] == [
        ("kraken-keys-company", ("credentials.json",)),
        ("kraken-keys-director-1", ("credentials.json",)),
        ("kraken-keys-director-2", ("credentials.json",)),
    ]
    _edit(root, CATALOG, "    enabled: true\n    accounts:", "    enabled: false\n    accounts:")
    names = [s.name for s in load_platform(root).environment("prod").required_secrets]
    assert len(names) == 21 and not any(n.startswith("kraken-keys") for n in names)


def test_component_names_must_be_dns_labels(root: Path) -> None:
    _edit(root, CATALOG, "  policy-service:\n", "  Policy_Service:\n")
    message = _error(root)
    assert message.startswith(f"{CATALOG}:")
    assert "services.Policy_Service: component names must be DNS labels" in message


def test_reserved_and_duplicate_component_names(root: Path) -> None:
    _edit(root, CATALOG, "  policy-service:\n", "  root:\n")
    assert "services.root: 'root' is reserved; choose another component name" in _error(root)
    _edit(root, CATALOG, "  root:\n", "  redis:\n")
    message = _error(root)
    assert "services.redis: duplicate component name, already defined in dependencies" in message


def test_ui_api_service_must_exist_and_have_an_ingress(root: Path) -> None:
    _edit(root, CATALOG, "  apiService: risk-service", "  apiService: risk-servce")
    message = _error(root)
    assert message.startswith(f"{CATALOG}:")
    assert message.endswith(
        "ui.apiService: unknown service 'risk-servce'; did you mean 'risk-service'?"
    )
    _edit(root, CATALOG, "  apiService: risk-servce", "  apiService: policy-service")
    _edit(root, CATALOG, "    ingress: {host: policy-api}\n", "")
    assert _error(root).endswith(
        "ui.apiService: service 'policy-service' has no ingress, so the UI cannot reach it; "
        "add services.policy-service.ingress"
    )


def test_feast_needs_its_redis_dependency(root: Path) -> None:
    _edit(root, CATALOG, "  redisDependency: redis", "  redisDependency: rediss")
    assert _error(root).endswith(
        "feast.redisDependency: unknown dependency 'rediss'; did you mean 'redis'?"
    )


def test_promoted_from_itself_or_an_unknown_environment(root: Path) -> None:
    _edit(root, "environments/prod.yaml", "promotedFrom: staging", "promotedFrom: prod")
    message = _error(root)
    assert message.startswith("environments/prod.yaml:")
    assert message.endswith("promotedFrom: 'prod' cannot be promoted from itself")
    _edit(root, "environments/prod.yaml", "promotedFrom: prod", "promotedFrom: stagin")
    assert _error(root).endswith(
        "promotedFrom: unknown environment 'stagin'; did you mean 'staging'? "
        "(environments: dev, prod, staging)"
    )


def test_unknown_environment_lists_the_known_ones(root: Path) -> None:
    platform = load_platform(root)
    assert str(unknown_environment("prdo", platform)) == (
        "unknown environment 'prdo'; did you mean 'prod'? (environments: dev, prod, staging; "
        "each is a file environments/<name>.yaml)"
    )
    assert "did you mean" not in str(unknown_environment("zzz", platform))


def test_versions_and_image_references() -> None:
    digest = "sha256:" + "a" * 64
    assert image_ref("ghcr.io/x/api", "1.0", digest) == f"ghcr.io/x/api@{digest}"
    assert image_ref("ghcr.io/x/api", "1.0", None) == "ghcr.io/x/api:1.0"
    service = Component("api", ComponentKind.SERVICE, image="ghcr.io/x/api", tag="1.0")
    assert (service.version, service.image_ref) == ("1.0", "ghcr.io/x/api:1.0")
    pinned = Component("api", ComponentKind.SERVICE, image="i", tag="1.0", digest=digest)
    assert pinned.version == f"1.0@{digest}"
    assert Component("api", ComponentKind.SERVICE, image="i", digest=digest).version == digest
    assert Component("kafka", ComponentKind.DEPENDENCY, chart="31.0.0").version == "31.0.0"
    assert Component("platform", ComponentKind.PLATFORM, revision="v2").version == "v2"
    assert Component("kafka", ComponentKind.DEPENDENCY).image_ref is None


def test_environment_overrides_merge_into_the_catalog(root: Path) -> None:
    prod = load_platform(root).environment("prod")
    components = {c.name: c for c in prod.components}
    assert components["kafka"].chart == "31.0.0"
    assert components["risk-service"].tag == "2.13.2"
    assert components["oms-service"].held is not None  # held in prod, with its reason


def test_promotion_order_puts_every_source_first(root: Path) -> None:
    assert load_platform(root).promotion_order() == ["dev", "staging", "prod"]
    # a second chain from dev, and an environment of its own: sources first, then by name
    (root / "environments/qa.yaml").write_text(
        (root / "environments/staging.yaml").read_text().replace("staging-eu1", "qa-eu1")
    )
    (root / "environments/sandbox.yaml").write_text(
        (root / "environments/dev.yaml").read_text().replace("dev-eu1", "sandbox-eu1")
    )
    order = load_platform(root).promotion_order()
    assert order == ["dev", "sandbox", "qa", "staging", "prod"]


def test_a_component_is_found_by_name(root: Path) -> None:
    prod = load_platform(root).environment("prod")
    kafka, ui = prod.component("kafka"), prod.component("ui")
    assert kafka is not None and kafka.chart == "31.0.0"
    assert ui is not None and ui.kind is ComponentKind.UI
    assert prod.component("nope") is None
