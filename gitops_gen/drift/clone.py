"""The scheduled audit's checkout: clone the GitOps repository with mounted credentials.

The CronJob's init container runs ``gitops-gen clone`` (this module) with the Secret that
``drift.repoCredentials`` names mounted as a folder, one file per key:

* ``https``: ``username`` and ``password`` (a token), plus an optional ``ca.crt`` for a
  server whose certificate a private CA signed. Git asks for them through ``GIT_ASKPASS``: a
  two-line script in a private temporary folder that prints the mounted files, so the token is
  never in the URL, on any process's argv, or in git's environment.
* ``ssh``: ``sshPrivateKey`` and ``known_hosts``. The key is copied into a private temporary
  file (ssh refuses keys others can read, and a Secret volume's mode is the kubelet's choice);
  host keys are checked strictly against that ``known_hosts`` only (not the system's).

Every failure becomes one line naming the repository and what to fix (exit 2); git's own
stderr is translated, never echoed, and the token is redacted from anything that is printed.
"""

from __future__ import annotations

import os
import re
import shlex
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import git

from gitops_gen import redact
from gitops_gen.errors import ExternalToolError, InputError

AuthType = Literal["https", "ssh"]
# Where the rendered CronJob mounts the Secret (gitops_gen/render/audit.py).
CREDENTIALS_MOUNT = "/etc/gitops-gen/repo-credentials"
KEYS: Mapping[str, tuple[str, ...]] = {
    "https": ("username", "password"),
    "ssh": ("sshPrivateKey", "known_hosts"),
}
CA_KEY = "ca.crt"
CLONE_TIMEOUT = 300  # seconds; the CronJob's activeDeadlineSeconds is 900 in all

_ASKPASS = """#!/bin/sh
# git asks "Username for '...': " then "Password for '...': "; answer from the mounted files.
case "$1" in
  Username*) exec cat "$GITOPS_GEN_GIT_USERNAME_FILE" ;;
  *) exec cat "$GITOPS_GEN_GIT_PASSWORD_FILE" ;;
esac
"""
_SCP_LIKE = re.compile(r"^[\w.-]+@[\w.-]+:")


class CloneFailed(ExternalToolError):
    """git could not clone: the message names the repository and the fix."""


@dataclass(frozen=True)
class Credentials:
    """A Secret mounted as a folder (``folder/<key>``); ``secret`` names it in messages."""

    type: AuthType
    folder: Path
    secret: str | None = None

    @property
    def source(self) -> str:
        keys = " and ".join(KEYS[self.type])
        if self.secret:
            return f"Secret {self.secret} (keys {keys})"
        return f"the credentials in {self.folder} ({keys})"

    def key(self, name: str) -> Path:
        path = self.folder / name
        if not path.is_file():
            where = f"Secret {self.secret}" if self.secret else str(self.folder)
            raise InputError(
                f"{where}: key {name} is missing (looked for {path}); a {self.type} "
                f"repoCredentials Secret needs keys {', '.join(KEYS[self.type])}"
            )
        return path

    def secret_values(self) -> list[str]:
        """What must never be printed: the token, the private key."""
        names = ("password",) if self.type == "https" else ("sshPrivateKey",)
        values: list[str] = []
        for name in names:
            path = self.folder / name
            if path.is_file():
                text = path.read_text(errors="replace").strip()
                values.extend(ln.strip() for ln in text.splitlines() if len(ln.strip()) >= 4)
        return values


def display_url(url: str) -> str:
    """`url` without any user info (what messages show)."""
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and "@" in parts.netloc:
        return parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]).geturl()
    return url


def check_url(url: str, credentials: Credentials | None) -> None:
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.password:
        raise InputError(
            f"gitopsRepo {display_url(url)}: the URL carries a password; remove it and name a "
            "Secret in the environment's drift.repoCredentials instead"
        )
    if credentials is None:
        return
    is_ssh = parts.scheme == "ssh" or bool(_SCP_LIKE.match(url))
    if credentials.type == "https" and parts.scheme not in ("http", "https"):
        raise InputError(
            f"gitopsRepo {display_url(url)}: repoCredentials type https needs an https:// URL; "
            "use type ssh for an SSH URL"
        )
    if credentials.type == "ssh" and not is_ssh:
        raise InputError(
            f"gitopsRepo {display_url(url)}: repoCredentials type ssh needs an ssh:// or "
            "git@host:path URL; use type https for an https:// URL"
        )


@contextmanager
def git_environment(credentials: Credentials | None) -> Iterator[dict[str, str]]:
    """The environment git runs in; private files live until the block ends."""
    env = {
        # Never wait for a person: no terminal prompt, no inherited helper answering instead.
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "credential.helper",
        "GIT_CONFIG_VALUE_0": "",
    }
    if credentials is None:
        yield env
        return
    with tempfile.TemporaryDirectory(prefix="gitops-gen-clone-") as scratch:
        private = Path(scratch)
        private.chmod(0o700)
        if credentials.type == "https":
            askpass = private / "askpass"
            askpass.write_text(_ASKPASS)
            askpass.chmod(0o700)
            env["GIT_ASKPASS"] = str(askpass)
            env["GITOPS_GEN_GIT_USERNAME_FILE"] = str(credentials.key("username"))
            env["GITOPS_GEN_GIT_PASSWORD_FILE"] = str(credentials.key("password"))
            ca = credentials.folder / CA_KEY
            if ca.is_file():
                env["GIT_SSL_CAINFO"] = str(ca)
        else:
            text = credentials.key("sshPrivateKey").read_text()
            key = private / "id"
            # ssh rejects a key file without its final newline (a Secret may have lost it)
            key.touch(mode=0o600)
            key.write_text(text if text.endswith("\n") else text + "\n")
            # a copy at a path without spaces: ssh reads UserKnownHostsFile as a list of paths
            known_hosts = private / "known_hosts"
            known_hosts.write_bytes(credentials.key("known_hosts").read_bytes())
            env["GIT_SSH_COMMAND"] = shlex.join(
                [
                    "ssh",
                    "-i",
                    str(key),
                    "-o",
                    "IdentitiesOnly=yes",
                    "-o",
                    "BatchMode=yes",
                    "-o",
                    "StrictHostKeyChecking=yes",
                    "-o",
                    f"UserKnownHostsFile={known_hosts}",
                    # only the Secret's known_hosts vouches for a host, not the image's
                    "-o",
                    "GlobalKnownHostsFile=/dev/null",
                    "-o",
                    "ConnectTimeout=20",
                ]
            )
        yield env


