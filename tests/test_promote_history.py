"""`history`, `rollback` and `diff`: reading promotions back and previewing renders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import git, run_cli, tree_digest
from tests.promote_helpers import branches, rendered_aether, run_as_dry_run_says, set_in_file


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return rendered_aether(tmp_path / "aether")


def _promote_and_merge(repo: Path, *args: str) -> str:
    run_as_dry_run_says("promote", *args, "--branch", "tmp-promotion", repo=repo, expect=0)
    git(repo, "merge", "-q", "--ff-only", "tmp-promotion")
    git(repo, "branch", "-q", "-d", "tmp-promotion")
    return git(repo, "log", "-1", "--format=%(trailers:key=Promotion-Id,valueonly)").strip()


def test_history_lists_promotions_from_trailers(repo: Path) -> None:
    first = _promote_and_merge(repo, "staging", "prod", "--component", "kafka")
    git(repo, "commit", "-q", "--allow-empty", "-m", "unrelated\n\nPromoted-To: prod")
    second = _promote_and_merge(repo, "staging", "prod", "--component", "ui")
    _promote_and_merge(repo, "dev", "staging", "--component", "ui")
    result = run_cli("history", "prod", "-o", "json", repo=repo, expect=0)
    entries = json.loads(result.stdout)["entries"]
    assert [e["id"] for e in entries] == [second, first]  # newest first, prod only
    assert entries[1]["source"] == "staging"
    assert entries[1]["components"] == [{"component": "kafka", "from": "31.0.0", "to": "31.1.0"}]
    text = run_cli("history", "prod", repo=repo, expect=0).stdout
    assert f"{first}" in text and "kafka  31.0.0 -> 31.1.0" in text
    run_cli("history", "qa", repo=repo, expect=2)


def test_rollback_restores_the_exact_earlier_bytes(repo: Path) -> None:
    before = (repo / "environments/prod.yaml").read_bytes()
    first = _promote_and_merge(repo, "staging", "prod", "--component", "kafka", "--component", "ui")
    # an environment-specific edit after the promotion must survive the rollback
    set_in_file(
        repo / "environments/prod.yaml",
        'drift: {schedule: "*/15 * * * *"}',
        'drift: {schedule: "*/10 * * * *"}',
    )
    run_cli("render", "prod", repo=repo, expect=0)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "tighter drift schedule")
    edited = (repo / "environments/prod.yaml").read_bytes()
    _promote_and_merge(repo, "staging", "prod", "--component", "risk-service")
    # back to the state right after the first promotion: risk-service returns to 2.13.2
    run_as_dry_run_says("rollback", "prod", "--to", first, "--branch", "rb", repo=repo, expect=0)
    assert git(repo, "show", "rb:environments/prod.yaml").encode() == edited
    trailers = git(repo, "log", "-1", "--format=%(trailers:only,unfold)", "rb")
    assert f"Rollback-Of: {first}" in trailers
    assert "Component: risk-service 2.14.0 -> 2.13.2" in trailers
    assert git(repo, "log", "-1", "--format=%s", "rb").startswith("rollback(prod): 1 component")
    # and all the way back to before any promotion: exact bytes modulo the schedule edit
    root = git(repo, "rev-list", "--max-parents=0", "HEAD").strip()
    run_as_dry_run_says("rollback", "prod", "--to", root, "--branch", "rb0", repo=repo, expect=0)
    restored = git(repo, "show", "rb0:environments/prod.yaml").encode()
    assert restored == before.replace(b'"*/15 * * * *"', b'"*/10 * * * *"')
    git(repo, "switch", "-q", "rb0")
    run_cli("render", "--check", repo=repo, expect=0)
    history = json.loads(
        run_cli("history", "prod", "-o", "json", "--ref", "rb0", repo=repo, expect=0).stdout
    )["entries"]
    assert history[0]["kind"] == "rollback"


def test_rollback_bad_point_is_one_line(repo: Path) -> None:
    before = tree_digest(repo)
    result = run_cli("rollback", "prod", "--to", "nope", repo=repo, expect=2)
    assert "neither a promotion into prod nor a commit" in result.stderr
    assert tree_digest(repo) == before and branches(repo) == ["main"]
    nothing = run_cli("rollback", "prod", "--to", "HEAD", repo=repo, expect=0)
    assert "nothing to roll back" in nothing.stdout


def test_undoing_another_environments_promotion_names_that_environment(repo: Path) -> None:
    """A staging promotion's id given to 'rollback prod --undo' said only that prod has no
    such promotion; it names where the id belongs and the command that undoes it."""
    into_staging = _promote_and_merge(repo, "dev", "staging", "--component", "ui")
    before = tree_digest(repo)
    result = run_cli("rollback", "prod", "--undo", into_staging[:8], repo=repo, expect=2)
    assert result.stderr == (
        f"error: --undo {into_staging[:8]}: that is a promotion into staging, not prod; run "
        f"'gitops-gen rollback staging --undo {into_staging[:8]}' to undo it\n"
    )
    assert tree_digest(repo) == before and branches(repo) == ["main"]


def test_diff_between_revisions(repo: Path) -> None:
    run_cli("diff", "--base", "HEAD", "--head", "HEAD", repo=repo, expect=0)
    run_as_dry_run_says(
        "promote", "staging", "prod", "--component", "kafka", "--branch", "p", repo=repo, expect=0
    )
    text = run_cli("diff", "--base", "main", "--head", "p", repo=repo, expect=1)
    assert "# prod-kafka (+" in text.stdout
    assert '-      targetRevision: "31.0.0"' in text.stdout
    md = run_cli(
        "diff", "--base", "main", "--head", "p", "prod", "-o", "markdown", repo=repo, expect=1
    )
    assert "<details><summary><code>prod-kafka</code>" in md.stdout
    run_cli("diff", "--base", "main", "--head", "p", "dev", repo=repo, expect=0)
    bad = run_cli("diff", "--base", "main", "--head", "p", "prdo", repo=repo, expect=2)
    assert "did you mean 'prod'" in bad.stderr
    unknown = run_cli("diff", "--base", "nope", repo=repo, expect=2)
    assert "unknown revision 'nope'" in unknown.stderr


def test_diff_against_the_work_tree(repo: Path) -> None:
    set_in_file(repo / "environments/dev.yaml", "replicas: 1, hpa", "replicas: 2, hpa")
    result = run_cli("diff", repo=repo, expect=1)
    assert "dev-aether-platform" in result.stdout
    assert "prod-" not in result.stdout
