"""``gitops-gen validate``."""

from __future__ import annotations

import json

import click
from rich.table import Table

from gitops_gen.commands.options import environments_argument, output_option
from gitops_gen.context import AppContext
from gitops_gen.errors import ExitCode
from gitops_gen.model import load_platform
from gitops_gen.validate import validate_platform
from gitops_gen.validate.chart import RULES as CHART_RULES
from gitops_gen.validate.findings import Severity
from gitops_gen.validate.policies import POLICIES


@click.command("validate")
@environments_argument()
@output_option("table", "json", default="table")
@click.option("--list-rules", is_flag=True, help="Print the policies and exit.")
@click.pass_obj
def validate_command(
    app: AppContext, environments: tuple[str, ...], output: str, list_rules: bool
) -> None:
    """Check environments and everything render would produce for them.

    Environment files against their schema; core Kubernetes objects against the Kubernetes
    schemas; Argo CD Applications and AppProjects for what Argo CD requires (project,
    destination, sources, sync options, waves); the platform policies (see --list-rules); and
    the platform values against the chart at platform.revision (fetched from platform.appRepo,
    cached by commit): keys its values.schema.json rejects and keys its templates never read.
    Exit 0 clean (warnings allowed), 1 error findings, 2 input error.
    """
    if list_rules:
        for policy in POLICIES:
            click.echo(f"{policy.id}  {policy.rule}")
        for rule, text in CHART_RULES.items():
            click.echo(f"{rule}  {text}")
        return
    platform = load_platform(app.root)
    selected = list(environments) or None
    findings = validate_platform(platform, selected)
    names = selected or sorted(platform.environments)
    if output == "json":
        click.echo(
            json.dumps(
                {
                    "environments": names,
                    "findings": [f.to_json() for f in findings],
                    "summary": {"findings": len(findings)},
                },
                indent=2,
            )
        )
    elif findings:
        table = Table(title="validation findings")
        for column in ("environment", "rule", "location", "message"):
            table.add_column(column, overflow="fold")
        for finding in findings:
            table.add_row(finding.environment, finding.rule, finding.location, finding.message)
        app.out.print(table)
    else:
        app.info(f"validated {', '.join(names)}: no findings")
    # Warnings (e.g. a chart that cannot be fetched) are shown but do not fail the run.
    if any(f.severity is Severity.ERROR for f in findings):
        raise click.exceptions.Exit(ExitCode.FINDINGS)
