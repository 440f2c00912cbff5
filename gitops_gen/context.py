"""What every command receives: the repository root, verbosity and consoles."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from gitops_gen.errors import RepoError
from gitops_gen.terminal import make_console, stream_is_tty


@dataclass
class AppContext:
    repo_option: Path | None = None
    verbosity: int = 0  # -1 quiet, 0 normal, 1+ verbose
    debug: bool = False
    color: str = "auto"  # --color: auto, always, never (see gitops_gen.terminal)
    out: Console = field(default_factory=make_console)
    err: Console = field(default_factory=lambda: make_console(stderr=True))
    _root: Path | None = None

    def set_color(self, mode: str) -> None:
        self.color = mode
        self.out = make_console(mode)
        self.err = make_console(mode, stderr=True)

    def set_repo(self, repo: Path | None) -> None:
        self.repo_option = repo
        self._root = None

    @property
    def root(self) -> Path:
        """The repository root: ``--repo`` or the git repository enclosing the working folder."""
        if self._root is None:
            self._root = find_repo_root(self.repo_option)
        return self._root

    def info(self, message: str) -> None:
        """Progress and summaries for people, on stderr so stdout stays machine-readable."""
        if self.verbosity >= 0:
            self.err.print(message)

    def detail(self, message: str) -> None:
        if self.verbosity > 0:
            self.err.print(message)


def find_repo_root(option: Path | None) -> Path:
    if option is not None:
        path = option.expanduser()
        if not path.exists():
            raise RepoError(f"--repo {option}: no such folder; pass the GitOps repository's path")
        if not path.is_dir():
            raise RepoError(f"--repo {option}: not a folder; pass the GitOps repository's path")
        if not (path / ".git").exists():
            raise RepoError(
                f"--repo {option}: not a git repository (no .git); pass the repository's top "
                "folder, or run 'git init' there first"
            )
        return path.resolve()
    here = Path.cwd().resolve()
    for candidate in (here, *here.parents):
        if (candidate / ".git").exists():
            return candidate
    raise RepoError(
        f"{here}: not inside a git repository; run gitops-gen inside the GitOps repository "
        "or pass --repo PATH"
    )


def stdout_is_tty() -> bool:
    return stream_is_tty(sys.stdout)
