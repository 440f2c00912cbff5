"""What a promotion must refuse or say out loud: stale renders, dropped digest pins, undoing a
promotion, the files it does not read, and the words of its commit and history."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from gitops_gen.promote import dry_run_report
from tests.helpers import git, run_cli
from tests.promote_helpers import (
    assert_refused,
    body_files,
    branches,
    rendered_aether,
    run_as_dry_run_says,
    set_in_file,
)

PIN = "sha256:" + "b" * 64


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return rendered_aether(tmp_path / "aether")


def _commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", message)


def _render_and_commit(repo: Path, message: str) -> None:
    run_cli("render", repo=repo, expect=0)
    _commit_all(repo, message)


def _merge(repo: Path, branch: str) -> str:
    git(repo, "merge", "-q", "--ff-only", branch)
    return git(repo, "log", "-1", "--format=%(trailers:key=Promotion-Id,valueonly)").strip()


# --- a stale render ---------------------------------------------------------------------------


def _stale_prod(repo: Path) -> str:
    """A hand edit under clusters/ committed without render (what issue 10 found)."""
    values = sorted((repo / "clusters/prod-eu1/values/prod").glob("*.yaml"))[0]
    with values.open("a") as handle:
        handle.write("# hand edit\n")
    _commit_all(repo, "hand edit")
    return values.relative_to(repo).as_posix()


@pytest.mark.parametrize("dry_run", [False, True])
def test_a_stale_render_is_refused_naming_the_files(repo: Path, dry_run: bool) -> None:
    edited = _stale_prod(repo)
    head = git(repo, "rev-parse", "--short=12", "HEAD").strip()
    assert_refused(
        repo,
        "promote",
        "staging",
        "prod",
        "--component",
        "kafka",
        *(["--dry-run"] if dry_run else []),
        message=(
            f"error: clusters/ at {head} is stale for prod: 1 file differs from what render "
            f"writes ({edited}); run 'gitops-gen render prod', commit the result, then promote "
            "again"
        ),
    )


def test_after_render_the_promotion_describes_its_whole_diff(repo: Path) -> None:
    _stale_prod(repo)
    _render_and_commit(repo, "render")
    run_as_dry_run_says("promote", "staging", "prod", "--component", "kafka", repo=repo, expect=0)
    (branch,) = [b for b in branches(repo) if b.startswith("promote/")]
    files = git(repo, "diff", "--name-only", "main", branch).split()
    assert all("kafka" in f or f == "environments/prod.yaml" for f in files), files


# --- digest pins ------------------------------------------------------------------------------


def test_dropping_a_digest_pin_is_refused_into_a_protected_environment(repo: Path) -> None:
    set_in_file(
        repo / "environments/prod.yaml",
        'ui: {tag: "2.13.2"}',
        f'ui: {{tag: "2.14.0", digest: "{PIN}"}}',
    )
    _render_and_commit(repo, "prod pins the UI")
    assert_refused(
        repo,
        "promote",
        "staging",
        "prod",
        "--component",
        "ui",
        message=(
            f"error: nothing can be promoted into prod: ui 2.14.0: drops the digest pin of "
            f"2.14.0@{PIN}; prod is protected and keeps images pinned: pin the image by digest "
            "in the source first"
        ),
    )
    # among other components it is listed as blocked and the rest moves
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
    assert f"blocked  ui 2.14.0: drops the digest pin of 2.14.0@{PIN}" in result.stderr


def test_dropping_a_digest_pin_elsewhere_is_a_warning(repo: Path) -> None:
    set_in_file(
        repo / "environments/staging.yaml",
        'ui: {tag: "2.14.0"}',
        f'ui: {{tag: "2.14.0", digest: "{PIN}"}}',
    )
    _render_and_commit(repo, "staging pins the UI")
    result = run_as_dry_run_says(
        "promote", "dev", "staging", "--component", "ui", repo=repo, expect=0
    )
    warning = f"ui drops its digest pin: 2.14.0@{PIN} -> 2.15.0-rc.1"
    assert f"  warning: {warning}" in result.stderr  # the plan, for the person
    assert f"- {warning}" in result.stdout  # the body, for the reviewer


# --- rollback --undo --------------------------------------------------------------------------


def _promote(repo: Path, *args: str, branch: str) -> str:
    run_as_dry_run_says("promote", *args, "--branch", branch, repo=repo, expect=0)
    return _merge(repo, branch)


def test_undo_puts_back_only_what_the_promotion_changed(repo: Path) -> None:
    before = (repo / "environments/prod.yaml").read_text()
    first = _promote(repo, "staging", "prod", "--component", "kafka", branch="p1")
    second = _promote(repo, "staging", "prod", "--component", "ui", branch="p2")
    run_as_dry_run_says("rollback", "prod", "--undo", first, "--branch", "u", repo=repo, expect=0)
    undone = git(repo, "show", "u:environments/prod.yaml")
    assert "kafka: {chart: 31.0.0}" in undone or "31.0.0" in undone
    assert 'ui: {tag: "2.14.0"}' in undone  # the later promotion stays
    assert undone != before
    message = git(repo, "log", "-1", "--format=%B", "u")
    assert message.startswith(f"rollback(prod): 1 component to before {first}\n")
    assert f"Rollback-Of: before {first}" in message
    assert "Component: kafka 31.1.0 -> 31.0.0" in message
    _merge(repo, "u")
    history = run_cli("history", "prod", repo=repo, expect=0).stdout
    assert f"rollback to before {first}" in history and "rollback rollback" not in history
    assert second in history


def test_undo_refuses_when_a_component_moved_again(repo: Path) -> None:
    first = _promote(repo, "staging", "prod", "--component", "ui", branch="p1")
    set_in_file(repo / "environments/prod.yaml", 'ui: {tag: "2.14.0"}', 'ui: {tag: "2.14.1"}')
    _render_and_commit(repo, "hotfix the UI")
    assert_refused(
        repo,
        "rollback",
        "prod",
        "--undo",
        first,
        message=(
            f"error: cannot undo {first}: ui (now 2.14.1) changed after it; undo the later "
            "promotions first, leave these out with --component, or use --to"
        ),
    )


def test_undo_and_to_with_a_parent_suffix(repo: Path) -> None:
    first = _promote(repo, "staging", "prod", "--component", "kafka", branch="p1")
    # --to ID is the state right after it (nothing to do); --to ID~1 is right before it
    same = run_cli("rollback", "prod", "--to", first, repo=repo, expect=0)
    assert f"nothing to roll back: prod already matches {first}" in (same.stdout)
    run_as_dry_run_says(
        "rollback", "prod", "--to", f"{first}~1", "--branch", "back", repo=repo, expect=0
    )
    assert "Component: kafka 31.1.0 -> 31.0.0" in git(repo, "log", "-1", "--format=%B", "back")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("rollback", "prod"),
            "error: give exactly one of --to PROMOTION_ID|COMMIT (a state to return to) and "
            "--undo PROMOTION_ID (one promotion to take back)",
        ),
        (
            ("rollback", "prod", "--to", "HEAD", "--undo", "abcd"),
            "error: give exactly one of --to PROMOTION_ID|COMMIT (a state to return to) and "
            "--undo PROMOTION_ID (one promotion to take back)",
        ),
        (
            ("rollback", "prod", "--undo", "abcdef"),
            "error: --undo abcdef: no promotion into prod has this id (recent promotions: none; "
            "see 'gitops-gen history prod')",
        ),
        (
            ("rollback", "prod", "--to", "nope"),
            "error: --to nope: neither a promotion into prod nor a commit (recent promotions: "
            "none; see 'gitops-gen history prod')",
        ),
        (
            ("rollback", "prdo", "--to", "HEAD"),
            "error: unknown environment 'prdo'; did you mean 'prod'? (environments: dev, prod, "
            "staging; each is a file environments/<name>.yaml)",
        ),
    ],
)
def test_rollback_bad_input(repo: Path, args: tuple[str, ...], message: str) -> None:
    assert_refused(repo, *args, message=message)


def test_undo_component_must_be_one_the_promotion_changed(repo: Path) -> None:
    first = _promote(repo, "staging", "prod", "--component", "kafka", branch="p1")
    assert_refused(
        repo,
        "rollback",
        "prod",
        "--undo",
        first,
        "--component",
        "ui",
        message=f"error: --component ui: promotion {first} did not change it (it changed kafka)",
    )


# --- what does not block, and the words -------------------------------------------------------


def test_a_pr_body_left_in_the_checkout_does_not_block_the_next_promotion(repo: Path) -> None:
    body = repo / "pr.md"
    run_as_dry_run_says(
        "promote",
        "staging",
        "prod",
        "--component",
        "kafka",
        "--pr-body",
        str(body),
        repo=repo,
        expect=0,
    )
    assert body.is_file() and "pr.md" in git(repo, "status", "--porcelain")
    run_as_dry_run_says(
        "promote",
        "staging",
        "prod",
        "--component",
        "ui",
        "--pr-body",
        str(body),
        repo=repo,
        expect=0,
    )
    # untracked files among the tool's inputs still block: they may be a forgotten change
    (repo / "environments/qa.yaml").write_text("tier: staging\n")
    run_cli("promote", "staging", "prod", repo=repo, expect=2)


def test_one_component_is_singular_in_title_body_and_commit(repo: Path) -> None:
    result = run_as_dry_run_says(
        "promote", "staging", "prod", "--component", "kafka", repo=repo, expect=0
    )
    (branch,) = [b for b in branches(repo) if b.startswith("promote/")]
    message = git(repo, "log", "-1", "--format=%B", branch)
    assert message.startswith("promote(prod): 1 component from staging\n")
    assert "Promote 1 component of staging" in message
    assert "1 components" not in message + result.output


def test_a_dry_run_in_a_dirty_tree_says_it_shows_head(repo: Path) -> None:
    set_in_file(repo / "environments/prod.yaml", "replicas: 2", "replicas: 3")
    head = git(repo, "rev-parse", "--short=12", "HEAD").strip()
    result = run_cli(
        "promote", "staging", "prod", "--component", "kafka", "--dry-run", repo=repo, expect=0
    )
    assert (
        "note: uncommitted changes (environments/prod.yaml) are not part of a promotion: this "
        f"dry run shows the commit built from HEAD ({head}); the real run refuses until they "
        "are committed or stashed"
    ) in result.stderr
    refused = run_cli("promote", "staging", "prod", "--component", "kafka", repo=repo, expect=2)
    assert refused.stderr == (
        "error: uncommitted changes in environments/prod.yaml; commit or stash them before "
        "promoting\n"
    )


def test_a_dry_run_names_every_change_the_real_run_refuses_for(repo: Path) -> None:
    """Not only the tool's inputs: the real run refuses any uncommitted change (a README
    edited), so the dry run's note names it too."""
    (repo / "README.md").write_text("# Aether\n", encoding="utf-8")
    _commit_all(repo, "a README")
    with (repo / "README.md").open("a", encoding="utf-8") as handle:
        handle.write("edited\n")
    result = run_cli(
        "promote", "staging", "prod", "--component", "kafka", "--dry-run", repo=repo, expect=0
    )
    assert "note: uncommitted changes (README.md) are not part of a promotion" in result.stderr
    refused = run_cli("promote", "staging", "prod", "--component", "kafka", repo=repo, expect=2)
    assert refused.stderr == (
        "error: uncommitted changes in README.md; commit or stash them before promoting\n"
    )


