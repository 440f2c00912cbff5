"""The ``gitops-gen`` command line: a thin layer over the core functions.

Every command is defined in :mod:`gitops_gen.commands`; this module owns the global options
and the one top-level error handler.
"""

from __future__ import annotations

import importlib
import sys
import traceback
from pathlib import Path

import click

from gitops_gen.completion import attach_completions
from gitops_gen.context import AppContext
from gitops_gen.errors import ExitCode, GitopsGenError, Terminated
from gitops_gen.globalopts import accept_global_options, global_options

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

# Each command is imported only when it runs (or for the overall --help), so `render` in CI
# does not pay for loading the Kubernetes client, GitPython or sops handling.
COMMANDS = {
    "render": "gitops_gen.commands.render:render_command",
    "validate": "gitops_gen.commands.validate:validate_command",
    "init": "gitops_gen.commands.init:init_command",
    "promote": "gitops_gen.commands.promote:promote_command",
    "diff": "gitops_gen.commands.diff:diff_command",
    "history": "gitops_gen.commands.history:history_command",
    "rollback": "gitops_gen.commands.rollback:rollback_command",
    "secrets": "gitops_gen.commands.secrets:secrets_group",
    "drift": "gitops_gen.commands.drift:drift_command",
    "clone": "gitops_gen.commands.clone:clone_command",
    "completion": "gitops_gen.commands.completion:completion_command",
    "doctor": "gitops_gen.commands.doctor:doctor_command",
    "env": "gitops_gen.commands.env:env_group",
    "hydrate": "gitops_gen.commands.hydrate:hydrate_command",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            command = super().get_command(ctx, cmd_name)
        else:
            module, attribute = COMMANDS[cmd_name].split(":")
            command = getattr(importlib.import_module(module), attribute)
            assert isinstance(command, click.Command)
        if command is not None:
            # Every command, wherever it is written, takes the global options after its name
            # and completes environment/component/secret/key names from the repository.
            accept_global_options(command)
            attach_completions(command)
        return command


def _print_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from gitops_gen.version import version_text

    click.echo(version_text(), nl=False)
    ctx.exit()


@click.group(cls=LazyGroup, context_settings=CONTEXT_SETTINGS)
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Print the version (and commit, from a checkout) and the sops, helm and git found.",
)
@global_options
@click.pass_context
def main_group(ctx: click.Context) -> None:
    """Render a platform as an Argo CD GitOps repository, promote releases between
    environments as Git commits, and audit live clusters for drift.

    \b
    Exit codes: 0 success, 1 findings (validate, drift, render --check, diff, doctor),
    2 error (bad input, usage, unreachable cluster). Errors never exit 1.

    Reports take -o text|json|yaml; JSON/YAML carry a schemaVersion (schemas in
    docs/cli/schemas/). Piped output is one line per row. The options below also work after
    the subcommand. Shell completion: 'gitops-gen completion bash|zsh|fish'.
    """
    ctx.ensure_object(AppContext)  # the global options' callbacks may have made it already


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: run the group, map every outcome to one exit code."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        code = main_group.main(args=args, prog_name="gitops-gen", standalone_mode=False)
    except GitopsGenError as exc:
        if debug:
            traceback.print_exc()
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("interrupted", err=True)
        sys.exit(ExitCode.INTERRUPTED)
    except click.ClickException as exc:
        exc.show()
        sys.exit(ExitCode.ERROR if exc.exit_code == 1 else exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(ExitCode.INTERRUPTED)
    except Terminated as exc:
        click.echo(f"terminated by {exc.name}", err=True)
        sys.exit(exc.exit_code)
    except BrokenPipeError:
        sys.exit(ExitCode.OK)
    except Exception as exc:
        if debug:
            traceback.print_exc()
        # An unexpected exception's message may quote data it choked on (a YAML error shows the
        # offending line, which could be a decrypted value), so only its type and where it was
        # raised are printed; --debug shows everything.
        where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
        at = f" at {Path(where.filename).name}:{where.lineno}" if where else ""
        hint = "" if debug else "; run with --debug for the traceback"
        click.echo(f"internal error: {type(exc).__name__}{at} (a bug{hint})", err=True)
        sys.exit(ExitCode.ERROR)
    sys.exit(code if isinstance(code, int) else ExitCode.OK)


if __name__ == "__main__":  # pragma: no cover
    main()
