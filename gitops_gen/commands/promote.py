"""``gitops-gen promote``."""

from __future__ import annotations

from pathlib import Path

import click

from gitops_gen.commands.hydrate import HydrationOptions, hydration_options
from gitops_gen.commands.options import output_option
from gitops_gen.commands.promotion_output import check_pr_body, show_outcome
from gitops_gen.context import AppContext
from gitops_gen.errors import InputError
from gitops_gen.promote import Options, promote
from gitops_gen.promote.forge import FORGES
from gitops_gen.promote.hydrated import HydrationSetup


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
    "--skip-order",
    is_flag=True,
    help="Allow a SRC other than DST's promotedFrom (the body warns reviewers).",
)
@click.option(
    "--allow-rolled-back",
    is_flag=True,
    help="Allow promoting again a version a rollback took out of DST.",
)
@click.option("--force", is_flag=True, hidden=True)
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
@output_option()
@click.pass_obj
def promote_command(
    app: AppContext,
    source: str,
    target: str,
    components: tuple[str, ...],
    dry_run: bool,
    skip_order: bool,
    allow_rolled_back: bool,
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
    is not changed. Held components, mutable tags and dropped digest pins into protected
    environments are not moved; the plan says why. "Nothing to promote" exits 0. A dry run
    builds the same change from HEAD and stops before the commit: it lists the same files.
    """
    if force:
        raise InputError(
            "--force was split in two: --skip-order promotes out of the promotedFrom order, "
            "--allow-rolled-back promotes again a version a rollback took out; pass the one "
            "you mean"
        )
    check_pr_body(pr_body)
    options = Options(
        components=components,
        skip_order=skip_order,
        allow_rolled_back=allow_rolled_back,
        dry_run=dry_run,
        branch=branch,
        push=remote,
        open_pr=open_pr,
        hydrated=HydrationSetup(hydration.settings, hydration.url_map) if hydrated else None,
    )
    outcome = promote(app.root, source, target, options, progress=app.detail)
    show_outcome(app, outcome, pr_body, output)
