"""Render two revisions of the repository and compare them: ``gitops-gen diff``.

Each revision is rendered from its own temporary worktree, with its own environments/ and
templates/, so a template change and an environment change both show up in the preview.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gitops_gen.errors import InputError
from gitops_gen.gitrepo import GitRepo
from gitops_gen.model import Platform, load_platform
from gitops_gen.model.loader import suggest
from gitops_gen.promote.diffing import AppDiff, application_of, rendered_diff
from gitops_gen.render import plan_render


@dataclass(frozen=True)
class Rendered:
    label: str
    environments: tuple[str, ...]  # rendered
    available: tuple[str, ...]  # defined in the revision
    files: dict[str, str]
    groups: dict[str, str]


def _render(platform: Platform, label: str, wanted: Sequence[str] | None) -> Rendered:
    names = sorted(platform.environments)
    if wanted:
        names = [n for n in names if n in wanted]
    plan = plan_render(platform, names) if names else None
    return Rendered(
        label,
        tuple(names),
        tuple(sorted(platform.environments)),
        dict(plan.files) if plan else {},
        application_of(platform, names),
    )


def render_revision(repo: GitRepo, ref: str | None, wanted: Sequence[str] | None) -> Rendered:
    """Render ``ref`` (None: the work tree as it is now)."""
    if ref is None:
        return _render(load_platform(repo.root), "work tree", wanted)
    sha = repo.rev_parse(ref)
    with repo.worktree(sha) as wt:
        return _render(load_platform(wt), ref, wanted)


def diff_revisions(
    repo: GitRepo, base: str, head: str | None, environments: Sequence[str]
) -> tuple[list[AppDiff], Rendered, Rendered]:
    wanted = list(environments) or None
    old = render_revision(repo, base, wanted)
    new = render_revision(repo, head, wanted)
    known = set(old.available) | set(new.available)
    for name in environments:
        if name not in known:
            raise InputError(
                f"unknown environment '{name}'{suggest(name, known)} in {old.label} and "
                f"{new.label} (environments: {', '.join(sorted(known)) or 'none'})"
            )
    groups = {**old.groups, **new.groups}
    return rendered_diff(old.files, new.files, groups), old, new
