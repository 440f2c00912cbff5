"""Render benchmark: a synthetic platform of 20 environments x 60 Applications, and 4x, 16x.

Two figures:

* in-process phases: each size runs in a fresh subprocess (load, plan, write clusters/ from
  scratch, timed after the imports) so the peak memory figure belongs to that size alone;
* end to end: the `gitops-gen render` CLI process itself (imports included), in a real git
  repository, rendering clusters/ from scratch: the embedded Aether repository with its
  encrypted secrets (copied into clusters/ and the sops operator's Application), and the
  synthetic 1x platform.

Every figure is the median of --repeat runs after one discarded warm-up run, with the spread
(min-max) beside it; the 1-minute load average is printed, as the machine is shared.

    .venv/bin/python benchmarks/render_bench.py [--scales 1,4,16] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.helpers import copy_aether, git  # noqa: E402

ENVIRONMENTS = 20
APPS_PER_ENV = 60  # dependencies + the platform chart + the UI + the drift audit
SERVICES = 20


def build_platform(root: Path, environments: int) -> None:
    (root / "environments").mkdir(parents=True)
    shutil.copytree(ROOT / "templates", root / "templates")
    dependencies = APPS_PER_ENV - 3  # + the platform chart, the UI and the drift audit
    lines = [
        "platform:",
        "  name: bench",
        "  gitopsRepo: https://git.example.com/bench/gitops.git",
        "  appRepo: https://git.example.com/bench/app.git",
        "  chartPath: deploy/helm/bench",
        "dependencies:",
    ]
    for d in range(dependencies):
        lines += [
            f"  dep-{d:02d}:",
            f"    repoURL: https://charts.example.com/repo-{d % 7}",
            f"    chart: chart-{d:02d}",
            f"    host: dep-{d:02d}",
            "    port: 5432",
            "    values: {fullnameOverride: x, persistence: {size: 8Gi}, replicas: 1}",
        ]
    lines.append("services:")
    for s in range(SERVICES):
        lines += [
            f"  svc-{s:02d}:",
            f"    image: ghcr.io/bench/svc-{s:02d}",
            "    resources: {requests: {cpu: 100m, memory: 128Mi}, limits: {cpu: 500m}}",
            "    hpa: {min: 2, max: 4}",
            "    pdb: {minAvailable: 1}",
            f"    ingress: {{host: svc-{s:02d}}}",
            "    secrets: [shared-db]",
        ]
    lines += [
        "ui: {image: ghcr.io/bench/ui, ingress: {host: app}, apiService: svc-00}",
        "secrets:",
        "  shared-db: {keys: [dsn]}",
    ]
    (root / "environments/platform.yaml").write_text("\n".join(lines) + "\n")
    for e in range(environments):
        env = [
            "tier: dev" if e == 0 else "tier: staging",
            f"cluster: {{name: cluster-{e % 10}, server: https://c{e % 10}.example.com}}",
            f"namespace: ns-{e:03d}",
            f"domain: e{e:03d}.example.com",
        ]
        if e:
            env.append(f"promotedFrom: env-{e - 1:03d}")
        env += ["platform: {revision: v1.0.0}", "dependencies:"]
        env += [f"  dep-{d:02d}: {{chart: 1.{d}.0}}" for d in range(dependencies)]
        env.append("services:")
        env += [f'  svc-{s:02d}: {{tag: "1.0.{e}"}}' for s in range(SERVICES)]
        env.append('ui: {tag: "1.0.0"}')
        (root / f"environments/env-{e:03d}.yaml").write_text("\n".join(env) + "\n")


RUN_ONE = """
import json, resource, sys, time
from pathlib import Path
started = time.perf_counter()
from gitops_gen.model import load_platform
from gitops_gen.render import apply_plan, plan_render
imported = time.perf_counter()
platform = load_platform(Path(sys.argv[1]))
loaded = time.perf_counter()
plan = plan_render(platform)
planned = time.perf_counter()
apply_plan(Path(sys.argv[1]), plan)
done = time.perf_counter()
print(json.dumps({
    "applications": sum(len(a) for a in plan.applications.values()),
    "files": len(plan.files),
    "load_s": loaded - imported, "plan_s": planned - loaded, "write_s": done - planned,
    "total_s": done - imported,
    "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


def _new_platform(parent: Path, environments: int) -> Path:
    root = parent / "platform"
    build_platform(root, environments)
    git(root, "init", "-q", "-b", "main")
    return root


def measure(environments: int, repeat: int) -> dict[str, float]:
    """Median of each phase over ``repeat`` runs (one discarded warm-up first)."""
    results = []
    for run in range(repeat + 1):
        # inside the project, as a real render writes into the repository: on some machines
        # the system temp folder shares its disk with busier services and skews the figures
        with tempfile.TemporaryDirectory(prefix=".render-bench-", dir=ROOT) as tmp:
            root = _new_platform(Path(tmp), environments)
            out = subprocess.run(
                [sys.executable, "-c", RUN_ONE, str(root)],
                check=True,
                capture_output=True,
                text=True,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            ).stdout
            if run:
                results.append(json.loads(out))
    summary = {key: statistics.median(r[key] for r in results) for key in results[0]}
    summary["min_s"] = min(r["total_s"] for r in results)
    summary["max_s"] = max(r["total_s"] for r in results)
    summary["peak_rss_mib"] = max(r["peak_rss_mib"] for r in results)
    return summary


CLI_RUN = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
wall = time.perf_counter() - started
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"code": done.returncode, "wall_s": wall, "peak_rss_mib": rss,
                  "stderr": done.stderr}))
