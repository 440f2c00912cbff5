"""``gitops-gen doctor``."""

from __future__ import annotations

import click
from rich.text import Text

from gitops_gen.context import AppContext
from gitops_gen.doctor import run_checks, summary
from gitops_gen.errors import ExitCode
from gitops_gen.output import emit, output_option

STYLES = {"ok": "green", "warn": "yellow", "fail": "bold red"}


@click.command("doctor")
@click.option("--offline", is_flag=True, help="Do not contact the git remotes.")
@output_option()
@click.pass_obj
def doctor_command(app: AppContext, offline: bool, output: str) -> None:
    """Check that this machine and repository are ready, one line per check with its fix.

    sops, helm and git (found where the commands look, new enough); environments/ loads; per
    environment an age key that can decrypt its secrets, and the kubeconfig context drift uses
    (cluster.kubeContext, else the cluster's name) pointing at its server; the git remotes
    answer and one is platform.gitopsRepo. Exit 0 when nothing fails (warnings allowed), 1 when
    a check fails.
    """
    checks = run_checks(app.repo_option, offline=offline)
    counts = summary(checks)

    def text() -> None:
        for check in checks:
            line = Text(check.line())
            line.stylize(STYLES[check.status], 0, 4)
            app.out.print(line)
        app.info(f"{counts['ok']} ok, {counts['warn']} warnings, {counts['fail']} failed")

    emit(
        output,
        {"checks": [c.to_json() for c in checks], "summary": counts},
        text=text,
    )
    if counts["fail"]:
        raise click.exceptions.Exit(ExitCode.FINDINGS)
