"""The GitOps repository as Argo CD reads it: a bare repository served over ``file://``.

Argo CD's repo server clones ``file://`` URLs like any other (its own end-to-end tests do), so no
daemon is needed: the "server" is a bare repository on the local disk, and a working clone
pushes to it as it would to a forge. Pushing is what makes a change visible to Argo CD.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed in {cwd}: {done.stderr.strip()}")
    return done.stdout.strip()


@dataclass(frozen=True)
class GitRemote:
    """A bare repository at `path`; `url` is what Applications and `platform.gitopsRepo` name."""

    path: Path

    @property
    def url(self) -> str:
        return self.path.resolve().as_uri()

    def head(self, branch: str = "main") -> str:
        return _git(self.path, "rev-parse", f"refs/heads/{branch}")


def serve_repository(work: Path, bare: Path, *, remote: str = "origin") -> GitRemote:
    """Create the bare repository `bare`, make it `work`'s `remote` and push every branch/tag."""
    bare.parent.mkdir(parents=True, exist_ok=True)
    _git(bare.parent, "init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    served = GitRemote(bare)
    if remote in _git(work, "remote").split():
        _git(work, "remote", "set-url", remote, served.url)
    else:
        _git(work, "remote", "add", remote, served.url)
    _git(work, "push", "--quiet", remote, "--all")
    _git(work, "push", "--quiet", remote, "--tags")
    _git(work, "fetch", "--quiet", remote)
    return served


def push(work: Path, *, remote: str = "origin", branch: str = "main") -> str:
    """Push `branch` of `work` to its remote; the pushed commit."""
    _git(work, "push", "--quiet", remote, f"{branch}:{branch}")
    _git(work, "fetch", "--quiet", remote)
    return _git(work, "rev-parse", branch)
