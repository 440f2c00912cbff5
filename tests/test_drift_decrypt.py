"""``drift --decrypt`` without a cluster: the repository's values, and every key problem as one
clear line (exit 2) before any API server is contacted."""

from __future__ import annotations

import base64
import json
import re
import shutil
from pathlib import Path

import pytest

from gitops_gen.errors import InputError
from gitops_gen.model import load_platform
from gitops_gen.secrets.drift import value_source
from gitops_gen.secrets.sops import Sops
from gitops_gen.secrets.store import secret_path
from gitops_gen.yamlio import dump
from tests.helpers import git, run_cli, tree_digest

NO_CLUSTER = "/nonexistent/kubeconfig"  # reaching the kubeconfig would be a different error


def _refused(root: Path, *args: str) -> str:
    before = tree_digest(root)
    result = run_cli("drift", "dev", "--kubeconfig", NO_CLUSTER, *args, repo=root)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert tree_digest(root) == before
    return result.stderr.rstrip("\n")


def test_values_are_the_bytes_the_operator_would_write(repo: Path, dev_key: Path) -> None:
    values = value_source(load_platform(repo), dev_key).values("dev")
    assert len(values) == 24  # the catalog, kraken-keys-* once per account
    revealed = run_cli(
        "secrets", "show", "dev", "fastapi-credentials", "--reveal", "-o", "json",
        "--identity", str(dev_key), repo=repo,
    )  # fmt: skip
    assert revealed.exit_code == 0, revealed.output
    expected = json.loads(revealed.stdout)["values"]
    assert values["fastapi-credentials"] == {k: v.encode() for k, v in expected.items()}
    assert git(repo, "status", "--porcelain") == ""


def _encrypt(root: Path, name: str, template: dict[str, object]) -> None:
    """Replace a dev secrets file by one holding ``template`` (through real sops)."""
    document = {
        "apiVersion": "isindir.github.com/v1alpha3",
        "kind": "SopsSecret",
        "metadata": {"name": name},
        "spec": {"secretTemplates": [{"name": name, **template}]},
    }
    path = secret_path(root, "dev", name)
    path.write_bytes(Sops.for_repo(root).encrypt(dump(document).encode(), path))


def test_data_is_base64_decoded_and_string_data_wins(repo: Path, dev_key: Path) -> None:
    binary = b"\x00\xff binary \x80"
    _encrypt(
        repo,
        "fastapi-credentials",
        {
            "data": {
                "blob": base64.b64encode(binary).decode(),
                "API_KEY": base64.b64encode(b"from data").decode(),
            },
            "stringData": {"API_KEY": "from stringData", "PORT": 5432},
        },
    )
    values = value_source(load_platform(repo), dev_key).values("dev")["fastapi-credentials"]
    assert values == {"blob": binary, "API_KEY": b"from stringData", "PORT": b"5432"}


def test_data_that_is_not_base64_names_the_key_not_the_value(repo: Path, dev_key: Path) -> None:
    _encrypt(repo, "fastapi-credentials", {"data": {"API_KEY": "not base64 !!"}})
    with pytest.raises(InputError) as error:
        value_source(load_platform(repo), dev_key).values("dev")
    assert str(error.value) == (
        "secrets/dev/fastapi-credentials.yaml: data key 'API_KEY' of fastapi-credentials is "
        "not base64; fix it with 'gitops-gen secrets edit'"
    )


def test_no_key_given(repo: Path) -> None:
    assert _refused(repo, "--decrypt") == (
        "error: no age identity given, and drift --decrypt needs one; pass --identity PATH or "
        "set $GITOPS_GEN_AGE_KEY_FILE"
    )


def test_key_file_missing_or_not_a_key(repo: Path, tmp_path: Path) -> None:
    missing = tmp_path / "missing.agekey"
    assert _refused(repo, "--decrypt", "--identity", str(missing)) == (
        f"error: --identity {missing}: identity file not found"
    )
    garbage = tmp_path / "garbage.agekey"
    garbage.write_text("AGE-SECRET-KEY-1NOTAKEY\n")
    garbage.chmod(0o600)
    assert "NOTAKEY" not in _refused(repo, "--decrypt", "--identity", str(garbage))


def test_key_of_another_environment(repo: Path, other_key: tuple[Path, str]) -> None:
    line = _refused(repo, "--decrypt", "--identity", str(other_key[0]))
    assert re.fullmatch(
        r"error: secrets/dev/account-service-database\.yaml: the identity \S+ is not one of its "
        r"recipients \(age1\w+\); pass that environment's key with --identity",
        line,
    ), line


def test_listed_recipient_whose_key_does_not_open_the_file(repo: Path, dev_key: Path) -> None:
    """The file names dev's recipient, but its wrapped data key was replaced: sops cannot open
    it with dev's key (its exit code 128 becomes our line)."""
    path = secret_path(repo, "dev", "fastapi-credentials")
    other = secret_path(repo, "staging", "fastapi-credentials").read_text()
    enc = re.search(
        r"(?s)-----BEGIN AGE ENCRYPTED FILE-----.*?-----END AGE ENCRYPTED FILE-----", other
    )
    assert enc is not None
    text = path.read_text()
    path.write_text(
        re.sub(
            r"(?s)-----BEGIN AGE ENCRYPTED FILE-----.*?-----END AGE ENCRYPTED FILE-----",
            lambda _: enc.group(0),
            text,
        )
    )
    assert _refused(repo, "--decrypt", "--identity", str(dev_key)) == (
        f"error: secrets/dev/fastapi-credentials.yaml: no key could decrypt it with "
        f"{dev_key.resolve()}; pass --identity with a key of a recipient"
    )


def test_environment_without_secrets_files(repo: Path, dev_key: Path) -> None:
    shutil.rmtree(repo / "secrets" / "dev")
    assert _refused(repo, "--decrypt", "--identity", str(dev_key)) == (
        "error: --decrypt: dev has no secrets files under secrets/dev/, so there are no values "
        "to compare; run without --decrypt to check key names only"
    )


def test_identity_without_decrypt(repo: Path, dev_key: Path) -> None:
    assert _refused(repo, "--identity", str(dev_key)) == (
        "error: --identity only applies to --decrypt"
    )


def test_file_without_its_template_is_one_line(repo: Path, dev_key: Path) -> None:
    path = secret_path(repo, "dev", "fastapi-credentials")
    document = {
        "apiVersion": "isindir.github.com/v1alpha3",
        "kind": "SopsSecret",
        "metadata": {"name": "fastapi-credentials"},
        "spec": {"secretTemplates": [{"name": "renamed", "stringData": {"API_KEY": "x"}}]},
    }
    path.write_bytes(Sops.for_repo(repo).encrypt(dump(document).encode(), path))
    assert _refused(repo, "--decrypt", "--identity", str(dev_key)) == (
        "error: secrets/dev/fastapi-credentials.yaml: no secretTemplate named "
        "fastapi-credentials; run 'gitops-gen secrets verify' and restore the file from git"
    )
