"""SIGTERM and SIGHUP (a CI cancel, a closed terminal, ``timeout``) sent to a real ``gitops-gen``
child process while it decrypts: it exits 128 + the signal number, and afterwards no plaintext
is anywhere (work tree, /dev/shm, $TMPDIR, git objects; plain, base64, hex), no scratch copy or
private folder is left, no sops or editor process survives, and the repository is unchanged
even after ``git add -A``.

The real sops binary does all the work. For the commands that only run sops (no editor),
``$GITOPS_GEN_SOPS`` points at a small wrapper that runs the real sops, then waits: the moment
the test signals is then known, with sops' private folder and the scratch copy in place.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import git, run_cli, tree_digest
from tests.secrets_fixtures import (
    child_env,
    plaintext_sightings,
    real_sops,
    spawn_cli,
)

CANARY = "canary-signal-41d7b2-do-not-leak"
SECRET = "fastapi-credentials"
WAIT = 90  # seconds; the machine may be busy


@dataclass(frozen=True)
class Setup:
    root: Path
    key: Path
    tmp: Path  # the child's $TMPDIR
    home: Path
    log: Path  # what the wrapper / editor saw (paths and pids, never values)
    ready: Path  # appears when sops (or the editor) holds what is to be cleaned up


@pytest.fixture
def setup(repo: Path, dev_key: Path, tmp_path: Path) -> Setup:
    """The example repository with a canary value in dev, committed (ciphertext only)."""
    run_cli(
        "secrets", "set", "dev", SECRET, "JWT_SECRET", "--identity", str(dev_key),
        repo=repo, stdin=CANARY, expect=0,
    )  # fmt: skip
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "canary")
    tmp, home = tmp_path / "child-tmp", tmp_path / "child-home"
    tmp.mkdir()
    home.mkdir()
    return Setup(repo, dev_key, tmp, home, tmp_path / "seen.log", tmp_path / "ready")


def _sops_wrapper(s: Setup) -> Path:
    """Runs the real sops, then waits to be signalled (records its folders and pid)."""
    wrapper = s.tmp.parent / "sops-then-wait.sh"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'echo "pid $$" >> {s.log}\n'
        f'echo "home $HOME" >> {s.log}\n'
        'for last; do :; done\n'
        f'echo "file $3 $last" >> {s.log}\n'
        f'{real_sops()} "$@"\n'
        "rc=$?\n"
        f": > {s.ready}\n"
        "sleep 120\n"
        "exit $rc\n"
    )  # fmt: skip
    wrapper.chmod(0o755)
    return wrapper


def _slow_editor(s: Setup) -> Path:
    """An editor that shows it has the plaintext, then waits to be signalled."""
    editor = s.tmp.parent / "slow-editor.sh"
    editor.write_text(
        "#!/bin/sh\n"
        f'echo "pid $$" >> {s.log}\n'
        f'echo "home $(dirname "$1")" >> {s.log}\n'
        f'grep -q {CANARY} "$1" && : > {s.ready}\n'
        "sleep 120\n"
    )
    editor.chmod(0o755)
    return editor


@dataclass(frozen=True)
class Case:
    args: tuple[str, ...]
    stdin: bytes | None = None
    uses_editor: bool = False


def _cases(s: Setup) -> dict[str, Case]:
    identity = ("--identity", str(s.key))
    return {
        "edit": Case(("secrets", "edit", "dev", SECRET, *identity), uses_editor=True),
        "show": Case(("secrets", "show", "dev", SECRET, "--reveal", *identity)),
        "set": Case(("secrets", "set", "dev", SECRET, "API_KEY", *identity), stdin=b"new"),
        "import": Case(
            ("secrets", "import", "dev", SECRET, "--from-env-file", "-", *identity),
            stdin=b"API_KEY=one\nDB_URI=two\n",
        ),
        "rotate": Case(("secrets", "rotate", "dev", *identity)),
        "verify": Case(("secrets", "verify", "dev", "--decrypt-check", *identity)),
        "keygen": Case(
            ("secrets", "keygen", "dev", "--out", str(s.home / "new.agekey"), *identity)
        ),
        "drift": Case(
            ("drift", "dev", "--decrypt", "--kubeconfig", "/nonexistent/kubeconfig", *identity)
        ),
    }


def _wait_for(condition: Callable[[], bool], what: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"gitops-gen ended before {what}: {proc.returncode} {out!r} {err!r}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def _gone(pid: int) -> bool:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def _run_and_signal(s: Setup, name: str, signum: signal.Signals) -> tuple[int, str, str]:
    case = _cases(s)[name]
    extra = {"EDITOR": str(_slow_editor(s))} if case.uses_editor else {}
    if not case.uses_editor:
        extra["GITOPS_GEN_SOPS"] = str(_sops_wrapper(s))
    stdin = None
    if case.stdin is not None:
        stdin = s.tmp.parent / "stdin"
        stdin.write_bytes(case.stdin)
    proc = spawn_cli(s.root, *case.args, env=child_env(s.home, s.tmp, **extra), stdin=stdin)
    _wait_for(s.ready.exists, "sops held the secret", proc)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=WAIT)
    return proc.returncode, out.decode(), err.decode()


def _assert_nothing_left(s: Setup, before: dict[str, str], out: str, err: str) -> None:
    seen = s.log.read_text().split("\n")
    pids = [int(line.split()[1]) for line in seen if line.startswith("pid ")]
    folders = [Path(line.split(maxsplit=1)[1]) for line in seen if line.startswith("home ")]
    # (sops subcommand, file); decrypt reads the real file, the others rewrite a scratch copy
    files = [line.split(maxsplit=2)[1:] for line in seen if line.startswith("file ")]
    assert pids and folders
    for pid in pids:
        assert _gone(pid), f"sops or its editor survived: {pid}"
    for folder in folders:
        assert not folder.exists(), folder  # sops' private folder (and the editor's plaintext)
    for subcommand, name in files:
        if subcommand in {"set", "unset", "updatekeys", "rotate"}:
            copy = Path(name)
            assert not copy.is_relative_to(s.root), copy  # the scratch copy: not in the tree
            assert not copy.exists(), copy
    assert CANARY not in out + err
    assert "Traceback" not in err
    assert tree_digest(s.root) == before
    git(s.root, "add", "-A")  # what a careless commit would take: nothing
    assert git(s.root, "status", "--porcelain") == ""
    assert plaintext_sightings(CANARY, s.root, s.tmp, s.home) == []


COMMANDS = ["edit", "show", "set", "import", "rotate", "verify", "keygen", "drift"]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["TERM", "HUP"])
@pytest.mark.parametrize("command", COMMANDS)
def test_signal_while_decrypting_leaves_nothing(
    setup: Setup, command: str, signum: signal.Signals
) -> None:
    before = tree_digest(setup.root)
    sops_config = (setup.root / ".sops.yaml").read_bytes()
    code, out, err = _run_and_signal(setup, command, signum)
    assert code == 128 + signum, (code, out, err)
    assert err.endswith(f"terminated by {signum.name}\n"), err
    _assert_nothing_left(setup, before, out, err)
    assert (setup.root / ".sops.yaml").read_bytes() == sops_config
    assert not (setup.home / "new.agekey").exists()  # keygen takes back the unused key


def test_sigint_still_exits_130_and_cleans_up(setup: Setup) -> None:
    before = tree_digest(setup.root)
    code, out, err = _run_and_signal(setup, "edit", signal.SIGINT)
    assert code == 130, (code, out, err)
    assert err.endswith("interrupted\n"), err
    _assert_nothing_left(setup, before, out, err)
