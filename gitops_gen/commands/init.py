"""``gitops-gen init``."""

from __future__ import annotations

from pathlib import Path

import click

from gitops_gen.context import AppContext
from gitops_gen.scaffold import scaffold_repository


@click.command("init")
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--platform",
    "platform_name",
    default="example",
    show_default=True,
    help="The platform's name (a DNS label): used for AppProjects and labels.",
)
@click.pass_obj
def init_command(app: AppContext, path: Path, platform_name: str) -> None:
    """Scaffold a new GitOps repository at PATH.

    Creates environments/ (a platform catalog and dev + prod), templates/, a .sops.yaml stub,
    a README and a git repository, renders clusters/ and makes the first commit (when git
    knows who you are). The result renders and validates clean at once; edit environments/
    and run 'gitops-gen render'. The folder gets your umask's permissions.
    """
    result = scaffold_repository(path, platform_name)
    if result.note:
        app.info(f"note: {result.note}")
    elif result.commit:
        app.info(f"first commit {result.commit[:12]} on main")
    app.info(
        f"created {result.root} ({result.files} files, {result.applications} applications "
        f"rendered); next: cd {path} && gitops-gen validate"
    )
