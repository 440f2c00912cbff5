"""What a person at a terminal and a CI log see: global options anywhere on the command line,
colour control (--color, NO_COLOR, FORCE_COLOR), and tables only on a real terminal.

The terminal cases run the installed ``gitops-gen`` on a real pseudo-terminal."""

from __future__ import annotations

import os
import select
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import run_cli, tree_digest

EXE = Path(sys.executable).parent / "gitops-gen"
ESC = b"\x1b["


def run_on_tty(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> tuple[int, bytes, bytes]:
    """Run gitops-gen with stdout on a pseudo-terminal; returns (exit code, stdout, stderr)."""
    master, slave = os.openpty()
    environ = {**os.environ, "COLUMNS": "160", "TERM": "xterm-256color", **(env or {})}
    proc = subprocess.Popen(
        [str(EXE), *args], cwd=cwd, stdout=slave, stderr=subprocess.PIPE, env=environ
    )
    os.close(slave)
    chunks: list[bytes] = []
    while True:  # read while it runs, or a full pty buffer would block it
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            proc.kill()
            raise AssertionError("gitops-gen produced nothing for 60 s")
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed its end
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    stderr = proc.stderr.read() if proc.stderr else b""
    if proc.stderr:
        proc.stderr.close()
    return proc.wait(timeout=60), b"".join(chunks), stderr


def run_piped(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [str(EXE), *args],
        cwd=cwd,
        capture_output=True,
        env={**os.environ, **(env or {})},
        timeout=120,
        check=False,
    )


# --- global options after the subcommand ------------------------------------------------------


def test_global_options_work_after_the_subcommand(repo: Path, tmp_path: Path) -> None:
    before = run_cli("-v", "render", "dev", repo=repo, expect=0)
    (repo / "clusters").rename(tmp_path / "first")
    after = run_cli("render", "dev", "-v", "--repo", str(repo), expect=0)
    assert after.stderr == before.stderr
    assert "added: clusters/" in after.stderr  # -v: one line per file
    assert tree_digest(repo / "clusters") == tree_digest(tmp_path / "first")


def test_quiet_after_the_subcommand_prints_only_results(repo: Path) -> None:
    result = run_cli("secrets", "verify", "dev", "-q", "--repo", str(repo), expect=0)
    assert result.output == ""
    loud = run_cli("secrets", "verify", "dev", "--repo", str(repo), expect=0)
    assert loud.stderr == "secrets of dev: no findings\n"


def test_repo_after_the_subcommand_wins_over_the_one_before(repo: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "not-a-repo"
    elsewhere.mkdir()
    result = run_cli(
        "--repo", str(elsewhere), "secrets", "list", "dev", "--repo", str(repo), expect=0
    )
    assert "account-service-database" in result.stdout
    wrong = run_cli("secrets", "list", "dev", "--repo", str(elsewhere), expect=2)
    assert wrong.stderr == (
        f"error: --repo {elsewhere}: not a git repository (no .git); pass the repository's top "
        "folder, or run 'git init' there first\n"
    )


def test_debug_after_the_subcommand_shows_the_traceback(repo: Path) -> None:
    result = run_cli("history", "nowhere", "--debug", repo=repo, expect=2)
    assert "Traceback (most recent call last)" in result.stderr
    assert result.stderr.rstrip().endswith(
        "(environments: dev, prod, staging; each is a file environments/<name>.yaml)"
    )


def test_help_names_the_global_options_once() -> None:
    top = run_cli("--help", expect=0).stdout
    for option in ("--repo PATH", "-v, --verbose", "-q, --quiet", "--debug", "--color"):
        assert option in top
    result = run_cli("secrets", "list", "--help", expect=0)
    assert result.stdout.rstrip().endswith(
        "Global options (--repo, -v, -q, --debug, --color) work here too."
    )
    assert "--verbose" not in result.stdout


# --- colour --------------------------------------------------------------------------------


def test_a_terminal_gets_a_styled_table(repo: Path) -> None:
    code, out, _ = run_on_tty("secrets", "list", "dev", cwd=repo)
    assert code == 0
    assert ESC in out  # bold headers, italic title
    assert "┃".encode() in out or "│".encode() in out


@pytest.mark.parametrize(
    ("args", "env"),
    [
        pytest.param((), {"NO_COLOR": "1"}, id="NO_COLOR"),
        pytest.param(("--color", "never"), {}, id="--color-never"),
        pytest.param(("--color", "never"), {"FORCE_COLOR": "1"}, id="never-beats-FORCE_COLOR"),
    ],
)
def test_no_colour_means_no_escape_code_at_all(
    args: tuple[str, ...], env: dict[str, str], repo: Path
) -> None:
    code, out, err = run_on_tty("secrets", "list", "dev", *args, cwd=repo, env=env)
    assert code == 0, err
    assert ESC not in out  # no colour, and no bold or italic either
    assert b"account-service-database" in out
    code, out, err = run_on_tty("doctor", "--offline", *args, cwd=repo, env=env)
    assert code == 0, err
    assert ESC not in out
    assert b"OK    tool git" in out


@pytest.mark.parametrize(
    ("args", "env"),
    [
        pytest.param((), {"FORCE_COLOR": "1"}, id="FORCE_COLOR"),
        pytest.param(("--color", "always"), {}, id="--color-always"),
        pytest.param(("--color", "always"), {"NO_COLOR": "1"}, id="always-beats-NO_COLOR"),
    ],
)
def test_colour_can_be_forced_into_a_ci_log(
    args: tuple[str, ...], env: dict[str, str], repo: Path
) -> None:
    piped = run_piped("doctor", "--offline", *args, cwd=repo, env=env)
    assert ESC in piped.stdout
    assert b"tool git" in piped.stdout
    # colour does not bring wrapping back: a pipe still gets one line per row
    listing = run_piped("secrets", "list", "dev", *args, cwd=repo, env={**env, "COLUMNS": "40"})
    assert listing.stdout.count(b"account-service-database") == 1
    assert b"\xe2\x94" not in listing.stdout  # no box drawing


def test_a_pipe_gets_no_colour_by_default(repo: Path) -> None:
    piped = run_piped("doctor", "--offline", cwd=repo)
    assert ESC not in piped.stdout
    assert ESC not in piped.stderr


def test_empty_no_color_or_force_color_zero_change_nothing(repo: Path) -> None:
    assert ESC not in run_piped("doctor", "--offline", cwd=repo, env={"FORCE_COLOR": "0"}).stdout
    code, out, _ = run_on_tty("doctor", "--offline", cwd=repo, env={"NO_COLOR": ""})
    assert code == 0
    assert ESC in out
