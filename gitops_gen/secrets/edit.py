"""``secrets edit``: sops' editor on a scratch copy, and what the result must still be.

On a terminal, sops' own editor loop applies (invalid YAML: fix it and save again). Without one
(CI, a pipe, a script), nobody can answer sops' "press a key to return to the editor", so sops
would re-open the editor for ever; the editor then runs through
:mod:`gitops_gen.secrets.editor_guard`, once: an invalid result ends the command (exit 2,
nothing written). Either way the result replaces the file only if it is still a sound, fully
encrypted SopsSecret and keeps every required key (or ``--force``), the same rule as ``unset``.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from gitops_gen.errors import InputError
from gitops_gen.model import Environment, Platform
from gitops_gen.model.resolved import RequiredSecret
from gitops_gen.secrets import editor_guard
from gitops_gen.secrets.config import load_config
from gitops_gen.secrets.ops import Plan, _decrypting_identity, check_removal, check_sound
from gitops_gen.secrets.scratch import scratch_copies
from gitops_gen.secrets.sops import Sops, SopsError, stdin_is_terminal
from gitops_gen.secrets.store import digest, parse_secret_file, read_secret_file, rel, secret_path
from gitops_gen.secrets.structure import UNSAFE, check_file

EDITOR_ENVS = ("SOPS_EDITOR", "EDITOR")
MARKER = "editor-outcome"


def _editor_command() -> str | None:
    for name in EDITOR_ENVS:
        if os.environ.get(name):
            return os.environ[name]
    return None


def _outcome_error(shown: str, outcome: str) -> InputError | None:
    """The one line for what the guarded editor run recorded (None: not the editor's doing)."""
    word, _, detail = outcome.partition(" ")
    if word == editor_guard.INVALID_YAML:
        at = f" (line {detail})" if detail else ""
        return InputError(
            f"{shown}: the editor left invalid YAML{at}; nothing written. Without a terminal "
            "the editor runs once: fix the YAML in your editor script, or edit on a terminal"
        )
    if word == editor_guard.NOT_A_MAPPING:
        return InputError(
            f"{shown}: the editor left no YAML mapping (an empty file or a bare value); nothing "
            "written"
        )
    if word == editor_guard.LOOPED:
        return InputError(
            f"{shown}: sops refused the edited file (it cannot be encrypted as it is) and "
            "there is no terminal to fix it in; nothing written"
        )
    if word == editor_guard.EDITOR_FAILED:
        if detail == "127":  # the guard could not start it (or a shell found no such command)
            return InputError(
                f"{shown}: the editor command could not be run (not found or not executable); "
                "nothing written. It runs in a private folder: set $SOPS_EDITOR or $EDITOR to "
                "a command on PATH or an absolute path"
            )
        if detail.isdigit():
            return InputError(f"{shown}: the editor failed (exit {detail}); nothing written")
        # killed by a signal: the same words as sops' own editor failure on a terminal
        return InputError(f"{shown}: the editor failed or was killed; nothing written")
    return None


def plan_edit(
    platform: Platform,
    env: Environment,
    secret: RequiredSecret,
    identity_option: Path | None,
    force: bool = False,
) -> Plan:
    """sops' editor on a scratch copy; the result must still be a sound secrets file."""
    root = platform.root
    path = secret_path(root, env.name, secret.name)
    shown = rel(root, path)
    if not path.exists():
        raise InputError(
            f"{shown}: secret {secret.name} is not set in {env.name}; create it with "
            f"'gitops-gen secrets set {env.name} {secret.name} KEY'"
        )
    check_sound(root, path)
    terminal = stdin_is_terminal()
    command = _editor_command()
    if not terminal and command is None:
        raise InputError(
            "secrets edit: no terminal and neither $SOPS_EDITOR nor $EDITOR is set; set one to "
            "an editor command, or change values with 'gitops-gen secrets set' or 'import'"
        )
    identity = _decrypting_identity(identity_option, root, path, f"editing {shown}")
    before = read_secret_file(root, path).key_names()
    with scratch_copies(Sops.for_repo(root, identity.path), [path]) as scratch:
        marker = scratch.folder / MARKER
        editor = None
        if not terminal and command is not None:
            guard = [sys.executable, "-m", editor_guard.__name__, str(marker), command]
            editor = shlex.join(guard)
        try:
            changed = scratch.sops.edit(scratch.copies[path], editor)
        except SopsError:
            outcome = marker.read_text(encoding="utf-8") if marker.exists() else ""
            error = _outcome_error(shown, outcome)
            if error is not None:
                raise error from None
            raise
        data = scratch.copies[path].read_bytes()
    plan = Plan(env.name)
    if not changed:
        return plan
    # Check the edited file as it will be written; a broken edit never replaces a good file.
    view = parse_secret_file(path, shown, data)
    sums = {path.name: digest(data)}
    sound = UNSAFE | {"SEC008"}  # recipients are rotate's business, not the editor's
    problems = [p for p in check_file(view, load_config(root), sums) if p.rule in sound]
    if problems:
        first = problems[0]
        raise InputError(
            f"{first.location}: the edited file is not sound ({first.message}); nothing written"
        )
    after = set(view.key_names())
    check_removal(secret, [k for k in before if k not in after], force)
    plan.files[path] = data
    return plan
