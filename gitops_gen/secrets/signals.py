"""SIGTERM and SIGHUP end a command that decrypts the way Ctrl-C does: every cleanup runs.

Python's default for SIGTERM and SIGHUP is to die on the spot: no ``finally`` block runs, so
sops' private folder (which holds the editor's plaintext) and the scratch copies would stay
behind. That is what a CI cancel, a closed terminal or ``timeout`` sends. While
:func:`cleanup_on_signals` is active, these signals instead

1. kill every sops process we started (each runs in its own process group when no terminal is
   involved, so its editor goes too), so nothing keeps writing plaintext, then
2. raise :class:`~gitops_gen.errors.Terminated` (SIGINT: ``KeyboardInterrupt``) in the main
   thread, which unwinds through every ``finally``.

A second signal during that cleanup is ignored, so the cleanup itself cannot be cut short. The
CLI exits with 128 + the signal number (129 SIGHUP, 130 SIGINT, 143 SIGTERM). Only SIGKILL
cannot be handled; even then the plaintext is only ever in the private 0700 folder (memory-backed
``/dev/shm`` by default), never in the work tree.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from types import FrameType

from gitops_gen.errors import Terminated

HANDLED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

_lock = threading.Lock()
_children: dict[int, tuple[subprocess.Popen[bytes], bool]] = {}  # pid -> (process, own group)
_terminating = threading.Event()


def terminating() -> bool:
    """True once a handled signal arrived: no new sops process may start."""
    return _terminating.is_set()


@contextlib.contextmanager
def tracked(process: subprocess.Popen[bytes], own_group: bool) -> Iterator[None]:
    """Register a running sops so a signal can kill it (and its editor, with its group)."""
    with _lock:
        _children[process.pid] = (process, own_group)
    if _terminating.is_set():
        # started by another thread just as the signal's handler killed the others
        kill(process, own_group)
    try:
        yield
    finally:
        with _lock:
            _children.pop(process.pid, None)


def kill(process: subprocess.Popen[bytes], own_group: bool) -> None:
    """SIGKILL the process, and its whole group when it has one of its own."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if own_group:
            os.killpg(process.pid, signal.SIGKILL)
        else:
            process.kill()


def kill_children() -> None:
    with _lock:
        children = list(_children.values())
    for process, own_group in children:
        kill(process, own_group)


_pending: list[int] = []  # a signal held back by deferred()
_deferring = 0


def _raise_for(signum: int) -> None:
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Terminated(signum)


def _handle(signum: int, frame: FrameType | None) -> None:
    if _terminating.is_set() or _pending:
        return  # already unwinding (or about to): let the cleanup finish
    if _deferring:
        _pending.append(signum)
        return
    _terminating.set()
    kill_children()
    _raise_for(signum)


@contextlib.contextmanager
def cleanup_on_signals() -> Iterator[None]:
    """Turn SIGTERM/SIGHUP (and SIGINT) into exceptions for the duration of the block."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be installed from the main thread
        return
    previous = {s: signal.getsignal(s) for s in HANDLED}
    for s in HANDLED:
        signal.signal(s, _handle)
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        _terminating.clear()
        _pending.clear()


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Hold handled signals until the block ends: replacing several files is all or nothing."""
    global _deferring
    _deferring += 1
    try:
        yield
    finally:
        _deferring -= 1
    if not _deferring and _pending:
        _terminating.set()
        _raise_for(_pending[0])
