"""A catalog of drifts on the real API server, with ``kubectl diff`` as the oracle in the same run.

Every object is applied by kubectl (client-side, then in a second run server-side), audited clean,
then each object gets at most one injected change. Whether a change is drift is not decided by
hand: the object the server stores is read before and after the change, and a change that leaves
it identical (removing ``hostNetwork: false``, which the server never stored) is no drift. Each
tool's reported objects are scored against that truth: recall over the drifted objects, false
positives over everything else. Both gitops-gen modes must score 100 % / 0; kubectl diff's score
is recorded next to them (docs/drift.md has the table).
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops_gen.drift.canonical import strip_object
from gitops_gen.drift.live import ApiRequestError
from tests.drift_support import ENV, TRACKING, Kube
from tests.helpers import copy_aether, invoke_cli

pytestmark = pytest.mark.cluster

KUBECTL = "/usr/bin/kubectl"
Patch = list[dict[str, Any]]
CONTAINER = "containers/0"

# Pod-template fields a user sets to false/0/"" (most of them for safety), relative to the
# template's spec, and where they go. Removing each is one catalog case per workload kind.
TEMPLATE_FIELDS: dict[str, tuple[str, Any]] = {
    "allow-privilege-escalation": (f"{CONTAINER}/securityContext/allowPrivilegeEscalation", False),
    "privileged": (f"{CONTAINER}/securityContext/privileged", False),
    "read-only-root-fs": (f"{CONTAINER}/securityContext/readOnlyRootFilesystem", False),
    "container-run-as-non-root": (f"{CONTAINER}/securityContext/runAsNonRoot", False),
    "container-run-as-user": (f"{CONTAINER}/securityContext/runAsUser", 0),
    "init-allow-privilege-escalation": (
        "initContainers/0/securityContext/allowPrivilegeEscalation",
        False,
    ),
    "mount-read-only": (f"{CONTAINER}/volumeMounts/0/readOnly", False),
    "mount-sub-path": (f"{CONTAINER}/volumeMounts/0/subPath", ""),
    "stdin": (f"{CONTAINER}/stdin", False),
    "tty": (f"{CONTAINER}/tty", False),
    "automount-token": ("automountServiceAccountToken", False),
    "service-links": ("enableServiceLinks", False),
    "host-network": ("hostNetwork", False),
    "host-pid": ("hostPID", False),
    "host-ipc": ("hostIPC", False),
    "share-process-namespace": ("shareProcessNamespace", False),
    "pod-run-as-non-root": ("securityContext/runAsNonRoot", False),
    "pod-fs-group": ("securityContext/fsGroup", 0),
    "secret-optional": ("volumes/0/secret/optional", False),
    "config-map-optional": ("volumes/1/configMap/optional", False),
    "grace-period": ("terminationGracePeriodSeconds", 0),
}


def _meta(name: str, namespace: str, **labels: str) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": namespace,
        "labels": {**TRACKING, "app.kubernetes.io/instance": "catalog", **labels},
    }


def _set(root: dict[str, Any], pointer: str, value: Any) -> None:
    node: Any = root
    parts = pointer.split("/")
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    node[parts[-1]] = value


def _pod_spec(app: str) -> dict[str, Any]:
    """A pod spec with every field of TEMPLATE_FIELDS set."""
    container = {
        "name": app,
        "image": f"registry.example.com/{app}:1.0.0",
        "securityContext": {"capabilities": {"drop": ["ALL"]}},
        "volumeMounts": [{"name": "creds", "mountPath": "/etc/creds"}],
        "resources": {"requests": {"cpu": 0.25, "memory": "64Mi"}},
    }
    spec: dict[str, Any] = {
        "initContainers": [
            {"name": "init", "image": "registry.example.com/init:1.0.0", "securityContext": {}}
        ],
        "containers": [container],
        "securityContext": {},
        "volumes": [
            {"name": "creds", "secret": {"secretName": "creds"}},
            {"name": "settings", "configMap": {"name": "settings"}},
        ],
    }
    for pointer, value in TEMPLATE_FIELDS.values():
        _set(spec, pointer, value)
    return spec


def _template(app: str) -> dict[str, Any]:
    return {"metadata": {"labels": {"app": app}}, "spec": _pod_spec(app)}


def _workload(kind: str, name: str, namespace: str) -> tuple[dict[str, Any], str]:
    """A workload of ``kind`` and the pointer of its pod template's spec."""
    selector = {"matchLabels": {"app": name}}
    if kind == "Deployment":
        spec = {
            "replicas": 0,
            "paused": False,
            "minReadySeconds": 0,
            "revisionHistoryLimit": 0,
            "selector": selector,
            "template": _template(name),
        }
        return _obj("apps/v1", kind, name, namespace, spec), "/spec/template/spec"
    if kind == "StatefulSet":
        spec = {
            "replicas": 0,
            "minReadySeconds": 0,
            "serviceName": name,
            "selector": selector,
            "template": _template(name),
        }
        return _obj("apps/v1", kind, name, namespace, spec), "/spec/template/spec"
    if kind == "DaemonSet":
        spec = {"minReadySeconds": 0, "selector": selector, "template": _template(name)}
        return _obj("apps/v1", kind, name, namespace, spec), "/spec/template/spec"
    assert kind == "CronJob"
    template = _template(name)
    template["spec"]["restartPolicy"] = "Never"
    spec = {
        "schedule": "0 3 * * *",
        "suspend": False,
        "successfulJobsHistoryLimit": 0,
        "failedJobsHistoryLimit": 0,
        "jobTemplate": {"spec": {"backoffLimit": 0, "template": template}},
    }
    return (
        _obj("batch/v1", kind, name, namespace, spec),
        "/spec/jobTemplate/spec/template/spec",
    )


