"""``gitops-gen validate``."""

from __future__ import annotations

import click

from gitops_gen.commands.options import environments_argument, output_option
from gitops_gen.context import AppContext
from gitops_gen.errors import ExitCode
from gitops_gen.model import load_platform
from gitops_gen.output import Rows, emit
from gitops_gen.validate import validate_platform
from gitops_gen.validate.chart import RULES as CHART_RULES
from gitops_gen.validate.crossenv import RULES as CROSSENV_RULES
from gitops_gen.validate.findings import Severity
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
    destination, sources, sync options, waves); the platform policies (see --list-rules); and
    the platform values against the chart at platform.revision (fetched from platform.appRepo,
    cached by commit): keys its values.schema.json rejects and keys its templates never read.
    Exit 0 clean (warnings allowed), 1 error findings, 2 input error.
    """
    if list_rules:
        rules = [{"id": p.id, "rule": p.rule} for p in POLICIES]
        rules += [{"id": rule, "rule": text} for rule, text in CHART_RULES.items()]
        rules += [{"id": rule, "rule": text} for rule, text in CROSSENV_RULES.items()]
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
        # The severity column says which findings fail the run (errors) and which only inform.
        columns = ("environment", "severity", "rule", "location", "message")
        rows = [(f.environment, f.severity.value, f.rule, f.location, f.message) for f in findings]
        return Rows(columns, rows, title="validation findings")

    report = {
        "environments": names,
        "findings": [f.to_json() for f in findings],
        "summary": {"findings": len(findings)},
    }
    emit(output, report, text=text)
    # Warnings (e.g. a chart that cannot be fetched) are shown but do not fail the run.
    if any(f.severity is Severity.ERROR for f in findings):
        raise click.exceptions.Exit(ExitCode.FINDINGS)
