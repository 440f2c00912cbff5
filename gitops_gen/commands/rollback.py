"""``gitops-gen rollback``."""

from __future__ import annotations

import click

from gitops_gen.commands.options import output_option
from gitops_gen.context import AppContext
from gitops_gen.output import emit
from gitops_gen.promote import Options, rollback
from gitops_gen.promote.text import format_plan


@click.command("rollback")
@click.argument("environment", metavar="ENV")
@click.option(
    "--to",
    "to",
    required=True,
    metavar="PROMOTION_ID|COMMIT",
    help="The point to return to: a promotion id from 'gitops-gen history' or a commit.",
)
@click.option("--dry-run", is_flag=True, help="Print the plan and the body; change nothing.")
@click.option("--branch", metavar="NAME", help="Branch name (default rollback/ENV/ID).")
@click.option("--push", "remote", metavar="REMOTE", help="Push the branch to REMOTE (no force).")
@output_option()
@click.pass_obj
def rollback_command(
    app: AppContext,
    environment: str,
    to: str,
    dry_run: bool,
    branch: str | None,
    remote: str | None,
    output: str,
) -> None:
    """Restore ENV's promotable fields exactly as they were at a promotion or commit.

    Creates a promotion-style commit (trailers Rollback-Of, Promotion-Id, Component) on a new
    branch; only image tags/digests, chart versions and the platform revision change, other
    edits made since are kept. A version taken out by a rollback is not promoted into ENV
    again without 'promote --force'.
    """
    options = Options(dry_run=dry_run, branch=branch, push=remote)
    outcome = rollback(app.root, environment, to, options, progress=app.detail)
    if output != "text":
        emit(output, outcome.to_json())
        return
    if outcome.status == "nothing":
        click.echo(outcome.message)
        return
    if dry_run:
        click.echo(format_plan(outcome.plan))
        click.echo(outcome.body, nl=False)
        return
    app.info(format_plan(outcome.plan).rstrip())
    app.info(outcome.message)
    click.echo(outcome.body, nl=False)