def _obj(api: str, kind: str, name: str, namespace: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": api, "kind": kind, "metadata": _meta(name, namespace), "spec": spec}


def _remove(pointer: str) -> Patch:
    return [{"op": "remove", "path": pointer}]


def _replace(pointer: str, value: Any) -> Patch:
    return [{"op": "replace", "path": pointer, "value": value}]


@dataclass
class Case:
    obj: dict[str, Any]
    patch: Patch | None = None  # None: the object stays as applied (a clean case)

    @property
    def key(self) -> str:
        return f"{self.obj['kind']}/{self.obj['metadata']['name']}"


def _hpa(name: str, namespace: str) -> dict[str, Any]:
    """Metric targets of every source type and target type, written as people write them."""

    def metric(kind: str, body: dict[str, Any]) -> dict[str, Any]:
        return {"type": kind, kind[0].lower() + kind[1:]: body}

    described = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "absent"}
    metrics = [
        metric(
            "Resource",
            {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}},
        ),
        metric(
            "Resource",
            {"name": "memory", "target": {"type": "AverageValue", "averageValue": "0.5Gi"}},
        ),
        metric(
            "ContainerResource",
            {
                "name": "cpu",
                "container": "app",
                "target": {"type": "AverageValue", "averageValue": 0.5},
            },
        ),
        metric(
            "Pods",
            {"metric": {"name": "rps"}, "target": {"type": "AverageValue", "averageValue": 1.5}},
        ),
        metric(
            "Object",
            {
                "metric": {"name": "hits"},
                "describedObject": described,
                "target": {"type": "Value", "value": 0.5},
            },
        ),
        metric(
            "Object",
            {
                "metric": {"name": "lag"},
                "describedObject": described,
                "target": {"type": "AverageValue", "averageValue": "1000m"},
            },
        ),
        metric(
            "External", {"metric": {"name": "queue"}, "target": {"type": "Value", "value": "0.25"}}
        ),
        metric(
            "External",
            {
                "metric": {"name": "backlog"},
                "target": {"type": "AverageValue", "averageValue": 2048},
            },
        ),
    ]
    return _obj(
        "autoscaling/v2",
        "HorizontalPodAutoscaler",
        name,
        namespace,
        {
            # targets no workload: this cluster's HPA controller must not act on anything
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "absent"},
            "minReplicas": 1,
            "maxReplicas": 3,
            "metrics": metrics,
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": 0}},
        },
    )


