"""`gitops-gen promote` with real git: the commit, the guardrails, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import git, run_cli, tree_digest
from tests.promote_helpers import branches, rendered_aether, set_in_file


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return rendered_aether(tmp_path / "aether")


def _promotion_branch(repo: Path) -> str:
    (name,) = [b for b in branches(repo) if b.startswith("promote/")]
    return name


def test_promote_creates_one_commit_on_a_new_branch(repo: Path) -> None:
    before_tree = tree_digest(repo)
    head = git(repo, "rev-parse", "HEAD").strip()
    result = run_cli("promote", "staging", "prod", repo=repo)
    assert result.exit_code == 0, result.output
    branch = _promotion_branch(repo)
    assert branch.startswith("promote/staging-to-prod/")
    # the person's checkout is untouched: same branch, same files, same HEAD
    assert git(repo, "symbolic-ref", "--short", "HEAD").strip() == "main"
    assert tree_digest(repo) == before_tree
    assert git(repo, "rev-parse", "HEAD").strip() == head
    # one commit, on HEAD, holding only prod's environment file and prod's rendered output
    assert git(repo, "rev-list", "--count", f"main..{branch}").strip() == "1"
    assert git(repo, "rev-parse", f"{branch}~1").strip() == head
    files = git(repo, "diff", "--name-only", "main", branch).split()
    assert "environments/prod.yaml" in files
    assert all(f == "environments/prod.yaml" or f.startswith("clusters/prod-eu1/") for f in files)
    assert "clusters/prod-eu1/apps/prod/kafka.yaml" in files
    message = git(repo, "log", "-1", "--format=%B", branch)
    assert message.startswith("promote(prod): 19 components from staging\n")
    trailers = git(repo, "log", "-1", "--format=%(trailers:only,unfold)", branch)
    assert f"Promoted-From: staging@{head}" in trailers
    short_id = branch.rsplit("/", 1)[1]
    assert f"Promotion-Id: {short_id}" in trailers
    assert "Component: risk-service 2.13.2 -> 2.14.0" in trailers
    assert "Component: kafka 31.0.0 -> 31.1.0" in trailers
    assert "oms-service" not in trailers  # held
    # the committed render is what 'render' would write for the promoted file
    git(repo, "switch", "-q", branch)
    assert run_cli("render", "--check", repo=repo).exit_code == 0
    # the body goes to stdout: table, diff blocks, warnings, plan
    assert "| risk-service | service | `2.13.2` | `2.14.0` |" in result.stdout
    assert "<details><summary><code>prod-kafka</code>" in result.stdout
    assert "oms-service" in result.stdout and "INC-1234" in result.stdout
    assert "<!-- gitops-gen:plan" in result.stdout


def test_only_promoted_lines_of_the_env_file_change(repo: Path) -> None:
    before = (repo / "environments/prod.yaml").read_text()
    assert run_cli("promote", "staging", "prod", repo=repo).exit_code == 0
    after = git(repo, "show", f"{_promotion_branch(repo)}:environments/prod.yaml")
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    assert len(old) == len(new)
    changed = [(a, b) for a, b in zip(old, new, strict=True) if a != b]
    assert len(changed) == 19  # one line per promoted component, nothing else
    for a, b in changed:
        assert a.replace("2.13.2", "X").replace("31.0.0", "X") == b.replace("2.14.0", "X").replace(
            "31.1.0", "X"
        )


def test_dry_run_prints_plan_and_body_and_changes_nothing(repo: Path) -> None:
    before, heads = tree_digest(repo), branches(repo)
    result = run_cli("promote", "staging", "prod", "--dry-run", repo=repo)
    assert result.exit_code == 0, result.output
    assert "promotion staging -> prod: 19 to move" in result.stdout
    assert "## promote(prod): 19 components from staging" in result.stdout
    assert tree_digest(repo) == before and branches(repo) == heads


def test_json_output_and_pr_body_file(repo: Path, tmp_path: Path) -> None:
    body_file = tmp_path / "body.md"
    result = run_cli(
        "promote",
        "staging",
        "prod",
        "--component",
        "kafka",
        "--pr-body",
        str(body_file),
        "-o",
        "json",
        repo=repo,
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["status"] == "committed"
    assert [m["component"] for m in data["plan"]["moves"]] == ["kafka"]
    assert body_file.read_text() == data["body"]
    assert data["branch"] in branches(repo)


def test_nothing_to_promote_is_success_without_a_branch(repo: Path) -> None:
    result = run_cli("promote", "staging", "prod", "--component", "feast", repo=repo)
    assert result.exit_code == 0, result.output
    assert "nothing to promote" in result.stdout
    assert branches(repo) == ["main"]
    # held only: still nothing, and the plan says why
    result = run_cli("promote", "staging", "prod", "--component", "oms-service", repo=repo)
    assert result.exit_code == 0
    assert "nothing to promote into prod (1 held" in result.stdout
    assert "INC-1234" in result.stderr
    assert branches(repo) == ["main"]


def test_mutable_tag_into_protected_env_is_refused(repo: Path) -> None:
    set_in_file(repo / "environments/staging.yaml", 'ui: {tag: "2.14.0"}', "ui: {tag: latest}")
    git(repo, "commit", "-qam", "staging runs latest")
    result = run_cli("promote", "staging", "prod", "--component", "ui", repo=repo)
    assert result.exit_code == 2
    assert "nothing can be promoted into prod: ui:" in result.stderr
    assert branches(repo) == ["main"]
    # with other components the rest moves and the plan lists the blocked one
    result = run_cli(
        "promote", "staging", "prod", "--component", "ui", "--component", "kafka", repo=repo
    )
    assert result.exit_code == 0, result.output
    assert "blocked  ui latest" in result.stderr
    assert (
        "ui" not in git(repo, "log", "-1", "--format=%(trailers)", _promotion_branch(repo)).split()
    )


def _refused(repo: Path, *args: str, message: str) -> None:
    before, heads = tree_digest(repo), branches(repo)
    result = run_cli(*args, repo=repo)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert message in lines[0]
    assert tree_digest(repo) == before
    assert branches(repo) == heads


def test_skipping_the_order_needs_force(repo: Path) -> None:
    _refused(repo, "promote", "dev", "prod", message="'prod' is promoted from 'staging'")
    result = run_cli("promote", "dev", "prod", "--force", repo=repo)
    assert result.exit_code == 0, result.output
    assert "--force" in result.stdout  # the body warns reviewers


def test_dirty_work_tree_is_refused(repo: Path) -> None:
    set_in_file(repo / "environments/prod.yaml", "replicas: 2", "replicas: 3")
    _refused(
        repo, "promote", "staging", "prod", message="uncommitted changes in environments/prod.yaml"
    )


def test_staged_changes_are_refused(repo: Path) -> None:
    set_in_file(repo / "environments/dev.yaml", "replicas: 1", "replicas: 2")
    git(repo, "add", "environments/dev.yaml")
    _refused(repo, "promote", "staging", "prod", message="staged changes in environments/dev.yaml")


def test_untracked_files_are_refused(repo: Path) -> None:
    (repo / "environments/qa.yaml.bak").write_text("x: 1\n")
    _refused(repo, "promote", "staging", "prod", message="untracked files")


def test_detached_head_is_refused(repo: Path) -> None:
    git(repo, "switch", "-q", "--detach", "HEAD")
    _refused(repo, "promote", "staging", "prod", message="HEAD is detached")


def test_missing_identity_is_a_clear_error(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for who in ("AUTHOR", "COMMITTER"):
        monkeypatch.delenv(f"GIT_{who}_NAME", raising=False)
        monkeypatch.delenv(f"GIT_{who}_EMAIL", raising=False)
    monkeypatch.delenv("EMAIL", raising=False)
    _refused(repo, "promote", "staging", "prod", message="git identity unknown")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("promote", "stagin", "prod"), "unknown environment 'stagin'; did you mean 'staging'?"),
        (("promote", "staging", "prdo"), "unknown environment 'prdo'; did you mean 'prod'?"),
        (("promote", "prod", "prod"), "source and target are both 'prod'"),
        (
            ("promote", "staging", "prod", "--component", "risk-servic"),
            "unknown component 'risk-servic'; did you mean 'risk-service'?",
        ),
        (("promote", "staging", "prod", "--push", "origin"), "unknown remote 'origin'"),
        (("promote", "staging", "prod", "--branch", "bad..name"), "not a valid branch name"),
        (("promote", "staging", "prod", "--open-pr", "github"), "--open-pr needs --push"),
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(
    repo: Path, args: tuple[str, ...], message: str
) -> None:
    _refused(repo, *args, message=message)


def test_existing_branch_is_refused(repo: Path) -> None:
    git(repo, "branch", "release")
    _refused(
        repo,
        "promote",
        "staging",
        "prod",
        "--branch",
        "release",
        message="branch 'release' already exists",
    )


def test_rolled_back_version_is_not_promoted_again_without_force(repo: Path) -> None:
    head = git(repo, "rev-parse", "HEAD").strip()
    assert run_cli("promote", "staging", "prod", "--component", "kafka", repo=repo).exit_code == 0
    git(repo, "merge", "-q", "--ff-only", _promotion_branch(repo))
    result = run_cli("rollback", "prod", "--to", head, "--branch", "rb", repo=repo)
    assert result.exit_code == 0, result.output
    git(repo, "merge", "-q", "--ff-only", "rb")
    result = run_cli("promote", "staging", "prod", "--component", "kafka", "--dry-run", repo=repo)
    assert result.exit_code == 2
    assert "was rolled back in prod" in result.stderr
    forced = run_cli(
        "promote", "staging", "prod", "--component", "kafka", "--force", "--dry-run", repo=repo
    )
    assert forced.exit_code == 0, forced.output
