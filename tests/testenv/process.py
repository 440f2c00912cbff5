"""Server processes of the test environment: start, wait until ready, always stop.

Every server runs in its own process group (so stop() also reaches what it forks) and dies with
the Python process that started it (PDEATHSIG), so no etcd, kube-apiserver or Argo CD outlives a
test run, even one killed with ``kill -9``.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from tests.testenv.errors import ClusterError

LOG_TAIL_LINES: Final = 40


def tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


_PR_SET_PDEATHSIG: Final = 1
_libc_name = ctypes.util.find_library("c")
_libc = ctypes.CDLL(_libc_name, use_errno=True) if _libc_name else None


def _child_setup() -> None:
    """Runs in the child before exec: own process group, and die with the parent.

    The process group lets stop() signal a server and anything it forks; PDEATHSIG makes the
    kernel kill the child if the Python process dies without cleaning up (kill -9, OOM), so no
    etcd or kube-apiserver outlives its test run.
    """
    os.setsid()
    if _libc is not None:
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def stop(self, timeout: float = 10.0) -> None:
        if self.popen.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.popen.wait()
        # The leader is gone; make sure nothing it forked lingers in its group.
        self._signal_group(signal.SIGKILL)

    def _signal_group(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); it is not running anything.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def pids_alive(pids: Sequence[int]) -> list[int]:
    return [pid for pid in pids if pid_alive(pid)]


def spawn(
    name: str,
    argv: Sequence[str],
    *,
    log_dir: Path,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Process:
    """Start `argv` with its output in ``<log_dir>/<name>.log``."""
    log = log_dir / f"{name}.log"
    with log.open("wb") as out:
        popen = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=cwd or log_dir,
            env=dict(env) if env is not None else None,
            # preexec_fn, not start_new_session: PDEATHSIG must be set in the child too.
            preexec_fn=_child_setup,
            close_fds=True,
        )
    return Process(name, popen, log)


def exited_error(process: Process, when: str) -> ClusterError:
    return ClusterError(
        f"{process.name} exited with code {process.popen.returncode} {when}; "
        f"last lines of {process.log}:\n{tail(process.log)}"
    )


def wait_http(
    url: str,
    process: Process,
    *,
    timeout: float,
    context: ssl.SSLContext | None = None,
    headers: Mapping[str, str] | None = None,
    reported_timeout: float | None = None,
) -> None:
    """Poll `url` until it answers 200; fail early (with the log's tail) if `process` exits."""
    deadline = time.monotonic() + timeout
    last_error = "no answer yet"
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise exited_error(process, "during start")
        request = urllib.request.Request(url, headers=dict(headers or {}))  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=2, context=context) as response:  # noqa: S310
                if response.status == 200:
                    return
                last_error = f"HTTP {response.status}"
        except urllib.error.HTTPError as error:
            last_error = f"HTTP {error.code}: {error.read()[-500:].decode(errors='replace')}"
        except (OSError, ssl.SSLError) as error:
            last_error = str(error)
        time.sleep(0.2)
    raise ClusterError(
        f"{process.name} was not ready at {url} within "
        f"{reported_timeout or timeout:.0f} s ({last_error}); "
        f"last lines of {process.log}:\n{tail(process.log)}"
    )


def wait_tcp(host: str, port: int, process: Process, *, timeout: float) -> None:
    """Wait until something accepts connections on host:port (for servers without HTTP)."""
    deadline = time.monotonic() + timeout
    last_error = "no answer yet"
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise exited_error(process, "during start")
        try:
            with socket.create_connection((host, port), timeout=2):
                return
        except OSError as error:
            last_error = str(error)
        time.sleep(0.2)
    raise ClusterError(
        f"{process.name} did not accept connections on {host}:{port} within {timeout:.0f} s "
        f"({last_error}); last lines of {process.log}:\n{tail(process.log)}"
    )
