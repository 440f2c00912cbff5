"""What ``promote`` and ``rollback`` print: the same outcome, the same words."""

from __future__ import annotations

from pathlib import Path

import click

from gitops_gen.context import AppContext
from gitops_gen.errors import InputError
from gitops_gen.output import emit
from gitops_gen.promote import Outcome
from gitops_gen.promote.apply import write_text_atomic
from gitops_gen.promote.text import format_plan


def check_pr_body(pr_body: Path | None) -> None:
    if pr_body is not None and not pr_body.parent.is_dir():
        raise InputError(f"--pr-body {pr_body}: folder {pr_body.parent} does not exist")


def show_outcome(app: AppContext, outcome: Outcome, pr_body: Path | None, output: str) -> None:
    """Print an outcome; the body goes to ``pr_body`` when given, else to stdout (a dry run
    writes no file: it changes nothing)."""
    if outcome.status == "dry-run":
        pr_body = None
    if pr_body is not None and outcome.body:
        write_text_atomic(pr_body, outcome.body)
    if output != "text":
        emit(output, outcome.to_json())
        return
    for note in outcome.notes:
        app.info(f"note: {note}")
    if outcome.status == "nothing":
        click.echo(outcome.message)
        if outcome.plan.held:
            app.info(format_plan(outcome.plan).rstrip())
        return
    if outcome.status == "dry-run":
        click.echo(format_plan(outcome.plan))
    else:
        app.info(format_plan(outcome.plan).rstrip())
        app.info(outcome.message)
    if outcome.rebases:
        app.info(f"re-planned onto the moved remote {outcome.rebases} time(s)")
    if outcome.pull_request:
        app.info(f"pull request: {outcome.pull_request}")
    if pr_body is not None:
        app.info(f"pull-request description written to {pr_body}")
    else:
        click.echo(outcome.body, nl=False)
    if outcome.status == "dry-run":
        app.info("dry run: nothing was changed")
