"""init: a new repository that renders and validates clean at once."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.helpers import git, invoke_cli, run_cli


def test_scaffold_renders_and_validates_clean(tmp_path: Path) -> None:
    target = tmp_path / "shop-gitops"
    result = run_cli("init", str(target), "--platform", "shop", expect=0)
    assert "created" in result.stderr and "6 applications rendered" in result.stderr
    for rel in (
        "environments/platform.yaml",
        "environments/dev.yaml",
        "environments/prod.yaml",
        "templates/application.yaml.j2",
        ".sops.yaml",
        "README.md",
        "clusters/prod/root.yaml",
        "clusters/prod/apps/prod/project.yaml",
    ):
        assert (target / rel).is_file(), rel
    assert "shop" in (target / "environments/platform.yaml").read_text()
    assert "__PLATFORM__" not in (target / "environments/platform.yaml").read_text()
    assert (target / ".git").is_dir()
    run_cli("render", "--check", repo=target, expect=0)
    run_cli("validate", repo=target, expect=0)
    project = (target / "clusters/prod/apps/prod/project.yaml").read_text()
    assert "name: shop-prod" in project
    # the first commit holds everything, so history, diff and promote work at once
    assert "first commit " in result.stderr
    assert git(target, "status", "--porcelain") == ""
    assert git(target, "log", "--format=%s").splitlines() == ["Scaffold with gitops-gen init"]
    history = run_cli("history", "prod", repo=target, expect=0)
    assert history.stdout == "no promotions into prod found in the history\n"
    run_cli("diff", "--base", "HEAD", repo=target, expect=0)
    # a promotion plans from the first commit: it runs, or a guardrail (the scaffold's dev may
    # track a branch, which protected prod refuses) answers, never "no commits yet"
    dry = invoke_cli("promote", "dev", "prod", "--dry-run", repo=target)
    assert dry.exit_code == 0 or dry.stderr.startswith(
        "error: nothing can be promoted into prod: "
    ), dry.output


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o755), (0o002, 0o775), (0o077, 0o700)])
def test_the_folder_gets_the_users_umask(tmp_path: Path, umask: int, mode: int) -> None:
    old = os.umask(umask)
    try:
        run_cli("init", str(tmp_path / "repo"), expect=0)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "repo").stat().st_mode) == mode


def test_without_a_git_identity_init_still_works_and_says_how_to_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for who in ("AUTHOR", "COMMITTER"):
        monkeypatch.delenv(f"GIT_{who}_NAME", raising=False)
        monkeypatch.delenv(f"GIT_{who}_EMAIL", raising=False)
    monkeypatch.delenv("EMAIL", raising=False)
    result = run_cli("init", str(tmp_path / "repo"), expect=0)
    assert "note: no first commit: git identity unknown: " in result.stderr
    assert "then run 'git add -A && git commit'" in result.stderr
    assert (tmp_path / "repo/clusters").is_dir()


def test_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.mkdir()
    (target / "keep.txt").write_text("mine\n")
    result = run_cli("init", str(target), expect=2)
    assert (
        result.stderr == f"error: {target}: already exists and is not empty; choose a new folder\n"
    )
    assert sorted(p.name for p in target.iterdir()) == ["keep.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]  # no staging folder left


def test_refuses_a_bad_platform_name(tmp_path: Path) -> None:
    result = run_cli("init", str(tmp_path / "x"), "--platform", "Not_A_Label", expect=2)
    assert "--platform Not_A_Label: must be a DNS label" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_folder_that_cannot_be_created_is_one_line(tmp_path: Path) -> None:
    """A path under a file (a typo, or a name clash) is bad input, not a crash."""
    (tmp_path / "notes").write_text("mine\n")
    result = run_cli("init", str(tmp_path / "notes" / "platform"), expect=2)
    assert result.stderr == (
        f"error: {tmp_path / 'notes' / 'platform'}: cannot create it ({tmp_path / 'notes'} is "
        "not a folder); choose a path in a folder you can write to\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes"]
    assert (tmp_path / "notes").read_text() == "mine\n"
