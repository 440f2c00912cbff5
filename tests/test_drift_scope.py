"""Orphans are scoped to what the audited source could have produced (real API server).

Two environments share one cluster: each has its rendered audit RBAC (cluster-scoped, labelled as
ours), and three releases' chart output (`--manifests`: two in dev, one in staging) each hold a
ClusterRole and ClusterRoleBinding of their own. No audit may call another release's objects, or
its own auditor's RBAC, an orphan; a ClusterRole dropped from one folder is that folder's orphan
only.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gitops_gen.drift.desired import from_render
from gitops_gen.model import load_platform
from tests.drift_support import Kube, write_manifests
from tests.helpers import Result, copy_aether, invoke_cli

pytestmark = pytest.mark.cluster
ENVIRONMENTS = ("dev", "staging")
# (environment, release): one folder of chart output each
RELEASES = (("dev", "dev-reports"), ("dev", "dev-web"), ("staging", "staging-reports"))


def _chart_output(env: str, release: str, namespace: str, prefix: str) -> list[dict[str, Any]]:
    """What `helm template` of one release gives, labelled by gitops-gen for ``env``."""
    labels = {
        "app.kubernetes.io/managed-by": "gitops-gen",
        "gitops-gen.io/environment": env,
        "app.kubernetes.io/instance": release,
    }
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": release, "namespace": namespace, "labels": labels},
            "data": {"mode": "fast"},
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": f"{prefix}-{release}-reader", "labels": labels},
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": f"{prefix}-{release}-writer", "labels": labels},
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["update"]}],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": f"{prefix}-{release}-reader", "labels": labels},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": f"{prefix}-{release}-reader",
            },
            "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": namespace}],
        },
    ]


Charts = dict[str, list[dict[str, Any]]]


@pytest.fixture
def shared_cluster(
    kubeconfig: Path, namespace: str, tmp_path: Path
) -> Iterator[tuple[Path, dict[str, str], Charts]]:
    repo = copy_aether(tmp_path / "repo")
    kube = Kube(kubeconfig)
    namespaces = {"dev": namespace, "staging": f"{namespace}-stg"}
    staging = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespaces["staging"]}}
    kube.create(staging)
    platform = load_platform(repo)
    created: list[dict[str, Any]] = []
    charts: Charts = {}
    try:
        for env in ENVIRONMENTS:
            # the auditor's own RBAC, as render produces it for the environment
            for item in from_render(platform, env).objects:
                if item.ref.kind in ("ClusterRole", "ClusterRoleBinding"):
                    obj = json.loads(json.dumps(item.obj))
                    kube.server_side_apply(obj)
                    created.append(obj)
        for env, release in RELEASES:
            charts[release] = _chart_output(env, release, namespaces[env], namespace)
            for obj in charts[release]:
                kube.server_side_apply(obj)
                created.append(obj)
        yield repo, namespaces, charts
    finally:
        for obj in created:
            if obj["kind"].startswith("Cluster"):
                with contextlib.suppress(Exception):  # best-effort clean-up
                    kube.delete(obj)
        kube.delete(staging)
        kube.close()


def _audit(
    repo: Path, kubeconfig: Path, env: str, folder: Path, namespace: str
) -> tuple[Result, list[dict[str, Any]]]:
    result = invoke_cli(
        "drift",
        env,
        "--manifests",
        str(folder),
        "-n",
        namespace,
        "--kubeconfig",
        str(kubeconfig),
        "-o",
        "json",
        repo=repo,
    )
    assert result.exit_code in (0, 1), result.output
    findings: list[dict[str, Any]] = json.loads(result.stdout)["findings"]
    return result, findings


def test_two_environments_sharing_a_cluster_see_no_foreign_orphans(
    shared_cluster: tuple[Path, dict[str, str], Charts], kubeconfig: Path, tmp_path: Path
) -> None:
    repo, namespaces, charts = shared_cluster
    folders = {r: write_manifests(tmp_path / r, charts[r]) for _, r in RELEASES}
    for env, release in RELEASES:
        result, findings = _audit(repo, kubeconfig, env, folders[release], namespaces[env])
        assert findings == [], (release, json.dumps(findings, indent=1))
        assert result.exit_code == 0
        # the auditor's own ClusterRole is labelled as ours, listed, and still no orphan
        assert f"gitops-gen-drift-{env}" not in result.stdout

    # dev-reports' chart no longer renders its writer ClusterRole: its orphan, nobody else's
    # (orphans are looked for among the types the folder still holds)
    dropped = charts["dev-reports"][2]
    write_manifests(folders["dev-reports"], [o for o in charts["dev-reports"] if o is not dropped])
    result, findings = _audit(repo, kubeconfig, "dev", folders["dev-reports"], namespaces["dev"])
    assert result.exit_code == 1, result.output
    assert [(f["ref"]["kind"], f["ref"]["name"], f["rule"]) for f in findings] == [
        ("ClusterRole", dropped["metadata"]["name"], "drift/orphan")
    ]
    assert findings[0]["app"] == "dev-reports"
    assert "delete it" in findings[0]["message"]
    for env, release in RELEASES[1:]:
        result, findings = _audit(repo, kubeconfig, env, folders[release], namespaces[env])
        assert findings == [] and result.exit_code == 0, (release, result.output)
