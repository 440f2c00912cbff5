"""The drift auditor against the real API server: no false positives, full recall, errors."""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops_gen.drift.live import NotServed
from tests.drift_support import (
    CANARY_PASSWORD,
    CANARY_TOKEN,
    ENV,
    TRACKING,
    Kube,
    drift_manifests,
    fixture_objects,
    record_argo_status,
    rendered_objects,
    write_manifests,
)
from tests.helpers import Result, copy_aether, git, run_cli

pytestmark = pytest.mark.cluster


@dataclass
class Applied:
    kube: Kube
    kubeconfig: Path
    namespace: str
    objects: list[dict[str, Any]]
    manifests: Path
    repo: Path

    def obj(self, kind: str, name: str) -> dict[str, Any]:
        return next(o for o in self.objects if o["kind"] == kind and o["metadata"]["name"] == name)

    def drift(self, *args: str, expect: int, context: str | None = None) -> Result:
        extra = ["--context", context] if context else []
        return drift_manifests(
            self.repo, self.manifests, self.namespace, self.kubeconfig, *extra, *args, expect=expect
        )


def _controllers_did_their_work(applied: Applied) -> None:
    """What the controllers this test cluster does not run would have written."""
    kube = applied.kube
    # the HPA scaled its Deployment
    kube.merge_patch(applied.obj("Deployment", "api"), {"spec": {"replicas": 5}})
    # the aggregation controller filled the aggregated ClusterRole's rules
    role = kube.get(applied.obj("ClusterRole", f"{applied.namespace}-aggregate"))
    role["rules"] = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]
    kube.put(role)
    # Argo CD synced the Application and recorded its status
    app = kube.get(applied.obj("Application", "dev-web"))
    app["status"] = {
        "sync": {"status": "Synced", "revision": "v1.4.0"},
        "health": {"status": "Healthy"},
    }
    kube.put(app)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_aether(tmp_path_factory.mktemp("repo") / "aether")


def _apply(
    mode: str, kubeconfig: Path, namespace: str, repo: Path, tmp_path: Path
) -> Iterator[Applied]:
    kube = Kube(kubeconfig)
    objects = fixture_objects(namespace)
    try:
        for obj in objects:
            kube.apply(obj, mode)
        applied = Applied(
            kube, kubeconfig, namespace, objects, write_manifests(tmp_path / "m", objects), repo
        )
        _controllers_did_their_work(applied)
        yield applied
    finally:
        # cluster-scoped: not removed with the namespace
        kube.delete(next(o for o in objects if o["kind"] == "ClusterRole"))
        kube.close()


@pytest.fixture(params=["client", "server"])
def applied(
    request: pytest.FixtureRequest, kubeconfig: Path, namespace: str, repo: Path, tmp_path: Path
) -> Iterator[Applied]:
    yield from _apply(request.param, kubeconfig, namespace, repo, tmp_path)


@pytest.fixture
def applied_once(kubeconfig: Path, namespace: str, repo: Path, tmp_path: Path) -> Iterator[Applied]:
    yield from _apply("client", kubeconfig, namespace, repo, tmp_path)


@pytest.mark.parametrize("mode", [[], ["--server-side"]], ids=["fast", "server-side"])
def test_no_false_positives(applied: Applied, mode: list[str]) -> None:
    result = applied.drift("-o", "json", *mode, expect=0)
    report = json.loads(result.stdout)
    assert report["findings"] == []
    assert report["summary"]["objects"] == len(applied.objects)
    # one LIST per (type, namespace): 12 kinds here, the HPA type listed once
    kinds = {(o["apiVersion"], o["kind"]) for o in applied.objects}
    assert report["summary"]["lists"] == len(kinds)


def _json_op(op: str, path: str, value: Any = None) -> list[dict[str, Any]]:
    operation: dict[str, Any] = {"op": op, "path": path}
    if op != "remove":
        operation["value"] = value
    return [operation]


CONTAINER = "/spec/template/spec/containers/0"