def _without_urls(stderr: str) -> str:
    """git's stderr without the URLs it quotes: a port (127.0.0.1:40121) or a path that
    happens to hold 401 is not the server's answer."""
    return re.sub(r"\b[a-z][a-z0-9+.-]*://[^\s'\"]+", "<url>", stderr, flags=re.IGNORECASE)


def explain(url: str, revision: str, stderr: str, credentials: Credentials | None) -> str:
    """git's stderr as one line naming the repository and the fix."""
    where = f"clone of {display_url(url)}"
    text = _without_urls(stderr).lower()
    source = credentials.source if credentials else None
    if "host key verification failed" in text:
        return (
            f"{where}: the server's SSH host key is not in known_hosts of {source}; add the "
            "server's key (check it out of band, e.g. against the forge's published keys)"
        )
    if "permission denied (publickey" in text:
        return (
            f"{where}: the server refused the SSH key from {source}; register its public key "
            "(e.g. as a read-only deploy key) or fix the Secret"
        )
    if "terminal prompts disabled" in text or "could not read username" in text:
        if credentials is None:
            return (
                f"{where}: the repository asks for credentials; set drift.repoCredentials in "
                "the environment file to a Secret with keys username and password"
            )
        return f"{where}: git could not read {source}; check the Secret's keys"
    if (
        "authentication failed" in text
        or re.search(r"\b401\b", text)
        or "invalid username or password" in text
    ):
        return (
            f"{where}: HTTP 401, the server rejected the credentials from {source}; check the "
            "username and that the token is current and may read the repository"
        )
    if re.search(r"\b403\b", text):
        return (
            f"{where}: HTTP 403, access denied with the credentials from {source}; give the "
            "token read access to the repository"
        )
    if "certificate" in text and ("problem" in text or "verif" in text or "ssl" in text):
        fix = (
            f"add the CA that signed it as key {CA_KEY} of Secret {credentials.secret}"
            if credentials and credentials.type == "https" and credentials.secret
            else "add the CA that signed it (GIT_SSL_CAINFO, or key ca.crt of the Secret)"
        )
        return f"{where}: the server's TLS certificate is not trusted; {fix}"
    if "remote branch" in text and "not found" in text:
        return (
            f"{where}: revision {revision} not found; check platform.gitopsRevision (a branch "
            "or a tag)"
        )
    if (
        "not found" in text
        or re.search(r"\b404\b", text)
        or "does not appear to be a git repository" in text
    ):
        return f"{where}: repository not found; check platform.gitopsRepo"
    unreachable = (
        "could not resolve host",
        "connection refused",
        "failed to connect",
        "timed out",
        "could not resolve hostname",
        "network is unreachable",
    )
    if any(marker in text for marker in unreachable):
        return f"{where}: cannot reach the server ({_line(stderr, unreachable)})"
    return f"{where} failed: {_line(stderr, ('fatal:', 'error:'))}"


def _line(stderr: str, markers: tuple[str, ...]) -> str:
    """The first line of git's stderr holding one of `markers`, else its first line."""
    text = stderr.strip()
    # GitPython keeps stderr as "stderr: '...'"; undo that decoration
    match = re.match(r"^stderr: '(?P<body>.*)'$", text, re.DOTALL)
    if match:
        text = match.group("body")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    chosen = [ln for ln in lines if any(m in ln.lower() for m in markers)]
    line = (chosen or lines or ["no message"])[0]
    for prefix in ("fatal: ", "error: "):
        line = line.removeprefix(prefix)
    return line if len(line) <= 200 else line[:197] + "..."


def clone(url: str, dest: Path, revision: str, credentials: Credentials | None = None) -> str:
    """Shallow-clone `revision` (a branch or tag) of `url` into `dest`; the commit checked out."""
    check_url(url, credentials)
    if dest.exists() and any(dest.iterdir()):
        raise InputError(f"{dest}: not empty; clone into a new or empty folder")
    argv = ["git", "clone", "--quiet", "--depth=1", "--branch", revision, "--", url, str(dest)]
    with git_environment(credentials) as env:
        try:
            git.Git().execute(
                argv,
                env={**os.environ, **env},
                kill_after_timeout=CLONE_TIMEOUT,
                with_extended_output=False,
            )
        except git.GitCommandError as exc:
            secrets = credentials.secret_values() if credentials else []
            stderr = str(exc.stderr or "")
            if not stderr.strip() and exc.status in (-9, -15):  # killed at CLONE_TIMEOUT
                stderr = f"timed out after {CLONE_TIMEOUT}s"
            raise CloneFailed(
                redact.values(explain(url, revision, stderr, credentials), secrets)
            ) from None
    return str(git.Repo(dest).head.commit.hexsha)
