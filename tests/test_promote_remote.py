"""Pushing promotions to a bare remote: moved bases, conflicts, two clones at once, the forge."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from tests.helpers import PROJECT_ROOT, Result, git, run_cli
from tests.promote_helpers import bare_remote, branches, clone, rendered_aether, set_in_file


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    origin = rendered_aether(tmp_path / "seed")
    return bare_remote(origin, tmp_path / "remote.git")


def _push_promotion(repo: Path, component: str, *, branch: str) -> Result:
    """Promote one component staging -> prod and push the branch to origin."""
    return run_cli(
        "promote",
        "staging",
        "prod",
        "--component",
        component,
        "--push",
        "origin",
        "--branch",
        branch,
        repo=repo,
    )


def _remote_branches(remote: Path) -> list[str]:
    out = git(remote, "for-each-ref", "--format=%(refname:short)", "refs/heads/")
    return sorted(out.split())


def _show(repo: Path, ref: str, path: str) -> str:
    return git(repo, "show", f"{ref}:{path}")


def test_push_creates_the_branch_on_the_remote(remote: Path, tmp_path: Path) -> None:
    a = clone(remote, tmp_path / "a")
    result = run_cli("promote", "staging", "prod", "--push", "origin", "--branch", "p1", repo=a)
    assert result.exit_code == 0, result.output
    assert _remote_branches(remote) == ["main", "p1"]
    assert git(remote, "rev-parse", "p1") == git(a, "rev-parse", "p1")


def test_moved_base_is_rebased_and_replanned(remote: Path, tmp_path: Path) -> None:
    a, b = clone(remote, tmp_path / "a"), clone(remote, tmp_path / "b")
    assert _push_promotion(a, "kafka", branch="pa").exit_code == 0
    git(a, "push", "-q", "origin", "pa:main")  # A's pull request is merged
    merged = git(remote, "rev-parse", "main").strip()
    # B still sits on the old main and promotes an overlapping set
    result = run_cli(
        "promote",
        "staging",
        "prod",
        "--component",
        "kafka",
        "--component",
        "risk-service",
        "--push",
        "origin",
        "--branch",
        "pb",
        repo=b,
    )
    assert result.exit_code == 0, result.output
    assert git(remote, "rev-parse", "pb~1").strip() == merged  # rebased onto the new main
    assert git(b, "rev-parse", "pb") == git(remote, "rev-parse", "pb")  # local follows
    prod = _show(remote, "pb", "environments/prod.yaml")
    assert "kafka: {chart: 31.1.0}" in prod and 'risk-service: {tag: "2.14.0"' in prod
    trailers = git(remote, "log", "-1", "--format=%(trailers:only,unfold)", "pb")
    assert "Component: risk-service 2.13.2 -> 2.14.0" in trailers
    assert "kafka" not in trailers  # already on main: dropped by the re-plan
    assert "re-planned onto the moved remote 1 time" in result.stderr


def test_nothing_left_after_rebase_is_success(remote: Path, tmp_path: Path) -> None:
    a, b = clone(remote, tmp_path / "a"), clone(remote, tmp_path / "b")
    assert _push_promotion(a, "kafka", branch="pa").exit_code == 0
    git(a, "push", "-q", "origin", "pa:main")
    result = _push_promotion(b, "kafka", branch="pb")
    assert result.exit_code == 0, result.output
    assert "already has these versions" in result.stdout
    assert "pb" not in _remote_branches(remote)
    assert branches(b) == ["main"]


def test_conflict_stops_cleanly_and_keeps_the_local_branch(remote: Path, tmp_path: Path) -> None:
    a, b = clone(remote, tmp_path / "a"), clone(remote, tmp_path / "b")
    # someone hot-fixes prod on main meanwhile
    set_in_file(
        a / "environments/prod.yaml", 'risk-service: {tag: "2.13.2"', 'risk-service: {tag: "2.13.3"'
    )
    git(a, "commit", "-qam", "hotfix risk-service")
    git(a, "push", "-q", "origin", "main")
    result = _push_promotion(b, "risk-service", branch="pb")
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()[-1:]
    assert line.startswith("error: cannot rebase onto origin/main")
    assert "risk-service is now 2.13.3 (this promotion expected 2.13.2)" in line
    assert "local branch pb is intact" in line
    assert "pb" in branches(b)  # our work is kept, on the old base
    assert "Component: risk-service 2.13.2 -> 2.14.0" in git(b, "log", "-1", "--format=%B", "pb")
    assert "pb" not in _remote_branches(remote)


def test_same_branch_from_two_clones_stacks(remote: Path, tmp_path: Path) -> None:
    a, b = clone(remote, tmp_path / "a"), clone(remote, tmp_path / "b")
    assert _push_promotion(a, "kafka", branch="shared").exit_code == 0
    result = _push_promotion(b, "ui", branch="shared")
    assert result.exit_code == 0, result.output
    prod = _show(remote, "shared", "environments/prod.yaml")
    assert "kafka: {chart: 31.1.0}" in prod and 'ui: {tag: "2.14.0"}' in prod
    assert git(remote, "rev-list", "--count", "main..shared").strip() == "2"


def _cli(repo: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "gitops_gen.cli", "--repo", str(repo), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_clones_promoting_at_once_lose_nothing(remote: Path, tmp_path: Path) -> None:
    a, b = clone(remote, tmp_path / "a"), clone(remote, tmp_path / "b")
    procs = {
        "kafka": (
            a,
            _cli(
                a,
                "promote",
                "staging",
                "prod",
                "--component",
                "kafka",
                "--push",
                "origin",
                "--branch",
                "shared",
            ),
        ),
        "ui": (
            b,
            _cli(
                b,
                "promote",
                "staging",
                "prod",
                "--component",
                "ui",
                "--push",
                "origin",
                "--branch",
                "shared",
            ),
        ),
    }
    outcomes = {}
    for name, (repo, proc) in procs.items():
        _, err = proc.communicate(timeout=120)
        outcomes[name] = (repo, proc.returncode, err)
    remote_prod = _show(remote, "shared", "environments/prod.yaml")
    expected = {"kafka": "kafka: {chart: 31.1.0}", "ui": 'ui: {tag: "2.14.0"}'}
    for name, (repo, code, err) in outcomes.items():
        assert code in (0, 2), err
        if code == 0:
            assert expected[name] in remote_prod  # pushed work is on the remote
        else:  # failed cleanly: one line, and the work is still on the local branch
            assert err.strip().splitlines()[-1].startswith("error: ")
            assert expected[name] in _show(repo, "shared", "environments/prod.yaml")
    assert any(code == 0 for _, code, _ in outcomes.values())


def test_unreachable_remote_is_one_line(remote: Path, tmp_path: Path) -> None:
    a = clone(remote, tmp_path / "a")
    git(a, "remote", "set-url", "origin", str(tmp_path / "gone.git"))
    result = run_cli("promote", "staging", "prod", "--push", "origin", "--branch", "p", repo=a)
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("error: git ls-remote failed:")
    assert "p" in branches(a)  # the local commit is kept


# --- the forge ------------------------------------------------------------------------------


class _Forge(BaseHTTPRequestHandler):
    requests: ClassVar[list[dict[str, Any]]] = []
    status = 201

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        payload = json.loads(self.rfile.read(length))
        type(self).requests.append(
            {"path": self.path, "headers": dict(self.headers.items()), "json": payload}
        )
        if type(self).status != 201:
            answer: dict[str, Any] = {"message": "Validation Failed: a pull request exists"}
        elif self.path.startswith("/repos/"):
            answer = {"html_url": "https://forge.example/acme/aether-gitops/pull/7"}
        else:
            answer = {"web_url": "https://forge.example/acme/aether-gitops/-/merge_requests/7"}
        data = json.dumps(answer).encode()
        self.send_response(type(self).status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def forge_server() -> Iterator[tuple[str, type[_Forge]]]:
    handler = type("Forge", (_Forge,), {"requests": [], "status": 201})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


FORGE_URL = "https://forge.example/acme/aether-gitops.git"


@pytest.fixture
def forge_clone(remote: Path, tmp_path: Path) -> Path:
    a = clone(remote, tmp_path / "a")
    # the remote's URL names the forge project; insteadOf sends git itself to the bare repo
    git(a, "remote", "set-url", "origin", FORGE_URL)
    git(a, "config", f"url.{remote}.insteadOf", FORGE_URL)
    return a


def test_open_pr_on_github(
    forge_clone: Path, forge_server: tuple[str, type[_Forge]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, handler = forge_server
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_secret_token_value")
    monkeypatch.setenv("GITOPS_GEN_GITHUB_API_URL", url)
    result = run_cli(
        "promote",
        "staging",
        "prod",
        "--push",
        "origin",
        "--open-pr",
        "github",
        "--branch",
        "pr1",
        repo=forge_clone,
    )
    assert result.exit_code == 0, result.output
    assert "pull request: https://forge.example/acme/aether-gitops/pull/7" in result.stderr
    (request,) = handler.requests
    assert request["path"] == "/repos/acme/aether-gitops/pulls"
    assert request["headers"]["Authorization"] == "Bearer ghp_secret_token_value"
    assert request["json"]["head"] == "pr1" and request["json"]["base"] == "main"
    assert request["json"]["title"] == "promote(prod): 19 components from staging"
    assert "<!-- gitops-gen:plan" in request["json"]["body"]
    assert "ghp_secret_token_value" not in result.output


def test_open_pr_on_gitlab(
    forge_clone: Path, forge_server: tuple[str, type[_Forge]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, handler = forge_server
    monkeypatch.setenv("GITLAB_TOKEN", "glpat-secret")
    monkeypatch.setenv("GITOPS_GEN_GITLAB_API_URL", url)
    result = run_cli(
        "promote",
        "staging",
        "prod",
        "--component",
        "kafka",
        "--push",
        "origin",
        "--open-pr",
        "gitlab",
        "--branch",
        "mr1",
        repo=forge_clone,
    )
    assert result.exit_code == 0, result.output
    (request,) = handler.requests
    assert request["path"] == "/projects/acme%2Faether-gitops/merge_requests"
    assert request["headers"]["Private-Token"] == "glpat-secret"
    assert request["json"]["source_branch"] == "mr1"
    assert request["json"]["target_branch"] == "main"
    assert "glpat-secret" not in result.output


def test_forge_errors_are_one_line_without_the_token(
    forge_clone: Path, forge_server: tuple[str, type[_Forge]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, handler = forge_server
    handler.status = 422
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_secret_token_value")
    monkeypatch.setenv("GITOPS_GEN_GITHUB_API_URL", url)
    result = run_cli(
        "promote",
        "staging",
        "prod",
        "--push",
        "origin",
        "--open-pr",
        "github",
        "--branch",
        "pr2",
        repo=forge_clone,
    )
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()[-1:]
    assert "HTTP 422: Validation Failed" in line and "branch pr2 was pushed" in line
    assert "ghp_secret_token_value" not in result.output


def test_missing_token_is_refused_before_anything(forge_clone: Path) -> None:
    result = run_cli(
        "promote", "staging", "prod", "--push", "origin", "--open-pr", "github", repo=forge_clone
    )
    assert result.exit_code == 2
    assert "set GITHUB_TOKEN" in result.stderr
    assert branches(forge_clone) == ["main"]