# name -> (kind, object name, how to inject, expected type, expected path)
Injection = tuple[str, str, Callable[[Applied, dict[str, Any]], None], str, str]
INJECTIONS: dict[str, Injection] = {
    "image": (
        "Deployment",
        "web",
        lambda a, o: a.kube.json_patch(o, _json_op("replace", f"{CONTAINER}/image", "evil:2")),
        "modified",
        f"{CONTAINER}/image",
    ),
    "replicas": (
        "Deployment",
        "web",
        lambda a, o: a.kube.merge_patch(o, {"spec": {"replicas": 7}}),
        "modified",
        "/spec/replicas",
    ),
    "env-added": (
        "Deployment",
        "web",
        lambda a, o: a.kube.json_patch(
            o, _json_op("add", f"{CONTAINER}/env/-", {"name": "DEBUG", "value": "1"})
        ),
        "extra",
        f"{CONTAINER}/env/3",
    ),
    "env-changed": (
        "Deployment",
        "web",
        lambda a, o: a.kube.json_patch(o, _json_op("replace", f"{CONTAINER}/env/1/value", "8")),
        "modified",
        f"{CONTAINER}/env/1/value",
    ),
    "env-removed": (
        "Deployment",
        "web",
        lambda a, o: a.kube.json_patch(o, _json_op("remove", f"{CONTAINER}/env/2")),
        "missing",
        f"{CONTAINER}/env/2",
    ),
    "container-added": (
        "Deployment",
        "web",
        lambda a, o: a.kube.json_patch(
            o,
            _json_op("add", "/spec/template/spec/containers/-", {"name": "miner", "image": "m:1"}),
        ),
        "extra",
        "/spec/template/spec/containers/1",
    ),
    "label-removed": (
        "ConfigMap",
        "settings",
        lambda a, o: a.kube.json_patch(
            o, _json_op("remove", "/metadata/labels/gitops-gen.io~1environment")
        ),
        "missing",
        "/metadata/labels/gitops-gen.io~1environment",
    ),
    "configmap-key": (
        "ConfigMap",
        "settings",
        lambda a, o: a.kube.merge_patch(o, {"data": {"mode": "slow"}}),
        "modified",
        "/data/mode",
    ),
    "secret-key-removed": (
        "Secret",
        "creds",
        lambda a, o: a.kube.json_patch(o, _json_op("remove", "/data/token")),
        "missing",
        "/data/token",
    ),
    "object-deleted": (
        "PodDisruptionBudget",
        "web",
        lambda a, o: a.kube.delete(o),
        "missing",
        "",
    ),
    "orphan": (
        "ConfigMap",
        "leftover",
        lambda a, o: a.kube.create(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "leftover", "namespace": a.namespace, "labels": TRACKING},
                "data": {"old": "yes"},
            }
        ),
        "extra",
        "",
    ),
    "target-revision": (
        "Application",
        "dev-web",
        lambda a, o: a.kube.merge_patch(o, {"spec": {"source": {"targetRevision": "v9.9.9"}}}),
        "modified",
        "/spec/source/targetRevision",
    ),
    "auto-sync-disabled": (
        "Application",
        "dev-web",
        lambda a, o: a.kube.json_patch(o, _json_op("remove", "/spec/syncPolicy/automated")),
        "missing",
        "/spec/syncPolicy/automated",
    ),
    "helm-parameter-override": (
        "Application",
        "dev-web",
        lambda a, o: a.kube.merge_patch(
            o,
            {"spec": {"source": {"helm": {"parameters": [{"name": "replicas", "value": "9"}]}}}},
        ),
        "extra",
        "/spec/source/helm",
    ),
    "service-port": (
        "Service",
        "web",
        lambda a, o: a.kube.json_patch(o, _json_op("replace", "/spec/ports/0/port", 8081)),
        "modified",
        "/spec/ports/0/port",
    ),
    # The manifest omits `protocol` (the server defaults it to TCP): UDP live is drift.
    "service-port-protocol": (
        "Service",
        "web",
        lambda a, o: a.kube.json_patch(o, _json_op("replace", "/spec/ports/0/protocol", "UDP")),
        "modified",
        "/spec/ports/0/protocol",
    ),
    "container-port-protocol": (
        "Deployment",
        "web",
        lambda a, o: a.kube.json_patch(
            o, _json_op("replace", f"{CONTAINER}/ports/0/protocol", "UDP")
        ),
        "modified",
        f"{CONTAINER}/ports/0/protocol",
    ),
}


