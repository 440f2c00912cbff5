"""``gitops-gen history``."""

from __future__ import annotations

import click

from gitops_gen.commands.options import output_option
from gitops_gen.context import AppContext
from gitops_gen.gitrepo import GitRepo
from gitops_gen.model import load_platform
from gitops_gen.output import emit
from gitops_gen.promote.text import format_history
from gitops_gen.promote.trailers import read_history


@click.command("history")
@click.argument("environment", metavar="ENV")
@click.option("--ref", default="HEAD", show_default=True, help="Read the history of this ref.")
@output_option()
@click.pass_obj
def history_command(app: AppContext, environment: str, ref: str, output: str) -> None:
    """List the promotions and rollbacks into ENV, newest first, read from commit trailers."""
    load_platform(app.root).environment(environment)  # unknown names fail with a suggestion
    repo = GitRepo(app.root)
    entries = read_history(repo, environment, repo.rev_parse(ref))
    report = {"environment": environment, "entries": [e.to_json() for e in entries]}
    emit(output, report, text=lambda: format_history(environment, entries))
