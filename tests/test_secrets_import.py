"""``secrets import ENV SECRET --from-env-file FILE|-``: many keys in one sops run, unknown keys
refused, missing keys named; ``list`` names missing keys; the need for a key is said first."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import Result, run_cli, tree_digest
from tests.secrets_fixtures import (
    CANARY,
    assert_refused_without_trace,
    plaintext_sightings,
    real_sops,
)

SECRET = "fastapi-credentials"
FILE = f"secrets/dev/{SECRET}.yaml"


@pytest.fixture
def sops_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The real sops behind a wrapper that logs each run's subcommand (never its input)."""
    log = tmp_path / "sops-runs.log"
    wrapper = tmp_path / "counting-sops.sh"
    wrapper.write_text(f'#!/bin/sh\necho "$3" >> {log}\nexec {real_sops()} "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("GITOPS_GEN_SOPS", str(wrapper))
    return log


def _import(root: Path, *extra: str, stdin: str | None = None, expect: int) -> Result:
    return run_cli(
        "secrets", "import", "dev", SECRET, *extra, repo=root, stdin=stdin, expect=expect
    )


def test_import_creates_a_secret_in_one_sops_run_without_a_key(
    fresh: tuple[Path, Path], sops_runs: Path, tmp_path: Path
) -> None:
    root, key = fresh
    env_file = tmp_path / "values.env"
    env_file.write_text("# from the vault\nexport API_KEY=one\nDB_URI='postgresql://u@h/db'\n")
    result = _import(root, "--from-env-file", str(env_file), expect=0)
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"imported 2 keys into dev/{SECRET} ({FILE})",
        f"still missing in dev/{SECRET}: JWT_SECRET",
        f"note: {FILE} is new: it is encrypted for dev's recipients without any key; every "
        "later change to it (the next key too) needs a key of a recipient (--identity or "
        "$GITOPS_GEN_AGE_KEY_FILE); to set many keys at once use 'gitops-gen secrets import "
        f"dev {SECRET} --from-env-file FILE'",
    ]
    assert sops_runs.read_text() == "encrypt\n"  # one sops run for every key
    shown = run_cli(
        "secrets", "show", "dev", SECRET, "--reveal", "-o", "json", "--identity", str(key),
        repo=root, expect=0,
    )  # fmt: skip
    assert json.loads(shown.stdout)["values"] == {"API_KEY": "one", "DB_URI": "postgresql://u@h/db"}


def test_import_into_an_existing_secret_keeps_the_other_values(
    canary_repo: Path, dev_key: Path, sops_runs: Path, tmp_path: Path
) -> None:
    result = _import(
        canary_repo, "--from-env-file", "-", "--identity", str(dev_key),
        stdin="API_KEY=new-api-key\nDB_URI=\"postgresql://new\"\n", expect=0,
    )  # fmt: skip
    assert result.stderr.splitlines() == [
        f"imported 2 keys into dev/{SECRET} ({FILE})",
        f"dev/{SECRET}: all 3 required keys are set",
    ]
    # the current values are read through a pipe, then every key is set in one run
    assert sops_runs.read_text() == "decrypt\nset\n"
    shown = run_cli(
        "secrets", "show", "dev", SECRET, "--reveal", "-o", "json", "--identity", str(dev_key),
        repo=canary_repo, expect=0,
    )  # fmt: skip
    assert json.loads(shown.stdout)["values"] == {
        "API_KEY": "new-api-key",
        "DB_URI": "postgresql://new",
        "JWT_SECRET": CANARY,
    }
    run_cli("secrets", "verify", "dev", repo=canary_repo, expect=0)
    assert plaintext_sightings(CANARY, canary_repo, tmp_path) == []


# --- bad input: one line, exit 2, nothing changed, the canary nowhere ---------------------------


def _refused(root: Path, tmp_path: Path, message: str, *args: str, stdin: str | None) -> None:
    before = tree_digest(root)
    result = _import(root, *args, stdin=stdin, expect=2)
    assert_refused_without_trace(result, root, before, tmp_path, message)


