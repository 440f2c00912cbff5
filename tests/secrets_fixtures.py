"""Fixtures of the secrets tests: age identities generated once, repositories per test.

Registered as a plugin in tests/conftest.py; everything runs
against the real sops binary installed with the project.
"""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyrage
import pytest
import yaml

from tests.helpers import PROJECT_ROOT, copy_aether, git, run_cli, tree_digest

EXAMPLE_DEV_KEY = PROJECT_ROOT / "examples" / "keys" / "dev.agekey"


def write_identity(path: Path, mode: int = 0o600) -> str:
    identity = pyrage.x25519.Identity.generate()
    path.write_text(f"# test identity\n{identity}\n", encoding="utf-8")
    path.chmod(mode)
    return str(identity.to_public())


@pytest.fixture(scope="session")
def other_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """An identity that is a recipient of nothing."""
    path = tmp_path_factory.mktemp("keys") / "other.agekey"
    return path, write_identity(path)


@pytest.fixture
def dev_key(tmp_path: Path) -> Path:
    """The example's dev identity, copied with the mode gitops-gen requires (git keeps 0644)."""
    target = tmp_path / "keys" / "dev.agekey"
    target.parent.mkdir()
    shutil.copy(EXAMPLE_DEV_KEY, target)
    target.chmod(0o600)
    return target


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """The embedded Aether repository with its encrypted example secrets."""
    return copy_aether(tmp_path / "aether")


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where sops' private folders go during the test; must be empty afterwards."""
    base = tmp_path / "sops-tmp"
    base.mkdir()
    monkeypatch.setenv("GITOPS_GEN_TMPDIR", str(base))
    return base


@pytest.fixture
def fresh(tmp_path: Path) -> tuple[Path, Path]:
    """A repository whose dev secrets start empty, with a new dev identity (via keygen)."""
    root = copy_aether(tmp_path / "fresh")
    shutil.rmtree(root / "secrets" / "dev")
    config = yaml.safe_load((root / ".sops.yaml").read_text())
    config["creation_rules"] = [
        r for r in config["creation_rules"] if "secrets/dev/" not in r["path_regex"]
    ]
    (root / ".sops.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "no dev secrets")
    key = tmp_path / "keys-fresh" / "dev.agekey"
    run_cli("secrets", "keygen", "dev", "--out", str(key), repo=root, expect=0)
    return root, key


# --- plaintext searches and real child processes (issue 11) -----------------------------------

SHM = Path("/dev/shm")  # searched, never written by the tests


def canary_forms(canary: str) -> list[bytes]:
    """The canary as it could sit in a file: plain, hex (both cases), and base64 at each of
    the three alignments it can have inside a longer base64 stream."""
    raw = canary.encode()
    forms = [raw, raw.hex().encode(), raw.hex().upper().encode()]
    for pad in range(3):
        encoded = base64.b64encode(b"\0" * pad + raw)
        # drop the characters that also depend on the neighbouring bytes
        start = (pad * 4 + 2) // 3
        forms.append(encoded[start : len(encoded) - 4])
    return forms


def _files_under(folder: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(folder, onerror=lambda _: None):
        dirnames[:] = [d for d in dirnames if os.access(Path(dirpath) / d, os.R_OK | os.X_OK)]
        for name in filenames:
            path = Path(dirpath) / name
            with contextlib.suppress(OSError):
                if path.is_file() and not path.is_symlink() and path.stat().st_size < 20_000_000:
                    yield path


def git_object_bytes(root: Path) -> bytes:
    """Every object in the repository's database (reachable or not), decompressed."""
    done = subprocess.run(
        ["git", "cat-file", "--batch-all-objects", "--batch"],
        cwd=root,
        capture_output=True,
        check=True,
    )
    return done.stdout


def plaintext_sightings(canary: str, root: Path, *folders: Path) -> list[str]:
    """Where the canary appears (any form): the work tree (with .git), /dev/shm, each of
    ``folders`` (e.g. $TMPDIR) and every git object. Empty means nowhere."""
    forms = canary_forms(canary)
    seen: list[str] = []
    for folder in (root, SHM, *folders):
        if not folder.is_dir():
            continue
        for path in _files_under(folder):
            with contextlib.suppress(OSError):
                data = path.read_bytes()
                if any(form in data for form in forms):
                    seen.append(str(path))
    objects = git_object_bytes(root)
    if any(form in objects for form in forms):
        seen.append("git objects")
    return seen


def child_env(home: Path, tmpdir: Path, **extra: str) -> dict[str, str]:
    """An isolated environment for a real ``gitops-gen`` child process."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "TMPDIR": str(tmpdir),
        "LANG": "C.UTF-8",
        "GIT_CONFIG_NOSYSTEM": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.update(extra)
    return env


def spawn_cli(
    root: Path, *args: str, env: dict[str, str], stdin: Path | None = None
) -> subprocess.Popen[bytes]:
    """``python -m gitops_gen.cli --repo ROOT ARGS`` as a real child process (no terminal);
    ``stdin`` is a file to read standard input from (default: /dev/null)."""
    with open(stdin or os.devnull, "rb") as source:
        return _popen(root, args, env, source)


def _popen(
    root: Path, args: tuple[str, ...], env: dict[str, str], source: Any
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "gitops_gen.cli", "--repo", str(root), *args],
        stdin=source,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=root,
    )


def real_sops() -> Path:
    from gitops_gen.secrets.sops import locate_sops

    return locate_sops()


CANARY = "canary-issue11-8e2f4a-do-not-leak"


@pytest.fixture
def canary_repo(repo: Path, dev_key: Path) -> Path:
    """The example repository with :data:`CANARY` as dev's fastapi-credentials JWT_SECRET,
    committed (as ciphertext)."""
    run_cli(
        "secrets", "set", "dev", "fastapi-credentials", "JWT_SECRET", "--identity", str(dev_key),
        repo=repo, stdin=CANARY, expect=0,
    )  # fmt: skip
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "canary")
    return repo


@dataclass(frozen=True)
class ChildResult:
    exit_code: int
    stdout: str
    stderr: str


def run_child(
    root: Path,
    *args: str,
    tmp: Path,
    stdin: Path | None = None,
    timeout: float = 120,
    env: dict[str, str] | None = None,
) -> ChildResult:
    """Run ``gitops-gen`` as a real child process without a terminal; ``tmp`` is its $TMPDIR
    and $HOME parent. A run that does not end within ``timeout`` fails the test."""
    home = tmp / "home"
    home.mkdir(parents=True, exist_ok=True)
    proc = spawn_cli(root, *args, env=child_env(home, tmp, **(env or {})), stdin=stdin)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"gitops-gen {' '.join(args)} did not end within {timeout}s")
    return ChildResult(proc.returncode, out.decode(), err.decode())


def assert_refused_without_trace(
    result: ChildResult | Any, root: Path, before: dict[str, str], tmp: Path, message: str
) -> None:
    """Exit 2, exactly ``message`` as the one stderr line, nothing on stdout, the repository
    unchanged, and the canary nowhere (work tree, /dev/shm, ``tmp``, git objects)."""
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    assert result.stdout == ""
    assert result.stderr == message + "\n"
    assert tree_digest(root) == before
    assert git(root, "status", "--porcelain") == ""
    assert plaintext_sightings(CANARY, root, tmp) == []
