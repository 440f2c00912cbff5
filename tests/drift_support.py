"""Fixtures for the drift tests: a realistic object set, applied as kubectl or Argo CD would."""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path
from typing import Any

import yaml

from gitops_gen.drift.live import LiveCluster, ResourceType, load_configuration
from tests.helpers import Result, run_cli

ENV = "dev"
TRACKING = {"app.kubernetes.io/managed-by": "gitops-gen", "gitops-gen.io/environment": ENV}
CANARY_PASSWORD = "canary-Pa55w0rd-7f3e9a"
CANARY_TOKEN = "canary-token-0c4b2d1e"
APP = "dev-web"


def _meta(name: str, namespace: str | None, **extra: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name,
        "labels": {**TRACKING, "app.kubernetes.io/instance": APP},
    }
    if namespace:
        meta["namespace"] = namespace
    meta.update(extra)
    return meta


def _pod(app: str, *, env: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "metadata": {"labels": {"app": app}},
        "spec": {
            "containers": [
                {
                    "name": app,
                    "image": f"registry.example.com/{app}:1.0.0",
                    "ports": [{"containerPort": 8080, "name": "http"}],
                    "env": env or [],
                    "resources": {
                        # written the way people write them; the server canonicalises
                        "requests": {"cpu": 0.5, "memory": "1024Mi"},
                        "limits": {"cpu": 1, "memory": "1Gi"},
                    },
                    "volumeMounts": [{"name": "config", "mountPath": "/etc/app"}],
                }
            ],
            "volumes": [{"name": "config", "configMap": {"name": "settings"}}],
        },
    }


def fixture_objects(namespace: str) -> list[dict[str, Any]]:
    """Deployment, StatefulSet, Service, ConfigMap, Secret (stringData), Ingress, an
    HPA-managed Deployment, PDB, NetworkPolicy, CronJob, an aggregated ClusterRole and an
    Argo CD Application."""
    env = [
        {"name": "LOG_LEVEL", "value": "info"},
        {"name": "WORKERS", "value": "4"},
        {"name": "FEATURE_X", "value": "on"},
    ]
    return [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": _meta("web", namespace),
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "web"}},
                "template": _pod("web", env=env),
            },
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": _meta("api", namespace),
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "api"}},
                "template": _pod("api"),
            },
        },
        {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": _meta("api", namespace),
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"},
                "minReplicas": 2,
                "maxReplicas": 6,
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {
                            "name": "cpu",
                            "target": {"type": "Utilization", "averageUtilization": 70},
                        },
                    }
                ],
            },
        },
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": _meta("db", namespace),
            "spec": {
                "serviceName": "db",
                "replicas": 1,
                "selector": {"matchLabels": {"app": "db"}},
                "template": _pod("db"),
                "volumeClaimTemplates": [
                    {
                        "metadata": {"name": "data"},
                        "spec": {
                            "accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "1Gi"}},
                        },
                    }
                ],
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": _meta("web", namespace),
            "spec": {
                "selector": {"app": "web"},
                "ports": [{"name": "http", "port": 80, "targetPort": 8080}],
            },
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": _meta("settings", namespace),
            "data": {"mode": "fast", "retries": "3"},
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": _meta("creds", namespace),
            "type": "Opaque",
            "stringData": {"password": CANARY_PASSWORD, "token": CANARY_TOKEN},
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": _meta("web", namespace),
            "spec": {
                "rules": [
                    {
                        "host": "web.example.com",
                        "http": {
                            "paths": [
                                {
                                    "path": "/",
                                    "pathType": "Prefix",
                                    "backend": {"service": {"name": "web", "port": {"number": 80}}},
                                }
                            ]
                        },
                    }
                ]
            },
        },
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": _meta("web", namespace),
            "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}},
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": _meta("web", namespace),
            "spec": {
                "podSelector": {"matchLabels": {"app": "web"}},
                "policyTypes": ["Ingress"],
                "ingress": [{"ports": [{"port": 8080, "protocol": "TCP"}]}],
            },
        },
        {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": _meta("cleanup", namespace),
            "spec": {
                "schedule": "*/15 * * * *",
                "jobTemplate": {
                    "spec": {
                        "template": {
                            "spec": {
                                "restartPolicy": "OnFailure",
                                "containers": [
                                    {
                                        "name": "cleanup",
                                        "image": "registry.example.com/cleanup:1.0.0",
                                        "args": ["--older-than", "7d"],
                                    }
                                ],
                            }
                        }
                    }
                },
            },
        },
        {
            # cluster-scoped: named after the namespace, and without the environment label so
            # another test's leftovers are never this test's orphans
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {
                "name": f"{namespace}-aggregate",
                "labels": {"app.kubernetes.io/managed-by": "gitops-gen"},
            },
            "aggregationRule": {
                "clusterRoleSelectors": [{"matchLabels": {"aggregate-to": namespace}}]
            },
            "rules": [],
        },
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": _meta(
                APP, namespace, finalizers=["resources-finalizer.argocd.argoproj.io"]
            ),
            "spec": {
                "project": "default",
                "source": {
                    "repoURL": "https://git.example.com/aether/aether-gitops.git",
                    "path": "apps/web",
                    "targetRevision": "v1.4.0",
                },
                "destination": {"server": "https://kubernetes.default.svc", "namespace": namespace},
                "syncPolicy": {
                    "automated": {"prune": True, "selfHeal": True},
                    "syncOptions": ["ServerSideApply=true"],
                },
                "ignoreDifferences": [
                    {
                        "group": "apps",
                        "kind": "Deployment",
                        "name": "api",
                        "jsonPointers": ["/spec/template/metadata/annotations"],
                    }
                ],
            },
        },
    ]


