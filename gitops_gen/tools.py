"""The external programs gitops-gen runs, found the way the commands find them, with versions.

``--version`` and ``doctor`` report them; nothing here changes how a command runs a tool.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gitops_gen.cache import user_cache_dir
from gitops_gen.errors import GitopsGenError

TIMEOUT = 10  # seconds: a version query that takes longer is a broken binary

HELM_VERSION = "v3.19.0"  # the version the tests pin and build
HELM_MINIMUM = (3, 14, 0)  # --skip-schema-validation and OCI without the experimental flag
HELM_ENV = "GITOPS_GEN_HELM"

Version = tuple[int, ...]


@dataclass(frozen=True)
class ToolSpec:
    name: str
    minimum: str
    argv: tuple[str, ...]  # arguments that print the version, without network access
    purpose: str
    required: bool  # False: only some features need it (a missing one is a warning)
    install: str  # how to get it, for the fix line


@dataclass(frozen=True)
class ToolStatus:
    spec: ToolSpec
    path: Path | None
    version: str | None  # as the tool printed it, e.g. "3.11.0"
    problem: str | None  # None when found and new enough

    @property
    def ok(self) -> bool:
        return self.problem is None

    @property
    def name(self) -> str:
        return self.spec.name

    def fix(self) -> str:
        if self.path is None:
            return self.spec.install
        return f"upgrade {self.spec.name} to {self.spec.minimum} or newer ({self.spec.install})"


def _locate_sops() -> Path | None:
    from gitops_gen.secrets.sops import locate_sops

    try:
        return locate_sops()
    except GitopsGenError:
        return None


def helm_candidates() -> list[Path]:
    """Where the hydrating commands look for helm, in order: $GITOPS_GEN_HELM, the cache the
    test environment builds it into, then PATH."""
    out: list[Path] = []
    explicit = os.environ.get(HELM_ENV)
    if explicit:
        out.append(Path(explicit))
    out.append(Path.home() / ".cache" / "gitops-gen" / "helm" / HELM_VERSION / "helm")
    out.append(user_cache_dir() / "helm" / HELM_VERSION / "helm")
    found = shutil.which("helm")
    if found:
        out.append(Path(found))
    return out


def _locate_helm() -> Path | None:
    return next((p for p in helm_candidates() if p.is_file() and os.access(p, os.X_OK)), None)


def _on_path(name: str, env: str) -> Callable[[], Path | None]:
    def locate() -> Path | None:
        explicit = os.environ.get(env)
        if explicit:
            return Path(explicit) if Path(explicit).is_file() else None
        found = shutil.which(name)
        return Path(found) if found else None

    return locate


SPECS: tuple[tuple[ToolSpec, Callable[[], Path | None]], ...] = (
    (
        ToolSpec(
            "sops",
            "3.9.0",  # the first with the age and mac_only_encrypted handling the wrapper expects
            ("--version", "--disable-version-check"),
            "encrypts and decrypts secrets/",
            True,
            "reinstall gitops-gen (it installs sops) or set $GITOPS_GEN_SOPS to a sops binary",
        ),
        _locate_sops,
    ),
    (
        ToolSpec(
            "helm",
            ".".join(map(str, HELM_MINIMUM)),  # what hydrate, --hydrated and drift --hydrate need
            ("version", "--short"),
            "renders charts for hydrate, hydrated diffs and drift --hydrate",
            False,
            f"install helm {HELM_VERSION} (3.x, at least "
            f"{'.'.join(map(str, HELM_MINIMUM))}) and put it on PATH, or set ${HELM_ENV}",
        ),
        _locate_helm,
    ),
    (
        ToolSpec(
            "git",
            "2.25.0",  # worktree add/remove and rev-parse --show-toplevel as used here
            ("--version",),
            "commits promotions, renders other revisions",
            True,
            "install git and put it on PATH",
        ),
        _on_path("git", "GITOPS_GEN_GIT"),
    ),
)

_VERSION = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")


def parse_version(text: str) -> Version | None:
    """The first ``X.Y[.Z]`` in a tool's output: ``v3.19.0+g1234`` -> ``(3, 19, 0)``."""
    match = _VERSION.search(text)
    if match is None:
        return None
    return tuple(int(part or 0) for part in match.groups())


def check_version(found: str | None, minimum: str) -> str | None:
    """A problem sentence, or ``None`` when ``found`` is at least ``minimum``."""
    parsed = parse_version(found or "")
    if parsed is None:
        return "version not recognised"
    wanted = parse_version(minimum) or (0,)
    if parsed < wanted:
        return f"{'.'.join(map(str, parsed))} is older than the minimum {minimum}"
    return None


def probe(spec: ToolSpec, locate: Callable[[], Path | None]) -> ToolStatus:
    path = locate()
    if path is None:
        return ToolStatus(spec, None, None, "not found")
    try:
        done = subprocess.run(
            [str(path), *spec.argv],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
            env={**os.environ, "GIT_CONFIG_NOSYSTEM": "1"},
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return ToolStatus(spec, path, None, f"cannot run it ({type(exc).__name__})")
    parsed = parse_version(done.stdout) if done.returncode == 0 else None
    version = ".".join(map(str, parsed)) if parsed else None
    return ToolStatus(spec, path, version, check_version(version, spec.minimum))


def probe_all() -> list[ToolStatus]:
    return [probe(spec, locate) for spec, locate in SPECS]
