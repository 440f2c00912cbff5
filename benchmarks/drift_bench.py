"""Benchmark: `gitops-gen drift` (fast and --server-side) against `kubectl diff -f`.

On a real kube-apiserver (tests/testenv/kube.py): 2,000 live objects across 10 kinds and 4
namespaces, created the way `kubectl apply` does. Measured per tool, in the same run on the
same manifests: wall time, API requests, peak memory (max RSS of the process). Then 25 objects
are drifted and the objects each tool reports are compared.

    python benchmarks/drift_bench.py [--objects 2000] [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.drift_support import Kube  # noqa: E402
from tests.helpers import copy_aether  # noqa: E402
from tests.testenv.kube import KubeCluster  # noqa: E402

NAMESPACES = 4
KINDS = 10
LABELS = {"app.kubernetes.io/managed-by": "gitops-gen", "gitops-gen.io/environment": "dev"}


def _pod(name: str) -> dict[str, Any]:
    return {
        "metadata": {"labels": {"app": name}},
        "spec": {
            "containers": [
                {
                    "name": "app",
                    "image": f"registry.example.com/{name}:1.0.0",
                    "env": [{"name": "MODE", "value": "fast"}],
                    "resources": {"requests": {"cpu": 0.1, "memory": "128Mi"}},
                }
            ]
        },
    }


def make_objects(namespace: str, index: int) -> list[dict[str, Any]]:
    """One object of each of the 10 kinds."""
    name = f"obj-{index:03d}"

    def meta() -> dict[str, Any]:
        return {"name": name, "namespace": namespace, "labels": dict(LABELS)}

    selector = {"matchLabels": {"app": name}}
    return [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta(), "data": {"k": "v" * 64}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": meta(), "stringData": {"p": "s3cr3t"}},
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta(),
            "spec": {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080}]},
        },
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta()},
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta(),
            "spec": {"replicas": 1, "selector": selector, "template": _pod(name)},
        },
        {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": meta(),
            "spec": {
                "schedule": "0 * * * *",
                "jobTemplate": {
                    "spec": {
                        "template": {
                            "spec": {
                                "restartPolicy": "Never",
                                "containers": [{"name": "job", "image": "busybox:1.36"}],
                            }
                        }
                    }
                },
            },
        },
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": meta(),
            "spec": {"minAvailable": 1, "selector": selector},
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": meta(),
            "spec": {"podSelector": selector, "policyTypes": ["Ingress"]},
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": meta(),
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": meta(),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": namespace}],
        },
    ]


def measure(argv: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Wall time, exit code, output and peak RSS of one command (a fresh wrapper process, so
    RUSAGE_CHILDREN is that command's alone)."""
    wrapper = (
        "import resource, subprocess, sys, json, time\n"
        "t = time.perf_counter()\n"
        "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "w = time.perf_counter() - t\n"
        "m = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "print(json.dumps({'code': p.returncode, 'wall': w, 'rss_kib': m, "
        "'stdout': p.stdout, 'stderr': p.stderr}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", wrapper, *argv], capture_output=True, text=True, env=env, check=True
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def kubectl_requests(stderr: str) -> int:
    # kubectl -v=6 logs one line per HTTP request: "... GET https://... 200 OK in 3 milliseconds"
    return len(re.findall(r"\b(GET|PATCH|POST|PUT) https?://\S+ \d{3}", stderr))


def kubectl_changed(stdout: str) -> set[str]:
    """Objects in `kubectl diff` output.

    Each object's diff starts with `diff -u -N /tmp/LIVE-n/<group.version.Kind.ns.name> ...`.
    """
    changed = set()
    for match in re.finditer(r"^diff -u -N \S*/LIVE-\d+/(\S+) ", stdout, re.MULTILINE):
        parts = match.group(1).split(".")
        kind, namespace, name = parts[-3], parts[-2], parts[-1]
        changed.add(f"{kind}/{namespace}/{name}")
    return changed


def drift_changed(stdout: str) -> set[str]:
    report = json.loads(stdout)
    return {
        f"{f['ref']['kind']}/{f['ref']['namespace']}/{f['ref']['name']}" for f in report["findings"]
    }


def inject(kube: Kube, objects: list[dict[str, Any]]) -> list[str]:
    """Drift 25 objects the way people do: kubectl edit/patch of a value."""
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for obj in objects:
        by_kind.setdefault(obj["kind"], []).append(obj)
    changes = {
        "Deployment": [
            {
                "op": "replace",
                "path": "/spec/template/spec/containers/0/image",
                "value": "registry.example.com/evil:6.6.6",
            }
        ],
        "ConfigMap": [{"op": "replace", "path": "/data/k", "value": "edited"}],
        "Service": [{"op": "replace", "path": "/spec/ports/0/targetPort", "value": 9090}],
        "CronJob": [{"op": "replace", "path": "/spec/schedule", "value": "5 * * * *"}],
        "PodDisruptionBudget": [{"op": "replace", "path": "/spec/minAvailable", "value": 3}],
    }
    touched = []
    for kind, operations in changes.items():
        for obj in by_kind[kind][::40][:5]:
            kube.json_patch(obj, operations)
            meta = obj["metadata"]
            touched.append(f"{kind}/{meta['namespace']}/{meta['name']}")
    return touched


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=2000)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    per_namespace = args.objects // (NAMESPACES * KINDS)
    gitops_gen = str(Path(sys.executable).with_name("gitops-gen"))
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        print("kubectl not found: the comparison needs it", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="drift-bench-"))
    repo = copy_aether(work / "repo")
    figures: dict[str, Any] = {}
    with KubeCluster(controller_manager=False) as cluster:
        kube = Kube(cluster.kubeconfig)
        objects: list[dict[str, Any]] = []
        for n in range(NAMESPACES):
            namespace = f"bench-{n}"
            kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
            for i in range(per_namespace):
                objects.extend(make_objects(namespace, i))
        started = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(kube.client_side_apply, objects))
        print(f"created {len(objects)} objects in {time.perf_counter() - started:.1f} s")
        manifests = work / "manifests"
        manifests.mkdir()
        for n in range(NAMESPACES):
            docs = [o for o in objects if o["metadata"]["namespace"] == f"bench-{n}"]
            (manifests / f"bench-{n}.yaml").write_text(yaml.safe_dump_all(docs, sort_keys=False))

        def drift(*extra: str) -> dict[str, Any]:
            result = measure(
                [
                    gitops_gen,
                    "--repo",
                    str(repo),
                    "drift",
                    "dev",
                    "--manifests",
                    str(manifests),
                    "--kubeconfig",
                    str(cluster.kubeconfig),
                    "-o",
                    "json",
                    *extra,
                ]
            )
            assert result["code"] in (0, 1), result["stderr"]
            summary = json.loads(result["stdout"])["summary"]
            result["requests"] = summary["apiRequests"]
            result["lists"] = summary["lists"]
            return result

        def kubectl_diff() -> dict[str, Any]:
            result = measure(
                [
                    kubectl,
                    "--kubeconfig",
                    str(cluster.kubeconfig),
                    "diff",
                    "-f",
                    str(manifests),
                    "-v=6",
                ]
            )
            assert result["code"] in (0, 1), result["stderr"][-2000:]
            result["requests"] = kubectl_requests(result["stderr"])
            return result

        def median_of_3(*extra: str) -> dict[str, Any]:
            # the fast mode takes a second or two: one run is at the mercy of the machine
            results = sorted((drift(*extra) for _ in range(3)), key=lambda r: r["wall"])
            return results[1]

        runs = {
            "fast": median_of_3(),
            "server-side": median_of_3("--server-side"),
            "kubectl diff": kubectl_diff(),
        }
        clean = {
            "drift fast findings": len(json.loads(runs["fast"]["stdout"])["findings"]),
            "drift server-side findings": len(
                json.loads(runs["server-side"]["stdout"])["findings"]
            ),
            "kubectl diff objects": len(kubectl_changed(runs["kubectl diff"]["stdout"])),
        }
        touched = set(inject(kube, objects))
        drifted = {
            "fast": drift(),
            "server-side": drift("--server-side"),
            "kubectl diff": kubectl_diff(),
        }
        agree = {
            "injected": len(touched),
            "drift fast": sorted(drift_changed(drifted["fast"]["stdout"])) == sorted(touched),
            "drift server-side": drift_changed(drifted["server-side"]["stdout"]) == touched,
            "kubectl diff": kubectl_changed(drifted["kubectl diff"]["stdout"]) == touched,
            "same objects": drift_changed(drifted["fast"]["stdout"])
            == kubectl_changed(drifted["kubectl diff"]["stdout"]),
        }
        kube.close()
    kinds = len({o["kind"] for o in objects})
    type_namespace_pairs = len({(o["kind"], o["metadata"]["namespace"]) for o in objects})
    # HPAs are listed once per namespace holding Deployments (for HPA-owned replicas)
    hpa_lists = len({o["metadata"]["namespace"] for o in objects if o["kind"] == "Deployment"})
    figures = {
        "objects": len(objects),
        "kinds": kinds,
        "typeNamespacePairs": type_namespace_pairs,
        "hpaLists": hpa_lists,
        "clean": {
            name: {
                "wall_s": round(r["wall"], 2),
                "requests": r["requests"],
                "peak_rss_mib": round(r["rss_kib"] / 1024, 1),
                **({"lists": r["lists"]} if "lists" in r else {}),
            }
            for name, r in runs.items()
        },
        "cleanFindings": clean,
        "drifted": {name: round(r["wall"], 2) for name, r in drifted.items()},
        "agreement": agree,
        "speedup_fast_vs_kubectl": round(runs["kubectl diff"]["wall"] / runs["fast"]["wall"], 1),
        "speedup_server_side_vs_kubectl": round(
            runs["kubectl diff"]["wall"] / runs["server-side"]["wall"], 1
        ),
    }
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    shutil.rmtree(work, ignore_errors=True)
    ok = (
        figures["speedup_fast_vs_kubectl"] >= 10
        and runs["fast"]["lists"] <= type_namespace_pairs + hpa_lists
        and agree["same objects"]
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