"""


def measure_cli(repo: Path, repeat: int) -> dict[str, float | str]:
    """`gitops-gen render` as a user runs it: a new process each time, clusters/ from scratch."""
    cli = str(Path(sys.executable).with_name("gitops-gen"))
    results = []
    for run in range(repeat + 1):
        shutil.rmtree(repo / "clusters", ignore_errors=True)
        out = subprocess.run(
            [sys.executable, "-c", CLI_RUN, cli, "--repo", str(repo), "render"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        result = json.loads(out)
        assert result["code"] == 0, result["stderr"]
        if run:
            results.append(result)
    walls = [r["wall_s"] for r in results]
    return {
        "wall_s": statistics.median(walls),
        "min_s": min(walls),
        "max_s": max(walls),
        "peak_rss_mib": max(r["peak_rss_mib"] for r in results),
        "summary": results[-1]["stderr"].strip().splitlines()[-1].split(": ", 1)[-1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scales", default="1,4,16")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; "
        f"median of {args.repeat} runs after 1 warm-up, spread min-max"
    )
    print(
        f"{'scale':>5} {'apps':>6} {'files':>6} {'load':>7} {'plan':>7} {'write':>7} "
        f"{'total':>7} {'spread':>13} {'peak MiB':>9}"
    )
    base = None
    for scale in (int(s) for s in args.scales.split(",")):
        r = measure(ENVIRONMENTS * scale, args.repeat)
        base = base or r["total_s"] / scale
        print(
            f"{scale:>4}x {int(r['applications']):>6} {int(r['files']):>6} {r['load_s']:>6.2f}s "
            f"{r['plan_s']:>6.2f}s {r['write_s']:>6.2f}s {r['total_s']:>6.2f}s "
            f"{r['min_s']:>5.2f}-{r['max_s']:.2f}s {r['peak_rss_mib']:>9.0f}   "
            f"(x{r['total_s'] / base / scale:.2f} of linear)"
        )
    print("end to end: `gitops-gen render` process, real git repository, clusters/ from scratch")
    with tempfile.TemporaryDirectory(prefix=".render-bench-", dir=ROOT) as tmp:
        cases = {
            "aether (secrets included)": copy_aether(Path(tmp) / "aether"),
            "synthetic 1x": _new_platform(Path(tmp) / "synthetic", ENVIRONMENTS),
        }
        for name, repo in cases.items():
            e2e = measure_cli(repo, args.repeat)
            print(
                f"  {name}: {e2e['wall_s']:.2f} s ({e2e['min_s']:.2f}-{e2e['max_s']:.2f} s), "
                f"peak RSS {e2e['peak_rss_mib']:.0f} MiB; {e2e['summary']}"
            )
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
