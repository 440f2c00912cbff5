"""The one wrapper around the real ``helm`` binary: find it, check its version, run it.

We never template Helm charts ourselves: ``helm template`` is the only engine, exactly as
Argo CD's repo server uses it. The binary is looked up in ``$GITOPS_GEN_HELM``, then in the
cache the test environment builds it into (``~/.cache/gitops-gen/helm/<version>/helm``), then
on ``PATH``.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from gitops_gen.errors import ExternalToolError
from gitops_gen.tools import HELM_ENV, HELM_VERSION
from gitops_gen.tools import HELM_MINIMUM as MINIMUM_VERSION
from gitops_gen.tools import helm_candidates as candidates

# Where helm is looked for and how old it may be live with the other tools' (gitops_gen.tools),
# so `doctor` and `--version` find the binary these commands run and judge it by their minimum.
__all__ = [
    "HELM_ENV",
    "HELM_VERSION",
    "MINIMUM_VERSION",
    "Helm",
    "HelmError",
    "candidates",
    "find_helm",
]
TIMEOUT_SECONDS = 300
# a `go install` build reports "v3.19" (no patch: release builds stamp it with -ldflags)
_VERSION_RE = re.compile(r"v(\d+)\.(\d+)(?:\.(\d+))?")


class HelmError(ExternalToolError):
    """helm ran and failed; the message is the first meaningful line of its stderr."""


@dataclass(frozen=True)
class Helm:
    path: Path
    version: str

    def run(
        self,
        args: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> str:
        """Run ``helm ARGS``; stdout, or :class:`HelmError` with helm's own reason."""
        try:
            done = subprocess.run(
                [str(self.path), *args],
                capture_output=True,
                text=True,
                env={**_base_env(), **(env or {})},
                cwd=cwd,
                timeout=TIMEOUT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise HelmError(f"helm {args[0]} timed out after {TIMEOUT_SECONDS} s") from None
        if done.returncode != 0:
            raise HelmError(f"helm {args[0]} failed: {_reason(done.stderr)}")
        return done.stdout


def _base_env() -> dict[str, str]:
    # helm only needs PATH/HOME and its own settings; isolating its config and cache keeps a
    # user's repositories.yaml and plugins out of what Argo CD would not see either
    keep = ("PATH", "HOME", "TMPDIR", "HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY")
    return {k: v for k, v in os.environ.items() if k in keep or k.startswith("HELM_")}


def _reason(stderr: str) -> str:
    """helm's error on one line: from its ``Error:`` line on (a schema error lists the failing
    keys on the lines after it), warnings before it dropped."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    start = next((i for i, ln in enumerate(lines) if ln.startswith("Error:")), 0)
    text = "; ".join(lines[start:]) or "(no message)"
    text = text.removeprefix("Error: ")
    return text if len(text) <= 600 else text[:597] + "..."


@cache
def find_helm() -> Helm:
    """The helm binary, version-checked; one clear line when there is none."""
    for path in candidates():
        if path.is_file() and os.access(path, os.X_OK):
            return Helm(path, _checked_version(path))
    if os.environ.get(HELM_ENV):
        raise ExternalToolError(
            f"${HELM_ENV} is {os.environ[HELM_ENV]}, which is not an executable helm binary"
        )
    raise ExternalToolError(
        f"helm not found: install helm {HELM_VERSION} (at least "
        f"v{'.'.join(map(str, MINIMUM_VERSION))}) on PATH, or set ${HELM_ENV} to its path"
    )


def _checked_version(path: Path) -> str:
    try:
        done = subprocess.run(
            [str(path), "version", "--template", "{{.Version}}"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
            env=_base_env(),
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ExternalToolError(f"{path}: cannot run helm ({exc.__class__.__name__})") from None
    match = _VERSION_RE.search(done.stdout)
    if done.returncode != 0 or match is None:
        raise ExternalToolError(f"{path}: not a working helm binary ('helm version' failed)")
    found = tuple(int(g or 0) for g in match.groups())
    if found[0] != 3 or found < MINIMUM_VERSION:
        raise ExternalToolError(
            f"{path}: helm {match.group(0)} is not supported; install helm {HELM_VERSION} "
            f"(3.x, at least v{'.'.join(map(str, MINIMUM_VERSION))})"
        )
    return match.group(0)
