"""The README stays true: its CLI reference is the commands' own --help, its quick start is
exactly the two commands, and its drift examples are accepted by the command."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from gitops_gen.cli_reference import BEGIN, END, reference
from tests.helpers import PROJECT_ROOT, copy_aether, run_cli


def test_cli_reference_matches_help() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    block = readme[readme.index(BEGIN) : readme.index(END) + len(END)]
    assert block == reference(), "README's CLI reference is stale: run 'make docs'"


def test_quick_start_is_make_demo_and_make_test() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"^(make \S+)$", section, flags=re.M)
    assert commands == ["make demo", "make test"]


def _examples(command: str) -> list[list[str]]:
    """The README's example lines of ``gitops-gen COMMAND`` (outside the generated reference),
    as argv without the program name and the trailing comment."""
    readme = (PROJECT_ROOT / "README.md").read_text()
    readme = readme[: readme.index(BEGIN)] + readme[readme.index(END) :]
    lines = re.findall(rf"^gitops-gen {command} .*$", readme, flags=re.M)
    return [shlex.split(line.split("  #")[0])[1:] for line in lines]


def test_every_drift_example_is_accepted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each drift line of the README gets as far as reading the kubeconfig: its options are
    accepted together (one example once combined two -o with --output-file, which is refused)."""
    repo = copy_aether(tmp_path / "aether")
    monkeypatch.chdir(repo)
    (repo / "out").mkdir()
    (repo / "out" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {mode: fast}\n"
    )
    missing = tmp_path / "no-kubeconfig"
    examples = _examples("drift")
    assert len(examples) >= 5
    for argv in examples:
        result = run_cli(*argv, "--kubeconfig", str(missing), repo=repo, expect=2)
        assert (
            result.stderr == f"error: kubeconfig {missing}: no such file; pass --kubeconfig PATH\n"
        ), (
            argv,
            result.stderr,
        )
