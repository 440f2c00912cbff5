"""``gitops-gen completion``: the scripts, and environment/component/secret/key names completed
from the repository, through the installed program as a shell calls it (and through real bash)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gitops_gen.model import load_platform
from tests.helpers import run_cli

EXE = Path(sys.executable).parent / "gitops-gen"


def complete(line: str, cwd: Path) -> list[str]:
    """What gitops-gen offers for the last word of ``line`` (bash's protocol)."""
    words = line.split(" ")
    done = subprocess.run(
        [str(EXE)],
        cwd=cwd,
        env={
            **os.environ,
            "_GITOPS_GEN_COMPLETE": "bash_complete",
            "COMP_WORDS": line,
            "COMP_CWORD": str(len(words) - 1),
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # nothing may land in the user's prompt
    return [entry.split(",", 1)[1] for entry in done.stdout.splitlines() if entry]


def test_environment_names(repo: Path) -> None:
    assert complete("gitops-gen render ", repo) == ["dev", "prod", "staging"]
    assert complete("gitops-gen history p", repo) == ["prod"]
    assert complete("gitops-gen promote dev s", repo) == ["staging"]
    assert complete("gitops-gen secrets list ", repo) == ["dev", "prod", "staging"]


def test_existing_environment_names_in_env_commands(repo: Path) -> None:
    """'env remove NAME', 'env add --from ENV' and '--before ENV' name existing environments;
    they completed nothing."""
    assert complete("gitops-gen env remove ", repo) == ["dev", "prod", "staging"]
    assert complete("gitops-gen env add qa --from st", repo) == ["staging"]
    assert complete("gitops-gen env add qa --from staging --before p", repo) == ["prod"]
    assert complete("gitops-gen env add ", repo) == []  # a new name: nothing to offer


def test_component_names(repo: Path) -> None:
    offered = complete("gitops-gen promote dev staging --component ", repo)
    platform = load_platform(repo)
    expected = sorted({c.name for c in platform.environments["staging"].components})
    assert offered == expected
    assert {"platform", "kafka", "risk-service"} <= set(offered)
    assert complete("gitops-gen promote dev staging --component kaf", repo) == ["kafka"]


def test_secret_and_key_names(repo: Path) -> None:
    secrets = complete("gitops-gen secrets set dev account-service-", repo)
    assert secrets == ["account-service-database", "account-service-secrets"]
    required = load_platform(repo).environments["dev"].required_secrets
    keys = next(s.keys for s in required if s.name == "account-service-database")
    assert complete("gitops-gen secrets set dev account-service-database ", repo) == sorted(keys)


def test_repo_given_after_the_subcommand_is_used(repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    assert complete("gitops-gen render ", outside) == []  # no repository here: nothing, quietly
    assert complete(f"gitops-gen render --repo {repo} ", outside) == ["dev", "prod", "staging"]
    assert complete(f"gitops-gen --repo {repo} secrets show prod ", outside)[:1] == [
        "account-service-database"
    ]


def test_an_invalid_repository_still_completes_environment_names(repo: Path) -> None:
    (repo / "environments" / "platform.yaml").write_text("services: [\n")
    assert complete("gitops-gen render ", repo) == ["dev", "prod", "staging"]
    assert complete("gitops-gen secrets set dev ", repo) == []  # needs the catalog: nothing


def test_commands_and_options_complete_too(repo: Path) -> None:
    assert "completion" in complete("gitops-gen ", repo)
    assert "doctor" in complete("gitops-gen d", repo)
    assert complete("gitops-gen render --col", repo) == ["--color"]


def test_the_bash_script_completes_in_real_bash(repo: Path) -> None:
    script = run_cli("completion", "bash", expect=0).stdout
    program = (
        script
        + '\nCOMP_WORDS=(gitops-gen secrets set dev "")\nCOMP_CWORD=4\n'
        + '_gitops_gen_completion gitops-gen\nprintf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    done = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", program],
        cwd=repo,
        env={**os.environ, "PATH": f"{EXE.parent}{os.pathsep}{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    names = done.stdout.split()
    assert "account-service-database" in names
    assert names == sorted(s.name for s in load_platform(repo).environments["dev"].required_secrets)


@pytest.mark.parametrize(
    ("shell", "marker"),
    [
        ("bash", "complete -o nosort -F _gitops_gen_completion gitops-gen"),
        ("zsh", "#compdef gitops-gen"),
        ("fish", "complete --no-files --command gitops-gen"),
    ],
)
def test_completion_prints_the_script_for_each_shell(shell: str, marker: str) -> None:
    result = run_cli("completion", shell, expect=0)
    assert marker in result.stdout
    assert "_GITOPS_GEN_COMPLETE" in result.stdout


def test_an_unknown_shell_is_a_usage_error() -> None:
    result = run_cli("completion", "tcsh", expect=2)
    assert "'tcsh' is not one of 'bash', 'zsh', 'fish'" in result.stderr
    assert result.stdout == ""
