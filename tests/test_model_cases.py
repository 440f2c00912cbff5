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


DEV = "environments/dev.yaml"
RISK = 'risk-service: {tag: "2.15.0-rc.1", replicas: 1, hpa: {min: 1, max: 2}}'

# (file, [(old, new), ...], the one line `render`/`validate` print after "error: ")
BAD_FILES: dict[str, tuple[str, list[tuple[str, str]], str]] = {
    "negative-replicas": (
        DEV,
        [("replicas: 1, hpa", "replicas: -1, hpa")],
        "environments/dev.yaml:18: services.risk-service.replicas: expected a number >= 0, "
        "found -1",
    ),
    "fractional-replicas": (
        DEV,
        [("replicas: 1, hpa", "replicas: 1.5, hpa")],
        "environments/dev.yaml:18: services.risk-service.replicas: expected an integer, found 1.5",
    ),
    "unquoted-version": (
        DEV,
        [('risk-service: {tag: "2.15.0-rc.1"', "risk-service: {tag: 2.10")],
        "environments/dev.yaml:18: services.risk-service.tag: 2.10 is read by YAML as the "
        'number 2.1; quote it: "2.10"',
    ),
    "unquoted-boolean-tag": (
        DEV,
        [('risk-service: {tag: "2.15.0-rc.1"', "risk-service: {tag: true")],
        "environments/dev.yaml:18: services.risk-service.tag: true is read by YAML as the "
        'boolean true; quote it: "true"',
    ),
    "not-a-boolean": (
        DEV,
        [("sync: {automated: true", "sync: {automated: maybe")],
        "environments/dev.yaml:6: sync.automated: expected true or false, found 'maybe'",
    ),
    "pattern": (
        DEV,
        [("namespace: aether", "namespace: Aether_NS")],
        "environments/dev.yaml:4: namespace: expected a value matching "
        "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$, found 'Aether_NS'",
    ),
    "null-value": (
        DEV,
        [("namespace: aether", "namespace:")],
        "environments/dev.yaml:4: namespace: expected a string, found nothing (null)",
    ),
    "list-for-mapping": (
        DEV,
        [('feast: {tag: "0.40.1"}', 'feast: ["0.40.1"]')],
        "environments/dev.yaml:38: feast: expected a mapping, found a list",
    ),
    "hpa-bounds": (
        DEV,
        [(RISK, RISK.replace("{min: 1, max: 2}", "{min: 2, max: 1}"))],
        "environments/dev.yaml:18: services.risk-service.hpa: max (1) must be >= min (2)",
    ),
    "long-value-shortened": (
        DEV,
        [("tier: dev", "tier: " + "x" * 70)],
        "environments/dev.yaml:2: tier: expected one of 'dev', 'staging' or 'prod', found '"
        + "x" * 56
        + "...",
    ),
    "plain-http-cluster": (
        DEV,
        [("server: https://dev-eu1", "server: http://dev-eu1")],
        "environments/dev.yaml:3: cluster.server: expected a value matching ^https://, "
        "found 'http://dev-eu1.k8s.example.com'",
    ),
    "unknown-key-in-a-pin": (
        DEV,
        [("risk-service: {tag:", "risk-service: {tga:")],
        "environments/dev.yaml:18: services.risk-service.tga: unknown key 'tga' in "
        "services.risk-service; did you mean 'tag'?",
    ),
    "unknown-key-in-an-optional-mapping": (
        DEV,
        [("cluster: {name: dev-eu1,", "cluster: {kubeContxt: x, name: dev-eu1,")],
        "environments/dev.yaml:3: cluster.kubeContxt: unknown key 'kubeContxt' in cluster; "
        "did you mean 'kubeContext'?",
    ),
    "unknown-key-in-a-list-item": (
        DEV,
        [
            (
                'drift: {schedule: "0 * * * *"}',
                'drift: {schedule: "0 * * * *", notify: {targets: [{name: a, type: webhook, '
                "url: {secret: s, key: k}, urll: x}]}}",
            )
        ],
        "environments/dev.yaml:7: drift.notify.targets[0].urll: unknown key 'urll' in "
        "drift.notify.targets[0]; did you mean 'url'?",
    ),
    "three-problems": (
        DEV,
        [
            ("tier: dev", "tier: qa"),
            ("namespace: aether", "namespace: A"),
            ("domain: dev.aether.example.com", "domain: B"),
        ],
        "environments/dev.yaml:2: tier: expected one of 'dev', 'staging' or 'prod', found 'qa' "
        "(and 2 more problems)",
    ),
    "unpinned-dependency": (
        DEV,
        [("  nats: {chart: 1.2.8}\n", "")],
        "environments/dev.yaml:11: dependencies.nats: no chart version pinned for 'nats'; add "
        "'dependencies: {nats: {chart: X.Y.Z}}'",
    ),
    "hold-of-an-unknown-component": (
        DEV,
        [("feast: {tag", "holds: {risk-servce: frozen}\nfeast: {tag")],
        "environments/dev.yaml:38: holds.risk-servce: unknown component 'risk-servce'; did you "
        "mean 'risk-service'?",
    ),
    "pin-of-an-unknown-service": (
        DEV,
        [("  risk-service:", "  risk-servce:")],
        "environments/dev.yaml:18: services.risk-servce: not in the platform catalog; did you "
        "mean 'risk-service'? (known: account-service, auth-service, behavior-service, "
        "capital-allocator, compliance-service, config-service, marketdata-service, "
        "oms-service, policy-service, pricing-service, release-manifest, reports-service, "
        "risk-service, secrets-service, strategy-orchestrator)",
    ),
    "nested-required-key": (
        DEV,
        [(RISK, RISK.replace("{min: 1, max: 2}", "{min: 1}"))],
        "environments/dev.yaml:18: services.risk-service.hpa.max: required key 'max' is "
        "missing; add it to services.risk-service.hpa",
    ),
    "typo-explains-the-missing-key": (
        DEV,
        [(RISK, RISK.replace("{min: 1, max: 2}", "{min: 1, maxx: 2}"))],
        "environments/dev.yaml:18: services.risk-service.hpa.maxx: unknown key 'maxx' in "
        "services.risk-service.hpa; did you mean 'max'? (and 1 more problem)",
    ),
    "bad-quantity": (
        CATALOG,
        [
            (
                "requests: {cpu: 250m, memory: 512Mi}, limits",
                "requests: {cpu: 250mm, memory: 512Mi}, limits",
            )
        ],
        "environments/platform.yaml:146: services.risk-service.resources: requests.cpu: "
        "'250mm' is not a Kubernetes quantity (e.g. 250m, 1, 512Mi)",
    ),
    "pin-without-a-tag": (
        DEV,
        [(RISK, RISK.replace('tag: "2.15.0-rc.1", ', ""))],
        "environments/dev.yaml:18: services.risk-service: no image tag for 'risk-service' in "
        "this environment; add 'services.risk-service: {tag: \"X.Y.Z\"}' (or a digest)",
    ),
    "no-pin-at-all": (
        DEV,
        [('feast: {tag: "0.40.1"}\n', "")],
        "environments/dev.yaml:1: feast: no image tag for 'feast' in this environment; add "
        "'feast: {tag: \"X.Y.Z\"}' (or a digest)",
    ),
    "promoted-from-itself": (
        DEV,
        [("tier: dev\n", "tier: dev\npromotedFrom: dev\n")],
        "environments/dev.yaml:3: promotedFrom: 'dev' cannot be promoted from itself",
    ),
    "promotion-cycle": (
        DEV,
        [("tier: dev\n", "tier: dev\npromotedFrom: prod\n")],
        "environments/dev.yaml:3: promotedFrom: promotion order forms a cycle (dev -> prod -> "
        "staging -> dev); one environment must be the start of the chain (no promotedFrom)",
    ),
    "reserved-component-name": (
        CATALOG,
        [("  policy-service:\n", "  platform:\n")],
        "environments/platform.yaml:158: services.platform: 'platform' is reserved; choose "
        "another component name",
    ),
    "unknown-ui-api-service": (
        CATALOG,
        [("  apiService: risk-service", "  apiService: risk-servce")],
        "environments/platform.yaml:333: ui.apiService: unknown service 'risk-servce'; did you "
        "mean 'risk-service'?",
    ),
    "port-out-of-range": (
        CATALOG,
        [("    host: timescaledb\n    port: 5432", "    host: timescaledb\n    port: 70000")],
        "environments/platform.yaml:89: dependencies.timescaledb.port: expected a number <= "
        "65535, found 70000",
    ),
    "empty-image": (
        CATALOG,
        [("    image: ghcr.io/aether/risk-service", '    image: ""')],
        "environments/platform.yaml:145: services.risk-service.image: expected a non-empty "
        "value, found ''",
    ),
    "string-for-list": (
        CATALOG,
        [("    secrets: [fastapi-credentials]", "    secrets: fastapi-credentials")],
        "environments/platform.yaml:152: services.risk-service.secrets: expected a list, found "
        "'fastapi-credentials'",
    ),
    "cpu-target-over-100": (
        CATALOG,
        [("hpa: {min: 2, max: 6, targetCpu: 70}", "hpa: {min: 2, max: 6, targetCpu: 170}")],
        "environments/platform.yaml:148: services.risk-service.hpa.targetCpu: expected a number "
        "<= 100, found 170",
    ),
    "bad-secret-reference": (
        CATALOG,
        [
            (
                "RISK_DATABASE_URL: risk-service-database/dsn",
                "RISK_DATABASE_URL: risk-service-database",
            )
        ],
        "environments/platform.yaml:153: services.risk-service.secretEnv: RISK_DATABASE_URL: "
        "'risk-service-database' must be '<secret>/<key>', e.g. account-db/dsn",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_bad_setting_is_one_exact_line(root: Path, case: str) -> None:
    """What `render` and `validate` print for a mistake in an environment file: the file and
    line, the key path, what was expected and what was found (test_bad_input.py runs the CLI)."""
    rel, edits, message = BAD_FILES[case]
    for old, new in edits:
        _edit(root, rel, old, new)
    assert _error(root) == message


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "environments/dev.yaml:1: file is empty; expected a mapping of settings"),
        (
            "- tier: dev\n",
            "environments/dev.yaml:1: expected a mapping of settings at the top level, "
            "found a list",
        ),
        (
            "dev\n",
            "environments/dev.yaml:1: expected a mapping of settings at the top level, "
            "found a string",
        ),
        (
            "42\n",
            "environments/dev.yaml:1: expected a mapping of settings at the top level, "
            "found a number",
        ),
    ],
    ids=["empty", "list", "string", "number"],
)
def test_an_environment_file_that_is_not_a_mapping(root: Path, content: str, message: str) -> None:
    (root / DEV).write_text(content)
    assert _error(root) == message


