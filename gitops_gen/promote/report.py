"""The dry-run report of ``make demo`` and other callers: ``promote --dry-run`` as text."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from gitops_gen.errors import RepoError
from gitops_gen.gitrepo import GitRepo
from gitops_gen.promote.service import Options, promote
from gitops_gen.promote.text import format_plan


def dry_run_report(root: Path, source: str, target: str) -> str:
    """The plan and the pull-request body a promotion would produce; changes nothing.

    Outside a git repository with commits (an unpacked tarball, a container image) the files
    are copied, whole, into a scratch repository and committed there, so the report still comes
    from the one promotion path.
    """
    try:
        GitRepo(root).head_sha()
    except RepoError:
        return _report_from_copy(root, source, target)
    return _report(root, source, target)


def _report(root: Path, source: str, target: str) -> str:
    outcome = promote(root, source, target, Options(dry_run=True))
    notes = "".join(f"note: {n}\n" for n in outcome.notes)
    if outcome.status == "nothing":
        return notes + outcome.message + "\n"
    return notes + format_plan(outcome.plan) + "\n" + outcome.body


def _report_from_copy(root: Path, source: str, target: str) -> str:
    scratch = Path(tempfile.mkdtemp(prefix="gitops-gen-dry-run-"))
    try:
        copy = scratch / "repo"
        shutil.copytree(root, copy, symlinks=True, ignore=shutil.ignore_patterns(".git"))
        for argv in (
            ["init", "-q", "-b", "main"],
            ["add", "-A"],
            [
                "-c",
                "user.name=gitops-gen",
                "-c",
                "user.email=gitops-gen@localhost",
                "commit",
                "-q",
                "--no-verify",
                "-m",
                "snapshot for a dry run",
            ],
        ):
            subprocess.run(["git", *argv], cwd=copy, check=True, capture_output=True)
        return _report(copy, source, target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
