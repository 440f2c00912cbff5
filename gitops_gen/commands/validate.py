"""``gitops-gen validate``."""

from __future__ import annotations

import click

from gitops_gen.commands.options import environments_argument, output_option
from gitops_gen.context import AppContext
from gitops_gen.errors import ExitCode
from gitops_gen.model import load_platform
from gitops_gen.output import Rows, emit
from gitops_gen.validate import validate_platform
from gitops_gen.validate.policies import POLICIES


@click.command("validate")
@environments_argument()
@output_option()
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
        rules = [{"id": p.id, "rule": p.rule} for p in POLICIES]
        lines = "".join(f"{r['id']}  {r['rule']}\n" for r in rules)
        emit(output, {"rules": rules}, kind="validate-rules", text=lines)
        return
    platform = load_platform(app.root)
    selected = list(environments) or None
    findings = validate_platform(platform, selected)
    names = selected or sorted(platform.environments)

    def text() -> Rows | None:
        if not findings:
            app.info(f"validated {', '.join(names)}: no findings")
            return None
        columns = ("environment", "rule", "location", "message")
        rows = [(f.environment, f.rule, f.location, f.message) for f in findings]
        return Rows(columns, rows, title="validation findings")

    report = {
        "environments": names,
        "findings": [f.to_json() for f in findings],
        "summary": {"findings": len(findings)},
    }
    emit(output, report, text=text)
    if findings:
        raise click.exceptions.Exit(ExitCode.FINDINGS)
