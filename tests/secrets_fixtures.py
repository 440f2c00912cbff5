"""Fixtures of the secrets tests: age identities generated once, repositories per test.

Registered as a plugin in tests/conftest.py; everything runs
against the real sops binary installed with the project.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pyrage
import pytest
import yaml

from tests.helpers import PROJECT_ROOT, copy_aether, git, run_cli

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
