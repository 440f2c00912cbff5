"""Benchmark hydration.

Sets up (in a temporary folder) the test environment's loopback chart repository with the
stand-in dependency charts, the local app repository with the stand-in platform chart, and a
copy of the Aether GitOps repository pinned to it, then times in-process:

* hydrating every Application of dev, staging and prod with a cold chart cache, then warm;
* ``promote staging prod --hydrated`` end to end with a warm cache, body included: the Aether
  environments' promotion (a chart bump and image tags), with staging on a newer app-repository
  commit and prod's hold lifted, so 21 components move; target <= 5 s.

Run: ``python benchmarks/hydrate_bench.py`` (needs helm: ``make helm-bin``).
"""

from __future__ import annotations

import os
import platform as host
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from gitops_gen.hydrate import Fetcher, hydrate_environment  # noqa: E402
from gitops_gen.model import load_platform  # noqa: E402
from gitops_gen.promote import Options, promote  # noqa: E402
from gitops_gen.promote.hydrated import HydrationSetup  # noqa: E402
from tests.helpers import git  # noqa: E402
from tests.hydrate_support import aether_copy, ensure_helm, local_sources  # noqa: E402

ENVIRONMENTS = ("dev", "staging", "prod")
TARGET_PROMOTION = 5.0
RUNS = 3


def hydrate_all(repo: Path, url_map: dict[str, str]) -> tuple[float, int, int, list[str]]:
    """Every Application of the three environments; (seconds, Applications, objects, failed)."""
    platform = load_platform(repo)
    start = time.perf_counter()
    apps = objects = 0
    failed: list[str] = []
    for env in ENVIRONMENTS:
        results = hydrate_environment(platform, env, fetcher=Fetcher(url_map=url_map))
        failed += [r.name for r in results if r.error]
        apps += len(results)
        objects += sum(len(r.objects) for r in results)
    return time.perf_counter() - start, apps, objects, failed


def twenty_one_components(repo: Path, app_repo: Path) -> None:
    """staging on a second app-repository commit, prod's hold lifted: 21 components move."""
    values = app_repo / "deploy/helm/aether-platform/values.yaml"
    values.write_text(values.read_text() + "# a later chart commit\n")
    git(app_repo, "commit", "-q", "-am", "chart: a later commit")
    newer = git(app_repo, "rev-parse", "HEAD").strip()
    staging = repo / "environments/staging.yaml"
    staging.write_text(
        re.sub(r"(?m)^platform: \{revision: [^}]+\}", f"platform: {{revision: {newer}}}",
               staging.read_text())
    )  # fmt: skip
    prod = repo / "environments/prod.yaml"
    prod.write_text(re.sub(r"(?m)^holds:\n(  .*\n)+", "", prod.read_text()))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "benchmark: 21 components to promote")
    render = subprocess.run(
        [sys.executable, "-m", "gitops_gen.cli", "--repo", str(repo), "render"],
        capture_output=True,
        text=True,
        check=False,
    )
    if render.returncode != 0:
        raise SystemExit(f"render failed: {render.stderr}")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "benchmark: render")


def main() -> int:
    ensure_helm()
    work = Path(tempfile.mkdtemp(prefix="hydrate-bench-", dir=PROJECT / ".venv"))
    try:
        with local_sources(work / "sources") as sources:
            url_map = sources.url_map()
            repo = aether_copy(work / "aether", sources)
            os.environ["XDG_CACHE_HOME"] = str(work / "cache")

            twenty_one_components(repo, sources.app_repo.path)
            cold, apps, objects, failed = hydrate_all(repo, url_map)
            warm_runs = [hydrate_all(repo, url_map)[0] for _ in range(RUNS)]
            setup = HydrationSetup(url_map=url_map)
            promo_runs = []
            for i in range(RUNS):
                start = time.perf_counter()
                outcome = promote(
                    repo, "staging", "prod", Options(branch=f"bench/{i}", hydrated=setup)
                )
                promo_runs.append(time.perf_counter() - start)
                git(repo, "branch", "-D", f"bench/{i}")
            changed = len(outcome.plan.changed_objects or ())
            moves = len(outcome.plan.moves)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    warm = statistics.median(warm_runs)
    promo = statistics.median(promo_runs)
    load = os.getloadavg()[0]
    print(
        f"machine: {host.machine()}, {os.cpu_count()} CPUs, Python {host.python_version()}, "
        f"load average {load:.1f}"
    )
    print(f"hydrate dev+staging+prod ({apps} Applications, {objects} objects):")
    print(f"  cold cache: {cold:.2f} s")
    print(f"  warm cache: {warm:.2f} s (median of {RUNS})")
    if failed:
        # helm ran for them and refused the values: the render's values do not fit the
        # stand-in platform chart yet (see docs/hydration.md)
        print(f"  not hydrated (helm refused the values): {', '.join(failed)}")
    print(
        f"promote staging prod --hydrated ({moves} components, {changed} changed objects, "
        f"body {len(outcome.body):,} chars): {promo:.2f} s warm (median of {RUNS}); "
        f"target <= {TARGET_PROMOTION:.0f} s: {'met' if promo <= TARGET_PROMOTION else 'MISSED'}"
    )
    return 0 if promo <= TARGET_PROMOTION else 1


if __name__ == "__main__":
    sys.exit(main())
