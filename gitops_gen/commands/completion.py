"""``gitops-gen completion``."""

from __future__ import annotations

import click

from gitops_gen.completion import SHELLS, script


@click.command("completion")
@click.argument("shell", type=click.Choice(SHELLS))
@click.pass_context
def completion_command(ctx: click.Context, shell: str) -> None:
    """Print the shell completion script for SHELL.

    Completes commands, options, and environment, component, secret and key names read from
    the repository. Load it in the current shell, or add the line to your shell's startup file:

    \b
    bash: source <(gitops-gen completion bash)        (~/.bashrc)
    zsh:  source <(gitops-gen completion zsh)         (~/.zshrc, after compinit)
    fish: gitops-gen completion fish | source         (~/.config/fish/config.fish)
    """
    root = ctx.find_root().command
    click.echo(script(shell, root), nl=False)
