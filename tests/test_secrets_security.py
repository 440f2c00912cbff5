"""Security properties against the real sops binary: plaintext goes nowhere, tampering is
caught without any key, key problems are clear one-line errors, the editor flow leaves nothing."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from gitops_gen.secrets.sops import Sops, SopsError
from tests.helpers import Result, git, run_cli, tree_digest

CANARY = "canary-7f3a9c2e-do-not-leak"
CANARY_FILE = "canary-file-0b81d4-do-not-leak"
CANARY_EDIT = "canary-edit-55c1e0-do-not-leak"
CANARY_INJECTED = "canary-injected-d9e4-do-not-leak"


def _all_bytes_in_git(root: Path) -> bytes:
    objects = git(root, "rev-list", "--all", "--objects").split()
    shas = [o for o in objects if re.fullmatch(r"[0-9a-f]{40}", o)]
    blobs = [
        subprocess.run(
            ["git", "cat-file", "-p", sha], cwd=root, capture_output=True, check=True
        ).stdout
        for sha in shas
    ]
    return b"\n".join(blobs)


def _work_tree_bytes(root: Path) -> dict[str, bytes]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in filenames:
            path = Path(dirpath) / name
            out[path.relative_to(root).as_posix()] = path.read_bytes()
    return out


def test_canary_values_never_leave_ciphertext(
    fresh: tuple[Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    private_tmp: Path,
) -> None:
    root, key = fresh
    outputs: list[Result] = []

    def cli(*args: str, stdin: str | None = None) -> Result:
        result = run_cli(*args, repo=root, stdin=stdin)
        outputs.append(result)
        return result

    assert (
        cli("secrets", "set", "dev", "fastapi-credentials", "JWT_SECRET", stdin=CANARY).exit_code
        == 0
    )
    value_file = tmp_path / "value.txt"
    value_file.write_text(CANARY_FILE)
    assert (
        cli(
            "secrets", "set", "dev", "fastapi-credentials", "API_KEY",
            "--from-file", str(value_file), "--identity", str(key),
        ).exit_code
        == 0
    )  # fmt: skip
    value_file.unlink()
    editor = tmp_path / "editor.sh"
    editor.write_text(f"#!/bin/sh\nsed -i 's/^\\( *JWT_SECRET:\\).*/\\1 {CANARY_EDIT}/' \"$1\"\n")
    editor.chmod(0o755)
    monkeypatch.setenv("EDITOR", str(editor))
    assert (
        cli("secrets", "edit", "dev", "fastapi-credentials", "--identity", str(key)).exit_code == 0
    )
    # every read-only command, and failing ones too
    cli("secrets", "list", "dev")
    cli("secrets", "list", "dev", "-o", "json")
    cli("secrets", "show", "dev", "fastapi-credentials")
    cli("secrets", "show", "dev", "fastapi-credentials", "-o", "json")
    cli("secrets", "verify", "dev", "--decrypt-check", "--identity", str(key))
    cli("secrets", "set", "dev", "fastapi-credentials", "DB_URI", CANARY)  # value on argv
    cli("render")
    cli("validate")
    cli("-v", "render", "--check")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "secrets")

    for rel, data in _work_tree_bytes(root).items():
        for canary in (CANARY, CANARY_FILE, CANARY_EDIT):
            assert canary.encode() not in data, rel
    history = _all_bytes_in_git(root)
    for canary in (CANARY, CANARY_FILE, CANARY_EDIT):
        assert canary.encode() not in history
        for result in outputs:
            assert canary not in result.output
    assert list(private_tmp.iterdir()) == []
    # the one way to see values: asked for explicitly, with the key
    revealed = run_cli(
        "secrets",
        "show",
        "dev",
        "fastapi-credentials",
        "--reveal",
        "--identity",
        str(key),
        repo=root,
    )
    assert f"API_KEY: {CANARY_FILE}" in revealed.stdout
    assert f"JWT_SECRET: {CANARY_EDIT}" in revealed.stdout
    assert (root / "clusters/dev-eu1/secrets/dev/fastapi-credentials.yaml").is_file()


def test_sops_stderr_never_reaches_the_user(repo: Path, dev_key: Path) -> None:
    """sops echoes an injected plaintext value in its error; we must not."""
    path = repo / "secrets/dev/feast-offline-store.yaml"
    text = path.read_text()
    path.write_text(
        text.replace(
            "            dsn: ENC", f"            other: {CANARY_INJECTED}\n            dsn: ENC"
        )
    )
    result = run_cli(
        "secrets",
        "verify",
        "dev",
        "--decrypt-check",
        "--identity",
        str(dev_key),
        "-o",
        "json",
        repo=repo,
    )
    assert result.exit_code == 1
    assert CANARY_INJECTED not in result.output
    findings = json.loads(result.stdout)["findings"]
    assert {(f["rule"], f["location"]) for f in findings} >= {
        (
            "SEC004",
            "secrets/dev/feast-offline-store.yaml: spec.secretTemplates[0].stringData.other",
        ),
        ("SEC010", "secrets/dev/feast-offline-store.yaml"),
    }
    with pytest.raises(SopsError) as info:
        Sops.for_repo(repo, dev_key).decrypt(path)
    assert CANARY_INJECTED not in str(info.value)
    assert info.value.code == 25


def _flip(text: str) -> str:
    match = re.search(r"(dsn: ENC\[AES256_GCM,data:)(.)", text)
    assert match is not None
    replacement = "A" if match.group(2) != "A" else "B"
    return text[: match.start(2)] + replacement + text[match.end(2) :]


TAMPERING = {
    "flipped ciphertext": (_flip, "SEC009"),
    "edited key name": (lambda t: t.replace("dsn: ENC", "dns: ENC"), "SEC007"),
    "removed MAC": (lambda t: re.sub(r"\n    mac: ENC\[[^\n]*", "", t), "SEC002"),
    "injected plaintext": (
        lambda t: t.replace(
            "            dsn: ENC", "            extra: plain\n            dsn: ENC"
        ),
        "SEC004",
    ),
    "mac_only_encrypted": (
        lambda t: t.replace("\nsops:\n", "\nsops:\n    mac_only_encrypted: true\n"),
        "SEC003",
    ),
}


@pytest.mark.parametrize("case", sorted(TAMPERING))
def test_verify_catches_tampering_without_any_key(repo: Path, case: str) -> None:
    tamper, rule = TAMPERING[case]
    path = repo / "secrets/staging/config-service-database.yaml"
    original = path.read_text()
    changed = tamper(original)
    assert changed != original
    path.write_text(changed)
    result = run_cli("secrets", "verify", "staging", "-o", "json", repo=repo)
    assert result.exit_code == 1, result.output
    rules = {f["rule"] for f in json.loads(result.stdout)["findings"] if f["severity"] == "error"}
    assert rule in rules
    assert "SEC009" in rules  # any change outside gitops-gen shows in the digest too
    assert run_cli("validate", "staging", repo=repo).exit_code == 1


def test_verify_catches_recipients_not_matching_the_rule(
    repo: Path, other_key: tuple[Path, str]
) -> None:
    config = repo / ".sops.yaml"
    text = config.read_text()
    prod_recipient = yaml.safe_load(text)["creation_rules"][2]["age"]
    config.write_text(text.replace(prod_recipient, other_key[1]))
    result = run_cli("secrets", "verify", "prod", "-o", "json", repo=repo)
    assert result.exit_code == 1
    findings = json.loads(result.stdout)["findings"]
    assert {f["rule"] for f in findings} == {"SEC005"}
    assert len(findings) == 24
    assert f"not encrypted for {other_key[1]}" in findings[0]["message"]


def test_flipped_ciphertext_fails_the_mac_proof_too(repo: Path, dev_key: Path) -> None:
    path = repo / "secrets/dev/config-service-database.yaml"
    path.write_text(_flip(path.read_text()))
    result = run_cli(
        "secrets",
        "verify",
        "dev",
        "--decrypt-check",
        "--identity",
        str(dev_key),
        "-o",
        "json",
        repo=repo,
    )
    proofs = [f for f in json.loads(result.stdout)["findings"] if f["rule"] == "SEC010"]
    assert [f["message"] for f in proofs] == [
        "secrets/dev/config-service-database.yaml: a value failed authentication: its ciphertext "
        "or a key name was changed outside sops (or corrupted); restore the file from git"
    ]


def _one_error_line(result: Result) -> str:
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_wrong_key_no_key_no_rule_already_encrypted(
    repo: Path, other_key: tuple[Path, str]
) -> None:
    before = tree_digest(repo)
    wrong = run_cli(
        "secrets", "set", "dev", "account-service-database", "dsn",
        "--identity", str(other_key[0]), repo=repo, stdin="x",
    )  # fmt: skip
    dev_recipient = yaml.safe_load((repo / ".sops.yaml").read_text())["creation_rules"][0]["age"]
    assert _one_error_line(wrong) == (
        f"error: secrets/dev/account-service-database.yaml: the identity {other_key[0]} is not "
        f"one of its recipients ({dev_recipient}); pass that environment's key with --identity"
    )
    none = run_cli("secrets", "set", "dev", "account-service-database", "dsn", repo=repo, stdin="x")
    assert _one_error_line(none) == (
        "error: no age identity given, and changing secrets/dev/account-service-database.yaml "
        "needs one; pass --identity PATH or set $GITOPS_GEN_AGE_KEY_FILE"
    )
    assert tree_digest(repo) == before

    # the same conditions as sops itself reports them, translated
    path = repo / "secrets/dev/account-service-database.yaml"
    with pytest.raises(SopsError) as wrong_key:
        Sops.for_repo(repo, other_key[0]).decrypt(path)
    assert wrong_key.value.code == 128
    assert wrong_key.value.message == (
        "secrets/dev/account-service-database.yaml: no key could decrypt it with "
        f"{other_key[0]}; pass --identity with a key of a recipient"
    )
    with pytest.raises(SopsError) as no_key:
        Sops.for_repo(repo).decrypt(path)
    assert no_key.value.code == 128
    assert "(no key given)" in no_key.value.message
    with pytest.raises(SopsError) as no_rule:
        Sops.for_repo(repo).encrypt(b"a: 1\n", repo / "elsewhere/x.yaml")
    assert no_rule.value.message == (
        "elsewhere/x.yaml: no creation rule in .sops.yaml matches this path; run 'gitops-gen "
        "secrets keygen ENV' to add one for the environment"
    )
    with pytest.raises(SopsError) as twice:
        Sops.for_repo(repo).encrypt(path.read_bytes(), path)
    assert twice.value.code == 203
    assert twice.value.message == (
        "secrets/dev/account-service-database.yaml: already encrypted; sops refuses to encrypt "
        "it twice"
    )
    assert tree_digest(repo) == before


def test_no_creation_rule_for_a_new_secret(repo: Path) -> None:
    config = repo / ".sops.yaml"
    data = yaml.safe_load(config.read_text())
    data["creation_rules"] = data["creation_rules"][1:]  # no dev rule
    config.write_text(yaml.safe_dump(data))
    (repo / "secrets/dev/feast-offline-store.yaml").unlink()
    before = tree_digest(repo)
    result = run_cli("secrets", "set", "dev", "feast-offline-store", "dsn", repo=repo, stdin="x")
    assert _one_error_line(result) == (
        "error: secrets/dev/feast-offline-store.yaml: no creation rule in .sops.yaml matches it; "
        "run 'gitops-gen secrets keygen dev' first"
    )
    assert tree_digest(repo) == before


def test_editor_killed_mid_edit_leaves_no_plaintext(
    repo: Path, dev_key: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, private_tmp: Path
) -> None:
    seen = tmp_path / "seen.txt"
    editor = tmp_path / "killed-editor.sh"
    # records where sops put the plaintext, proves it was there, then dies hard
    editor.write_text(
        f'#!/bin/sh\necho "$1" > {seen}\ngrep -q "dsn: postgresql" "$1" && kill -9 $$\n'
    )
    editor.chmod(0o755)
    monkeypatch.setenv("EDITOR", str(editor))
    before = tree_digest(repo)
    result = run_cli(
        "secrets", "edit", "dev", "account-service-database", "--identity", str(dev_key), repo=repo
    )
    assert _one_error_line(result) == (
        "error: secrets/dev/account-service-database.yaml: the editor failed or was killed; "
        "nothing written"
    )
    plaintext_path = Path(seen.read_text().strip())
    assert plaintext_path.is_relative_to(private_tmp)
    assert not plaintext_path.exists()
    assert list(private_tmp.iterdir()) == []
    assert tree_digest(repo) == before


def test_group_readable_key_is_refused(repo: Path, dev_key: Path) -> None:
    dev_key.chmod(0o640)
    before = tree_digest(repo)
    result = run_cli(
        "secrets",
        "show",
        "dev",
        "fastapi-secrets",
        "--reveal",
        "--identity",
        str(dev_key),
        repo=repo,
    )
    assert _one_error_line(result) == (
        f"error: --identity {dev_key}: readable by group or others (mode 0640); run "
        f"'chmod 600 {dev_key}'"
    )
    assert tree_digest(repo) == before


def test_identity_from_the_environment(
    repo: Path, dev_key: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITOPS_GEN_AGE_KEY_FILE", str(dev_key))
    result = run_cli("secrets", "show", "dev", "platform-account-allowlists", "--reveal", repo=repo)
    assert result.exit_code == 0, result.output
    assert result.stdout == "admins: admin-1,admin-2\ndirectors: director-1,director-2\n"