def _bare_pod(name: str, namespace: str, **spec: Any) -> dict[str, Any]:
    pod_spec = {
        "containers": [
            {
                "name": "test",
                "image": "registry.example.com/helm-test:1.0.0",
                "securityContext": {"allowPrivilegeEscalation": False, "runAsNonRoot": True},
            }
        ],
        "restartPolicy": "Never",
        **spec,
    }
    pod = _obj("v1", "Pod", name, namespace, pod_spec)
    pod["metadata"]["annotations"] = {"helm.sh/hook": "test"}
    return pod


def catalog(namespace: str) -> list[Case]:
    cases: list[Case] = []
    for kind in ("Deployment", "StatefulSet", "DaemonSet", "CronJob"):
        base = kind.lower()
        clean, template = _workload(kind, base, namespace)
        cases.append(Case(clean))
        for field_name, (pointer, _) in TEMPLATE_FIELDS.items():
            obj, template = _workload(kind, f"{base}-{field_name}", namespace)
            cases.append(Case(obj, _remove(f"{template}/{pointer}")))
        obj, template = _workload(kind, f"{base}-image", namespace)
        cases.append(Case(obj, _replace(f"{template}/containers/0/image", "evil:6.6.6")))
    # fields of the workload itself
    for kind, fields in (
        ("Deployment", ("replicas", "paused", "minReadySeconds", "revisionHistoryLimit")),
        ("StatefulSet", ("replicas", "minReadySeconds")),
        ("DaemonSet", ("minReadySeconds",)),
        (
            "CronJob",
            (
                "suspend",
                "successfulJobsHistoryLimit",
                "failedJobsHistoryLimit",
                "jobTemplate/spec/backoffLimit",
            ),
        ),
    ):
        for field_name in fields:
            slug = re.sub(r"[A-Z]", lambda m: "-" + m[0].lower(), field_name.split("/")[-1])
            obj, _ = _workload(kind, f"{kind.lower()}-spec-{slug}", namespace)
            cases.append(Case(obj, _remove(f"/spec/{field_name}")))
    # Jobs: the template is immutable, suspend is not
    job = _obj(
        "batch/v1",
        "Job",
        "job-suspend",
        namespace,
        {"suspend": True, "backoffLimit": 0, "template": {"spec": _pod_spec("job")}},
    )
    job["spec"]["template"]["spec"]["restartPolicy"] = "Never"
    cases.append(Case(job, _replace("/spec/suspend", False)))
    # the other kinds' false/0/"" fields
    account = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": _meta("robot", namespace),
        "automountServiceAccountToken": False,
    }
    cases.append(Case(account, _remove("/automountServiceAccountToken")))
    for name, patch in (
        ("cm-clean", None),
        ("cm-empty-key", _remove("/data/EMPTY")),
        ("cm-empty-label", _remove("/metadata/labels/empty")),
        ("cm-value", _replace("/data/mode", "slow")),
    ):
        config = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": _meta(name, namespace, empty=""),
            "data": {"mode": "fast", "EMPTY": ""},
        }
        cases.append(Case(config, patch))
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _meta("secret-immutable", namespace),
        "immutable": False,
        "stringData": {"token": "catalog-secret-value"},
    }
    cases.append(Case(secret, _remove("/immutable")))
    service = _obj(
        "v1",
        "Service",
        "svc-not-ready",
        namespace,
        {
            "selector": {"app": "x"},
            "publishNotReadyAddresses": False,
            "ports": [{"port": 80, "targetPort": 8080}],
        },
    )
    cases.append(Case(service, _remove("/spec/publishNotReadyAddresses")))
    for name, patch in (
        ("pdb-clean", None),
        ("pdb-max-unavailable", _remove("/spec/maxUnavailable")),
    ):
        pdb = _obj(
            "policy/v1",
            "PodDisruptionBudget",
            name,
            namespace,
            {"maxUnavailable": 0, "selector": {"matchLabels": {"app": "x"}}},
        )
        cases.append(Case(pdb, patch))
    # HPA metric targets: clean as written (0.5 = 500m), then each target changed or removed
    cases.append(Case(_hpa("hpa-clean", namespace)))
    for index in range(8):
        target = "value" if index in (4, 6) else "averageValue"
        if index == 0:
            target = "averageUtilization"
        source = (
            "resource",
            "resource",
            "containerResource",
            "pods",
            "object",
            "object",
            "external",
            "external",
        )[index]
        new = 71 if index == 0 else "777m"
        cases.append(
            Case(
                _hpa(f"hpa-target-{index}", namespace),
                _replace(f"/spec/metrics/{index}/{source}/target/{target}", new),
            )
        )
    cases.append(Case(_hpa("hpa-metric-removed", namespace), _remove("/spec/metrics/3")))
    cases.append(
        Case(
            _hpa("hpa-window", namespace),
            _remove("/spec/behavior/scaleDown/stabilizationWindowSeconds"),
        )
    )
    # bare Pods (Helm test hooks): admission adds a token volume, its mounts, tolerations
    cases.append(Case(_bare_pod("pod-clean", namespace)))
    with_volume = _bare_pod(
        "pod-volume-tolerations",
        namespace,
        volumes=[{"name": "scratch", "emptyDir": {}}],
        tolerations=[
            {"key": "dedicated", "operator": "Equal", "value": "test", "effect": "NoSchedule"}
        ],
    )
    with_volume["spec"]["containers"][0]["volumeMounts"] = [
        {"name": "scratch", "mountPath": "/tmp"}
    ]
    cases.append(Case(with_volume))
    cases.append(
        Case(
            _bare_pod("pod-no-token", namespace, automountServiceAccountToken=False),
            _replace("/spec/containers/0/image", "evil:6.6.6"),
        )
    )
    cases.append(
        Case(
            _bare_pod("pod-image", namespace),
            _replace("/spec/containers/0/image", "evil:6.6.6"),
        )
    )
    cases.append(
        Case(
            _bare_pod("pod-label-removed", namespace),
            _remove("/metadata/labels/app.kubernetes.io~1instance"),
        )
    )
    return cases


