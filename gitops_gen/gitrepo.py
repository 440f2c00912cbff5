"""The one wrapper over git: every git call of the tool goes through :class:`GitRepo`.

GitPython runs the real ``git`` binary; this module turns its ``GitCommandError`` into our own
one-line errors so a user never sees a raw stderr dump (which can be long, localized, and may
echo URLs with credentials in them).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import git

from gitops_gen import redact
from gitops_gen.errors import ExternalToolError, InputError, RepoError

# ASCII unit/record separators: they never occur in commit messages we write or parse.
_FIELD = "\x1f"
_RECORD = "\x1e"


class PushRejected(ExternalToolError):
    """The remote refused the push because its ref moved (not fast-forward): retry after fetch."""


@dataclass(frozen=True)
class Status:
    staged: tuple[str, ...]
    unstaged: tuple[str, ...]
    untracked: tuple[str, ...]

    @property
    def clean(self) -> bool:
        return not (self.staged or self.unstaged or self.untracked)


@dataclass(frozen=True)
class LogEntry:
    sha: str
    date: str  # ISO 8601, author date
    subject: str
    trailers: tuple[tuple[str, str], ...]

    def trailer(self, key: str) -> str | None:
        return next((v for k, v in self.trailers if k.lower() == key.lower()), None)

    def trailer_values(self, key: str) -> list[str]:
        return [v for k, v in self.trailers if k.lower() == key.lower()]


def _one_line(stderr: str) -> str:
    """The first meaningful line of git's stderr, without prefixes or credentials."""
    text = stderr.strip()
    # GitPython stores stderr as "\n  stderr: '...'"; undo that decoration
    match = re.match(r"^stderr: '(?P<body>.*)'$", text, re.DOTALL)
    if match:
        text = match.group("body")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    preferred = [ln for ln in lines if ln.lower().startswith(("fatal:", "error:"))]
    line = (preferred or lines or ["no message"])[0]
    for prefix in ("fatal: ", "error: "):
        line = line.removeprefix(prefix)
    line = redact.url_credentials(line, "")
    return line if len(line) <= 200 else line[:197] + "..."


