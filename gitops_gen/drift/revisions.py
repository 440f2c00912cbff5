"""Which commit a branch or tag of the GitOps repository points at, read from a verified remote.

The drift audit compares that commit with the one Argo CD compared against. It only answers for
the repository named in ``platform.gitopsRepo``, and only from refs that come from it: the
remote-tracking refs of a remote whose URL *is* that repository (whatever the remote is called),
or the local branches when ``gitopsRepo`` is a ``file://`` URL of this very checkout. A clone
whose ``origin`` is a fork or a mirror gives no answer rather than a false "behind".
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlsplit

from gitops_gen.drift.argo import RevisionResolver

_SCP_LIKE = re.compile(r"^(?P<user>[^@/]+@)?(?P<host>[^:/]+):(?P<path>[^/].*)$")


def normalize_url(url: str) -> str:
    """A comparable form of a git URL: scheme://host/path, no trailing slash or ``.git``."""
    text = url.strip()
    scp = _SCP_LIKE.match(text) if "://" not in text else None
    if scp:
        text = f"ssh://{scp['user'] or ''}{scp['host']}/{scp['path']}"
    if "://" not in text:
        text = Path(text).expanduser().resolve().as_uri()
    parts = urlsplit(text)
    path = unquote(parts.path).rstrip("/").removesuffix(".git")
    if parts.scheme == "file":
        path = str(Path(path).resolve())
        return f"file://{path}"
    host = (parts.hostname or "").lower()
    port = f":{parts.port}" if parts.port else ""
    user = f"{parts.username}@" if parts.username else ""
    return f"{parts.scheme}://{user}{host}{port}{path}"


def same_repository(a: str, b: str) -> bool:
    return normalize_url(a) == normalize_url(b)


def _git(root: Path, *args: str) -> str | None:
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
    return done.stdout.strip() if done.returncode == 0 else None


def gitops_ref_prefix(root: Path, gitops_repo: str) -> str | None:
    """Where this checkout keeps the GitOps repository's branches, or None if it has no copy."""
    top = _git(root, "rev-parse", "--show-toplevel")
    if top is None:
        return None
    if gitops_repo.startswith("file://") and same_repository(gitops_repo, top):
        return "refs/heads/"
    for remote in (_git(root, "remote") or "").split():
        url = _git(root, "remote", "get-url", remote)
        if url is not None and same_repository(url, gitops_repo):
            return f"refs/remotes/{remote}/"
    return None


def gitops_resolver(root: Path, gitops_repo: str) -> RevisionResolver:
    """A resolver for the sources that read the GitOps repository; None for every other one."""
    prefixes: list[str | None] = []

    def resolve(repo_url: str, target: str) -> str | None:
        if not same_repository(repo_url, gitops_repo):
            return None
        if not prefixes:
            prefixes.append(gitops_ref_prefix(root, gitops_repo))
        prefix = prefixes[0]
        if prefix is None:
            return None
        # A tag fetched from the verified remote is the remote's tag; peel annotated tags to the
        # commit, which is what Argo CD records.
        for ref in (f"{prefix}{target}", f"refs/tags/{target}"):
            sha = _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
            if sha:
                return sha
        return None

    return resolve
