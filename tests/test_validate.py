"""validate: the clean Aether platform has no findings; each rule fires on its input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from gitops_gen.validate.kube import validate_core
from tests.helpers import run_cli, tree_digest


def _edit(repo: Path, rel: str, old: str, new: str, count: int = 1) -> None:
    path = repo / rel
    text = path.read_text()
    assert old in text, f"fixture drifted: {old!r} not in {rel}"
    path.write_text(text.replace(old, new, count))


def _findings(repo: Path, *envs: str, expect: int) -> list[dict[str, str]]:
    result = run_cli("validate", *envs, "-o", "json", repo=repo, expect=expect)
    data = json.loads(result.stdout)
    assert (expect == 1) == bool(data["findings"]), data
    return list(data["findings"])


def test_embedded_platform_is_clean(aether: Path) -> None:
    result = run_cli("validate", repo=aether, expect=0)
    assert "validated dev, prod, staging: no findings" in result.stderr


def test_validate_writes_nothing(aether: Path) -> None:
    before = tree_digest(aether)
    result = run_cli("validate", repo=aether, expect=0)
    assert "validated dev, prod, staging: no findings" in result.stderr
    assert tree_digest(aether) == before
    # and with findings: still nothing written
    _edit(aether, "environments/staging.yaml", 'ui: {tag: "2.14.0"}', 'ui: {tag: "latest"}')
    before = tree_digest(aether)
    run_cli("validate", repo=aether, expect=1)
    assert tree_digest(aether) == before


RULE_CASES = [
    pytest.param(
        "environments/staging.yaml",
        'risk-service: {tag: "2.14.0"}',
        'risk-service: {tag: "latest"}',
        "staging",
        "POL001",
        "services.risk-service.tag: image ghcr.io/aether/risk-service:latest is not pinned; "
        "staging needs an immutable version tag or a digest",
        id="mutable-tag-in-staging",
    ),
    pytest.param(
        "environments/prod.yaml",
        "tier: prod\n",
        "tier: prod\nruntimeSafety: {allowInsecureDefaults: true}\n",
        "prod",
        "POL002",
        "runtimeSafety.allowInsecureDefaults is true: services would accept on-disk fallbacks; "
        "it must be false outside dev (prod is prod)",
        id="insecure-defaults-in-prod",
    ),
    pytest.param(
        "environments/platform.yaml",
        "issuer: letsencrypt-production",
        'issuer: ""',
        "prod",
        "POL003",
        "globals.tls.issuer is empty: ingresses would get no certificate; set a cert-manager "
        "issuer such as letsencrypt-production",
        id="no-tls-issuer",
    ),
    pytest.param(
        "environments/platform.yaml",
        "ingress: {host: policy-api}",
        "ingress: {host: risk-api}",
        "prod",
        "POL004",
        "ingress host risk-api.aether.example.com is also used by "
        "clusters/prod-eu1/values/prod/aether-platform.yaml: backendServices.risk.ingress.host; "
        "hosts must be unique",
        id="duplicate-ingress-host",
    ),
    pytest.param(
        "templates/platform-values.yaml.j2",
        "{{ values | toyaml(0) }}",
        "{{ values | toyaml(0) }}\nextra:\n  ingress:\n    host: risk-service.example.org",
        "prod",
        "POL004",
        "ingress host risk-service.example.org is not under the environment's domain "
        "aether.example.com",
        id="host-outside-domain",
    ),
    pytest.param(
        "environments/platform.yaml",
        "secretEnv: {BEHAVIOR_DATABASE_URL: behavior-service-database/dsn}",
        "secretEnv: {BEHAVIOR_DATABASE_URL: behaviour-service-database/dsn}",
        "prod",
        "POL005",
        "secret behaviour-service-database is referenced but not in the secrets catalog "
        "(environments/platform.yaml: secrets); add it there or fix the reference",
        id="unknown-secret-reference",
    ),
    pytest.param(
        "templates/application.yaml.j2",
        "argocd.argoproj.io/sync-wave: {{ app.wave | string | q }}",
        'argocd.argoproj.io/sync-wave: "5"',
        "prod",
        "POL006",
        "platform syncs in wave 5, not after dependencies",
        id="sync-order",
    ),
    pytest.param(
        "templates/appproject.yaml.j2",
        "      namespace: {{ env.namespace }}",
        "      namespace: '*'",
        "prod",
        "POL007",
        "AppProject admits {'server': 'https://prod-eu1.k8s.example.com', 'namespace': '*'}, "
        "but prod may only deploy to",
        id="project-admits-other-destinations",
    ),
    pytest.param(
        "templates/application.yaml.j2",
        "      - CreateNamespace=true",
        "      - CreateNamespace=yes",
        "prod",
        "ARGO009",
        "sync option 'CreateNamespace=yes': value must be one of false, true",
        id="invalid-sync-option",
    ),
    pytest.param(
        "templates/application.yaml.j2",
        "    - resources-finalizer.argocd.argoproj.io",
        "    - example.com/other",
        "prod",
        "ARGO012",
        "missing finalizer resources-finalizer.argocd.argoproj.io",
        id="missing-finalizer",
    ),
    pytest.param(
        "templates/application.yaml.j2",
        '          - {{ ("$values/" ~ app.values_file) | q }}',
        '          - {{ ("$valuez/" ~ app.values_file) | q }}',
        "prod",
        "ARGO008",
        "uses $valuez but no source has 'ref: valuez'",
        id="values-ref-without-source",
    ),
]


@pytest.mark.parametrize(("rel", "old", "new", "env", "rule", "message"), RULE_CASES)
def test_rule_fires(
    aether: Path, rel: str, old: str, new: str, env: str, rule: str, message: str
) -> None:
    _edit(aether, rel, old, new)
    findings = _findings(aether, env, expect=1)
    matching = [f for f in findings if f["rule"] == rule]
    assert matching, findings
    assert any(message in f["message"] for f in matching), matching
    assert all(f["environment"] == env for f in matching)


def test_dev_may_use_mutable_tags_and_insecure_defaults(aether: Path) -> None:
    _edit(
        aether,
        "environments/dev.yaml",
        'risk-service: {tag: "2.15.0-rc.1"',
        'risk-service: {tag: "latest"',
    )
    assert _findings(aether, "dev", expect=0) == []


def test_table_output_and_exit_1(aether: Path) -> None:
    _edit(aether, "environments/staging.yaml", 'ui: {tag: "2.14.0"}', 'ui: {tag: "latest"}')
    result = run_cli("validate", "staging", repo=aether, expect=1)
    assert "POL001" in result.stdout
    assert "ui.tag: image ghcr.io/aether/aether-2-ui:latest is not pinned" in result.stdout


def test_list_rules(aether: Path) -> None:
    result = run_cli("validate", "--list-rules", repo=aether, expect=0)
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == [
        *(f"POL00{i}" for i in range(1, 8)),
        *(f"CHART00{i}" for i in range(1, 4)),
        *(f"XENV00{i}" for i in range(1, 5)),
    ]


def test_core_objects_are_checked_against_kubernetes_schemas() -> None:
    bad = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "audit", "namespace": "aether"},
        "spec": {
            "schedule": 5,
            "jobTemplate": {"spec": {"template": {"spec": {"containers": []}}}},
        },
    }
    findings = validate_core("prod", "clusters/x.yaml", bad)
    assert [f.rule for f in findings] == ["K8S001"]
    assert findings[0].message == "schema violation at /spec/schedule: 5 is not of type 'string'"
    good = dict(bad, spec={**bad["spec"], "schedule": "*/5 * * * *"})
    assert validate_core("prod", "clusters/x.yaml", good) == []


def test_local_repositories_are_accepted(aether: Path, tmp_path: Path) -> None:
    """file:// repositories and a local chart mirror for the operator: what Argo CD accepts."""
    platform = aether / "environments/platform.yaml"
    text = platform.read_text()
    text = text.replace(
        "gitopsRepo: https://git.example.com/aether/aether-gitops.git",
        f"gitopsRepo: {(tmp_path / 'gitops').as_uri()}",
    )
    text = re.sub(
        r"(?m)^  appRepo: .*$",
        f"  appRepo: {(tmp_path / 'app').as_uri()}\n  secretsOperatorRepo: http://127.0.0.1:8879/",
        text,
    )
    platform.write_text(text)
    run_cli("validate", "dev", repo=aether, expect=0)
    run_cli("render", repo=aether, expect=0)
    operator = (aether / "clusters/dev-eu1/apps/dev/sops-secrets-operator.yaml").read_text()
    assert 'repoURL: "http://127.0.0.1:8879/"' in operator
