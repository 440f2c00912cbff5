"""Benchmark promotions on a large repository.

Builds (in a temporary folder) a GitOps repository with 60 components and 10,000 commits, of
which 1,000 are promotions into prod carrying the usual trailers; the history is written with
``git fast-import`` so generating it takes seconds. Then times, in-process:

* ``promote staging prod`` end to end (plan, edit, render, commit on a new branch);
  target <= 2 s;
* ``history prod`` over the 1,000 promotions; target <= 1 s;

and prints the peak memory. Run: ``python benchmarks/promote_bench.py [--commits N]``.
"""

from __future__ import annotations

import argparse
import os
import platform as host
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import yaml

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from gitops_gen.gitrepo import GitRepo  # noqa: E402
from gitops_gen.model import load_platform  # noqa: E402
from gitops_gen.promote import Options, promote  # noqa: E402
from gitops_gen.promote.trailers import read_history  # noqa: E402
from gitops_gen.render import apply_plan, plan_render  # noqa: E402

COMPONENTS = 60
TARGET_PROMOTE = 2.0
TARGET_HISTORY = 1.0


def git(repo: Path, *args: str, stdin: bytes | None = None) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, input=stdin, check=True, capture_output=True
    ).stdout.decode()


def write_platform(root: Path) -> int:
    """The Aether catalog plus generated services up to COMPONENTS components."""
    catalog = yaml.safe_load((PROJECT / "environments/platform.yaml").read_text())
    existing = (
        len(catalog["dependencies"])
        + 1  # the platform chart
        + len(catalog["services"])
        + len(catalog["pipelines"])
        + sum(1 for k in ("feast", "ui", "bootstrap") if catalog.get(k))
    )
    for i in range(COMPONENTS - existing):
        catalog["services"][f"bench-svc-{i:02d}"] = {
            "image": f"ghcr.io/aether/bench-svc-{i:02d}",
            "secrets": ["fastapi-secrets"],
        }
    (root / "environments").mkdir(parents=True)
    (root / "environments/platform.yaml").write_text(yaml.safe_dump(catalog, sort_keys=False))
    envs = {
        "dev": ("dev", None, "3.0.0-rc.1"),
        "staging": ("staging", "dev", "2.14.0"),
        "prod": ("prod", "staging", "2.13.2"),
    }
    for name, (tier, source, tag) in envs.items():
        lines = [
            f"# {name}: generated for the promotion benchmark",
            f"tier: {tier}",
            f"cluster: {{name: {name}-eu1, server: https://{name}-eu1.k8s.example.com}}",
            "namespace: aether",
            f"domain: {name}.aether.example.com",
        ]
        if source:
            lines.append(f"promotedFrom: {source}")
        lines += [f"platform: {{revision: v{tag}}}  # app-repo revision", "", "dependencies:"]
        chart = {"dev": "2.0.0", "staging": "1.1.0", "prod": "1.0.0"}[name]
        lines += [f"  {dep}: {{chart: {chart}}}" for dep in catalog["dependencies"]]
        lines += ["", "services:"]
        lines += [f'  {svc}: {{tag: "{tag}", replicas: 2}}' for svc in catalog["services"]]
        lines += ["", "pipelines:"]
        lines += [f'  {p}: {{tag: "{tag}"}}' for p in catalog["pipelines"]]
        lines += ["", f'feast: {{tag: "{tag}"}}', f'ui: {{tag: "{tag}"}}']
        lines += [f'bootstrap: {{tag: "{tag}"}}', ""]
        (root / f"environments/{name}.yaml").write_text("\n".join(lines))
    return COMPONENTS


