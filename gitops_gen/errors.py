"""The tool's one error hierarchy.

Every expected failure is a :class:`GitopsGenError`: the CLI prints its message as one line and
exits with its ``exit_code``. Anything else is a bug and is reported as such (traceback only with
``--debug``).
"""

from __future__ import annotations

import signal
from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FINDINGS = 1  # validate findings, drift found, render --check out of date, diff present
    ERROR = 2  # bad input, usage error, unreachable cluster, ...
    INTERRUPTED = 130


class GitopsGenError(Exception):
    """An expected failure with a message meant for the user."""

    exit_code: int = ExitCode.ERROR

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InputError(GitopsGenError):
    """The user's files or arguments are wrong; the message says where and how to fix it."""


class RepoError(GitopsGenError):
    """The repository is missing, not a git repository, or in a state we refuse to touch."""


class TemplateError(GitopsGenError):
    """A template failed to render (undefined variable, syntax error, invalid YAML output)."""


class ExternalToolError(GitopsGenError):
    """An external program (sops, git, the API server) failed; the message is our translation."""


class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived while a command that decrypts was running.

    A ``BaseException`` like :class:`KeyboardInterrupt`, so no ``except Exception`` swallows it
    and every ``finally`` (private temp folders, scratch copies) runs on the way out. The exit
    status is the shell's convention, 128 + the signal number: 129 SIGHUP, 143 SIGTERM.
    """

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.name = signal.Signals(signum).name
        self.exit_code = 128 + signum
        super().__init__(self.name)