def _kubectl(kubeconfig: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    env.pop("KUBECTL_EXTERNAL_DIFF", None)  # the plain `diff -u -N` output is parsed
    done = subprocess.run([KUBECTL, *args], capture_output=True, text=True, env=env, check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)}: {done.stderr}")
    return done


def kubectl_changed(stdout: str) -> set[str]:
    """Objects in `kubectl diff` output: `diff -u -N .../LIVE-n/<group.version.Kind.ns.name>`."""
    changed = set()
    for match in re.finditer(r"^diff -u -N \S*/LIVE-\d+/(\S+) ", stdout, re.MULTILINE):
        parts = match.group(1).split(".")
        changed.add(f"{parts[-3]}/{parts[-1]}")
    return changed


def _state(kube: Kube, obj: dict[str, Any]) -> dict[str, Any]:
    """What the server stores, without what any write changes (versions, managers)."""
    stored = strip_object(kube.get(obj))
    annotations = (stored.get("metadata") or {}).get("annotations") or {}
    annotations.pop("kubectl.kubernetes.io/last-applied-configuration", None)
    return stored


@dataclass
class Score:
    reported: set[str]
    drifted: set[str]

    @property
    def recall(self) -> float:
        return len(self.reported & self.drifted) / len(self.drifted) if self.drifted else 1.0

    @property
    def false_positives(self) -> set[str]:
        return self.reported - self.drifted


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_aether(tmp_path_factory.mktemp("repo") / "aether")


def _audit(
    repo: Path, kubeconfig: Path, manifests: Path, namespace: str, *extra: str
) -> dict[str, Any]:
    result = invoke_cli(
        "drift",
        ENV,
        "--manifests",
        str(manifests),
        "-n",
        namespace,
        "--kubeconfig",
        str(kubeconfig),
        "-o",
        "json",
        *extra,
        repo=repo,
    )
    assert result.exit_code in (0, 1), result.output
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def _objects(report: dict[str, Any]) -> set[str]:
    return {f"{f['ref']['kind']}/{f['ref']['name']}" for f in report["findings"]}


