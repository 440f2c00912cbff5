"""Render benchmark: a synthetic platform of 20 environments x 60 Applications, and 4x, 16x.

Each size runs in a fresh subprocess (load, plan, write clusters/ from scratch) so the peak
memory figure belongs to that size alone. Prints wall time and peak RSS per size.

    .venv/bin/python benchmarks/render_bench.py [--scales 1,4,16] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENVIRONMENTS = 20
APPS_PER_ENV = 60  # dependencies + the platform chart + the UI + the drift audit
SERVICES = 20


def build_platform(root: Path, environments: int) -> None:
    (root / "environments").mkdir(parents=True)
    shutil.copytree(ROOT / "templates", root / "templates")
    (root / ".git").mkdir()  # the renderer only needs to find the repository root
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


def measure(environments: int, repeat: int) -> dict[str, float]:
    best: dict[str, float] | None = None
    for _ in range(repeat):
        # inside the project, as a real render writes into the repository: on some machines
        # the system temp folder shares its disk with busier services and skews the figures
        with tempfile.TemporaryDirectory(prefix=".render-bench-", dir=ROOT) as tmp:
            root = Path(tmp)
            build_platform(root, environments)
            out = subprocess.run(
                [sys.executable, "-c", RUN_ONE, str(root)],
                check=True,
                capture_output=True,
                text=True,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            ).stdout
            result = json.loads(out)
            if best is None or result["total_s"] < best["total_s"]:
                best = result
    assert best is not None
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scales", default="1,4,16")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(
        f"{'scale':>5} {'apps':>6} {'files':>6} {'load':>7} {'plan':>7} {'write':>7} "
        f"{'total':>7} {'peak MiB':>9}"
    )
    base = None
    for scale in (int(s) for s in args.scales.split(",")):
        r = measure(ENVIRONMENTS * scale, args.repeat)
        base = base or r["total_s"] / scale
        print(
            f"{scale:>4}x {int(r['applications']):>6} {int(r['files']):>6} {r['load_s']:>6.2f}s "
            f"{r['plan_s']:>6.2f}s {r['write_s']:>6.2f}s {r['total_s']:>6.2f}s "
            f"{r['peak_rss_mib']:>9.0f}   (x{r['total_s'] / base / scale:.2f} of linear)"
        )


if __name__ == "__main__":
    main()
