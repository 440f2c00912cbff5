"""Find age private keys in the repository (tracked files and untracked, not-ignored ones).

The one allowed place is the example-only folder of the embedded demo (its dev key is a
throw-away key that decrypts nothing real); anywhere else a key is a finding, reported by path
and line, never by content.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from gitops_gen.secrets.keys import EXAMPLE_KEYS_DIR, PRIVATE_KEY

MAX_BYTES = 5 * 1024 * 1024  # larger files are data, not hand-written config


@dataclass(frozen=True)
class Leak:
    path: str
    line: int


def repository_files(root: Path) -> list[str]:
    """Tracked files plus untracked ones git would offer to add (ignored files excluded)."""
    proc = subprocess.run(
        ("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"),
        cwd=root,
        capture_output=True,
        check=False,
    )
    if proc.returncode != 0:
        return []
    return sorted({p for p in proc.stdout.decode("utf-8", "replace").split("\0") if p})


def find_private_keys(root: Path) -> list[Leak]:
    leaks: list[Leak] = []
    for rel in repository_files(root):
        if rel.startswith(EXAMPLE_KEYS_DIR):
            continue
        path = root / rel
        try:
            if not path.is_file() or path.is_symlink() or path.stat().st_size > MAX_BYTES:
                continue
            text = path.read_bytes().decode("utf-8", "replace")
        except OSError:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            if PRIVATE_KEY.search(line):
                leaks.append(Leak(rel, number))
    return leaks
