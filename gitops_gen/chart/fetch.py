"""Fetch a chart folder from a git repository at a revision, cached by commit.

``platform.revision`` is a full commit SHA or a branch/tag name (the Aether app repository has
no tags, so its environments pin SHAs). A SHA is looked up in the cache first, so a chart seen
once is read offline from then on; a name is resolved by the remote (it may have moved) and
falls back to the commit it resolved to last time when the remote cannot be reached.

The fetch is shallow (``--depth 1`` of exactly that revision) into a scratch repository; only
the chart folder is kept, under ``<cache>/<url digest>/<commit>/``. The cache is
``$GITOPS_GEN_CHART_CACHE``, else the user's cache folder (``$XDG_CACHE_HOME/gitops-gen/charts``,
``~/.cache/gitops-gen/charts``).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

FULL_SHA = re.compile(r"^[0-9a-f]{40}$")
GIT_TIMEOUT_SECONDS = 120
_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s]+@", re.IGNORECASE)


class ChartUnavailable(Exception):
    """The chart could not be fetched and is not cached; the message is one safe line."""


@dataclass(frozen=True)
class FetchedChart:
    path: Path  # the chart folder (Chart.yaml, values.yaml, values.schema.json, templates/)
    commit: str
    from_cache: bool


def charts_cache() -> Path:
    """``$GITOPS_GEN_CHART_CACHE``, else ``<user cache>/gitops-gen/charts``."""
    explicit = os.environ.get("GITOPS_GEN_CHART_CACHE")
    if explicit:
        return Path(explicit)
    return user_cache_dir() / "charts"


def user_cache_dir() -> Path:
    """``<$XDG_CACHE_HOME or ~/.cache>/gitops-gen``: charts, helm and the like."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gitops-gen"


def repo_cache_dir(url: str) -> Path:
    """The cache folder of one repository URL; its commits are subfolders."""
    return charts_cache() / hashlib.sha256(url.encode()).hexdigest()[:16]


def redact(text: str) -> str:
    return _CREDENTIALS.sub(r"\g<scheme>***@", text)


def _git(args: list[str], cwd: Path) -> str:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true"}
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ChartUnavailable(f"git {args[0]} timed out after {GIT_TIMEOUT_SECONDS}s") from None
    except FileNotFoundError:
        raise ChartUnavailable("git is not installed") from None
    if done.returncode != 0:
        lines = [ln for ln in done.stderr.strip().splitlines() if ln.strip()]
        last = lines[-1] if lines else f"exit {done.returncode}"
        raise ChartUnavailable(redact(last.removeprefix("fatal: ")))
    return done.stdout.strip()


def fetch_chart(url: str, revision: str, chart_path: str) -> FetchedChart:
    """The chart folder ``chart_path`` of ``url`` at ``revision`` (SHA, branch or tag)."""
    repo_dir = repo_cache_dir(url)
    pinned = revision if FULL_SHA.match(revision) else None
    if pinned is not None:
        cached = repo_dir / pinned / chart_path
        if (cached / "Chart.yaml").is_file():
            return FetchedChart(cached, pinned, from_cache=True)
    try:
        commit = _fetch(url, revision, chart_path, repo_dir)
    except ChartUnavailable:
        if pinned is None:
            last = _last_resolved(repo_dir, revision)
            if last is not None and (repo_dir / last / chart_path / "Chart.yaml").is_file():
                return FetchedChart(repo_dir / last / chart_path, last, from_cache=True)
        raise
    return FetchedChart(repo_dir / commit / chart_path, commit, from_cache=False)


def _ref_file(repo_dir: Path, revision: str) -> Path:
    return repo_dir / "refs" / hashlib.sha256(revision.encode()).hexdigest()[:16]


def _last_resolved(repo_dir: Path, revision: str) -> str | None:
    try:
        text = _ref_file(repo_dir, revision).read_text().strip()
    except OSError:
        return None
    return text if FULL_SHA.match(text) else None


def _fetch(url: str, revision: str, chart_path: str, repo_dir: Path) -> str:
    repo_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fetch-", dir=repo_dir) as scratch:
        work = Path(scratch)
        _git(["init", "--quiet", "--bare"], work)
        _git(["fetch", "--quiet", "--depth", "1", "--no-tags", url, revision], work)
        commit = _git(["rev-parse", "FETCH_HEAD^{commit}"], work)
        target = repo_dir / commit
        if not (target / chart_path / "Chart.yaml").is_file():
            staging = work / "checkout"
            staging.mkdir()
            listed = _git(["ls-tree", "-r", "--name-only", commit, "--", chart_path], work)
            if not listed:
                raise ChartUnavailable(f"{chart_path} does not exist at {commit[:12]}")
            _git(["--work-tree", str(staging), "checkout", commit, "--", chart_path], work)
            if target.exists():  # a half-written entry of an interrupted run
                shutil.rmtree(target)
            staging.rename(target)  # atomic: readers see a complete chart or none
    if not FULL_SHA.match(revision):
        ref = _ref_file(repo_dir, revision)
        ref.parent.mkdir(parents=True, exist_ok=True)
        ref.write_text(commit + "\n")
    return commit
