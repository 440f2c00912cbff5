"""Test helpers: inline file trees, an in-process CLI runner, repository copies."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gitops_gen.cli import main

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Result:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_cli(*args: str, repo: Path | None = None, stdin: str | None = None, expect: int) -> Result:
    """Run ``gitops-gen`` in-process and capture what a user would see.

    ``expect`` is the exit code the test requires, with no default: a test that does not say
    which outcome it wants passes when the command fails. A different code raises an
    AssertionError that shows the command and everything it printed.
    """
    result = invoke_cli(*args, repo=repo, stdin=stdin)
    if result.exit_code != expect:
        raise AssertionError(
            f"gitops-gen {' '.join(args)}: exit {result.exit_code}, expected {expect}\n"
            f"--- stdout ---\n{result.stdout}--- stderr ---\n{result.stderr}"
        )
    return result


def invoke_cli(*args: str, repo: Path | None = None, stdin: str | None = None) -> Result:
    """Run ``gitops-gen`` in-process without checking the exit code: only for helpers that
    compare two runs' codes with each other and check the final one themselves."""
    argv = [*(["--repo", str(repo)] if repo is not None else []), *args]
    out, err = io.StringIO(), io.StringIO()
    code = 0
    stdin_cm = _patched_stdin(stdin) if stdin is not None else contextlib.nullcontext()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), stdin_cm:
        try:
            main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    return Result(code, out.getvalue(), err.getvalue())


@contextlib.contextmanager
def _patched_stdin(text: str):  # type: ignore[no-untyped-def]
    import sys

    saved = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(text.encode()), encoding="utf-8")
    try:
        yield
    finally:
        sys.stdin = saved


def build_file_tree(root: Path, files: Mapping[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout


def copy_aether(target: Path, *, with_clusters: bool = False) -> Path:
    """A fresh git repository holding the embedded Aether platform (environments + templates)."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copytree(PROJECT_ROOT / "environments", target / "environments")
    shutil.copytree(PROJECT_ROOT / "templates", target / "templates", symlinks=False)
    for extra in (".sops.yaml", "secrets"):
        source = PROJECT_ROOT / extra
        if source.is_dir():
            shutil.copytree(source, target / extra)
        elif source.is_file():
            shutil.copy2(source, target / extra)
    if with_clusters and (PROJECT_ROOT / "clusters").is_dir():
        shutil.copytree(PROJECT_ROOT / "clusters", target / "clusters")
    git(target, "init", "-q", "-b", "main")
    git(target, "add", "-A")
    git(target, "commit", "-q", "-m", "initial")
    return target


def tree_digest(root: Path) -> dict[str, str]:
    """Every file under ``root`` (except .git internals) and its content hash: proof that a
    failed command changed nothing."""
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != ".git")
        for name in filenames:
            path = Path(dirpath) / name
            out[path.relative_to(root).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    # the folder list too: an empty folder left behind is a change
    for dirpath, dirnames, _ in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in dirnames:
            out[(Path(dirpath) / name).relative_to(root).as_posix() + "/"] = "dir"
    return out
