"""Scratch copies for sops' in-place operations, outside the work tree.

sops ``set``/``unset``/``edit``/``updatekeys``/``rotate`` rewrite a file in place, so they run on
ciphertext copies. The copies live in a private 0700 folder (memory-backed ``/dev/shm`` by
default, see :func:`~gitops_gen.secrets.sops.private_folder`), never next to the real file: a
copy left in the work tree by a killed run could be committed by ``git add -A``. The folder
mirrors the repository (``.sops.yaml`` at its top, ``secrets/<env>/<name>.yaml`` below), so the
creation rules' ``path_regex`` match a copy exactly as they match the real file, and errors name
the file the user knows. The folder is removed on every exit, including SIGTERM and SIGHUP
(:mod:`gitops_gen.secrets.signals`).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from gitops_gen.secrets.atomic import write_new
from gitops_gen.secrets.sops import CONFIG_FILE, Sops, private_folder


@dataclass(frozen=True)
class Scratch:
    folder: Path
    copies: dict[Path, Path]  # real file -> its copy
    sops: Sops  # bound to the folder and its copy of .sops.yaml


@contextlib.contextmanager
def scratch_copies(
    sops: Sops, paths: Sequence[Path], config_text: str | None = None
) -> Iterator[Scratch]:
    """Copies of ``paths`` (files of ``sops.root``), and ``config_text`` or the repository's
    ``.sops.yaml`` as the configuration sops uses on them."""
    with private_folder() as folder:
        config = folder / CONFIG_FILE
        if config_text is not None:
            write_new(config, config_text.encode("utf-8"))
        elif sops.config.is_file():
            write_new(config, sops.config.read_bytes())
        copies: dict[Path, Path] = {}
        for path in paths:
            copy = folder / path.resolve().relative_to(sops.root)
            copy.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            write_new(copy, path.read_bytes())
            copies[path] = copy
        yield Scratch(folder, copies, dataclasses.replace(sops, root=folder, config_file=None))