@pytest.mark.parametrize("name", sorted(INJECTIONS))
def test_each_drift_is_reported_once(applied_once: Applied, name: str) -> None:
    kind, obj_name, inject, expected_type, expected_path = INJECTIONS[name]
    target = next(
        (
            o
            for o in applied_once.objects
            if o["kind"] == kind and o["metadata"]["name"] == obj_name
        ),
        {
            "apiVersion": "v1",
            "kind": kind,
            "metadata": {"name": obj_name, "namespace": applied_once.namespace},
        },
    )
    inject(applied_once, target)
    result = applied_once.drift("-o", "json", expect=1)
    findings = json.loads(result.stdout)["findings"]
    assert len(findings) == 1, json.dumps(findings, indent=1)
    (finding,) = findings
    assert (finding["ref"]["kind"], finding["ref"]["name"]) == (kind, obj_name)
    assert finding["type"] == expected_type
    assert finding["path"] == expected_path
    if name == "auto-sync-disabled":
        assert finding["rule"] == "argo/auto-sync-disabled"
    if name == "secret-key-removed":
        assert finding["desired"].startswith("<secret:")
    # the server-side mode agrees
    exact = applied_once.drift("-o", "json", "--server-side", expect=1)
    assert [(f["type"], f["path"]) for f in json.loads(exact.stdout)["findings"]] == [
        (expected_type, expected_path)
    ]


def test_canary_secret_values_never_appear(applied_once: Applied, tmp_path: Path) -> None:
    kube = applied_once.kube
    secret = applied_once.obj("Secret", "creds")
    kube.merge_patch(secret, {"stringData": {"password": CANARY_PASSWORD + "-changed"}})
    kube.json_patch(secret, _json_op("remove", "/data/token"))
    outputs = []
    reports: dict[str, str] = {}
    for fmt in ("text", "json", "markdown", "junit"):
        for extra in ([], ["--server-side"]):
            result = applied_once.drift("-o", fmt, *extra, expect=1)
            outputs.append(result.output)
            reports[fmt] = result.stdout
    out_file = tmp_path / "report.json"
    applied_once.drift("-o", "json", "--output-file", str(out_file), expect=1)
    outputs.append(out_file.read_text())
    for text in outputs:
        for canary in (CANARY_PASSWORD, CANARY_TOKEN):
            assert canary not in text
            assert canary.encode().hex() not in text
            assert base64.b64encode(canary.encode()).decode() not in text
    report = json.loads(reports["json"])
    masks = {f["path"]: (f["desired"], f["live"]) for f in report["findings"]}
    desired, live = masks["/data/password"]
    assert desired != live and len(desired) == len(live)


def test_reports_are_byte_identical_across_runs(applied_once: Applied) -> None:
    applied_once.kube.merge_patch(
        applied_once.obj("ConfigMap", "settings"), {"data": {"mode": "x"}}
    )
    for fmt in ("text", "json", "markdown", "junit"):
        # exit 1: the run found the change; two empty outputs would also be "identical"
        first = applied_once.drift("-o", fmt, expect=1)
        second = applied_once.drift("-o", fmt, expect=1)
        assert "settings" in first.stdout and "/data/mode" in first.stdout, first.stdout
        assert first.stdout == second.stdout


