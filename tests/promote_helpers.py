"""Helpers for the promotion tests: rendered repositories, bare remotes, clones."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.helpers import Result, copy_aether, git, invoke_cli, run_cli, tree_digest


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


_FILE_LINE = re.compile(r"^- (?:added|changed|deleted) `(?P<path>[^`]+)`$", re.M)


def body_files(body: str) -> set[str]:
    """The files a pull-request body (or a dry run's output) says the commit changes."""
    return {m.group("path") for m in _FILE_LINE.finditer(body)}


def commit_files(repo: Path, ref: str) -> set[str]:
    return set(git(repo, "diff", "--name-only", f"{ref}~1", ref).split())


def _without_output_options(args: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in ("--pr-body", "-o", "--output"):
            skip = True
        else:
            out.append(arg)
    return out


# What only a real run refuses: the state of the checkout it commits from.
CHECKOUT_REFUSALS = (
    "uncommitted changes in ",
    "staged changes in ",
    "untracked files in ",
    "HEAD is detached",
    "git identity unknown",
    "to a token allowed to open pull requests",
)


def run_as_dry_run_says(*args: str, repo: Path, expect: int) -> Result:
    """Run a ``promote``/``rollback`` command twice: first with ``--dry-run``, then for real, and
    assert that the files the dry run announced are exactly the files of the real commit.

    Every promotion test goes through here, so a preview can never again drift from the commit.
    The real run must exit with ``expect``.
    """
    result = _run_as_dry_run_says(*args, repo=repo)
    if result.exit_code != expect:
        raise AssertionError(
            f"gitops-gen {' '.join(args)}: exit {result.exit_code}, expected {expect}\n"
            f"--- stdout ---\n{result.stdout}--- stderr ---\n{result.stderr}"
        )
    return result


def _run_as_dry_run_says(*args: str, repo: Path) -> Result:
    before = set(branches(repo))
    dry = invoke_cli(*_without_output_options(args), "--dry-run", repo=repo)
    assert set(branches(repo)) == before, "a dry run created a branch"
    result = invoke_cli(*args, repo=repo)
    if dry.exit_code != 0:  # a refusal: the real run refuses with the same words
        assert (dry.exit_code, dry.stderr) == (result.exit_code, result.stderr)
        return result
    created = set(branches(repo)) - before
    if not created:
        if result.exit_code != 0:
            # Refused before any commit for the checkout, which a dry run does not need in
            # order (a dirty tree, a detached HEAD, no git identity, no forge token); never
            # for an argument, which the dry run would have refused too.
            assert any(why in result.stderr for why in CHECKOUT_REFUSALS), result.stderr
            return result
        # nothing to promote (now, or after re-planning onto a moved remote)
        assert "nothing to" in dry.stdout + result.stdout, dry.output + result.output
        return result
    # a branch exists, even if a later step (push, forge) failed: it must hold what was said
    (branch,) = created
    announced = body_files(dry.stdout)
    assert announced, f"the dry run listed no files:\n{dry.stdout[:2000]}"
    if "re-planned onto the moved remote" in result.stderr:
        # the remote moved after the dry run: the real run re-planned, and its own body must
        # still list exactly its commit's files
        announced = body_files(result.stdout)
    assert announced == commit_files(repo, branch)
    return result


def repo_state(repo: Path) -> tuple[str, str, str, dict[str, str]]:
    """Refs, HEAD, index and work tree: what a refused command must leave exactly as it was."""
    refs = git(repo, "for-each-ref", "--format=%(refname) %(objectname)")
    head = git(repo, "rev-parse", "--symbolic-full-name", "HEAD") + git(repo, "rev-parse", "HEAD")
    index = git(repo, "ls-files", "--stage")
    return refs, head, index, tree_digest(repo)


def assert_refused(repo: Path, *args: str, message: str) -> Result:
    """``args`` exits 2 with exactly ``message`` as its one stderr line and changes nothing."""
    before = repo_state(repo)
    result = run_cli(*args, repo=repo, expect=2)
    assert result.stderr == message + "\n", result.stderr
    assert repo_state(repo) == before
    return result
