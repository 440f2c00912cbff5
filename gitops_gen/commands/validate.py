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
    destination, sources, sync options, waves); and the platform policies (see --list-rules).
    Exit 0 clean, 1 findings, 2 input error.
    """
    if list_rules:
        for policy in POLICIES:
            click.echo(f"{policy.id}  {policy.rule}")
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
    if findings:
        raise click.exceptions.Exit(ExitCode.FINDINGS)