SCORES: dict[str, dict[str, Any]] = {}


@pytest.fixture
def catalog_applied(
    kubeconfig: Path, namespace: str, tmp_path: Path
) -> Iterator[tuple[Kube, list[Case], Path, str]]:
    kube = Kube(kubeconfig)
    cases = catalog(namespace)
    manifests = tmp_path / "m"
    manifests.mkdir()
    (manifests / "all.yaml").write_text(yaml.safe_dump_all([c.obj for c in cases], sort_keys=False))
    try:
        yield kube, cases, manifests, namespace
    finally:
        kube.close()


@pytest.mark.parametrize("apply_mode", ["client-side", "server-side"])
def test_catalog_against_kubectl_diff(
    catalog_applied: tuple[Kube, list[Case], Path, str],
    kubeconfig: Path,
    repo: Path,
    apply_mode: str,
) -> None:
    kube, cases, manifests, namespace = catalog_applied
    server_side = ["--server-side", "--force-conflicts"] if apply_mode == "server-side" else []
    _kubectl(kubeconfig, "apply", *server_side, "-f", str(manifests))

    def kubectl_diff() -> set[str]:
        done = _kubectl(kubeconfig, "diff", *server_side, "-f", str(manifests), check=False)
        assert done.returncode in (0, 1), done.stderr
        return kubectl_changed(done.stdout)

    # clean: nothing to report
    clean = {
        "fast": _objects(_audit(repo, kubeconfig, manifests, namespace)),
        "server-side": _objects(_audit(repo, kubeconfig, manifests, namespace, "--server-side")),
        "kubectl diff": kubectl_diff(),
    }
    # inject, and decide the truth from what the server stores
    drifted: set[str] = set()
    injected = 0
    for case in cases:
        if case.patch is None:
            continue
        injected += 1
        before = _state(kube, case.obj)
        try:
            kube.json_patch(case.obj, copy.deepcopy(case.patch))
        except ApiRequestError as exc:
            # removing a zero value the server never stored (hostNetwork: false): nothing to
            # remove, the state is unchanged, which the comparison below confirms
            if exc.status != 422 or case.patch[0]["op"] != "remove":
                raise AssertionError(f"{case.key}: {case.patch}: {exc}") from None
        if _state(kube, case.obj) != before:
            drifted.add(case.key)
    after = {
        "fast": _audit(repo, kubeconfig, manifests, namespace),
        "server-side": _audit(repo, kubeconfig, manifests, namespace, "--server-side"),
    }
    reported = {
        "fast": _objects(after["fast"]),
        "server-side": _objects(after["server-side"]),
        "kubectl diff": kubectl_diff(),
    }
    scores = {tool: Score(reported[tool] | clean[tool], drifted) for tool in reported}
    SCORES[apply_mode] = {
        "objects": len(cases),
        "injected": injected,
        "drifted": len(drifted),
        **{
            tool: {
                "clean false positives": sorted(clean[tool]),
                "recall": round(score.recall * 100, 1),
                "missed": sorted(drifted - score.reported),
                "false positives": sorted(score.false_positives),
            }
            for tool, score in scores.items()
        },
    }
    out = os.environ.get("DRIFT_CATALOG_SCORES")
    if out:
        Path(out).write_text(json.dumps(SCORES, indent=1))
    for tool in ("fast", "server-side"):
        assert clean[tool] == set(), (tool, clean[tool])
        assert scores[tool].false_positives == set(), (tool, scores[tool].false_positives)
        assert scores[tool].recall == 1.0, (tool, sorted(drifted - scores[tool].reported))
    # each drifted object is reported where the change is
    paths = {f"{f['ref']['kind']}/{f['ref']['name']}": f["path"] for f in after["fast"]["findings"]}
    for case in cases:
        if case.key in drifted and case.patch and case.patch[0]["op"] != "add":
            assert paths[case.key] in case.patch[0]["path"] or case.patch[0]["path"].startswith(
                paths[case.key]
            ), (case.key, paths[case.key], case.patch)
    assert len(drifted) >= 60
