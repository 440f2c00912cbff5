"""``gitops-gen diff``."""

from __future__ import annotations

import click

from gitops_gen.commands.options import environments_argument, output_option
from gitops_gen.context import AppContext
from gitops_gen.errors import ExitCode
from gitops_gen.gitrepo import GitRepo
from gitops_gen.output import emit
from gitops_gen.promote.body import BODY_CAP, diff_blocks
from gitops_gen.promote.diffing import as_text
from gitops_gen.promote.revisions import diff_revisions


@click.command("diff")
@environments_argument()
@click.option("--base", default="HEAD", show_default=True, help="The revision to compare from.")
@click.option(
    "--head", default=None, help="The revision to compare to (default: the work tree as it is)."
)
@output_option("markdown")
@click.pass_obj
def diff_command(
    app: AppContext, environments: tuple[str, ...], base: str, head: str | None, output: str
) -> None:
    """Render two revisions and print the rendered-manifest diff per Application.

    Each revision is rendered from a temporary worktree with its own templates. For
    pull-request previews in CI: 'gitops-gen diff --base origin/main --head HEAD -o markdown'.
    Exit 0 no difference, 1 differences, 2 error.
    """
    repo = GitRepo(app.root)
    diffs, old, new = diff_revisions(repo, base, head, environments)
    header = f"### Rendered diff `{old.label}` → `{new.label}`\n\n"
    report = {
        "base": old.label,
        "head": new.label,
        "applications": [
            {
                "application": d.application,
                "paths": list(d.paths),
                "added": d.added,
                "removed": d.removed,
                "diff": d.diff,
            }
            for d in diffs
        ],
    }
    emit(
        output,
        report,
        text=as_text(diffs),
        markdown=lambda: header + diff_blocks(diffs, BODY_CAP - len(header)),
    )
    count = len(diffs)
    app.info(
        f"{count} Application(s) differ between {old.label} and {new.label}"
        if count
        else f"no rendered differences between {old.label} and {new.label}"
    )
    if diffs:
        raise click.exceptions.Exit(ExitCode.FINDINGS)