def drift_manifests(
    repo: Path, manifests: Path, namespace: str, kubeconfig: Path, *args: str, expect: int
) -> Result:
    """``gitops-gen drift dev --manifests …`` against one test namespace."""
    return run_cli(
        "drift",
        ENV,
        "--manifests",
        str(manifests),
        "-n",
        namespace,
        "--kubeconfig",
        str(kubeconfig),
        *args,
        repo=repo,
        expect=expect,
    )


def write_manifests(folder: Path, objects: list[dict[str, Any]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "all.yaml").write_text(yaml.safe_dump_all(objects, sort_keys=False))
    return folder


class Kube:
    """The test's hands on the cluster: create, apply, patch and delete like the tools do."""

    def __init__(self, kubeconfig: Path, context: str = "admin") -> None:
        self.live = LiveCluster(load_configuration(kubeconfig, context))

    def close(self) -> None:
        self.live.close()

    def _type(self, obj: dict[str, Any]) -> ResourceType:
        resource = self.live.resource(obj["apiVersion"], obj["kind"])
        assert resource is not None, obj["kind"]
        return resource

    def _path(self, obj: dict[str, Any], *, item: bool) -> str:
        resource = self._type(obj)
        base = resource.collection_path(obj["metadata"].get("namespace"))
        return f"{base}/{obj['metadata']['name']}" if item else base

    def client_side_apply(self, obj: dict[str, Any]) -> None:
        """What ``kubectl apply`` does for a new object: create it with last-applied."""
        body = copy.deepcopy(obj)
        annotations = body["metadata"].setdefault("annotations", {})
        annotations["kubectl.kubernetes.io/last-applied-configuration"] = json.dumps(
            obj, sort_keys=True, separators=(",", ":")
        )
        self.live.request("POST", self._path(obj, item=False), "create", body=body)

    def server_side_apply(self, obj: dict[str, Any], manager: str = "argocd-controller") -> None:
        self.live.request(
            "PATCH",
            self._path(obj, item=True),
            "apply",
            query=[("fieldManager", manager), ("force", "true")],
            body=obj,
            content_type="application/apply-patch+yaml",
        )

    def apply(self, obj: dict[str, Any], mode: str) -> None:
        """``mode`` "client" (a first ``kubectl apply``) or "server" (Argo CD's
        ``ServerSideApply=true``)."""
        if mode == "client":
            self.client_side_apply(obj)
        else:
            self.server_side_apply(obj)

    def get(self, obj: dict[str, Any]) -> dict[str, Any]:
        return self.live.request("GET", self._path(obj, item=True), "get")

    def put(self, obj: dict[str, Any]) -> None:
        self.live.request("PUT", self._path(obj, item=True), "update", body=obj)

    def merge_patch(self, obj: dict[str, Any], patch: dict[str, Any]) -> None:
        self.live.request(
            "PATCH",
            self._path(obj, item=True),
            "patch",
            body=patch,
            content_type="application/merge-patch+json",
        )

    def json_patch(self, obj: dict[str, Any], operations: list[dict[str, Any]]) -> None:
        self.live.request(
            "PATCH",
            self._path(obj, item=True),
            "patch",
            body=operations,
            content_type="application/json-patch+json",
        )

    def create(self, obj: dict[str, Any]) -> None:
        self.live.request("POST", self._path(obj, item=False), "create", body=obj)

    def delete(self, obj: dict[str, Any]) -> None:
        self.live.request("DELETE", self._path(obj, item=True), "delete")


def rendered_objects(repo: Path) -> list[dict[str, Any]]:
    """Everything ``drift ENV`` expects live for the repository's ENV, as plain JSON objects."""
    from gitops_gen.drift.desired import from_render
    from gitops_gen.model import load_platform

    state = from_render(load_platform(repo), ENV)
    return [json.loads(json.dumps(item.obj)) for item in state.objects]


def retarget(repo: Path, namespace: str, argocd_namespace: str) -> None:
    """Point the repository's ENV (and Argo CD) at a test's own namespaces, so tests that sync
    the rendered environment never share a namespace that is still being deleted."""
    env_file = repo / "environments" / f"{ENV}.yaml"
    env_text = env_file.read_text(encoding="utf-8")
    assert "\nnamespace: aether\n" in env_text
    env_file.write_text(env_text.replace("\nnamespace: aether\n", f"\nnamespace: {namespace}\n"))
    platform_file = repo / "environments" / "platform.yaml"
    platform_text = platform_file.read_text(encoding="utf-8")
    assert "argocdNamespace: argocd\n" in platform_text
    platform_file.write_text(
        platform_text.replace("argocdNamespace: argocd\n", f"argocdNamespace: {argocd_namespace}\n")
    )
    subprocess.run(["git", "commit", "-q", "-am", "test namespaces"], cwd=repo, check=True)


def sync_rendered(kube: Kube, objects: list[dict[str, Any]], namespace: str, mode: str) -> None:
    """Apply the rendered objects as Argo CD would: server-side apply (``ServerSideApply=true``)
    or its default, a client-side ``kubectl apply``. ServiceAccounts first: bindings name them."""
    for obj in sorted(objects, key=lambda o: o["kind"] != "ServiceAccount"):
        obj = copy.deepcopy(obj)
        if obj["kind"] in ("ClusterRole", "ClusterRoleBinding"):
            obj["metadata"].pop("namespace", None)
        else:
            obj["metadata"].setdefault("namespace", namespace)
        kube.apply(obj, mode)
        if obj["kind"] == "Application":
            record_argo_status(kube, obj)


def record_argo_status(kube: Kube, obj: dict[str, Any]) -> None:
    """What Argo CD writes once it compared and synced an Application: Synced, Healthy, against
    its current spec (an Application without any status is a finding: never reconciled)."""
    live = kube.get(obj)
    spec = live["spec"]
    sources = spec.get("sources") or [spec["source"]]
    multi = "sources" in spec
    live["status"] = {
        "sync": {
            "status": "Synced",
            "comparedTo": {
                "destination": spec["destination"],
                **({"sources": sources} if multi else {"source": sources[0]}),
            },
            **(
                {"revisions": [s["targetRevision"] for s in sources]}
                if multi
                else {"revision": sources[0]["targetRevision"]}
            ),
        },
        "health": {"status": "Healthy"},
    }
    kube.put(live)
