"""The drift auditor's pure parts: canonicalisation, comparison, ignore rules, masks, reports."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops_gen.drift import argo
from gitops_gen.drift.canonical import prepare_desired, scope_object, strip_object
from gitops_gen.drift.compare import compare_object
from gitops_gen.drift.findings import AuditedObject, AuditResult, Finding, FindingType, ObjectRef
from gitops_gen.drift.ignore import IgnoreRule, fields_paths, ignored_paths, is_ignored
from gitops_gen.drift.mask import Masker
from gitops_gen.drift.orphans import orphan_findings
from gitops_gen.drift.quantity import parse_quantity, quantities_equal
from gitops_gen.drift.report import render
from gitops_gen.drift.secrets import Requirement, secret_findings
from gitops_gen.drift.serverside import project
from tests.helpers import run_cli


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("0.5", "500m"),
        (0.5, "500m"),
        ("1", "1000m"),
        (1, "1000m"),
        ("1Gi", "1024Mi"),
        ("1G", "1000M"),
        ("0.2", "200m"),
        ("1.0", "1"),
        (1.0, "1"),
        ("1e3", "1k"),
        ("1536Mi", "1.5Gi"),
    ],
)
def test_equal_quantities(a: object, b: object) -> None:
    assert quantities_equal(a, b)


@pytest.mark.parametrize(("a", "b"), [("1Gi", "1G"), ("500m", "0.05"), ("1Mi", "1M")])
def test_different_quantities(a: str, b: str) -> None:
    assert not quantities_equal(a, b)


def test_not_a_quantity() -> None:
    assert parse_quantity("fast") is None
    assert parse_quantity(True) is None
    assert parse_quantity("1Gb") is None


def _diff(desired: dict[str, Any], live: dict[str, Any]) -> list[tuple[str, str]]:
    prepared = prepare_desired(desired)
    ref = ObjectRef.of(prepared)
    return [
        (d.type.value, "/".join(str(t) for t in d.tokens))
        for d in compare_object(ref, prepared, strip_object(live))
    ]


def _deployment(container: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "n"},
        "spec": {"template": {"spec": {"containers": [container]}}, **spec},
    }


def test_quantities_in_resources_are_canonicalised() -> None:
    desired = _deployment(
        {"name": "a", "resources": {"requests": {"cpu": 0.5, "memory": "1024Mi"}}}
    )
    live = _deployment({"name": "a", "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}})
    assert _diff(desired, live) == []
    live["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["memory"] = "1G"
    assert _diff(desired, live) == [
        ("modified", "spec/template/spec/containers/0/resources/requests/memory")
    ]


def test_quantities_only_where_the_server_canonicalises() -> None:
    desired = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
    assert _diff({**desired, "data": {"a": "1.0"}}, {**desired, "data": {"a": "1"}}) == [
        ("modified", "data/a")
    ]


def test_integral_floats() -> None:
    assert (
        _diff(_deployment({"name": "a"}, replicas=2.0), _deployment({"name": "a"}, replicas=2))
        == []
    )
    assert _diff(
        _deployment({"name": "a"}, replicas=2.5), _deployment({"name": "a"}, replicas=2)
    ) == [("modified", "spec/replicas")]


def test_empty_and_zero_values_equal_missing() -> None:
    desired = _deployment({"name": "a", "env": [], "resources": {}, "args": None, "tty": False})
    assert _diff(desired, _deployment({"name": "a"})) == []


def test_server_metadata_status_and_tool_annotations_are_ignored() -> None:
    desired = _deployment({"name": "a"})
    desired["metadata"]["labels"] = {"app": "web"}
    desired["metadata"]["annotations"] = {
        "kubectl.kubernetes.io/last-applied-configuration": "{}",
    }
    desired["status"] = {"replicas": 3}
    live = _deployment({"name": "a", "imagePullPolicy": "IfNotPresent"})
    live["metadata"].update(
        uid="u",
        resourceVersion="5",
        generation=2,
        creationTimestamp="2026-01-01T00:00:00Z",
        managedFields=[{"manager": "kubectl"}],
        labels={"app": "web", "extra": "fine"},
        annotations={"deployment.kubernetes.io/revision": "3"},
    )
    assert _diff(desired, live) == []


def test_secret_string_data_equals_base64_data() -> None:
    base = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "n"}}
    desired = {**base, "stringData": {"password": "hunter2"}}
    live = {**base, "data": {"password": base64.b64encode(b"hunter2").decode()}}
    assert _diff(desired, live) == []
    live["data"]["password"] = base64.b64encode(b"other").decode()
    assert _diff(desired, live) == [("modified", "data/password")]


def test_keyed_lists_match_by_name_not_position() -> None:
    env = [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    desired = _deployment({"name": "a", "env": env})
    live = _deployment({"name": "a", "env": list(reversed(env))})
    assert _diff(desired, live) == []
    live = _deployment({"name": "a", "env": [*env, {"name": "C", "value": "3"}]})
    assert _diff(desired, live) == [("extra", "spec/template/spec/containers/0/env/2")]
    live = _deployment({"name": "a", "env": env[:1]})
    assert _diff(desired, live) == [("missing", "spec/template/spec/containers/0/env/1")]


def test_container_ports_and_service_ports_default_protocol() -> None:
    desired = _deployment({"name": "a", "ports": [{"containerPort": 80}]})
    live = _deployment({"name": "a", "ports": [{"containerPort": 80, "protocol": "TCP"}]})
    assert _diff(desired, live) == []


def test_changed_key_is_one_modification() -> None:
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "n"}}
    desired = {**service, "spec": {"ports": [{"port": 80, "targetPort": 8080}]}}
    live = {**service, "spec": {"ports": [{"port": 81, "targetPort": 8080, "protocol": "TCP"}]}}
    assert _diff(desired, live) == [("modified", "spec/ports/0/port")]


def test_volume_mounts_keyed_by_mount_path() -> None:
    mounts = [{"name": "v", "mountPath": "/a"}, {"name": "v", "mountPath": "/b"}]
    desired = _deployment({"name": "a", "volumeMounts": mounts})
    live = _deployment({"name": "a", "volumeMounts": list(reversed(mounts))})
    assert _diff(desired, live) == []


def test_atomic_lists_compare_by_position() -> None:
    desired = _deployment({"name": "a", "args": ["--x", "1"]})
    assert _diff(desired, _deployment({"name": "a", "args": ["1", "--x"]})) == [
        ("modified", "spec/template/spec/containers/0/args/0"),
        ("modified", "spec/template/spec/containers/0/args/1"),
    ]
    assert _diff(desired, _deployment({"name": "a", "args": ["--x"]})) == [
        ("modified", "spec/template/spec/containers/0/args")
    ]


def test_config_map_keys_are_exact() -> None:
    base = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "n"}}
    assert _diff({**base, "data": {"a": "1"}}, {**base, "data": {"a": "1", "b": "2"}}) == [
        ("extra", "data/b")
    ]


def test_finalizers_are_a_set() -> None:
    desired = _deployment({"name": "a"})
    desired["metadata"]["finalizers"] = ["x"]
    live = _deployment({"name": "a"})
    live["metadata"]["finalizers"] = ["y", "x"]
    assert _diff(desired, live) == []


def _application(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "app", "namespace": "argocd"},
        "spec": {
            "project": "p",
            "source": {"repoURL": "r", "path": "p", "targetRevision": "v1.0.0"},
            "syncPolicy": {"automated": {"prune": True, "selfHeal": True}},
            **spec,
        },
    }


def test_application_spec_is_exact() -> None:
    live = _application()
    live["spec"]["source"]["helm"] = {"parameters": [{"name": "image.tag", "value": "x"}]}
    assert _diff(_application(), live) == [("extra", "spec/source/helm")]


def test_automated_sync_disabled_classified() -> None:
    desired, live = _application(), _application()
    del live["spec"]["syncPolicy"]["automated"]
    prepared = prepare_desired(desired)
    ref = ObjectRef.of(prepared)
    (diff,) = compare_object(ref, prepared, live)
    assert diff.type is FindingType.MISSING
    assert argo.classify(ref, diff.tokens, diff.type)[0] == "argo/auto-sync-disabled"
    live["spec"]["syncPolicy"]["automated"] = {"prune": True, "selfHeal": True, "enabled": False}
    (diff,) = compare_object(ref, prepared, live)
    assert argo.classify(ref, diff.tokens, diff.type)[0] == "argo/auto-sync-disabled"
    assert argo.automated_disabled(prepared, live)


def test_application_status_findings() -> None:
    desired = prepare_desired(_application())
    ref = ObjectRef.of(desired)
    live = _application()
    live["status"] = {
        "sync": {
            "status": "OutOfSync",
            "revision": "c" * 40,
            "comparedTo": {"source": desired["spec"]["source"]},
        },
        "health": {"status": "Degraded", "message": "pod crashloop"},
        "resources": [
            {
                "group": "apps",
                "kind": "Deployment",
                "namespace": "n",
                "name": "web",
                "status": "OutOfSync",
            },
            {"kind": "Service", "namespace": "n", "name": "web", "status": "Synced"},
        ],
    }
    findings = {f.rule: f for f in argo.status_findings(ref, desired, live, "app")}
    assert findings["argo/out-of-sync"].live["resources"] == ["Deployment.apps n/web"]
    assert findings["argo/health"].live == "Degraded"
    # The tag v1.0.0 is a name, the revision a SHA: without a resolver nothing is compared.
    assert "argo/revision-behind" not in findings
    resolved = argo.status_findings(ref, desired, live, "app", lambda repo, rev: "d" * 40)
    (behind,) = [f for f in resolved if f.rule == "argo/revision-behind"]
    assert (behind.desired, behind.live, behind.path) == (
        "d" * 40,
        "c" * 40,
        "/status/sync/revision",
    )


def test_branch_revisions_use_the_resolver() -> None:
    desired = prepare_desired(_application())
    desired["spec"]["source"]["targetRevision"] = "main"
    ref = ObjectRef.of(desired)
    sync = {
        "status": "Synced",
        "revision": "a" * 40,
        "comparedTo": {"source": desired["spec"]["source"]},
    }
    live = {"status": {"sync": sync}}
    assert argo.status_findings(ref, desired, live, "app", lambda repo, rev: "a" * 40) == []
    (finding,) = argo.status_findings(ref, desired, live, "app", lambda repo, rev: "b" * 40)
    assert finding.rule == "argo/revision-behind"


def test_ignore_differences_json_pointers_jq_and_managers() -> None:
    live = _deployment({"name": "a", "image": "x"}, replicas=5)
    live["metadata"]["managedFields"] = [
        {
            "manager": "injector",
            "fieldsV1": {
                "f:spec": {
                    "f:template": {"f:spec": {"f:containers": {'k:{"name":"a"}': {"f:image": {}}}}}
                }
            },
        }
    ]
    ref = ObjectRef("apps", "v1", "Deployment", "n", "web")
    rules = [
        IgnoreRule("apps", "Deployment", json_pointers=("/spec/replicas",)),
        IgnoreRule("apps", "*", jq_paths=(".spec.template.spec.containers[] | .env",)),
        IgnoreRule("apps", "Deployment", managers=("injector",)),
    ]
    paths = ignored_paths(ref, {}, live, rules, hpa_scaled=False)
    assert ("spec", "replicas") in paths
    assert ("spec", "template", "spec", "containers", "0", "image") in paths
    assert ("spec", "template", "spec", "containers", "0", "env") in paths
    assert is_ignored(("spec", "template", "spec", "containers", 0, "image"), paths)
    assert not is_ignored(("spec", "template", "spec", "containers", 0, "name"), paths)
    other = ObjectRef("apps", "v1", "Deployment", "n", "api")
    assert ignored_paths(
        other, {}, live, [IgnoreRule("apps", "Deployment", name="web")], hpa_scaled=True
    ) == {("spec", "replicas")}


def test_fields_v1_set_members() -> None:
    live = {"metadata": {"finalizers": ["a", "b"]}}
    fields = {"f:metadata": {"f:finalizers": {'v:"b"': {}}}}
    assert list(fields_paths(fields, live, ())) == [("metadata", "finalizers", "1")]


def test_aggregated_cluster_role_rules_are_owned_by_the_controller() -> None:
    ref = ObjectRef("rbac.authorization.k8s.io", "v1", "ClusterRole", "", "agg")
    desired = {"aggregationRule": {"clusterRoleSelectors": []}, "rules": []}
    assert ("rules",) in ignored_paths(ref, desired, {}, [], hpa_scaled=False)


def test_scope_object() -> None:
    role = {"kind": "ClusterRole", "metadata": {"name": "r", "namespace": "x"}}
    assert "namespace" not in scope_object(role, False, "n")["metadata"]
    assert scope_object({"metadata": {"name": "c"}}, True, "n")["metadata"]["namespace"] == "n"


def test_server_side_projection_keeps_only_desired_fields() -> None:
    desired = {"spec": {"containers": [{"name": "a", "resources": {"limits": {"cpu": 0.5}}}]}}
    result = {
        "spec": {
            "containers": [
                {"name": "sidecar"},
                {"name": "a", "resources": {"limits": {"cpu": "500m"}}, "imagePullPolicy": "x"},
            ],
            "dnsPolicy": "ClusterFirst",
        }
    }
    assert project(result, desired) == {
        "spec": {"containers": [{"name": "a", "resources": {"limits": {"cpu": "500m"}}}]}
    }


def test_masks_are_stable_within_a_run_fixed_width_and_keyed() -> None:
    masker = Masker()
    short, long = masker.mask_bytes(b"a"), masker.mask_bytes(b"a" * 500)
    assert masker.mask_bytes(b"a") == short
    assert short != long and len(short) == len(long)
    assert Masker().mask_bytes(b"a") != short  # a fresh key per run


def test_required_secret_key_names() -> None:
    masker = Masker()
    live = {
        "db": {"data": {"user": "dQ==", "extra": base64.b64encode(b"canary-x").decode()}},
    }
    findings = secret_findings(
        "n",
        [Requirement("db", ("user", "password")), Requirement("api", ("token",))],
        live,
        masker,
    )
    got = sorted((f.ref.name, f.type.value, f.path, f.rule) for f in findings)
    assert got == [
        ("api", "missing", "", "secrets/required-missing"),
        ("db", "extra", "/data/extra", "secrets/key-extra"),
        ("db", "missing", "/data/password", "secrets/key-missing"),
    ]
    assert "canary-x" not in json.dumps([f.to_json() for f in findings])


def test_secret_values_compared_through_masks() -> None:
    masker = Masker()
    live = {"db": {"data": {"user": base64.b64encode(b"alice").decode()}}}
    same = secret_findings(
        "n",
        [Requirement("db", ("user",))],
        live,
        masker,
        expected_values={"db": {"user": b"alice"}},
    )
    assert same == []
    (differs,) = secret_findings(
        "n", [Requirement("db", ("user",))], live, masker, expected_values={"db": {"user": b"bob"}}
    )
    assert differs.rule == "secrets/value-differs"
    assert "alice" not in json.dumps(differs.to_json()) and "bob" not in json.dumps(
        differs.to_json()
    )


def test_orphans_need_both_tracking_labels() -> None:
    labels = {"app.kubernetes.io/managed-by": "gitops-gen", "gitops-gen.io/environment": "dev"}
    ref = ObjectRef("", "v1", "ConfigMap", "n", "old")
    other = ObjectRef("", "v1", "ConfigMap", "n", "other")
    live = [
        (ref, {"metadata": {"labels": labels}}),
        (other, {"metadata": {"labels": {**labels, "gitops-gen.io/environment": "prod"}}}),
    ]
    (finding,) = orphan_findings(live, set(), "dev", {})
    assert finding.ref == ref and finding.type is FindingType.EXTRA
    assert orphan_findings(live, {ref.identity}, "dev", {}) == []


def _result() -> AuditResult:
    ref = ObjectRef("apps", "v1", "Deployment", "n", "web")
    cm = ObjectRef("", "v1", "ConfigMap", "n", "settings|x")
    findings = [
        Finding(
            ref,
            FindingType.MODIFIED,
            "/spec/replicas",
            2,
            3,
            argo.Severity.MEDIUM,
            "drift/field-modified",
            "app-a",
        ),
        Finding(
            cm, FindingType.MISSING, "", None, None, argo.Severity.HIGH, "drift/object-missing", ""
        ),
        Finding(
            ObjectRef("", "v1", "Secret", "n", ""),
            FindingType.ERROR,
            "",
            None,
            None,
            argo.Severity.HIGH,
            "audit/forbidden",
            "",
            "HTTP 403",
        ),
    ]
    return AuditResult(
        "dev", [AuditedObject(ref, "app-a"), AuditedObject(cm, "")], list(reversed(findings)), 7, 3
    ).sorted()


@pytest.mark.parametrize("fmt", ["text", "json", "markdown", "junit"])
def test_reports_are_reproducible(fmt: str) -> None:
    assert render(_result(), fmt) == render(_result(), fmt)
    assert "2026" not in render(_result(), fmt)
    assert "2026-01-01" in render(_result(), fmt, timestamp="2026-01-01T00:00:00Z")


def test_json_report_schema() -> None:
    document = json.loads(render(_result(), "json"))
    assert document["schemaVersion"] == "gitops-gen.io/drift/v1"
    assert document["summary"]["byType"] == {"missing": 1, "modified": 1, "extra": 0, "error": 1}
    assert document["findings"][0]["ref"]["kind"] == "ConfigMap"  # sorted: no app first
    assert set(document["findings"][0]) >= {
        "ref",
        "type",
        "path",
        "desired",
        "live",
        "severity",
        "rule",
        "app",
    }


def test_markdown_groups_by_application_in_details() -> None:
    text = render(_result(), "markdown")
    assert text.count("<details>") == 2
    assert "<summary><b>app-a</b>: 1 findings (1 modified)</summary>" in text
    assert "settings\\|x" in text  # pipes escaped inside tables


def test_junit_has_one_testcase_per_object() -> None:
    import xml.etree.ElementTree as ET

    root = ET.fromstring(render(_result(), "junit"))  # noqa: S314 - our own output
    suite = root.find("testsuite")
    assert suite is not None
    assert suite.get("tests") == "3" and suite.get("failures") == "2" and suite.get("errors") == "1"


def test_render_emits_the_audit_objects(aether: Path) -> None:
    run_cli("render", repo=aether, expect=0)
    folder = aether / "clusters/dev-eu1/audit/dev"
    docs = {p.stem: yaml.safe_load(p.read_text()) for p in folder.glob("*.yaml")}
    assert sorted(docs) == sorted(
        ["cronjob", "serviceaccount", "clusterrole", "clusterrolebinding", "role", "rolebinding"]
    )
    assert docs["cronjob"]["spec"]["schedule"] == "0 * * * *"  # from environments/dev.yaml
    args = docs["cronjob"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0][
        "args"
    ]
    assert args[2:8] == ["drift", "dev", "-o", "markdown", "-o", "json"]
    assert "--report-config-map" in args and "drift-report-dev" in args
    verbs = {v for rule in docs["clusterrole"]["rules"] for v in rule["verbs"]}
    assert verbs == {"get", "list", "watch"}
    writes = [r for r in docs["role"]["rules"] if "update" in r["verbs"]]
    assert writes == [
        {
            "apiGroups": [""],
            "resources": ["configmaps"],
            "resourceNames": ["drift-report-dev"],
            "verbs": ["get", "update", "patch"],
        }
    ]
    app = yaml.safe_load((aether / "clusters/dev-eu1/apps/dev/drift-audit.yaml").read_text())
    assert app["spec"]["source"]["path"] == "clusters/dev-eu1/audit/dev"
    assert app["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] == "40"
    run_cli("validate", repo=aether, expect=0)


def test_drift_errors_exit_2(aether: Path, tmp_path: Path) -> None:
    result = run_cli("drift", "qa", repo=aether, expect=2)
    assert result.stderr.startswith("error: ")
    result = run_cli("drift", "dev", "--kubeconfig", str(tmp_path / "nope"), repo=aether, expect=2)
    assert "no such file" in result.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n")
    result = run_cli("drift", "dev", "--kubeconfig", str(bad), repo=aether, expect=2)
    assert "kubeconfig" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_long_values_are_cut_where_they_differ_not_at_the_end() -> None:
    """Two image references that differ only in their tag used to print as the same cut
    text ('…-r…' twice) in the text, Markdown and JUnit reports."""
    ref = ObjectRef("apps", "v1", "Deployment", "n", "account-service")
    image = "registry.example.com/platform-team/account-service:2.15.0-rc."
    finding = Finding(
        ref,
        FindingType.MODIFIED,
        "/spec/template/spec/containers/0/image",
        image + "1",
        image + "2",
        argo.Severity.MEDIUM,
        "drift/field-modified",
        "app-a",
    )
    result = AuditResult("dev", [AuditedObject(ref, "app-a")], [finding], 1, 1).sorted()
    row = render(result, "text").splitlines()[-1]
    desired, live = row.split()[-2:]
    assert (desired, live) == ("…" + image[-38:] + "1", "…" + image[-38:] + "2")
    assert len(desired) == len(live) == 40
    markdown = render(result, "markdown")
    assert f"`…{image[-58:]}1` | `…{image[-58:]}2`" in markdown
    junit = render(result, "junit")
    assert "2.15.0-rc.1" in junit and "2.15.0-rc.2" in junit
    # short values, and values that differ early, are shown as before
    short = Finding(ref, FindingType.MODIFIED, "/spec/replicas", 2, 3,
                    argo.Severity.MEDIUM, "drift/field-modified", "app-a")  # fmt: skip
    assert render(AuditResult("dev", [], [short]), "text").splitlines()[-1].split()[-2:] == [
        "2",
        "3",
    ]
