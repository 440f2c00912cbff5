"""The README stays true: its CLI reference is the commands' own --help, and its quick start is
exactly the two commands."""

from __future__ import annotations

import re

from gitops_gen.cli_reference import BEGIN, END, reference
from tests.helpers import PROJECT_ROOT


def test_cli_reference_matches_help() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    block = readme[readme.index(BEGIN) : readme.index(END) + len(END)]
    assert block == reference(), "README's CLI reference is stale: run 'make docs'"


def test_quick_start_is_make_demo_and_make_test() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"^(make \S+)$", section, flags=re.M)
    assert commands == ["make demo", "make test"]
