"""`gitops-gen promote` with real git: the commit, the guardrails, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import git, run_cli, tree_digest
from tests.promote_helpers import (
    assert_refused,
    body_files,
    branches,
    rendered_aether,
    repo_state,
    run_as_dry_run_says,
    set_in_file,
)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return rendered_aether(tmp_path / "aether")


def _promotion_branch(repo: Path) -> str:
    (name,) = [b for b in branches(repo) if b.startswith("promote/")]
    return name


def test_promote_creates_one_commit_on_a_new_branch(repo: Path) -> None:
    before_tree = tree_digest(repo)
    head = git(repo, "rev-parse", "HEAD").strip()
    result = run_as_dry_run_says("promote", "staging", "prod", repo=repo, expect=0)
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
    run_cli("render", "--check", repo=repo, expect=0)
    # the body goes to stdout: table, diff blocks, warnings, plan
    assert "| risk-service | service | `2.13.2` | `2.14.0` |" in result.stdout
    assert "<details><summary><code>prod-kafka</code>" in result.stdout
    assert "oms-service" in result.stdout and "INC-1234" in result.stdout
    assert "<!-- gitops-gen:plan" in result.stdout


def test_only_promoted_lines_of_the_env_file_change(repo: Path) -> None:
    before = (repo / "environments/prod.yaml").read_text()
    run_as_dry_run_says("promote", "staging", "prod", repo=repo, expect=0)
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
    result = run_cli("promote", "staging", "prod", "--dry-run", repo=repo, expect=0)
    assert "promotion staging -> prod: 19 to move" in result.stdout
    assert "## promote(prod): 19 components from staging" in result.stdout
    assert tree_digest(repo) == before and branches(repo) == heads
    # rendered from everything the real render reads: prod's secrets and the sops operator
    # are not shown as deleted (issue 10: the old preview rendered without secrets/)
    assert "- deleted `" not in result.stdout
    assert "sops" not in "".join(body_files(result.stdout))


def test_json_output_and_pr_body_file(repo: Path, tmp_path: Path) -> None:
    body_file = tmp_path / "body.md"
    result = run_as_dry_run_says(
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
        expect=0,
    )
    data = json.loads(result.stdout)
    assert data["status"] == "committed"
    assert [m["component"] for m in data["plan"]["moves"]] == ["kafka"]
    assert body_file.read_text() == data["body"]
    assert data["branch"] in branches(repo)


def test_nothing_to_promote_is_success_without_a_branch(repo: Path) -> None:
    result = run_as_dry_run_says(
        "promote", "staging", "prod", "--component", "feast", repo=repo, expect=0
    )
    assert "nothing to promote" in result.stdout
    assert branches(repo) == ["main"]
    # held only: still nothing, and the plan says why
    result = run_as_dry_run_says(
        "promote", "staging", "prod", "--component", "oms-service", repo=repo, expect=0
    )
    assert "nothing to promote into prod (1 held" in result.stdout
    assert "INC-1234" in result.stderr
    assert branches(repo) == ["main"]


def test_mutable_tag_into_protected_env_is_refused(repo: Path) -> None:
    set_in_file(repo / "environments/staging.yaml", 'ui: {tag: "2.14.0"}', "ui: {tag: latest}")
    git(repo, "commit", "-qam", "staging runs latest")
    result = run_cli("promote", "staging", "prod", "--component", "ui", repo=repo, expect=2)
    assert result.stderr == (
        "error: nothing can be promoted into prod: ui latest: a mutable reference; prod is "
        "protected and only takes immutable versions (a release tag or a digest)\n"
    )
    assert branches(repo) == ["main"]
    # with other components the rest moves and the plan lists the blocked one
    result = run_as_dry_run_says(
        "promote",
        "staging",
        "prod",
        "--component",
        "ui",
        "--component",
        "kafka",
        repo=repo,
        expect=0,
    )
    assert "blocked  ui latest" in result.stderr
    assert (
        "ui" not in git(repo, "log", "-1", "--format=%(trailers)", _promotion_branch(repo)).split()
    )


def _refused(repo: Path, *args: str, message: str) -> None:
    """Exit 2, one line holding ``message`` (all of it when it starts with 'error: '), and the
    repository (refs, HEAD, index, work tree) exactly as it was."""
    before = repo_state(repo)
    result = run_cli(*args, repo=repo, expect=2)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    if message.startswith("error: "):
        assert lines[0] == message
    else:
        assert message in lines[0]
    assert repo_state(repo) == before


def test_skipping_the_order_needs_skip_order(repo: Path) -> None:
    _refused(
        repo,
        "promote",
        "dev",
        "prod",
        message=(
            "error: 'prod' is promoted from 'staging', not from 'dev'; promote staging -> prod, "
            "or pass --skip-order to promote out of order"
        ),
    )
    result = run_as_dry_run_says("promote", "dev", "prod", "--skip-order", repo=repo, expect=0)
    assert "--skip-order: 'prod' is promoted from 'staging'" in result.stdout  # body warns


def test_the_old_force_flag_says_what_replaced_it(repo: Path) -> None:
    _refused(
        repo,
        "promote",
        "dev",
        "prod",
        "--force",
        message=(
            "error: --force was split in two: --skip-order promotes out of the promotedFrom "
            "order, --allow-rolled-back promotes again a version a rollback took out; pass the "
            "one you mean"
        ),
    )


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
    _refused(
        repo,
        "promote",
        "staging",
        "prod",
        message=(
            "error: untracked files in environments/qa.yaml.bak; commit or remove them before "
            "promoting"
        ),
    )


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


@pytest.mark.parametrize(
    "command",
    [("promote", "staging", "prod"), ("rollback", "prod", "--to", "HEAD")],
    ids=["promote", "rollback"],
)
@pytest.mark.parametrize(
    ("option", "message"),
    [
        (("--push", "origin"), "error: unknown remote 'origin' (remotes: none); add it with "
         "'git remote add'"),
        (("--branch", "release"), "error: branch 'release' already exists; pass another "
         "--branch NAME or delete it ('git branch -D release')"),
        (("--branch", "bad..name"), "not a valid branch name"),
        (("--open-pr", "github"), "error: --open-pr needs --push REMOTE: the forge needs the "
         "branch to exist"),
    ],
    ids=["unknown-remote", "existing-branch", "bad-branch-name", "open-pr-without-push"],
)  # fmt: skip
def test_a_dry_run_refuses_the_arguments_the_real_run_refuses(
    repo: Path, command: tuple[str, ...], option: tuple[str, ...], message: str
) -> None:
    """A dry run in CI that passes must not be followed by a real run refused for its
    arguments: both refuse with the same line, and neither changes anything."""
    git(repo, "branch", "release")
    _refused(repo, *command, *option, "--dry-run", message=message)
    dry = run_cli(*command, *option, "--dry-run", repo=repo, expect=2)
    real = run_cli(*command, *option, repo=repo, expect=2)
    assert dry.stderr == real.stderr


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


def test_rolled_back_versions_need_allow_rolled_back_and_one_sentence_names_them(
    repo: Path,
) -> None:
    both = ("--component", "kafka", "--component", "ui")
    run_as_dry_run_says("promote", "staging", "prod", *both, repo=repo, expect=0)
    promotion = _promotion_branch(repo)
    git(repo, "merge", "-q", "--ff-only", promotion)
    promotion_id = git(repo, "log", "-1", "--format=%(trailers:key=Promotion-Id,valueonly)")
    run_as_dry_run_says(
        "rollback", "prod", "--undo", promotion_id.strip(), "--branch", "rb", repo=repo, expect=0
    )
    git(repo, "merge", "-q", "--ff-only", "rb")
    rollback = git(repo, "rev-parse", "--short=12", "HEAD").strip()
    assert_refused(
        repo,
        "promote",
        "staging",
        "prod",
        *both,
        "--dry-run",
        message=(
            "error: nothing can be promoted into prod: kafka 31.1.0, ui 2.14.0: rolled back in "
            f"prod by {rollback}; pass --allow-rolled-back to promote again"
        ),
    )
    # the order check is a separate flag: --skip-order does not lift this one
    run_cli("promote", "staging", "prod", *both, "--skip-order", repo=repo, expect=2)
    run_as_dry_run_says(
        "promote", "staging", "prod", *both, "--allow-rolled-back", repo=repo, expect=0
    )
