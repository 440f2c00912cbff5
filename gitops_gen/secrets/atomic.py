"""Atomic file replacement: a temporary file in the target's folder, fsync, rename.

A reader (git, Argo CD, a second gitops-gen) sees the old bytes or the new bytes, never half a
file; a crash leaves at most a dot-file with ciphertext behind, which every reader skips.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

TEMP_PREFIX = ".gitops-gen-"


def temp_sibling(path: Path, suffix: str = ".yaml") -> Path:
    """A fresh, not yet existing name next to ``path``: the same filesystem, so rename is atomic.

    The suffix is kept so sops still recognises the format and ``.sops.yaml`` rules written as
    ``^secrets/<env>/[^/]+\\.yaml$`` still match the temporary name.
    """
    return path.parent / f"{TEMP_PREFIX}{secrets.token_hex(6)}-{path.stem}{suffix}"


def write_new(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Create ``path`` exclusively with ``mode`` (never following a planted file or symlink)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Replace (or create) ``path`` with ``data`` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_sibling(path, path.suffix)
    try:
        write_new(temp, data, mode)
        temp.replace(path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise


def is_temporary(path: Path) -> bool:
    return path.name.startswith(TEMP_PREFIX)