def test_unknown_keys_are_all_named_and_nothing_is_written(
    canary_repo: Path, dev_key: Path, tmp_path: Path
) -> None:
    _refused(
        canary_repo, tmp_path,
        "error: --from-env-file - (stdin): not keys of secret fastapi-credentials: NOPE, "
        "JWT_SECRT (did you mean 'JWT_SECRET'?) (required: JWT_SECRET, DB_URI, API_KEY); "
        "nothing imported; pass --force to import them anyway",
        "--from-env-file", "-", "--identity", str(dev_key),
        stdin=f"API_KEY={CANARY}\nNOPE=1\nJWT_SECRT={CANARY}\n",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (f"API_KEY={CANARY}\nthis is not dotenv\n", "line 2 is not KEY=value (dotenv format: "
         "KEY=value, 'export KEY=value', quotes for spaces, # for comments)"),
        (f"API_KEY={CANARY}\nDB_URI=\n", "line 2: DB_URI is empty; refusing to store an empty "
         "secret (drop the line to leave the key unchanged)"),
        (f"API_KEY={CANARY}\nAPI_KEY={CANARY}x\n", "line 2: API_KEY is set twice (first on "
         "line 1); keep one"),
        (f"DB_URI={CANARY}\nAPI_KEY\n", "line 2: API_KEY has no value (KEY=value)"),
        ("# only a comment\n\n", "no KEY=value line; nothing to import"),
    ],
    ids=["not-dotenv", "empty", "twice", "no-value", "nothing"],
)  # fmt: skip
def test_malformed_env_file(
    canary_repo: Path, dev_key: Path, tmp_path: Path, text: str, problem: str
) -> None:
    _refused(
        canary_repo, tmp_path, f"error: --from-env-file - (stdin): {problem}",
        "--from-env-file", "-", "--identity", str(dev_key), stdin=text,
    )  # fmt: skip


def test_env_file_not_found(canary_repo: Path, dev_key: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nope.env"
    _refused(
        canary_repo, tmp_path, f"error: --from-env-file {missing}: file not found",
        "--from-env-file", str(missing), "--identity", str(dev_key), stdin=None,
    )  # fmt: skip


def test_a_key_is_asked_for_before_the_values_are_read(
    canary_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("GITOPS_GEN_AGE_KEY_FILE", "SOPS_AGE_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    # the values file does not even exist: the key problem comes first, before any work
    _refused(
        canary_repo, tmp_path,
        f"error: no age identity given, and changing {FILE} (it exists, so sops must decrypt "
        "it; only creating a new secret needs no key) needs one; pass --identity PATH or set "
        "$GITOPS_GEN_AGE_KEY_FILE",
        "--from-env-file", str(tmp_path / "never-read.env"), stdin=None,
    )  # fmt: skip


def test_set_says_why_a_key_is_needed_before_reading_the_value(
    canary_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("GITOPS_GEN_AGE_KEY_FILE", "SOPS_AGE_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    before = tree_digest(canary_repo)
    result = run_cli(
        "secrets", "set", "dev", SECRET, "API_KEY", "--from-file", str(tmp_path / "never-read"),
        repo=canary_repo, expect=2,
    )  # fmt: skip
    assert_refused_without_trace(
        result, canary_repo, before, tmp_path,
        f"error: no age identity given, and changing {FILE} (it exists, so sops must decrypt "
        "it; only creating a new secret needs no key) needs one; pass --identity PATH or set "
        "$GITOPS_GEN_AGE_KEY_FILE",
    )  # fmt: skip


def test_set_of_a_new_secret_says_that_the_next_change_needs_a_key(
    fresh: tuple[Path, Path],
) -> None:
    root, _ = fresh
    result = run_cli("secrets", "set", "dev", SECRET, "API_KEY", repo=root, stdin="one", expect=0)
    assert result.stderr.splitlines()[1].startswith(
        f"note: {FILE} is new: it is encrypted for dev's recipients without any key; every "
        "later change to it (the next key too) needs a key of a recipient"
    )


def test_list_names_the_keys_of_a_missing_secret(
    fresh: tuple[Path, Path],
) -> None:
    root, _ = fresh
    before = tree_digest(root)
    result = run_cli("secrets", "list", "dev", repo=root, expect=0)
    # piped output is one unwrapped row per secret, the name first
    row = next(line for line in result.stdout.splitlines() if line.split()[:1] == [SECRET])
    assert "(secret missing) JWT_SECRET, DB_URI, API_KEY" in row
    assert tree_digest(root) == before