def test_environment_files_and_their_folder(root: Path, tmp_path: Path) -> None:
    (root / DEV).rename(root / "environments/Dev_1.yaml")
    assert _error(root) == (
        "environments/Dev_1.yaml: environment name 'Dev_1' must be a DNS label (lower-case "
        "letters, digits and '-'); rename the file"
    )
    for name in ("Dev_1", "staging", "prod"):
        (root / f"environments/{name}.yaml").unlink()
    assert _error(root) == (
        "environments/: no environment files; add one such as environments/dev.yaml"
    )
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError) as info:
        load_platform(empty)
    assert str(info.value) == (
        f"environments/: not found in {empty}; run 'gitops-gen init' to scaffold a repository "
        "or pass --repo"
    )


def test_a_workload_takes_the_catalog_where_the_environment_pins_nothing(root: Path) -> None:
    dev = load_platform(root).environment("dev")
    risk, policy = dev.workload("risk-service"), dev.workload("policy-service")
    assert risk is not None and policy is not None
    assert risk.replicas == 1  # dev pins 1
    assert policy.replicas == 2  # the catalog's, dev pins none
    assert (risk.host, policy.host) == (
        "risk-api.dev.aether.example.com",
        "policy-api.dev.aether.example.com",
    )


def test_a_workload_lists_every_secret_it_wires_in(root: Path) -> None:
    """What `promote` checks exist in the target environment before it moves a workload."""
    dev = load_platform(root).environment("dev")
    expected = {
        # envFrom, then the Secrets of single keys (secretEnv), each once
        "risk-service": (
            "fastapi-credentials",
            "compliance-service-database",
            "risk-service-database",
        ),
        "account-service": ("account-service-database", "account-service-secrets"),
        "feast": ("feast-offline-store", "feast-backup-object-storage"),
        "bootstrap": (
            "config-service-database",
            "account-service-database",
            "risk-service-database",
            "release-manifest-database",
        ),
        "kraken-ws-ingest": ("fastapi-secrets", "kafka-tls"),
    }
    for name, secrets in expected.items():
        workload = dev.workload(name)
        assert workload is not None and workload.secrets == secrets, name