def fast_import(root: Path, commits: int, promotions: int) -> None:
    """``commits`` commits on main, every (commits // promotions)-th one a promotion."""
    every = max(1, commits // promotions)
    chunks: list[bytes] = []
    stamp = 1_700_000_000
    made = 0
    for i in range(commits):
        is_promotion = i % every == every - 1 and made < promotions
        if is_promotion:
            made += 1
            pid = f"{made:012x}"
            message = (
                f"promote(prod): 2 components from staging\n\n"
                f"Promote 2 components of staging to prod.\n\n"
                f"Promoted-From: staging@{'a' * 40}\nPromoted-To: prod\n"
                f"Promotion-Id: {pid}\n"
                f"Component: risk-service 2.13.{made} -> 2.13.{made + 1}\n"
                f"Component: kafka 31.0.{made} -> 31.0.{made + 1}\n"
            )
        else:
            message = f"docs: note {i}\n"
        data = f"note {i}\n".encode()
        msg = message.encode()
        chunks.append(
            b"commit refs/heads/main\n"
            + f"author Bench <bench@example.com> {stamp + i} +0000\n".encode()
            + f"committer Bench <bench@example.com> {stamp + i} +0000\n".encode()
            + f"data {len(msg)}\n".encode()
            + msg
            + (b"from refs/heads/main^0\n" if i == 0 else b"")
            + f"M 100644 inline notes/{i % 200:03d}.txt\n".encode()
            + f"data {len(data)}\n".encode()
            + data
            + b"\n"
        )
    git(root, "fast-import", "--quiet", "--force", stdin=b"".join(chunks))
    git(root, "reset", "-q", "--hard", "main")


def build(root: Path, commits: int, promotions: int) -> int:
    components = write_platform(root)
    shutil.copytree(PROJECT / "gitops_gen/scaffold/templates", root / "templates")
    git(root, "init", "-q", "-b", "main")
    apply_plan(root, plan_render(load_platform(root)))
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    fast_import(root, commits - 1, promotions)
    return components


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=10_000)
    parser.add_argument("--promotions", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    for key, value in {
        "GIT_AUTHOR_NAME": "Bench",
        "GIT_AUTHOR_EMAIL": "bench@example.com",
        "GIT_COMMITTER_NAME": "Bench",
        "GIT_COMMITTER_EMAIL": "bench@example.com",
    }.items():
        os.environ.setdefault(key, value)
    work = Path(tempfile.mkdtemp(prefix="promote-bench-"))
    try:
        root = work / "repo"
        root.mkdir()
        t0 = time.perf_counter()
        components = build(root, args.commits, args.promotions)
        built = time.perf_counter() - t0
        count = git(root, "rev-list", "--count", "HEAD").strip()
        print(
            f"machine: {host.processor() or host.machine()}, {os.cpu_count()} cores, "
            f"Python {host.python_version()}, {git(root, 'version').strip()}, "
            f"load average {os.getloadavg()[0]:.1f}"
        )
        print(f"method: median of {args.runs} runs each (no warm-up run), spread min-max")
        print(f"repository: {count} commits, {components} components (built in {built:.1f} s)")

        # timed runs first: tracemalloc slows Python down severalfold, so it only runs after
        promote_times = []
        moved = 0
        for run in range(args.runs):
            t = time.perf_counter()
            outcome = promote(root, "staging", "prod", Options(branch=f"bench/promote-{run}"))
            promote_times.append(time.perf_counter() - t)
            moved = len(outcome.plan.moves)
        history_times = []
        entries = 0
        repo = GitRepo(root)
        for _ in range(args.runs):
            t = time.perf_counter()
            entries = len(read_history(repo, "prod"))
            history_times.append(time.perf_counter() - t)
        tracemalloc.start()
        promote(root, "staging", "prod", Options(branch="bench/promote-memory"))
        read_history(repo, "prod")
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

        p_med, h_med = statistics.median(promote_times), statistics.median(history_times)
        print(
            f"promote staging->prod ({moved} components): median {p_med:.3f} s, "
            f"runs {', '.join(f'{x:.3f}' for x in promote_times)} "
            f"[target <= {TARGET_PROMOTE} s: {'ok' if p_med <= TARGET_PROMOTE else 'MISSED'}]"
        )
        print(
            f"history prod ({entries} promotions): median {h_med:.3f} s, "
            f"runs {', '.join(f'{x:.3f}' for x in history_times)} "
            f"[target <= {TARGET_HISTORY} s: {'ok' if h_med <= TARGET_HISTORY else 'MISSED'}]"
        )
        print(
            f"peak memory: Python heap {peak / 2**20:.1f} MiB, max RSS {rss:.0f} MiB "
            f"(largest git child {child:.0f} MiB)"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
