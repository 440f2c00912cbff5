"""``gitops-gen promote``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from gitops_gen.commands.hydrate import HydrationOptions, hydration_options
from gitops_gen.commands.options import output_option
from gitops_gen.context import AppContext
from gitops_gen.errors import InputError
from gitops_gen.promote import Options, promote
from gitops_gen.promote.apply import write_text_atomic
from gitops_gen.promote.forge import FORGES
from gitops_gen.promote.hydrated import HydrationSetup
from gitops_gen.promote.text import format_plan


@click.command("promote")
@click.argument("source", metavar="SRC")
@click.argument("target", metavar="DST")
@click.option(
    "--component",
    "components",
    multiple=True,
    metavar="NAME",
    help="Promote only this component (repeatable; default: every component that differs).",
)
@click.option("--dry-run", is_flag=True, help="Print the plan and the body; change nothing.")
@click.option(
    "--force",
    is_flag=True,
    help="Allow a source other than DST's promotedFrom, and re-promoting a rolled-back version.",
)
@click.option("--branch", metavar="NAME", help="Branch name (default promote/SRC-to-DST/ID).")
@click.option("--push", "remote", metavar="REMOTE", help="Push the branch to REMOTE (no force).")
@click.option(
    "--pr-body",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the pull-request description to FILE instead of stdout.",
)
@click.option(
    "--open-pr",
    type=click.Choice(FORGES),
    help="Open the pull request on the forge (token from GITHUB_TOKEN / GITLAB_TOKEN).",
)
@click.option(
    "--hydrated",
    is_flag=True,
    help="Add 'Changes in the cluster': the changed Applications hydrated (helm template) "
    "before and after, diffed object by object; the JSON plan lists the changed objects.",
)
@hydration_options
@output_option("text", "json")
@click.pass_obj
def promote_command(
    app: AppContext,
    source: str,
    target: str,
    components: tuple[str, ...],
    dry_run: bool,
    force: bool,
    branch: str | None,
    remote: str | None,
    pr_body: Path | None,
    open_pr: str | None,
    hydrated: bool,
    hydration: HydrationOptions,
    output: str,
) -> None:
    """Promote the versions that passed SRC into DST as one commit on a new branch.

    Moves image tags/digests, dependency chart versions and the platform chart's revision
    that differ between SRC and DST; never hosts, replicas, secrets or sync settings. DST's
    environment file is edited in place (comments and formatting kept), DST is re-rendered,
    and branch promote/SRC-to-DST/ID gets one commit with provenance trailers. Your checkout
    is not changed. Held components and mutable tags into protected environments are not
    moved; the plan says why. "Nothing to promote" exits 0.
    """
    if pr_body is not None and not pr_body.parent.is_dir():
        raise InputError(f"--pr-body {pr_body}: folder {pr_body.parent} does not exist")
    options = Options(
        components=components,
        force=force,
        dry_run=dry_run,
        branch=branch,
        push=remote,
        open_pr=open_pr,
        hydrated=HydrationSetup(hydration.settings, hydration.url_map) if hydrated else None,
    )
    outcome = promote(app.root, source, target, options, progress=app.detail)
    if pr_body is not None and outcome.body and not dry_run:
        write_text_atomic(pr_body, outcome.body)
    if output == "json":
        click.echo(json.dumps(outcome.to_json(), indent=2))
        return
    if outcome.status == "nothing":
        click.echo(outcome.message)
        if outcome.plan.held:
            app.info(format_plan(outcome.plan).rstrip())
        return
    if dry_run:
        click.echo(format_plan(outcome.plan))
        click.echo(outcome.body, nl=False)
        app.info("dry run: nothing was changed")
        return
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
