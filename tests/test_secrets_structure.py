"""Keyless structural checks of secrets files (``secrets verify``, ``validate``, ``render``):
each way a file goes wrong in a repository gives its rule, its place and a fix, never a value.
Found by mutation testing (docs/testing.md); runs without sops or keys."""

from __future__ import annotations

import base64
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from gitops_gen.secrets.config import load_config
from gitops_gen.secrets.store import read_secret_file, read_sums
from gitops_gen.secrets.structure import Problem, check_file, is_encrypted_value
from tests.helpers import PROJECT_ROOT

REL = "secrets/staging/config-service-database.yaml"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    for part in ("secrets/staging", ".sops.yaml"):
        source = PROJECT_ROOT / part
        if source.is_dir():
            shutil.copytree(source, tmp_path / part)
        else:
            shutil.copy(source, tmp_path / part)
    return tmp_path


def _check(root: Path, edit: Callable[[str], str] | None = None) -> list[Problem]:
    path = root / REL
    if edit is not None:
        path.write_text(edit(path.read_text()))
    return check_file(read_secret_file(root, path), load_config(root), read_sums(root, "staging"))


def _rules(problems: list[Problem]) -> list[tuple[str, str]]:
    return [(p.rule, p.location) for p in problems]


def test_the_example_file_is_clean(root: Path) -> None:
    assert _check(root) == []


def test_a_change_outside_gitops_gen_shows_in_the_digest(root: Path) -> None:
    problems = _check(root, lambda t: t + "# touched\n")
    assert _rules(problems) == [("SEC009", REL)]
    assert "differs from its SHA256SUMS entry" in problems[0].message
    (root / "secrets/staging/SHA256SUMS").write_text("")
    problems = _check(root)
    assert _rules(problems) == [("SEC009", REL)]
    assert "no entry in SHA256SUMS" in problems[0].message


def test_plaintext_file_is_sec001_and_not_quoted(root: Path) -> None:
    problems = _check(root, lambda _: "stringData:\n  dsn: postgresql://user:hunter2@db\n")
    assert _rules(problems) == [("SEC001", REL)]
    assert "hunter2" not in problems[0].message
    assert "gitops-gen secrets set" in problems[0].message


def test_unparsable_file_is_sec001(root: Path) -> None:
    problems = _check(root, lambda _: "a: [unclosed\n")
    assert [p.rule for p in problems] == ["SEC001"]
    assert problems[0].message.endswith("; restore it from git")


@pytest.mark.parametrize(
    ("field", "missing"),
    [("mac", "mac"), ("lastmodified", "lastmodified"), ("version", "version")],
)
def test_incomplete_metadata_names_what_is_missing(root: Path, field: str, missing: str) -> None:
    problems = _check(root, lambda t: re.sub(rf"\n    {field}: [^\n]*", "", t))
    sec002 = [p for p in problems if p.rule == "SEC002"]
    assert [p.message for p in sec002] == [f"sops metadata incomplete: missing {missing}"]


def test_a_mac_that_is_not_a_sops_value(root: Path) -> None:
    problems = _check(root, lambda t: re.sub(r"\n    mac: [^\n]*", "\n    mac: forged", t))
    assert "sops metadata incomplete: missing a well-formed mac" in [p.message for p in problems]


def test_no_recipients_at_all(root: Path) -> None:
    problems = _check(root, lambda t: re.sub(r"\n    age:\n(        [^\n]*\n)+", "\n", t))
    messages = [p.message for p in problems if p.rule == "SEC002"]
    assert messages == ["sops metadata incomplete: missing recipients"]


def test_mac_only_encrypted_is_sec003(root: Path) -> None:
    problems = _check(
        root, lambda t: t.replace("\nsops:\n", "\nsops:\n    mac_only_encrypted: true\n")
    )
    assert ("SEC003", REL) in _rules(problems)


def test_a_wider_or_narrower_encrypted_regex_is_sec004(root: Path) -> None:
    problems = _check(
        root, lambda t: re.sub(r"encrypted_regex: [^\n]*", "encrypted_regex: ^data$", t)
    )
    sec004 = [p for p in problems if p.rule == "SEC004"]
    assert len(sec004) == 1 and sec004[0].location == REL
    assert sec004[0].message.startswith("encrypted_regex is '^data$', expected ")


def test_a_plaintext_value_is_named_by_its_path_only(root: Path) -> None:
    problems = _check(
        root,
        lambda t: t.replace(
            "            dsn: ENC", "            extra: hunter2\n            dsn: ENC"
        ),
    )
    sec004 = [p for p in problems if p.rule == "SEC004"]
    assert _rules(sec004) == [("SEC004", f"{REL}: spec.secretTemplates[0].stringData.extra")]
    assert sec004[0].message == "value is not encrypted"
    assert all("hunter2" not in p.message for p in problems)


def test_a_renamed_file_or_template_is_sec008(root: Path) -> None:
    problems = _check(
        root,
        lambda t: t.replace("name: config-service-database", "name: other", 1),
    )
    sec008 = [p for p in problems if p.rule == "SEC008"]
    assert len(sec008) == 1
    assert "metadata.name is 'other', expected 'config-service-database'" in sec008[0].message
    problems = _check(root, lambda t: t.replace("kind: SopsSecret", "kind: Secret"))
    assert "expected apiVersion isindir.github.com/v1alpha3, kind SopsSecret" in " ".join(
        p.message for p in problems if p.rule == "SEC008"
    )


def test_recipients_against_the_creation_rule(root: Path) -> None:
    config = root / ".sops.yaml"
    text = config.read_text()
    staging = re.search(r"age1[0-9a-z]+", text.split("secrets/staging/")[1])
    assert staging is not None
    other = "age1" + "q" * 58
    config.write_text(text.replace(staging.group(0), other))
    (problem,) = [p for p in _check(root) if p.rule == "SEC005"]
    assert f"not encrypted for {other}" in problem.message
    assert f"still encrypted for {staging.group(0)}" in problem.message
    assert problem.message.endswith("run 'gitops-gen secrets rotate ENV'")
    config.write_text("creation_rules: []\n")
    (problem,) = [p for p in _check(root) if p.rule == "SEC005"]
    assert "no creation rule in .sops.yaml matches this path" in problem.message
    config.unlink()
    (problem,) = [p for p in _check(root) if p.rule == "SEC005"]
    assert problem.message == "no .sops.yaml: recipients cannot be checked"


def _enc(data: str = "YWJj", iv: int = 32, tag: int = 16, kind: str = "str") -> str:
    iv_text = base64.b64encode(b"i" * iv).decode()
    tag_text = base64.b64encode(b"t" * tag).decode()
    return f"ENC[AES256_GCM,data:{data},iv:{iv_text},tag:{tag_text},type:{kind}]"


@pytest.mark.parametrize(
    ("value", "encrypted"),
    [
        (_enc(), True),
        (_enc(data=""), True),  # the empty string
        (_enc(kind="bytes"), True),
        (_enc(iv=31), False),  # sops' IV is 32 bytes, its tag 16
        (_enc(tag=15), False),
        (_enc(data="not*base64"), False),
        (_enc(data="YWJ"), False),  # base64 without its padding
        (_enc(kind="secret"), False),
        ("prefix " + _enc(), False),
        (_enc() + " suffix", False),
        ("plain", False),
        (5, False),
        (None, False),
    ],
)
def test_what_counts_as_an_encrypted_value(value: object, encrypted: bool) -> None:
    assert is_encrypted_value(value) is encrypted
