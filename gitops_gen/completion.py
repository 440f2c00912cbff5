"""Shell completion: the scripts for ``gitops-gen completion SHELL`` and the names it completes.

Environment, component, secret and key names come from the repository the command line points
at (``--repo``, wherever it was typed, or the git repository around the working folder). A
completion must never print an error into the user's prompt, so every failure completes nothing.

Commands get these completions without declaring them: :func:`attach_completions` gives every
argument or option whose *name* is in :data:`COMPLETERS` the matching completer (``env``,
``environment``, ``environments``, ``source``, ``target`` -> environments; ``component``,
``components`` -> components; ``secret`` -> secrets; ``key`` -> keys). A new command only
has to use those parameter names, or pass ``shell_complete=complete_environments`` itself.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from click.shell_completion import CompletionItem, get_completion_class

from gitops_gen.errors import GitopsGenError

SHELLS = ("bash", "zsh", "fish")
PROG = "gitops-gen"
COMPLETE_VAR = "_GITOPS_GEN_COMPLETE"

Completer = Callable[[click.Context, click.Parameter, str], list[CompletionItem]]


def script(shell: str, cli: click.Command) -> str:
    """The completion script to source in ``shell``."""
    cls = get_completion_class(shell)
    if cls is None:  # pragma: no cover - click knows every shell in SHELLS
        raise click.UsageError(f"no completion for {shell}; use one of {', '.join(SHELLS)}")
    return cls(cli, {}, PROG, COMPLETE_VAR).source()


def _repo_root(ctx: click.Context) -> Path | None:
    from gitops_gen.context import find_repo_root
    from gitops_gen.globalopts import REPO_META

    option = ctx.meta.get(REPO_META)  # set by --repo wherever it was typed
    try:
        return find_repo_root(Path(option) if option is not None else None)
    except GitopsGenError:
        return None


def environment_names(root: Path) -> list[str]:
    """Environment names from the file names alone: completes even when a file is invalid."""
    from gitops_gen.model.loader import CATALOG_FILE, ENVIRONMENTS_DIR

    folder = root / ENVIRONMENTS_DIR
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.yaml") if p.name != CATALOG_FILE)


def _platform(root: Path) -> Any:
    from gitops_gen.model import load_platform

    try:
        return load_platform(root)
    except GitopsGenError:
        return None


def _items(names: list[str], incomplete: str) -> list[CompletionItem]:
    return [CompletionItem(n) for n in sorted(set(names)) if n.startswith(incomplete)]


def complete_environments(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    root = _repo_root(ctx)
    return _items(environment_names(root), incomplete) if root else []


def complete_components(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    root = _repo_root(ctx)
    platform = _platform(root) if root else None
    if platform is None:
        return []
    names = [c.name for env in platform.environments.values() for c in env.components]
    return _items(names, incomplete)


def _environment(ctx: click.Context, platform: Any) -> Any:
    for name in ("env", "environment", "target"):
        value = ctx.params.get(name)
        if isinstance(value, str) and value in platform.environments:
            return platform.environments[value]
    return next(iter(platform.environments.values()), None)


def complete_secrets(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    root = _repo_root(ctx)
    platform = _platform(root) if root else None
    env = _environment(ctx, platform) if platform else None
    if env is None:
        return []
    return _items([s.name for s in env.required_secrets], incomplete)


def complete_keys(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    root = _repo_root(ctx)
    platform = _platform(root) if root else None
    env = _environment(ctx, platform) if platform else None
    secret = ctx.params.get("secret")
    if env is None:
        return []
    keys = [k for s in env.required_secrets if s.name == secret or secret is None for k in s.keys]
    return _items(keys, incomplete)


COMPLETERS: dict[str, Completer] = {
    "env": complete_environments,
    "environment": complete_environments,
    "environments": complete_environments,
    "source": complete_environments,
    "target": complete_environments,
    "component": complete_components,
    "components": complete_components,
    "secret": complete_secrets,
    "key": complete_keys,
}


def attach_completions(command: click.Command) -> None:
    """Give ``command``'s name-typed parameters (and its subcommands') their completer."""
    for param in command.params:
        completer = COMPLETERS.get(param.name or "")
        # Only free-text parameters: a path or a fixed choice completes better by itself.
        if completer is None or not isinstance(param.type, click.types.StringParamType):
            continue
        # click keeps a parameter's shell_complete= here; set it as if it had been declared
        if getattr(param, "_custom_shell_complete", None) is None:
            param._custom_shell_complete = completer
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            attach_completions(sub)
