"""init: a new repository that renders and validates clean at once."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import git, run_cli


def test_scaffold_renders_and_validates_clean(tmp_path: Path) -> None:
    target = tmp_path / "shop-gitops"
    result = run_cli("init", str(target), "--platform", "shop")
    assert result.exit_code == 0, result.output
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
    check = run_cli("render", "--check", repo=target)
    assert check.exit_code == 0, check.output
    validate = run_cli("validate", repo=target)
    assert validate.exit_code == 0, validate.output
    project = (target / "clusters/prod/apps/prod/project.yaml").read_text()
    assert "name: shop-prod" in project
    # the new repository commits cleanly
    git(target, "add", "-A")
    git(target, "commit", "-q", "-m", "scaffold")
    assert git(target, "status", "--porcelain") == ""


def test_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.mkdir()
    (target / "keep.txt").write_text("mine\n")
    result = run_cli("init", str(target))
    assert result.exit_code == 2
    assert (
        result.stderr == f"error: {target}: already exists and is not empty; choose a new folder\n"
    )
    assert sorted(p.name for p in target.iterdir()) == ["keep.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]  # no staging folder left


def test_refuses_a_bad_platform_name(tmp_path: Path) -> None:
    result = run_cli("init", str(tmp_path / "x"), "--platform", "Not_A_Label")
    assert result.exit_code == 2
    assert "--platform Not_A_Label: must be a DNS label" in result.stderr
    assert list(tmp_path.iterdir()) == []
