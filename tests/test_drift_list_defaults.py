"""Fields a manifest omits inside list elements, on the real API server.

Inside a list element (a port, a volume, a container, a NetworkPolicy rule's port) an omitted
field means the value the server gives it. A synced environment whose manifests omit such
fields audits clean, and a live value other than the server's default is reported as a
modification of that field, in fast and ``--server-side`` modes alike.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.drift_support import TRACKING, Kube, drift_manifests, write_manifests
from tests.helpers import Result, copy_aether

pytestmark = pytest.mark.cluster

TEMPLATE = "/spec/template/spec"
JOB_TEMPLATE = "/spec/jobTemplate/spec/template/spec"


def _meta(name: str, namespace: str) -> dict[str, Any]:
    return {"name": name, "namespace": namespace, "labels": dict(TRACKING)}


def _objects(namespace: str) -> list[dict[str, Any]]:
    """What charts write: ports, volumes, probes and policy ports without the defaulted fields."""
    pod = {
        "metadata": {"labels": {"app": "workload"}},
        "spec": {
            "initContainers": [
                {
                    "name": "init",
                    "image": "registry.example.com/init:1.0.0",
                    "ports": [{"containerPort": 9000}],
                }
            ],
            "containers": [
                {
                    "name": "app",
                    "image": "registry.example.com/app:1.0.0",
                    "ports": [
                        {"containerPort": 8080, "name": "http"},
                        {"containerPort": 8125, "name": "statsd", "protocol": "UDP"},
                    ],
                    "env": [
                        {
                            "name": "POD_NAME",
                            "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}},
                        }
                    ],
                    "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"}},
                    "securityContext": {"runAsNonRoot": True},
                    "volumeMounts": [
                        {"name": "config", "mountPath": "/etc/app"},
                        {"name": "creds", "mountPath": "/etc/creds"},
                        {"name": "info", "mountPath": "/etc/info"},
                    ],
                }
            ],
            "tolerations": [{"key": "dedicated", "value": "web", "effect": "NoSchedule"}],
            "volumes": [
                {"name": "config", "configMap": {"name": "settings"}},
                {"name": "creds", "secret": {"secretName": "creds"}},
                {
                    "name": "info",
                    "downwardAPI": {
                        "items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]
                    },
                },
            ],
        },
    }
    return [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": _meta("workload", namespace),
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": "workload"}},
                "template": pod,
            },
        },
        {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": _meta("nightly", namespace),
            "spec": {
                "schedule": "0 3 * * *",
                "jobTemplate": {
                    "spec": {
                        "template": {
                            "spec": {
                                "restartPolicy": "Never",
                                "containers": [
                                    {
                                        "name": "job",
                                        "image": "registry.example.com/job:1.0.0",
                                        "ports": [{"containerPort": 8080}],
                                        "volumeMounts": [{"name": "creds", "mountPath": "/c"}],
                                    }
                                ],
                                "volumes": [{"name": "creds", "secret": {"secretName": "creds"}}],
                            }
                        }
                    }
                },
            },
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": _meta("workload", namespace),
            "spec": {
                # policyTypes omitted: the server derives [Ingress, Egress]
                "podSelector": {"matchLabels": {"app": "workload"}},
                "ingress": [{"ports": [{"port": 8080}, {"port": "http"}]}],
                # a port without a number (all UDP ports) makes this list positional
                "egress": [{"ports": [{"port": 53}, {"protocol": "UDP"}]}],
            },
        },
        {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": _meta("workload", namespace),
            "spec": {
                "scaleTargetRef": {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": "workload",
                },
                "maxReplicas": 4,
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {
                            "name": "cpu",
                            "target": {"type": "Utilization", "averageUtilization": 70},
                        },
                    }
                ],
                # the server fills selectPolicy and the scale-up policies
                "behavior": {
                    "scaleDown": {"policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]}
                },
            },
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": _meta("reader", namespace),
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}],
        },
        {
            # a Group subject's apiGroup is filled in, a ServiceAccount's is not
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": _meta("reader", namespace),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
            "subjects": [
                {"kind": "Group", "name": "auditors"},
                {"kind": "ServiceAccount", "name": "default", "namespace": namespace},
            ],
        },
    ]


@dataclass
class Applied:
    kube: Kube
    kubeconfig: Path
    namespace: str
    manifests: Path
    repo: Path

    def drift(self, *args: str, expect: int) -> Result:
        return drift_manifests(
            self.repo,
            self.manifests,
            self.namespace,
            self.kubeconfig,
            "-o",
            "json",
            *args,
            expect=expect,
        )

    def patch(self, kind: str, name: str, pointer: str, value: Any) -> None:
        obj = next(
            o
            for o in _objects(self.namespace)
            if (o["kind"], o["metadata"]["name"]) == (kind, name)
        )
        self.kube.json_patch(obj, [{"op": "replace", "path": pointer, "value": value}])


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_aether(tmp_path_factory.mktemp("repo") / "aether")


def _apply(
    mode: str, kubeconfig: Path, namespace: str, repo: Path, tmp_path: Path
) -> Iterator[Applied]:
    kube = Kube(kubeconfig)
    objects = _objects(namespace)
    try:
        for obj in objects:
            kube.apply(obj, mode)
        yield Applied(kube, kubeconfig, namespace, write_manifests(tmp_path / "m", objects), repo)
    finally:
        kube.close()


@pytest.fixture(params=["client", "server"])
def applied(
    request: pytest.FixtureRequest, kubeconfig: Path, namespace: str, repo: Path, tmp_path: Path
) -> Iterator[Applied]:
    yield from _apply(request.param, kubeconfig, namespace, repo, tmp_path)


@pytest.mark.parametrize("mode", [[], ["--server-side"]], ids=["fast", "server-side"])
def test_synced_objects_omitting_defaulted_fields_audit_clean(
    applied: Applied, mode: list[str]
) -> None:
    report = json.loads(applied.drift(*mode, expect=0).stdout)
    assert report["findings"] == []
    assert report["summary"]["objects"] == len(_objects(applied.namespace))


# (kind, name, live pointer, live value, the default the finding names as desired)
CHANGES: list[tuple[str, str, str, Any, Any]] = [
    ("NetworkPolicy", "workload", "/spec/ingress/0/ports/1/protocol", "UDP", "TCP"),
    ("NetworkPolicy", "workload", "/spec/egress/0/ports/0/protocol", "SCTP", "TCP"),
    ("Deployment", "workload", f"{TEMPLATE}/initContainers/0/ports/0/protocol", "UDP", "TCP"),
    ("Deployment", "workload", f"{TEMPLATE}/volumes/0/configMap/defaultMode", 0o777, 0o644),
    ("Deployment", "workload", f"{TEMPLATE}/volumes/1/secret/defaultMode", 0o666, 0o644),
    ("Deployment", "workload", f"{TEMPLATE}/volumes/2/downwardAPI/defaultMode", 0o777, 0o644),
    ("Deployment", "workload", f"{TEMPLATE}/containers/0/securityContext/privileged", True, False),
    ("Deployment", "workload", f"{TEMPLATE}/containers/0/volumeMounts/1/readOnly", True, False),
    (
        "Deployment",
        "workload",
        f"{TEMPLATE}/containers/0/livenessProbe/httpGet/scheme",
        "HTTPS",
        "HTTP",
    ),
    ("Deployment", "workload", f"{TEMPLATE}/containers/0/livenessProbe/periodSeconds", 300, 10),
    ("CronJob", "nightly", f"{JOB_TEMPLATE}/volumes/0/secret/defaultMode", 0o777, 0o644),
    # a pod template's own fields are the repository's too
    ("Deployment", "workload", f"{TEMPLATE}/hostPID", True, False),
    ("CronJob", "nightly", f"{JOB_TEMPLATE}/dnsPolicy", "Default", "ClusterFirst"),
]


@pytest.fixture
def applied_once(kubeconfig: Path, namespace: str, repo: Path, tmp_path: Path) -> Iterator[Applied]:
    yield from _apply("client", kubeconfig, namespace, repo, tmp_path)


def test_live_values_other_than_the_default_are_reported(applied_once: Applied) -> None:
    for kind, name, pointer, value, _ in CHANGES:
        applied_once.patch(kind, name, pointer, value)
    # set live to what the server already holds: no change, so no finding
    applied_once.patch("Deployment", "workload", f"{TEMPLATE}/containers/0/ports/0/protocol", "TCP")
    expected = sorted(
        (kind, name, "modified", pointer, desired, value)
        for kind, name, pointer, value, desired in CHANGES
    )
    for mode in ([], ["--server-side"]):
        report = json.loads(applied_once.drift(*mode, expect=1).stdout)
        found = sorted(
            (f["ref"]["kind"], f["ref"]["name"], f["type"], f["path"], f["desired"], f["live"])
            for f in report["findings"]
        )
        assert found == expected, (mode, json.dumps(report["findings"], indent=1))
        assert {f["rule"] for f in report["findings"]} == {"drift/field-modified"}
