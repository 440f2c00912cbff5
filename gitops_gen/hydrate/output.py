"""Writing hydrated manifests: one folder per Application, one file per object."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from gitops_gen.errors import InputError
from gitops_gen.hydrate.engine import HydratedApp
from gitops_gen.hydrate.objects import dump, key_of


def as_stream(apps: Sequence[HydratedApp]) -> str:
    """Every object as one YAML stream, each headed by its Application."""
    parts: list[str] = []
    for app in apps:
        for obj in app.objects:
            parts.append(f"---\n# Application: {app.name}\n{dump(obj)}")
    return "".join(parts)


def write_folders(apps: Sequence[HydratedApp], out: Path) -> list[Path]:
    """Replace ``out/<app>/`` for each hydrated Application (failed ones are left alone)."""
    if out.exists() and not out.is_dir():
        raise InputError(f"-o {out}: exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for app in apps:
        if app.error:
            continue
        # built beside and swapped in, so a reader never sees half a folder
        staging = Path(tempfile.mkdtemp(prefix=f".{app.name}.", dir=out))
        try:
            for obj in app.objects:
                (staging / key_of(obj).file_name()).write_text(dump(obj), encoding="utf-8")
            target = out / app.name
            if target.exists():
                shutil.rmtree(target)
            staging.rename(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        written.append(out / app.name)
    return written