def test_mask_key_file_makes_secret_findings_byte_identical(
    applied_once: Applied, tmp_path: Path
) -> None:
    applied_once.kube.merge_patch(
        applied_once.obj("Secret", "creds"), {"stringData": {"password": "changed-by-hand"}}
    )
    # without a key file the masks are keyed per run: the same state, different bytes
    first, second = (applied_once.drift("-o", "json", expect=1).stdout for _ in range(2))
    assert "secret:" in first and first != second
    key = tmp_path / "mask.key"
    key.write_text("3f" * 32 + "\n")
    for fmt in ("text", "json", "markdown", "junit"):
        runs = [
            applied_once.drift("-o", fmt, "--mask-key-file", str(key), expect=1) for _ in range(2)
        ]
        assert runs[0].stdout == runs[1].stdout
        assert "secret:" in runs[0].stdout and "changed-by-hand" not in runs[0].output
    short = tmp_path / "short.key"
    short.write_text("abc\n")
    bad = applied_once.drift("--mask-key-file", str(short), expect=2)
    assert bad.stdout == ""
    assert bad.stderr.strip().splitlines() == [
        f"error: --mask-key-file {short}: holds 3 bytes, at least 32 needed; "
        f"create one with `openssl rand -hex 32 > {short}`"
    ]


def test_fail_on_never(applied_once: Applied) -> None:
    applied_once.kube.merge_patch(
        applied_once.obj("ConfigMap", "settings"), {"data": {"mode": "x"}}
    )
    # the same drift fails the default run, so a pass below means "found and ignored",
    # never "nothing found"
    applied_once.drift("-o", "json", expect=1)
    result = applied_once.drift("--fail-on", "never", "-o", "json", expect=0)
    findings = json.loads(result.stdout)["findings"]
    assert [(f["ref"]["name"], f["path"]) for f in findings] == [("settings", "/data/mode")]


def _limited_kubeconfig(applied: Applied, tmp_path: Path) -> Path:
    """A ServiceAccount token allowed to read everything of the fixture set except Secrets."""
    kube, ns = applied.kube, applied.namespace
    name = f"{ns}-limited"
    kube.create(
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "limited", "namespace": ns},
        }
    )
    rules = [
        {"apiGroups": ["apps"], "resources": ["deployments", "statefulsets"]},
        {"apiGroups": [""], "resources": ["services", "configmaps"]},
        {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses", "networkpolicies"]},
        {"apiGroups": ["policy"], "resources": ["poddisruptionbudgets"]},
        {"apiGroups": ["batch"], "resources": ["cronjobs"]},
        {"apiGroups": ["autoscaling"], "resources": ["horizontalpodautoscalers"]},
        {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"]},
        {"apiGroups": ["argoproj.io"], "resources": ["applications"]},
    ]
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": name},
        "rules": [{**r, "verbs": ["get", "list", "watch"]} for r in rules],
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
        "subjects": [{"kind": "ServiceAccount", "name": "limited", "namespace": ns}],
    }
    kube.create(role)
    kube.create(binding)
    token = kube.live.request(
        "POST",
        f"/api/v1/namespaces/{ns}/serviceaccounts/limited/token",
        "token",
        body={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}},
    )["status"]["token"]
    config = yaml.safe_load(applied.kubeconfig.read_text())
    config["users"] = [{"name": "limited", "user": {"token": token}}]
    config["contexts"] = [
        {
            "name": "limited",
            "context": {"cluster": config["clusters"][0]["name"], "user": "limited"},
        }
    ]
    config["current-context"] = "limited"
    path = tmp_path / "limited.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_forbidden_type_is_one_error_and_the_rest_is_audited(
    applied_once: Applied, tmp_path: Path
) -> None:
    limited = _limited_kubeconfig(applied_once, tmp_path)
    applied_once.kube.merge_patch(
        applied_once.obj("ConfigMap", "settings"), {"data": {"mode": "x"}}
    )
    try:
        result = run_cli(
            "drift",
            ENV,
            "--manifests",
            str(applied_once.manifests),
            "-n",
            applied_once.namespace,
            "--kubeconfig",
            str(limited),
            "-o",
            "json",
            repo=applied_once.repo,
            expect=2,  # an incomplete audit is an error, never 1
        )
    finally:
        for kind in ("ClusterRoleBinding", "ClusterRole"):
            applied_once.kube.delete(
                {
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": kind,
                    "metadata": {"name": f"{applied_once.namespace}-limited"},
                }
            )
    assert "audit incomplete" in result.stderr
    findings = json.loads(result.stdout)["findings"]
    errors = [f for f in findings if f["type"] == "error"]
    assert len(errors) == 1
    assert errors[0]["ref"]["kind"] == "Secret" and errors[0]["rule"] == "audit/forbidden"
    assert "403" in errors[0]["message"]
    drift = [f for f in findings if f["type"] != "error"]
    assert [(f["ref"]["name"], f["path"]) for f in drift] == [("settings", "/data/mode")]