def test_an_environment_not_committed_yet_cannot_be_promoted_into(repo: Path) -> None:
    qa = ("env", "add", "qa", "--from", "staging", "--cluster", "qa-eu1=https://qa.example.com")
    run_cli(*qa, "--no-keygen", repo=repo, expect=0)
    head = git(repo, "rev-parse", "--short=12", "HEAD").strip()
    assert_refused(
        repo,
        "promote",
        "staging",
        "qa",
        "--dry-run",
        message=(
            f"error: environment 'qa' is not committed at HEAD ({head}); a promotion is built "
            "from HEAD: commit environments/qa.yaml first"
        ),
    )


def test_rollback_writes_its_body_like_promote(repo: Path, tmp_path: Path) -> None:
    first = _promote(repo, "staging", "prod", "--component", "kafka", branch="p1")
    body = tmp_path / "rollback.md"
    result = run_as_dry_run_says(
        "rollback",
        "prod",
        "--undo",
        first,
        "--pr-body",
        str(body),
        "-o",
        "json",
        repo=repo,
        expect=0,
    )
    data = json.loads(result.stdout)
    assert data["status"] == "committed" and body.read_text() == data["body"]
    assert data["body"].startswith(f"## rollback(prod): 1 component to before {first}\n")
    assert [f["path"] for f in data["files"]] == sorted(f["path"] for f in data["files"])
    assert {"environments/prod.yaml"} <= {f["path"] for f in data["files"]}


def test_a_report_outside_git_comes_from_the_same_path(repo: Path, tmp_path: Path) -> None:
    plain = tmp_path / "unpacked"
    shutil.copytree(repo, plain, ignore=shutil.ignore_patterns(".git"))
    report = dry_run_report(plain, "staging", "prod")
    assert re.match(r"promotion staging -> prod: \d+ to move\n", report), report[:200]
    files = body_files(report)
    assert files and files == _files_of_a_real_promotion(repo)
    assert not (plain / ".git").exists()


def _files_of_a_real_promotion(repo: Path) -> set[str]:
    run_cli("promote", "staging", "prod", "--branch", "real", repo=repo, expect=0)
    return set(git(repo, "diff", "--name-only", "main", "real").split())
