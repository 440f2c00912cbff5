"""Pure parts of hydration: object diffs, masking, the capped section, Application parsing."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from gitops_gen.errors import InputError
from gitops_gen.hydrate.diff import ClusterChanges, ObjectChange, compare, markdown_section
from gitops_gen.hydrate.engine import HydratedApp, _envsubst, _patterns
from gitops_gen.hydrate.objects import ObjectKey, settle
from gitops_gen.hydrate.spec import parse_application


def _secret(value: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "aether"},
        "data": {"password": base64.b64encode(value.encode()).decode()},
    }


def _deployment(image: str, replicas: int = 1) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "api", "namespace": "aether"},
        "spec": {
            "replicas": replicas,
            "template": {"spec": {"containers": [{"name": "api", "image": image}]}},
        },
    }


def test_secret_values_are_masked_but_a_change_still_shows() -> None:
    changes = compare(
        [HydratedApp("dev-app", (_secret("hunter2-old"),))],
        [HydratedApp("dev-app", (_secret("hunter2-new"),))],
    )
    (change,) = changes.changes
    assert change.change == "modified"
    encoded_old = base64.b64encode(b"hunter2-old").decode()
    assert "hunter2" not in change.diff and encoded_old not in change.diff
    assert change.added == 1 and change.removed == 1


def test_equal_secrets_are_no_change_and_added_objects_are_listed() -> None:
    changes = compare(
        [HydratedApp("a", (_secret("same"),))],
        [HydratedApp("a", (_secret("same"), _deployment("api:1")))],
    )
    assert [(c.key.kind, c.change) for c in changes.changes] == [("Deployment", "added")]


def test_crds_are_summarised() -> None:
    def crd(versions: list[str]) -> dict[str, Any]:
        return {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {"versions": [{"name": v, "schema": {"x": list(range(50))}} for v in versions]},
        }

    changes = compare([HydratedApp("a", (crd(["v1"]),))], [HydratedApp("a", (crd(["v1", "v2"]),))])
    (change,) = changes.changes
    assert "versions: v1 -> v1, v2" in change.diff
    assert "@@" not in change.diff  # no schema lines
    assert "widgets.example.com" in markdown_section(changes, 10_000)


def test_the_section_collapses_the_largest_diffs_first_and_says_so() -> None:
    def change(name: str, size: int) -> ObjectChange:
        diff = "".join(f"+line {i}\n" for i in range(size))
        return ObjectChange("prod-app", ObjectKey("apps", "Deployment", "ns", name), "modified",
                            diff, size, 0)  # fmt: skip

    changes = ClusterChanges((change("small", 5), change("huge", 3000), change("mid", 200)))
    full = markdown_section(changes, 1_000_000)
    assert "collapsed" not in full
    capped = markdown_section(changes, 8_000, "gitops-gen diff --hydrated")
    assert len(capped) <= 8_000
    assert "`Deployment.apps ns/huge` modified (+3000 −0): _diff collapsed" in capped
    assert "+line 199" in capped  # mid still shown in full
    assert "**1 object diff(s) collapsed**, largest first" in capped
    assert "`gitops-gen diff --hydrated`" in capped


def test_unhydrated_applications_are_named_in_the_section() -> None:
    changes = compare([HydratedApp("a", error="a: source x: unreachable")], [HydratedApp("a")])
    assert changes.errors == ("a: source x: unreachable",)
    section = markdown_section(changes, 10_000)
    assert "**Not hydrated**" in section
    # nothing was compared, so the section must not tell a reviewer that nothing changes
    assert "_No object changes in the hydrated manifests._" not in section
    assert section.endswith(
        "_No object changes in the Applications that could be hydrated; what the ones above "
        "change in the cluster is unknown._\n"
    )
    clean = compare([HydratedApp("a")], [HydratedApp("a")])
    assert markdown_section(clean, 10_000).endswith(
        "_No object changes in the hydrated manifests._\n"
    )


def test_settle_namespaces_and_tracks_like_argo_cd() -> None:
    objects = [
        _deployment("api:1"),
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": {"name": "reader", "namespace": "wrong"}},
    ]  # fmt: skip
    settled = settle(objects, "dev-app", "aether", "annotation+label")
    by_kind = {o["kind"]: o["metadata"] for o in settled}
    assert by_kind["ConfigMap"]["namespace"] == "aether"
    assert "namespace" not in by_kind["ClusterRole"]
    assert by_kind["ClusterRole"]["annotations"]["argocd.argoproj.io/tracking-id"] == (
        "dev-app:rbac.authorization.k8s.io/ClusterRole:wrong/reader"
    )
    assert by_kind["ConfigMap"]["labels"]["app.kubernetes.io/instance"] == "dev-app"


def test_application_parsing_reads_multi_source_helm() -> None:
    app = parse_application(
        {
            "metadata": {"name": "dev-kafka"},
            "spec": {
                "project": "aether-dev",
                "destination": {"namespace": "aether"},
                "sources": [
                    {"repoURL": "https://charts", "chart": "kafka", "targetRevision": "31.1.0",
                     "helm": {"releaseName": "kafka", "valueFiles": ["$values/v.yaml"],
                              "valuesObject": {"a": 1}, "skipCrds": True}},
                    {"repoURL": "https://git/gitops.git", "ref": "values"},
                ],
            },
        },
        "apps/kafka.yaml",
    )  # fmt: skip
    chart, values = app.sources
    assert chart.helm is not None and chart.helm.release_name == "kafka"
    assert chart.helm.value_files == ("$values/v.yaml",) and chart.helm.skip_crds
    assert chart.helm.values.strip() == "a: 1"
    assert values.ref == "values" and values.target_revision == "HEAD"
    with pytest.raises(InputError, match=r"apps/x\.yaml: Application x has no spec\.source"):
        parse_application({"metadata": {"name": "x"}, "spec": {}}, "apps/x.yaml")


def test_envsubst_and_directory_patterns_follow_argo_cd() -> None:
    env = {"ARGOCD_APP_NAME": "dev-kafka"}
    assert _envsubst("values/$ARGOCD_APP_NAME.yaml", env) == "values/dev-kafka.yaml"
    assert _envsubst("${ARGOCD_APP_NAME}-$UNKNOWN", env) == "dev-kafka-$UNKNOWN"
    assert _patterns("{*.yaml,*.yml}") == ["*.yaml", "*.yml"]
    assert _patterns("*.yaml") == ["*.yaml"]
    assert _patterns("") == []


def test_drift_hydrate_attributes_objects_and_explains_hooks() -> None:
    from gitops_gen.drift.desired import DesiredState
    from gitops_gen.drift.findings import AuditResult, Finding, FindingType, ObjectRef, Severity
    from gitops_gen.hydrate.audit import add_hydrated, explain

    hook = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": "migrate",
            "namespace": "aether",
            "annotations": {"helm.sh/hook": "post-install"},
        },
    }
    state = DesiredState("dev", "aether")
    state.add(_deployment("api:1"), "clusters/x.yaml", "")
    hooks = add_hydrated(state, [HydratedApp("dev-app", (_deployment("api:1"), hook))])
    assert [(o.ref.kind, o.app) for o in state.objects] == [
        ("Deployment", "dev-app"),  # the render's object, now attributed to its Application
        ("Job", "dev-app"),
    ]
    job = ObjectRef("batch", "v1", "Job", "aether", "migrate")
    assert hooks == {job.identity}

    def finding(kind: FindingType, path: str) -> Finding:
        return Finding(job, kind, path, "a", "b", Severity.MEDIUM, "drift/x", "dev-app")

    result = AuditResult("dev", findings=[finding(FindingType.MISSING, "")])
    assert explain(result, hooks).findings == []  # deleted by its delete policy: not drift
    result = AuditResult("dev", findings=[finding(FindingType.MODIFIED, "/spec/x")])
    (kept,) = explain(result, hooks).findings
    assert kept.message.startswith("Argo CD would not show this: a hook")


def test_the_summary_of_failed_hydrations_claims_no_others_when_there_are_none() -> None:
    from gitops_gen.commands.hydrate import report_errors
    from gitops_gen.errors import ExternalToolError

    with pytest.raises(ExternalToolError) as one:
        report_errors(None, [HydratedApp("a", error="a: x"), HydratedApp("b")])  # type: ignore[arg-type]
    assert str(one.value) == "1 of 2 Application(s) could not be hydrated; the others were"
    with pytest.raises(ExternalToolError) as every:
        report_errors(None, [HydratedApp("a", error="a: x")])  # type: ignore[arg-type]
    assert str(every.value) == "1 of 1 Application(s) could not be hydrated"
