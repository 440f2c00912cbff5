"""How to get a broken secrets file back: from git when git has an intact copy.

A truncated or half-written secrets file cannot be repaired (the MAC covers every value), but
removing it and setting its values again loses every value nobody remembers. When git's index
or HEAD holds an intact version, restoring it is the advice; re-creating the file is the last
resort, offered only when git has nothing better.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from gitops_gen.secrets.store import parse_secret_file
from gitops_gen.secrets.structure import UNSAFE, check_file

LAST_RESORT = "remove the file, then set its values again with 'gitops-gen secrets set'"


def _blob(root: Path, spec: str) -> bytes | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(root), "show", spec],
            capture_output=True,
            check=False,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def restore_advice(root: Path, rel: str, current: bytes) -> str:
    """What to tell the user about ``rel`` (repository-relative), broken as ``current``."""

    def intact(data: bytes) -> bool:
        view = parse_secret_file(root / rel, rel, data)
        return data != current and not any(
            p.rule in UNSAFE | {"SEC002"} for p in check_file(view, None, {})
        )

    index = _blob(root, f":{rel}")
    if index is not None and intact(index):
        return f"restore it with 'git checkout -- {rel}'"
    head = _blob(root, f"HEAD:{rel}")
    if head is not None and intact(head):
        return f"restore it with 'git checkout HEAD -- {rel}'"
    if index is not None or head is not None:
        return (
            f"git holds no intact version in its index or HEAD; restore an earlier one "
            f"(see 'git log -- {rel}'), or {LAST_RESORT}"
        )
    return f"git does not have it; restore it from a backup, or {LAST_RESORT}"
