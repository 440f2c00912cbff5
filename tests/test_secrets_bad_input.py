"""Bad input to the secrets commands: one clear line, exit 2, the repository byte-identical."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import git, run_cli, tree_digest
from tests.secrets_fixtures import CANARY, plaintext_sightings


def _refused(root: Path, *args: str, stdin: str | None = None) -> str:
    """Run a command that must fail cleanly; return its one stderr line."""
    before = tree_digest(root)
    result = run_cli(*args, repo=root, stdin=stdin, expect=2)
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert tree_digest(root) == before
    return result.stderr.rstrip("\n")


SET = ("secrets", "set")


def test_unknown_environment(repo: Path) -> None:
    assert _refused(repo, *SET, "prd", "fastapi-secrets", "NATS_URL", stdin="x") == (
        "error: unknown environment 'prd'; did you mean 'prod'? (environments: dev, prod, "
        "staging; each is a file environments/<name>.yaml)"
    )


def test_secret_not_in_the_catalog_gets_a_suggestion(repo: Path) -> None:
    assert _refused(repo, *SET, "dev", "fastapi-secret", "NATS_URL", stdin="x") == (
        "error: unknown secret 'fastapi-secret'; did you mean 'fastapi-secrets'? (not in the "
        "secrets catalog, environments/platform.yaml: secrets; 'gitops-gen secrets list ENV' "
        "shows them)"
    )


def test_key_not_required_is_refused_without_force(repo: Path) -> None:
    assert _refused(repo, *SET, "dev", "fastapi-secrets", "NATS_UR", stdin="x") == (
        "error: key 'NATS_UR' is not required by secret fastapi-secrets; did you mean "
        "'NATS_URL'? (required: KAFKA_BOOTSTRAP, NATS_URL, KAFKA_USERNAME, KAFKA_PASSWORD, "
        "NATS_USERNAME, NATS_PASSWORD, REDIS_URL); pass --force to set it anyway"
    )


@pytest.mark.parametrize("stdin", ["", "\n"])
def test_empty_value(repo: Path, dev_key: Path, stdin: str) -> None:
    key = ("--identity", str(dev_key))
    assert _refused(repo, *SET, "dev", "fastapi-secrets", "NATS_URL", *key, stdin=stdin) == (
        "error: empty value on stdin: refusing to store an empty secret"
    )


def test_empty_value_file(repo: Path, dev_key: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("")
    args = ("dev", "fastapi-secrets", "NATS_URL", "--from-file", str(empty))
    assert _refused(repo, *SET, *args, "--identity", str(dev_key)) == (
        f"error: empty value on --from-file {empty}: refusing to store an empty secret"
    )


def test_from_file_that_does_not_exist(repo: Path, dev_key: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nope.txt"
    args = ("dev", "fastapi-secrets", "NATS_URL", "--from-file", str(missing))
    assert _refused(repo, *SET, *args, "--identity", str(dev_key)) == (
        f"error: --from-file {missing}: file not found"
    )


def test_value_on_the_command_line_is_refused_and_not_echoed(repo: Path) -> None:
    line = _refused(repo, *SET, "dev", "fastapi-secrets", "NATS_URL", "hunter2-on-argv")
    assert line == (
        "error: too many arguments: values are never taken from the command line (shell "
        "history, process listings); pipe the value on stdin or use --from-file"
    )
    assert "hunter2" not in line


def _break_config(root: Path) -> None:
    (root / ".sops.yaml").write_text("creation_rules:\n  - path_regex: [unclosed\n")


def _bad_regex(root: Path) -> None:
    (root / ".sops.yaml").write_text("creation_rules:\n  - path_regex: '(unclosed'\n    age: x\n")


@pytest.mark.parametrize(
    ("breaker", "expected"),
    [
        (
            _break_config,
            "error: .sops.yaml:3: malformed YAML: did not find expected ',' or ']'; "
            "fix the syntax (indentation, quoting, ':' after keys)",
        ),
        (
            _bad_regex,
            "error: .sops.yaml:2: creation_rules[0].path_regex: invalid regular expression: "
            "missing ), unterminated subpattern at position 0",
        ),
    ],
)
def test_malformed_sops_config(
    repo: Path, tmp_path: Path, breaker: Callable[[Path], None], expected: str
) -> None:
    breaker(repo)
    assert _refused(repo, *SET, "dev", "fastapi-secrets", "NATS_URL", stdin="x") == expected
    out = tmp_path / "k.agekey"
    assert _refused(repo, "secrets", "keygen", "dev", "--out", str(out)) == expected
    assert not out.exists()


def test_missing_identity(repo: Path, tmp_path: Path) -> None:
    missing = tmp_path / "missing.agekey"
    assert _refused(
        repo, *SET, "dev", "fastapi-secrets", "NATS_URL", "--identity", str(missing), stdin="x"
    ) == (f"error: --identity {missing}: identity file not found")


def test_identity_env_pointing_nowhere(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "gone.agekey"
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(missing))
    assert _refused(repo, *SET, "dev", "fastapi-secrets", "NATS_URL", stdin="x") == (
        f"error: $SOPS_AGE_KEY_FILE {missing}: identity file not found"
    )


def test_unreadable_identity(repo: Path, tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.agekey"
    garbage.write_text("AGE-SECRET-KEY-1NOTAKEY\n")
    garbage.chmod(0o600)
    line = _refused(
        repo, *SET, "dev", "fastapi-secrets", "NATS_URL", "--identity", str(garbage), stdin="x"
    )
    assert line == (
        f"error: --identity {garbage}: not an age identity file (a line is not an "
        "AGE-SECRET-KEY-1...)"
    )
    folder = tmp_path / "a-folder"
    folder.mkdir()
    assert _refused(
        repo, *SET, "dev", "fastapi-secrets", "NATS_URL", "--identity", str(folder), stdin="x"
    ) == (f"error: --identity {folder}: not a regular file; pass an age identity file")


def test_sops_binary_missing(
    repo: Path, dev_key: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITOPS_GEN_SOPS", str(tmp_path / "no-sops"))
    assert _refused(
        repo, *SET, "dev", "fastapi-secrets", "NATS_URL", "--identity", str(dev_key), stdin="x"
    ) == (
        f"error: sops binary not found: $GITOPS_GEN_SOPS is {tmp_path / 'no-sops'}, which is "
        "not an executable file; fix the variable or unset it to use the sops installed with "
        "gitops-gen"
    )


def test_keygen_refuses_a_path_in_the_repo_or_an_existing_file(repo: Path, dev_key: Path) -> None:
    assert _refused(repo, "secrets", "keygen", "dev", "--out", str(repo / "dev.agekey")) == (
        f"error: --out {repo / 'dev.agekey'}: inside the repository; a private key must never "
        "be committed; choose a path outside it (default: ~/.config/gitops-gen/age/)"
    )
    assert _refused(repo, "secrets", "keygen", "dev", "--out", str(dev_key)) == (
        f"error: --out {dev_key}: already exists; refusing to overwrite an identity"
    )


def test_rotate_refusals(repo: Path, dev_key: Path, other_key: tuple[Path, str]) -> None:
    assert _refused(
        repo,
        "secrets",
        "rotate",
        "dev",
        "--remove-recipient",
        "age1nope",
        "--identity",
        str(dev_key),
    ) == ("error: age1nope: not an age recipient (age1 followed by 58 characters)")
    assert _refused(
        repo, "secrets", "rotate", "dev", "--remove-recipient", other_key[1],
        "--identity", str(dev_key),
    ).startswith(f"error: {other_key[1]}: not a recipient of dev (recipients: age1")  # fmt: skip


def test_reseal_needs_decrypt_check(repo: Path) -> None:
    assert _refused(repo, "secrets", "verify", "--reseal") == (
        "error: --reseal needs --decrypt-check: only proven files are resealed"
    )


# --- a truncated secrets file: restore it from git, never "remove it and set it again" --------

TRUNCATED = "secrets/dev/fastapi-credentials.yaml"
RESTORE = f"restore it with 'git checkout -- {TRUNCATED}'"


@pytest.mark.parametrize(
    ("cut", "problem"),
    [
        (lambda b: b[: len(b) // 2], "not encrypted with sops (no sops metadata: truncated, or "
         "plaintext); "),
        (lambda b: b[: b.index(b"    lastmodified:")], "sops metadata incomplete: missing mac, "
         "lastmodified, version; truncated or damaged: "),
    ],
    ids=["half", "metadata-cut"],
)  # fmt: skip
@pytest.mark.parametrize(
    "command",
    [
        ("secrets", "set", "dev", "fastapi-credentials", "API_KEY"),
        ("secrets", "unset", "dev", "fastapi-credentials", "API_KEY", "--force"),
        ("secrets", "show", "dev", "fastapi-credentials", "--reveal"),
        ("secrets", "edit", "dev", "fastapi-credentials"),
        ("secrets", "import", "dev", "fastapi-credentials", "--from-env-file", "-"),
    ],
    ids=["set", "unset", "show", "edit", "import"],
)
def test_truncated_file_gets_restore_from_git_advice(
    canary_repo: Path,
    dev_key: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    cut: Callable[[bytes], bytes],
    problem: str,
    command: tuple[str, ...],
) -> None:
    monkeypatch.setenv("EDITOR", "true")
    path = canary_repo / TRUNCATED
    path.write_bytes(cut(path.read_bytes()))
    before = tree_digest(canary_repo)
    status = git(canary_repo, "status", "--porcelain")
    result = run_cli(
        *command,
        "--identity",
        str(dev_key),
        repo=canary_repo,
        stdin=f"API_KEY={CANARY}\n",
        expect=2,
    )
    assert result.stdout == ""
    assert result.stderr == f"error: {TRUNCATED}: {problem}{RESTORE}\n"
    assert tree_digest(canary_repo) == before
    assert git(canary_repo, "status", "--porcelain") == status
    assert plaintext_sightings(CANARY, canary_repo, tmp_path) == []
    git(canary_repo, "checkout", "--", TRUNCATED)  # the advice works
    run_cli("secrets", "verify", "dev", repo=canary_repo, expect=0)


def test_verify_gives_the_same_advice(canary_repo: Path) -> None:
    path = canary_repo / TRUNCATED
    path.write_bytes(path.read_bytes()[:300])
    result = run_cli("secrets", "verify", "dev", "-o", "json", repo=canary_repo, expect=1)
    messages = {
        f["message"] for f in json.loads(result.stdout)["findings"] if f["location"] == TRUNCATED
    }
    assert any(m.endswith(RESTORE) for m in messages), messages


def test_a_truncated_file_git_does_not_have(repo: Path, dev_key: Path) -> None:
    target = repo / TRUNCATED
    git(repo, "rm", "-q", "--cached", TRUNCATED)
    git(repo, "commit", "-q", "-m", "untrack")
    target.write_bytes(target.read_bytes()[:300])
    before = tree_digest(repo)
    result = run_cli(
        "secrets", "show", "dev", "fastapi-credentials", "--reveal", "--identity", str(dev_key),
        repo=repo, expect=2,
    )  # fmt: skip
    assert result.stdout == ""
    assert result.stderr == (
        f"error: {TRUNCATED}: not encrypted with sops (no sops metadata: truncated, or "
        "plaintext); git does not have it; restore it from a backup, or remove the file, then "
        "set its values again with 'gitops-gen secrets set'\n"
    )
    assert tree_digest(repo) == before
