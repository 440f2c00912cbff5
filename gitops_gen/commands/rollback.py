"""``gitops-gen rollback``."""

from __future__ import annotations

from pathlib import Path

import click

from gitops_gen.commands.options import output_option
from gitops_gen.commands.promotion_output import check_pr_body, show_outcome
from gitops_gen.context import AppContext
from gitops_gen.errors import InputError
from gitops_gen.promote import Options, rollback
from gitops_gen.promote.forge import FORGES


@click.command("rollback")
@click.argument("environment", metavar="ENV")
@click.option(
    "--to",
    "to",
    metavar="PROMOTION_ID|COMMIT",
    help="Return to the state right after this promotion (ID~1: right before it) or commit.",
)
@click.option(
    "--undo",
    "undo",
    metavar="PROMOTION_ID",
    help="Undo this promotion: its components go back to what they were before it.",
)
@click.option(
    "--component",
    "components",
    multiple=True,
    metavar="NAME",
    help="Roll back only this component (repeatable; default: all the point or promotion has).",
)
@click.option("--dry-run", is_flag=True, help="Print the plan and the body; change nothing.")
@click.option("--branch", metavar="NAME", help="Branch name (default rollback/ENV/ID).")
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
@output_option()
@click.pass_obj
def rollback_command(
    app: AppContext,
    environment: str,
    to: str | None,
    undo: str | None,
    components: tuple[str, ...],
    dry_run: bool,
    branch: str | None,
    remote: str | None,
    pr_body: Path | None,
    open_pr: str | None,
    output: str,
) -> None:
    """Restore ENV's promotable fields as they were at a point, or undo one promotion.

    --to PROMOTION_ID|COMMIT restores every component as it was right after that promotion
    (PROMOTION_ID~1: right before it) or at that commit. --undo PROMOTION_ID puts back only
    the components that promotion changed, as they were before it; it refuses if one of them
    changed again since. Either way a promotion-style commit (trailers Rollback-Of,
    Promotion-Id, Component) goes on a new branch; only image tags/digests, chart versions
    and the platform revision change, other edits made since are kept. A version taken out by
    a rollback is not promoted into ENV again without 'promote --allow-rolled-back'.
    """
    if (to is None) == (undo is None):
        raise InputError(
            "give exactly one of --to PROMOTION_ID|COMMIT (a state to return to) and "
            "--undo PROMOTION_ID (one promotion to take back)"
        )
    check_pr_body(pr_body)
    options = Options(
        components=components, dry_run=dry_run, branch=branch, push=remote, open_pr=open_pr
    )
    outcome = rollback(app.root, environment, to, options, progress=app.detail, undo=undo)
    show_outcome(app, outcome, pr_body, output)
