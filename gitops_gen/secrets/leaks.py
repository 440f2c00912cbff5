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


def committable_plaintext(root: Path, source: Path) -> str | None:
    """A warning when the file a secret value was read from sits in the work tree where
    ``git add -A`` would commit it (inside ``root``, not ignored); None otherwise."""
    try:
        path = source.expanduser().resolve()
        inside = path.relative_to(root.resolve())
    except (OSError, ValueError):
        return None  # outside the repository (or unresolvable): nothing git would pick up
    done = subprocess.run(
        ("git", "check-ignore", "-q", "--no-index", "--", inside.as_posix()),
        cwd=root,
        capture_output=True,
        check=False,
    )
    if done.returncode != 1:  # 0: ignored; 128: git could not tell (say nothing wrong)
        return None
    return (
        f"{inside.as_posix()} holds the plaintext and is inside the repository, not ignored by "
        "git: delete it (or keep such files outside the repository) before 'git add'"
    )
