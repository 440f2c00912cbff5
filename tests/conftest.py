"""Shared pytest configuration: an isolated environment for every test.

No test inherits the developer's machine state: HOME, git config, KUBECONFIG and SOPS_*
variables are replaced. Cluster fixtures live in tests/cluster_fixtures.py (a plugin).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import copy_aether
from tests.testenv.apprepo import seed_chart_cache

pytest_plugins = ["tests.cluster_fixtures", "tests.secrets_fixtures"]

# Build caches (the Go toolchain's, the test cluster's binaries) belong to the real user: tests
# swap HOME for a temporary one, and a cold Kubernetes build takes many minutes.
_REAL_HOME = Path.home()
os.environ.setdefault("XDG_CACHE_HOME", str(_REAL_HOME / ".cache"))
os.environ.setdefault("GOPATH", str(_REAL_HOME / "go"))
os.environ.setdefault("GOCACHE", str(_REAL_HOME / ".cache" / "go-build"))
os.environ.setdefault("GOMODCACHE", str(_REAL_HOME / "go" / "pkg" / "mod"))

# A git identity for the whole session, not only inside each test: module- and session-scoped
# fixtures commit too, and a fresh machine (CI) has no ~/.gitconfig to supply one.
_GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.com",
    "GIT_COMMITTER_NAME": "Test Committer",
    "GIT_COMMITTER_EMAIL": "committer@example.com",
}
for _name, _value in _GIT_IDENTITY.items():
    os.environ[_name] = _value


@pytest.fixture(autouse=True)
def isolated_env(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name, value in _GIT_IDENTITY.items():
        monkeypatch.setenv(name, value)
    for name in list(os.environ):
        if name.startswith("SOPS_") or name in {
            "KUBECONFIG",
            "NO_COLOR",
            "FORCE_COLOR",
            "GITOPS_GEN_AGE_KEY_FILE",
        }:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    # The platform chart the embedded environments pin (github, no network in tests) is the
    # stand-in, already in a per-test chart cache; validate reads it offline.
    monkeypatch.setenv("GITOPS_GEN_CHART_CACHE", str(home / "chart-cache"))
    seed_chart_cache()
    yield home


@pytest.fixture
def aether(tmp_path: Path) -> Path:
    """A git repository with the embedded Aether platform, not yet rendered."""
    return copy_aether(tmp_path / "aether")