class GitRepo:
    """A git repository (or worktree) at ``root``."""

    def __init__(self, root: Path) -> None:
        try:
            self._repo = git.Repo(root)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            raise RepoError(f"{root}: not a git repository; run 'git init' there first") from None
        self.root = root

    # --- the one place git runs ------------------------------------------------------------

    def run(self, *args: str, what: str | None = None, strip: bool = True) -> str:
        """Run ``git ARGS`` and return stdout; failures become :class:`ExternalToolError`."""
        try:
            out = self._repo.git.execute(
                ["git", *args],
                strip_newline_in_stdout=strip,
                stdout_as_string=True,
            )
        except git.GitCommandError as exc:
            raise ExternalToolError(
                f"git {what or args[0]} failed: {_one_line(str(exc.stderr or ''))}"
            ) from None
        return str(out)

    def _ok(self, *args: str) -> bool:
        try:
            self._repo.git.execute(["git", *args])
        except git.GitCommandError:
            return False
        return True

    # --- state -------------------------------------------------------------------------------

    def head_sha(self) -> str:
        try:
            return self.run("rev-parse", "--verify", "HEAD^{commit}")
        except ExternalToolError:
            raise RepoError(
                f"{self.root}: the repository has no commits yet; commit environments/ first"
            ) from None

    def current_branch(self) -> str | None:
        """The checked-out branch, or None on a detached HEAD."""
        try:
            return self.run("symbolic-ref", "--quiet", "--short", "HEAD")
        except ExternalToolError:
            return None

    def require_branch(self) -> str:
        branch = self.current_branch()
        if branch is None:
            raise RepoError(
                "HEAD is detached; check out the branch the promotion starts from "
                "(e.g. 'git switch main') and run again"
            )
        return branch

    def status(self, paths: Sequence[str] = ()) -> Status:
        out = self.run("status", "--porcelain=v1", "-z", "--untracked-files=all", "--", *paths)
        staged: list[str] = []
        unstaged: list[str] = []
        untracked: list[str] = []
        entries = out.split("\0")
        i = 0
        while i < len(entries):
            entry = entries[i]
            i += 1
            if len(entry) < 4:
                continue
            x, y, path = entry[0], entry[1], entry[3:]
            if x in "RC":
                i += 1  # the rename's source path follows as its own entry
            if x == "?":
                untracked.append(path)
                continue
            if x not in " ?!":
                staged.append(path)
            if y not in " ?!":
                unstaged.append(path)
        return Status(tuple(staged), tuple(unstaged), tuple(untracked))

    def require_clean(self, paths: Sequence[str] = ()) -> None:
        state = self.status(paths)
        if state.staged:
            raise RepoError(
                f"staged changes in {_few(state.staged)}; commit or unstage them "
                "('git restore --staged PATH') before promoting"
            )
        if state.unstaged:
            raise RepoError(
                f"uncommitted changes in {_few(state.unstaged)}; commit or stash them "
                "before promoting"
            )
        if state.untracked:
            raise RepoError(
                f"untracked files in {_few(state.untracked)}; commit or remove them "
                "before promoting"
            )

    def identity(self) -> tuple[str, str]:
        """The committer's name and e-mail as git will use them; missing is a clear error."""
        name = os.environ.get("GIT_COMMITTER_NAME") or self._config("user.name")
        email = (
            os.environ.get("GIT_COMMITTER_EMAIL")
            or self._config("user.email")
            or os.environ.get("EMAIL")
        )
        author = os.environ.get("GIT_AUTHOR_NAME") or name
        author_email = os.environ.get("GIT_AUTHOR_EMAIL") or email
        if not (name and email and author and author_email):
            raise RepoError(
                "git identity unknown: set it with 'git config user.name \"Your Name\"' and "
                "'git config user.email you@example.com' (or GIT_AUTHOR_*/GIT_COMMITTER_* in CI)"
            )
        return name, email

    def _config(self, key: str) -> str | None:
        try:
            value = self.run("config", "--get", key)
        except ExternalToolError:
            return None
        return value or None

    # --- refs ----------------------------------------------------------------------------------

    def rev_parse(self, ref: str) -> str:
        try:
            return self.run("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
        except ExternalToolError:
            raise InputError(f"unknown revision '{ref}': no such commit, branch or tag") from None

    def branch_exists(self, name: str) -> bool:
        return self._ok("show-ref", "--verify", "--quiet", f"refs/heads/{name}")

    def check_branch_name(self, name: str) -> None:
        if not self._ok("check-ref-format", "--branch", name):
            raise InputError(f"'{name}' is not a valid branch name")

    def create_branch(self, name: str, sha: str) -> None:
        """Create ``name`` at ``sha``; fails (never overwrites) if it appeared meanwhile."""
        self.run("update-ref", f"refs/heads/{name}", sha, "", what="branch")

    def move_branch(self, name: str, new: str, old: str) -> None:
        """Compare-and-swap a local branch from ``old`` to ``new``."""
        self.run("update-ref", f"refs/heads/{name}", new, old, what="branch")

    def delete_branch(self, name: str, expected: str) -> None:
        self.run("update-ref", "-d", f"refs/heads/{name}", expected, what="branch")

    def branches(self) -> list[str]:
        out = self.run("for-each-ref", "--format=%(refname:short)", "refs/heads/")
        return sorted(out.splitlines())

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        return self._ok("merge-base", "--is-ancestor", ancestor, descendant)

    # --- content -------------------------------------------------------------------------------

    def show_file(self, sha: str, path: str) -> str | None:
        try:
            return self.run("cat-file", "blob", f"{sha}:{path}", strip=False)
        except ExternalToolError:
            return None

    def commit_tree(self, tree: str, parent: str, message: str) -> str:
        return self.run("commit-tree", tree, "-p", parent, "-m", message, what="commit")

    # --- worktrees -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def worktree(self, ref: str) -> Iterator[Path]:
        """A temporary detached checkout of ``ref``, removed afterwards whatever happens."""
        parent = Path(tempfile.mkdtemp(prefix="gitops-gen-wt-"))
        path = parent / "wt"
        try:
            self.run("worktree", "add", "--quiet", "--detach", str(path), ref, what="worktree")
            yield path
        finally:
            if path.exists():
                with contextlib.suppress(ExternalToolError):
                    self.run("worktree", "remove", "--force", str(path), what="worktree")
            shutil.rmtree(parent, ignore_errors=True)
            with contextlib.suppress(ExternalToolError):
                self.run("worktree", "prune", what="worktree")

    # --- remotes -------------------------------------------------------------------------------

    def remotes(self) -> list[str]:
        return sorted(self.run("remote").splitlines())

    def require_remote(self, name: str) -> None:
        known = self.remotes()
        if name not in known:
            from gitops_gen.model.loader import suggest

            listing = ", ".join(known) or "none"
            raise InputError(
                f"unknown remote '{name}'{suggest(name, known)} (remotes: {listing}); "
                "add it with 'git remote add'"
            )

    def remote_url(self, name: str) -> str:
        """The remote's URL as configured (before any ``insteadOf`` rewriting)."""
        return self._config(f"remote.{name}.url") or ""

    def upstream_branch(self, branch: str, remote: str) -> str:
        """The remote branch ``branch`` tracks on ``remote`` (default: the same name)."""
        if self._config(f"branch.{branch}.remote") == remote:
            merge = self._config(f"branch.{branch}.merge")
            if merge:
                return merge.removeprefix("refs/heads/")
        return branch

    def fetch_branch(self, remote: str, branch: str) -> str | None:
        """Fetch one branch of ``remote``; its tip, or None when the remote has no such branch."""
        out = self.run("ls-remote", "--heads", remote, f"refs/heads/{branch}", what="ls-remote")
        if not out.strip():
            return None
        self.run("fetch", "--quiet", "--no-tags", remote, f"refs/heads/{branch}", what="fetch")
        return self.rev_parse("FETCH_HEAD")

    def push(self, remote: str, sha: str, branch: str) -> None:
        """Push ``sha`` to ``branch`` on ``remote``: never forced, so git refuses anything but a
        fast-forward (or a creation) and a moved ref is reported as :class:`PushRejected`."""
        try:
            self._repo.git.execute(
                ["git", "push", "--porcelain", remote, f"{sha}:refs/heads/{branch}"]
            )
        except git.GitCommandError as exc:
            detail = f"{exc.stdout or ''}\n{exc.stderr or ''}"
            # "[rejected]" is a moved ref (retry after fetch); "[remote rejected]" is a hook or
            # permission refusal, which retrying cannot fix
            if re.search(r"(?<!remote )\[rejected\]|non-fast-forward|fetch first", detail):
                raise PushRejected(
                    f"git push rejected: {remote}/{branch} moved since it was read"
                ) from None
            raise ExternalToolError(
                f"git push to '{remote}' failed: {_one_line(str(exc.stderr or ''))}"
            ) from None

    # --- history -------------------------------------------------------------------------------

    def log(self, ref: str, grep: Sequence[str] = (), paths: Sequence[str] = ()) -> list[LogEntry]:
        """Commits reachable from ``ref`` whose message matches every ``grep`` line pattern,
        newest first, with their trailers: one git process whatever the history's length."""
        args = ["log", f"--format=%H{_FIELD}%aI{_FIELD}%s{_FIELD}%(trailers:only,unfold){_RECORD}"]
        if grep:
            args += ["--all-match", *(f"--grep={g}" for g in grep)]
        args.append(ref)
        if paths:
            args += ["--", *paths]
        out = self.run(*args)
        entries: list[LogEntry] = []
        for record in out.split(_RECORD):
            record = record.strip("\n")
            if not record:
                continue
            sha, date, subject, trailer_text = record.split(_FIELD, 3)
            trailers = []
            for line in trailer_text.splitlines():
                key, sep, value = line.partition(":")
                if sep:
                    trailers.append((key.strip(), value.strip()))
            entries.append(LogEntry(sha, date, subject, tuple(trailers)))
        return entries


def _few(paths: Sequence[str], limit: int = 3) -> str:
    shown = ", ".join(paths[:limit])
    return shown + (f" and {len(paths) - limit} more" if len(paths) > limit else "")
