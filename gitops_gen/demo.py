"""``make demo``: render and validate the embedded Aether platform, then summarise.

Runs the same core functions as the CLI on this repository (the embedded Aether GitOps repo).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from gitops_gen.errors import GitopsGenError
from gitops_gen.model import load_platform
from gitops_gen.promote import dry_run_report
from gitops_gen.render import apply_plan, plan_render
from gitops_gen.secrets import secrets_summary
from gitops_gen.validate import validate_platform
from gitops_gen.validate.findings import Severity


def run(root: Path, console: Console) -> int:
    started = time.perf_counter()
    platform = load_platform(root)
    plan = plan_render(platform)
    result = apply_plan(root, plan)
    rendered_in = time.perf_counter() - started
    console.print(
        f"[bold]render[/bold]: {len(plan.files)} files under clusters/ in {rendered_in:.2f}s "
        f"({len(result.added)} added, {len(result.changed)} changed, "
        f"{len(result.removed)} removed)"
    )
    findings = validate_platform(platform)
    table = Table(title=f"{platform.name}: rendered and validated")
    for column in ("environment", "tier", "cluster", "applications", "components", "findings"):
        table.add_column(column)
    for name in platform.promotion_order():
        env = platform.environments[name]
        table.add_row(
            name,
            env.tier,
            env.cluster_name,
            str(len(plan.applications[name])),
            str(len(env.components)),
            str(sum(1 for f in findings if f.environment == name)),
        )
    console.print(table)
    for finding in findings:
        console.print(
            f"  {finding.environment} {finding.rule} {finding.location}: {finding.message}"
        )
    secrets = Table(title="encrypted secrets (read without any key)")
    for column in ("environment", "secrets", "missing keys", "recipients"):
        secrets.add_column(column, overflow="fold")
    for status in secrets_summary(platform):
        missing = [*status.missing_secrets, *status.missing_keys]
        secrets.add_row(
            status.environment,
            f"{status.present}/{len(status.secrets)}",
            ", ".join(missing) or "none",
            "\n".join(status.recipients) or "none",
        )
    console.print(secrets)
    console.rule("dry-run promotion staging -> prod (nothing is written)")
    # markup=False: the body holds [brackets] and Markdown that rich must print verbatim
    console.print(dry_run_report(root, "staging", "prod"), markup=False)
    return 1 if any(f.severity is Severity.ERROR for f in findings) else 0


def main() -> None:
    console = Console(highlight=False, soft_wrap=True)
    try:
        sys.exit(run(Path.cwd(), console))
    except GitopsGenError as exc:
        console.print(f"error: {exc.message}")
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
