"""``gitops-gen diff``."""

from __future__ import annotations

from collections.abc import Mapping

import click

from gitops_gen.commands.hydrate import HydrationOptions, hydration_options, progress_bar
from gitops_gen.commands.options import environments_argument, output_option
from gitops_gen.context import AppContext
from gitops_gen.errors import ExitCode, ExternalToolError
from gitops_gen.gitrepo import GitRepo
from gitops_gen.hydrate.diff import ClusterChanges, compare, markdown_section
from gitops_gen.hydrate.diff import as_text as cluster_text
from gitops_gen.hydrate.engine import GitopsRepo, Hydrator
from gitops_gen.hydrate.environment import find_applications
from gitops_gen.model import load_platform
from gitops_gen.output import emit
from gitops_gen.promote.body import BODY_CAP, diff_blocks
from gitops_gen.promote.diffing import AppDiff, as_text
from gitops_gen.promote.revisions import diff_revisions


@click.command("diff")
@environments_argument()
@click.option("--base", default="HEAD", show_default=True, help="The revision to compare from.")
@click.option(
    "--head", default=None, help="The revision to compare to (default: the work tree as it is)."
)
@click.option(
    "--hydrated",
    is_flag=True,
    help="Also hydrate the changed Applications at both revisions (helm template) and show "
    "the object-level changes in the cluster.",
)
@hydration_options
@output_option("markdown")
@click.pass_obj
def diff_command(
    app: AppContext,
    environments: tuple[str, ...],
    base: str,
    head: str | None,
    hydrated: bool,
    hydration: HydrationOptions,
    output: str,
) -> None:
    """Render two revisions and print the rendered-manifest diff per Application.

    Each revision is rendered from a temporary worktree with its own templates. For
    pull-request previews in CI: 'gitops-gen diff --base origin/main --head HEAD -o markdown'.
    Exit 0 no difference, 1 differences, 2 error.
    """
    repo = GitRepo(app.root)
    diffs, old, new = diff_revisions(repo, base, head, environments)
    changes = (
        hydrated_changes(app, repo, (base, old.files), (head, new.files), diffs, hydration)
        if hydrated
        else None
    )
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

    def markdown() -> str:
        budget = BODY_CAP - len(header)
        section = ""
        if changes is not None:
            section = "\n" + markdown_section(changes, budget // 2)
            budget -= len(section)
        return header + diff_blocks(diffs, budget) + section

    def text() -> None:
        click.echo(as_text(diffs), nl=False)
        if changes is not None:
            click.echo(cluster_text(changes), nl=False)

    emit(output, report, text=text, markdown=markdown)
    count = len(diffs)
    app.info(
        f"{count} Application(s) differ between {old.label} and {new.label}"
        if count
        else f"no rendered differences between {old.label} and {new.label}"
    )
    if changes is not None and changes.errors:
        raise ExternalToolError(
            f"{len(changes.errors)} Application(s) could not be hydrated: "
            + "; ".join(changes.errors)
        )
    if diffs:
        raise click.exceptions.Exit(ExitCode.FINDINGS)


def hydrated_changes(
    app: AppContext,
    repo: GitRepo,
    before: tuple[str, Mapping[str, str]],
    after: tuple[str | None, Mapping[str, str]],
    diffs: list[AppDiff],
    hydration: HydrationOptions,
) -> ClusterChanges:
    """The changed Applications hydrated at both revisions, compared object by object."""
    gitops_url = load_platform(app.root).catalog.platform.gitops_repo
    names = [d.application for d in diffs]
    fetcher = hydration.fetcher()
    results = []
    for ref, files in (before, after):
        revision = repo.rev_parse(ref) if ref is not None else repo.head_sha()
        hydrator = Hydrator(GitopsRepo(gitops_url, revision, files), fetcher, hydration.settings)
        with progress_bar(app, f"hydrating {ref or 'the work tree'}") as progress:
            results.append(hydrator.hydrate(find_applications(files, names), progress))
    return compare(results[0], results[1])
