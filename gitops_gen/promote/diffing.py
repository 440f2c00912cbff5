"""Rendered-manifest diffs, grouped per Argo CD Application.

A reviewer thinks in Applications ("prod-aether-platform changes"), not in files, so each
Application's manifest and its Helm values file are shown together.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass

from gitops_gen.model import Platform
from gitops_gen.render import layout
from gitops_gen.render.plan import application_specs


@dataclass(frozen=True)
class FileChange:
    status: str  # A added, M modified, D deleted (as 'git diff --name-status' says)
    path: str


@dataclass(frozen=True)
class AppDiff:
    application: str
    paths: tuple[str, ...]
    diff: str  # unified diff of every file of the Application
    added: int
    removed: int


def application_of(platform: Platform, environments: list[str] | None = None) -> dict[str, str]:
    """Rendered path -> the Application it belongs to, for the given environments."""
    out: dict[str, str] = {}
    for name, env in platform.environments.items():
        if environments is not None and name not in environments:
            continue
        apps_dir = layout.apps_dir(env.cluster_name, env.name)
        for app in application_specs(platform, env):
            out[f"{apps_dir}/{app.component}.yaml"] = app.name
            out[app.values_file] = app.name
        out[f"{apps_dir}/project.yaml"] = f"{env.name} AppProject"
    return out


def rendered_diff(
    old: Mapping[str, str], new: Mapping[str, str], groups: Mapping[str, str]
) -> list[AppDiff]:
    """Per-Application unified diffs between two sets of rendered files (path -> text)."""
    changed = sorted(p for p in set(old) | set(new) if old.get(p) != new.get(p))
    by_app: dict[str, list[str]] = {}
    for path in changed:
        by_app.setdefault(groups.get(path, path), []).append(path)
    out: list[AppDiff] = []
    for app, paths in sorted(by_app.items()):
        chunks: list[str] = []
        added = removed = 0
        for path in paths:
            lines = list(
                difflib.unified_diff(
                    _lines(old.get(path)),
                    _lines(new.get(path)),
                    fromfile=f"a/{path}" if path in old else "/dev/null",
                    tofile=f"b/{path}" if path in new else "/dev/null",
                    n=3,
                )
            )
            added += sum(1 for ln in lines if ln.startswith("+") and not ln.startswith("+++"))
            removed += sum(1 for ln in lines if ln.startswith("-") and not ln.startswith("---"))
            chunks.append("".join(ln if ln.endswith("\n") else ln + "\n" for ln in lines))
        out.append(AppDiff(app, tuple(paths), "".join(chunks), added, removed))
    return out


def _lines(text: str | None) -> list[str]:
    return [] if text is None else text.splitlines(keepends=True)


def as_text(diffs: list[AppDiff]) -> str:
    parts = []
    for d in diffs:
        parts.append(f"# {d.application} (+{d.added} -{d.removed})\n{d.diff}")
    return "".join(parts)
