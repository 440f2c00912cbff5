"""Helpers for the promotion tests: rendered repositories, bare remotes, clones."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.helpers import copy_aether, git


def rendered_aether(target: Path) -> Path:
    """A git repository with environments/, templates/ and an up-to-date clusters/ committed."""
    return copy_aether(target, with_clusters=True)


def branches(repo: Path) -> list[str]:
    return sorted(git(repo, "for-each-ref", "--format=%(refname:short)", "refs/heads/").split())


def bare_remote(source: Path, target: Path) -> Path:
    """A bare repository holding ``source``'s main, added to ``source`` as ``origin``."""
    subprocess.run(
        ["git", "clone", "-q", "--bare", str(source), str(target)], check=True, capture_output=True
    )
    git(source, "remote", "add", "origin", str(target))
    git(source, "fetch", "-q", "origin")
    git(source, "branch", "-q", "--set-upstream-to=origin/main", "main")
    return target


def clone(remote: Path, target: Path) -> Path:
    subprocess.run(
        ["git", "clone", "-q", str(remote), str(target)], check=True, capture_output=True
    )
    return target


def set_in_file(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))
