"""Benchmark: `gitops-gen drift` (fast and --server-side) against `kubectl diff -f`.

On a real kube-apiserver (tests/testenv/kube.py): 2,000 live objects across 10 kinds and 4
namespaces, created the way `kubectl apply` does. Every tool reads the same manifests in the
same run and is run alike: the same warm-up runs (discarded), then the same number of timed
runs, reported as the median and the spread (min-max). Also per tool: API requests, peak memory
(max RSS of the process, against the scheduled job's 512 MiB limit). Then 25 objects are drifted
and the objects each tool reports are compared.

Two ratios: `--server-side` against `kubectl diff` is like for like (both ask the API server
for a dry-run apply of every object); the fast mode LISTs each type once and compares locally,
a different method, so its ratio is reported beside it, never instead of it.

kubectl's request count comes from one extra run with `-v=6` (its logging would slow the
timed runs, which gitops-gen does not pay for).

At sizes where a `kubectl diff` run takes many minutes, `--no-request-count` skips that extra
run and `--no-agreement` the injected-drift comparison; the figures then say so (null).

    python benchmarks/drift_bench.py [--objects 2000] [--runs 3] [--warmup 1] [--json out.json]
        [--tools fast,server-side,kubectl diff] [--no-request-count] [--no-agreement]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
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
JOB_MEMORY_LIMIT_MIB = 512  # the rendered drift CronJob's container limit
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


def changed_objects(tool: str, stdout: str) -> set[str]:
    return kubectl_changed(stdout) if tool == "kubectl diff" else drift_changed(stdout)


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
    changes: dict[str, list[dict[str, Any]]] = {
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
    parser.add_argument("--runs", type=int, default=3, help="timed runs per tool (median)")
    parser.add_argument("--warmup", type=int, default=1, help="discarded runs per tool first")
    parser.add_argument(
        "--tools",
        default="fast,server-side,kubectl diff",
        help="comma-separated subset, run in this order (kubectl diff takes minutes per run "
        "at 20,000 objects)",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument(
        "--no-request-count",
        dest="request_count",
        action="store_false",
        help="skip the extra `kubectl diff -v=6` run that counts kubectl's API requests",
    )
    parser.add_argument(
        "--no-agreement",
        dest="agreement",
        action="store_false",
        help="skip injecting 25 drifts and comparing what each tool reports",
    )
    args = parser.parse_args()
    args.tools = [name.strip() for name in args.tools.split(",")]
    per_namespace = args.objects // (NAMESPACES * KINDS)
    gitops_gen = str(Path(sys.executable).with_name("gitops-gen"))
    kubectl = shutil.which("kubectl")
    if kubectl is None and "kubectl diff" in args.tools:
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
        print(
            f"created {len(objects)} objects in {time.perf_counter() - started:.1f} s, "
            f"load {os.getloadavg()[0]:.1f}",
            flush=True,
        )
        manifests = work / "manifests"
        manifests.mkdir()
        for n in range(NAMESPACES):
            docs = [o for o in objects if o["metadata"]["namespace"] == f"bench-{n}"]
            (manifests / f"bench-{n}.yaml").write_text(yaml.safe_dump_all(docs, sort_keys=False))

        def drift(*extra: str, expect: int) -> dict[str, Any]:
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
            assert result["code"] == expect, result["stderr"][-2000:]
            summary = json.loads(result["stdout"])["summary"]
            result["requests"] = summary["apiRequests"]
            result["lists"] = summary["lists"]
            return result

        def kubectl_diff(*extra: str, expect: int) -> dict[str, Any]:
            assert kubectl is not None
            argv = [kubectl, "--kubeconfig", str(cluster.kubeconfig), "diff", "-f", str(manifests)]
            result = measure([*argv, *extra])
            assert result["code"] == expect, result["stderr"][-2000:]
            return result

        tools = {
            "fast": lambda expect: drift(expect=expect),
            "server-side": lambda expect: drift("--server-side", expect=expect),
            "kubectl diff": lambda expect: kubectl_diff(expect=expect),
        }
        # in the order given: at sizes where a run may not finish in time, the first matter most
        tools = {name: tools[name] for name in args.tools if name in tools}

        def alike(name: str, expect: int, warmup: int, timed: int) -> dict[str, Any]:
            """Warm-up runs (discarded), then the timed runs: the same for every tool."""
            load_before = os.getloadavg()[0]
            for _ in range(warmup):
                warm = tools[name](expect)
                # printed as it finishes: a long run that is stopped still leaves its figures
                print(f"{name}: warm-up run {warm['wall']:.2f} s (discarded)", flush=True)
            results = []
            for _ in range(timed):
                results.append(tools[name](expect))
                print(f"{name}: timed run {results[-1]['wall']:.2f} s", flush=True)
            walls = [r["wall"] for r in results]
            summary = dict(results[-1])
            summary.update(
                median=statistics.median(walls),
                min=min(walls),
                max=max(walls),
                walls=walls,
                rss_kib=max(r["rss_kib"] for r in results),
                load=(load_before, os.getloadavg()[0]),
            )
            print(
                f"{name}: median {summary['median']:.2f} s "
                f"(runs {', '.join(f'{w:.2f}' for w in walls)}), "
                f"peak RSS {summary['rss_kib'] / 1024:.0f} MiB, "
                f"load {load_before:.1f} -> {summary['load'][1]:.1f}",
                flush=True,
            )
            return summary

        runs = {name: alike(name, 0, args.warmup, args.runs) for name in tools}
        if "kubectl diff" in runs and args.request_count:
            # requests counted on one extra, untimed run: -v=6 logs one line per request
            logged = kubectl_diff("-v=6", expect=0)
            runs["kubectl diff"]["requests"] = kubectl_requests(logged["stderr"])
        clean = {name: len(changed_objects(name, r["stdout"])) for name, r in runs.items()}
        drifted: dict[str, dict[str, Any]] = {}
        agree: dict[str, Any] | None = None
        if args.agreement:
            touched = set(inject(kube, objects))
            # with drift: what each tool reports is compared; one run each, timed alike
            drifted = {name: alike(name, 1, 0, 1) for name in tools}
            reported = {name: changed_objects(name, r["stdout"]) for name, r in drifted.items()}
            agree = {"injected": len(touched)}
            agree.update({name: found == touched for name, found in reported.items()})
            agree["same objects"] = len({frozenset(found) for found in reported.values()}) == 1
        kube.close()
    kinds = len({o["kind"] for o in objects})
    type_namespace_pairs = len({(o["kind"], o["metadata"]["namespace"]) for o in objects})
    # HPAs are listed once per namespace holding Deployments (for HPA-owned replicas)
    hpa_lists = len({o["metadata"]["namespace"] for o in objects if o["kind"] == "Deployment"})

    def figure(r: dict[str, Any]) -> dict[str, Any]:
        return {
            "median_s": round(r["median"], 2),
            "min_s": round(r["min"], 2),
            "max_s": round(r["max"], 2),
            "requests": r.get("requests"),
            "peak_rss_mib": round(r["rss_kib"] / 1024, 1),
            "load_1min": [round(x, 1) for x in r["load"]],
            **({"lists": r["lists"]} if "lists" in r else {}),
        }

    figures = {
        "objects": len(objects),
        "kinds": kinds,
        "typeNamespacePairs": type_namespace_pairs,
        "hpaLists": hpa_lists,
        "method": {"warmup": args.warmup, "runs": args.runs, "wall": "median, min-max spread"},
        "cpus": os.cpu_count(),
        "clean": {name: figure(r) for name, r in runs.items()},
        "cleanFindings": clean,
        "drifted": {name: figure(r) for name, r in drifted.items()},
        "agreement": agree,
        "jobMemoryLimitMiB": JOB_MEMORY_LIMIT_MIB,
    }
    if "kubectl diff" in runs:
        reference = runs["kubectl diff"]["median"]
        if "server-side" in runs:
            # like for like: both dry-run apply every object on the API server
            figures["ratio_server_side_vs_kubectl_like_for_like"] = round(
                reference / runs["server-side"]["median"], 1
            )
        if "fast" in runs:
            # a different method (LIST once per type, compare locally)
            figures["ratio_fast_vs_kubectl"] = round(reference / runs["fast"]["median"], 1)
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    shutil.rmtree(work, ignore_errors=True)
    ok = agree is None or (
        agree["same objects"] and all(v for k, v in agree.items() if k != "injected")
    )
    if "fast" in runs:
        ok = ok and runs["fast"]["lists"] <= type_namespace_pairs + hpa_lists
        ok = ok and runs["fast"]["rss_kib"] / 1024 < JOB_MEMORY_LIMIT_MIB
    if "ratio_fast_vs_kubectl" in figures:
        ok = ok and figures["ratio_fast_vs_kubectl"] >= 10
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