def test_rendered_environment_audited_with_its_own_service_account(
    kubeconfig: Path, repo: Path, tmp_path: Path
) -> None:
    """Everything render produces for dev, synced as Argo CD would (server-side apply); the
    audit runs as the scheduled job would, with the rendered read-only ServiceAccount."""
    from gitops_gen.model import load_platform

    platform = load_platform(repo)
    env = platform.environment(ENV)
    kube = Kube(kubeconfig)
    namespaces = [env.namespace, platform.catalog.platform.argocd_namespace]
    try:
        for ns in namespaces:
            kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        objects = rendered_objects(repo)
        kinds = {o["kind"] for o in objects}
        assert {
            "Application",
            "AppProject",
            "CronJob",
            "ServiceAccount",
            "ClusterRole",
            "ClusterRoleBinding",
            "Role",
            "RoleBinding",
        } <= kinds
        for obj in sorted(objects, key=lambda o: o["kind"] != "ServiceAccount"):
            obj["metadata"].setdefault("namespace", env.namespace)
            if obj["kind"] in ("ClusterRole", "ClusterRoleBinding"):
                obj["metadata"].pop("namespace")
            kube.server_side_apply(obj)
            if obj["kind"] == "Application":
                record_argo_status(kube, obj)
        for secret in env.required_secrets:
            kube.create(
                {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": {"name": secret.name, "namespace": env.namespace},
                    "stringData": {key: f"{CANARY_PASSWORD}-{key}" for key in secret.keys},
                }
            )

        # the scheduled job's identity: the rendered ServiceAccount, nothing more
        token = kube.live.request(
            "POST",
            f"/api/v1/namespaces/{env.namespace}/serviceaccounts/gitops-gen-drift/token",
            "token",
            body={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}},
        )["status"]["token"]
        config = yaml.safe_load(kubeconfig.read_text())
        config["users"] = [{"name": "job", "user": {"token": token}}]
        config["contexts"] = [
            {"name": "job", "context": {"cluster": config["clusters"][0]["name"], "user": "job"}}
        ]
        config["current-context"] = "job"
        job_config = tmp_path / "job.yaml"
        job_config.write_text(yaml.safe_dump(config))

        def audit(*args: str, expect: int) -> Result:
            return run_cli(
                "drift", ENV, "--kubeconfig", str(job_config), *args, repo=repo, expect=expect
            )

        clean = audit(
            "-o", "markdown", "-o", "json", "--report-config-map", f"drift-report-{ENV}", expect=0
        )
        assert clean.stdout.startswith(f"## Drift report: `{ENV}`\n\nNo drift")
        stored = kube.live.request(
            "GET", f"/api/v1/namespaces/{env.namespace}/configmaps/drift-report-{ENV}", "get"
        )["data"]
        assert json.loads(stored["report.json"])["summary"]["findings"] == 0
        assert CANARY_PASSWORD not in json.dumps(stored) + clean.output

        # drift: an Application out of sync and degraded, a key removed, an orphaned project
        app_name = f"{ENV}-kafka"
        app = kube.live.request(
            "GET", f"/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/{app_name}", "get"
        )
        app["status"] = {
            # Argo CD compared the current spec, but resolved the chart to an older version than
            # dev's pin; the values repo is at its HEAD
            "sync": {
                "status": "OutOfSync",
                "revisions": ["31.0.0", git(repo, "rev-parse", "HEAD").strip()],
                "comparedTo": {
                    "destination": app["spec"]["destination"],
                    "sources": app["spec"]["sources"],
                },
            },
            "health": {"status": "Degraded"},
            "resources": [
                {
                    "group": "apps",
                    "kind": "StatefulSet",
                    "namespace": env.namespace,
                    "name": "kafka-controller",
                    "status": "OutOfSync",
                }
            ],
        }
        kube.put(app)
        secret = env.required_secrets[0]
        kube.json_patch(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": secret.name, "namespace": env.namespace},
            },
            _json_op("remove", f"/data/{secret.keys[0]}"),
        )
        kube.create(
            {
                "apiVersion": "argoproj.io/v1alpha1",
                "kind": "AppProject",
                "metadata": {"name": "aether-old", "namespace": "argocd", "labels": {**TRACKING}},
                "spec": {"sourceRepos": ["*"]},
            }
        )
        drifted = audit("-o", "json", "--report-config-map", f"drift-report-{ENV}", expect=1)
        findings = json.loads(drifted.stdout)["findings"]
        got = sorted((f["ref"]["kind"], f["ref"]["name"], f["rule"]) for f in findings)
        assert got == sorted(
            [
                ("Application", app_name, "argo/out-of-sync"),
                ("Application", app_name, "argo/health"),
                ("Application", app_name, "argo/revision-behind"),
                ("AppProject", "aether-old", "drift/orphan"),
                ("Secret", secret.name, "secrets/key-missing"),
            ]
        ), json.dumps(findings, indent=1)
        behind = next(f for f in findings if f["rule"] == "argo/revision-behind")
        assert (behind["path"], behind["desired"], behind["live"]) == (
            "/status/sync/revisions/0",
            "31.1.0",
            "31.0.0",
        )
        # the next run reads its own state back with the same read-only identity: nothing new,
        # every finding as old as the last run made it
        again = audit("-o", "json", "--report-config-map", f"drift-report-{ENV}", expect=1)
        changes = json.loads(again.stdout)["changes"]
        assert (changes["new"], changes["resolved"]) == ([], [])
        assert {f["firstSeen"] for f in json.loads(again.stdout)["findings"]} == {
            changes["previousRun"]
        }
        out_of_sync = next(f for f in findings if f["rule"] == "argo/out-of-sync")
        assert out_of_sync["live"]["resources"] == [
            f"StatefulSet.apps {env.namespace}/kafka-controller"
        ]

        # RBAC cannot restrict create by name, but every other verb is limited to the report
        def store_other(expect: int) -> Result:
            return run_cli(
                "drift",
                ENV,
                "--kubeconfig",
                str(job_config),
                "--report-config-map",
                "other",
                repo=repo,
                expect=expect,
            )

        # reading the previous state comes first, and the Role may get its own name only: another
        # ConfigMap is refused before anything is written
        denied = store_other(2)
        assert denied.stderr.startswith(
            'error: get ConfigMap other: HTTP 403 from the API server: configmaps "other" is '
            "forbidden"
        ), denied.output
        with pytest.raises(NotServed):
            kube.live.request("GET", f"/api/v1/namespaces/{env.namespace}/configmaps/other", "get")
    finally:
        for name in (f"gitops-gen-drift-{ENV}",):
            for kind in ("ClusterRoleBinding", "ClusterRole"):
                with contextlib.suppress(Exception):  # best-effort clean-up
                    kube.delete(
                        {
                            "apiVersion": "rbac.authorization.k8s.io/v1",
                            "kind": kind,
                            "metadata": {"name": name},
                        }
                    )
        for ns in namespaces:
            with contextlib.suppress(Exception):  # best-effort clean-up
                kube.delete({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        kube.close()
