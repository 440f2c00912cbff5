"""``secrets edit`` without a terminal (CI, a pipe, a script) and edits that drop a required key.

Each run is a real ``gitops-gen`` child process with /dev/null on stdin and the real sops: sops
re-opens the editor in a loop on invalid YAML when nobody can press its key, so the first
invalid result must end the command (exit 2, one line, nothing changed, no plaintext anywhere).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.helpers import git, run_cli, tree_digest
from tests.secrets_fixtures import (
    CANARY,
    ChildResult,
    assert_refused_without_trace,
    plaintext_sightings,
    run_child,
)

SECRET = "fastapi-credentials"
FILE = f"secrets/dev/{SECRET}.yaml"


def _editor(tmp_path: Path, name: str, body: str) -> tuple[Path, Path]:
    """An editor script that counts its runs (in ``runs``) and then does ``body`` to "$1"."""
    runs = tmp_path / f"{name}.runs"
    script = tmp_path / f"{name}.sh"
    script.write_text(f"#!/bin/sh\necho run >> {runs}\n{body}\n")
    script.chmod(0o755)
    return script, runs


def _edit(root: Path, key: Path, tmp: Path, *extra: str, **env: str) -> ChildResult:
    args = ("secrets", "edit", "dev", SECRET, "--identity", str(key), *extra)
    return run_child(root, *args, tmp=tmp, timeout=90, env=env)


def test_invalid_yaml_without_a_terminal_ends_at_once(
    canary_repo: Path, dev_key: Path, tmp_path: Path
) -> None:
    editor, runs = _editor(tmp_path, "breaks", "echo '  broken: [unclosed' >> \"$1\"")
    before = tree_digest(canary_repo)
    result = _edit(canary_repo, dev_key, tmp_path / "child", EDITOR=str(editor))
    assert_refused_without_trace(
        result, canary_repo, before, tmp_path,
        f"error: {FILE}: the editor left invalid YAML (line 16); nothing written. Without a "
        "terminal the editor runs once: fix the YAML in your editor script, or edit on a "
        "terminal",
    )  # fmt: skip
    assert runs.read_text() == "run\n"  # once, not sops' endless loop


def test_an_emptied_file_without_a_terminal_is_refused(
    canary_repo: Path, dev_key: Path, tmp_path: Path
) -> None:
    editor, runs = _editor(tmp_path, "empties", ': > "$1"')
    before = tree_digest(canary_repo)
    result = _edit(canary_repo, dev_key, tmp_path / "child", SOPS_EDITOR=str(editor))
    assert_refused_without_trace(
        result, canary_repo, before, tmp_path,
        f"error: {FILE}: the editor left no YAML mapping (an empty file or a bare value); "
        "nothing written",
    )  # fmt: skip
    assert runs.read_text() == "run\n"


def test_a_failing_editor_without_a_terminal(
    canary_repo: Path, dev_key: Path, tmp_path: Path
) -> None:
    editor, _ = _editor(tmp_path, "fails", "exit 4")
    before = tree_digest(canary_repo)
    result = _edit(canary_repo, dev_key, tmp_path / "child", EDITOR=str(editor))
    assert_refused_without_trace(
        result, canary_repo, before, tmp_path,
        f"error: {FILE}: the editor failed (exit 4); nothing written",
    )  # fmt: skip


def test_an_editor_that_cannot_be_run_is_named_as_such(
    canary_repo: Path, dev_key: Path, tmp_path: Path
) -> None:
    """A relative or mistyped $EDITOR (sops runs it in a private folder) used to be reported
    as 'the editor failed (exit 127)'."""
    before = tree_digest(canary_repo)
    result = _edit(canary_repo, dev_key, tmp_path / "child", EDITOR="./no-such-editor --wait")
    assert_refused_without_trace(
        result, canary_repo, before, tmp_path,
        f"error: {FILE}: the editor command could not be run (not found or not executable); "
        "nothing written. It runs in a private folder: set $SOPS_EDITOR or $EDITOR to a "
        "command on PATH or an absolute path",
    )  # fmt: skip


def test_no_editor_and_no_terminal_is_said_before_anything_runs(
    canary_repo: Path, dev_key: Path, tmp_path: Path
) -> None:
    before = tree_digest(canary_repo)
    result = _edit(canary_repo, dev_key, tmp_path / "child")
    assert_refused_without_trace(
        result, canary_repo, before, tmp_path,
        "error: secrets edit: no terminal and neither $SOPS_EDITOR nor $EDITOR is set; set "
        "one to an editor command, or change values with 'gitops-gen secrets set' or 'import'",
    )  # fmt: skip


def test_a_valid_edit_without_a_terminal_is_written(
    canary_repo: Path, dev_key: Path, tmp_path: Path
) -> None:
    editor, runs = _editor(tmp_path, "edits", "sed -i 's/^\\( *API_KEY:\\).*/\\1 edited/' \"$1\"")
    result = _edit(canary_repo, dev_key, tmp_path / "child", EDITOR=str(editor))
    assert result.exit_code == 0, result.stderr
    assert result.stderr == "edited dev/fastapi-credentials\n"
    assert runs.read_text() == "run\n"
    shown = run_cli(
        "secrets", "show", "dev", SECRET, "--reveal", "-o", "json", "--identity", str(dev_key),
        repo=canary_repo, expect=0,
    )  # fmt: skip
    assert yaml.safe_load(shown.stdout)["values"]["API_KEY"] == "edited"
    run_cli("secrets", "verify", "dev", repo=canary_repo, expect=0)
    assert git(canary_repo, "status", "--porcelain") == (f" M secrets/dev/SHA256SUMS\n M {FILE}\n")
    assert plaintext_sightings(CANARY, canary_repo, tmp_path) == []


DROP = "sed -i '/JWT_SECRET:/d' \"$1\""


def test_edit_removing_a_required_key_is_refused_like_unset(
    canary_repo: Path, dev_key: Path, tmp_path: Path
) -> None:
    editor, _ = _editor(tmp_path, "drops", DROP)
    before = tree_digest(canary_repo)
    message = (
        "error: key 'JWT_SECRET' is required by secret fastapi-credentials; removing it leaves "
        "the secret incomplete; pass --force to remove it anyway"
    )
    result = _edit(canary_repo, dev_key, tmp_path / "child", EDITOR=str(editor))
    assert_refused_without_trace(result, canary_repo, before, tmp_path, message)
    unset = run_cli(
        "secrets", "unset", "dev", SECRET, "JWT_SECRET", "--identity", str(dev_key),
        repo=canary_repo, expect=2,
    )  # fmt: skip
    assert unset.stderr == message + "\n"  # the same rule and words
    assert tree_digest(canary_repo) == before


def test_edit_removing_a_required_key_with_force(
    canary_repo: Path, dev_key: Path, tmp_path: Path
) -> None:
    editor, _ = _editor(tmp_path, "drops", DROP)
    result = _edit(canary_repo, dev_key, tmp_path / "child", "--force", EDITOR=str(editor))
    assert result.exit_code == 0, result.stderr
    listing = run_cli("secrets", "list", "dev", "-o", "json", repo=canary_repo, expect=0)
    status = next(s for s in yaml.safe_load(listing.stdout)["secrets"] if s["name"] == SECRET)
    assert status["missingKeys"] == ["JWT_SECRET"]
    assert plaintext_sightings(CANARY, canary_repo, tmp_path) == []  # the canary was that key
