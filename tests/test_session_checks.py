"""The suite's own guard: a test-cluster process left running fails the run, in one process
and under pytest-xdist (`make test` runs workers), where a worker's exit status is not the run's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

LEAKY_TEST = """
import subprocess

from tests import cluster_fixtures


def test_starts_a_server_and_forgets_it(tmp_path):
    child = subprocess.Popen(["sleep", "300"], start_new_session=True)
    (tmp_path.parent.parent / "leaked.pid").write_text(str(child.pid))
    cluster_fixtures._SESSION_PIDS.append(child.pid)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[-1][0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one-process", "xdist"])
def test_a_leftover_cluster_process_fails_the_run_and_is_killed(
    tmp_path: Path, workers: list[str]
) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_leak.py").write_text(LEAKY_TEST)
    base = tmp_path / "base"
    command = [sys.executable, "-m", "pytest", "-p", "tests.cluster_fixtures"]
    result = subprocess.run(
        [*command, "-p", "no:cacheprovider", *workers, "--basetemp", str(base), "test_leak.py"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    pid = int(next(base.parent.glob("**/leaked.pid")).read_text())
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 passed" in result.stdout
    assert f"test-cluster processes still running after the session: [{pid}] (killed)" in (
        result.stdout
    ), result.stdout
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(pid)
