"""Environments as a lifecycle: add one (copied from another), remove one, list them in order.

Plan, then apply: :func:`plan_add` and :func:`plan_remove` compute every file's new text (or its
removal) and check the result by loading the whole platform from a scratch copy of
``environments/``; only then :func:`apply_files` writes. Edits are splices of single scalars
(:func:`gitops_gen.promote.edit.apply_changes`), so every comment and every other byte of the
copied and the rewired files stays as people wrote it.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import typing
from dataclasses import dataclass, field
from pathlib import Path

from gitops_gen.errors import InputError
from gitops_gen.model import Environment, Platform, load_platform
from gitops_gen.model.loader import ENVIRONMENTS_DIR, suggest
from gitops_gen.model.schema import DNS_LABEL, DNS_NAME, EnvironmentFile
from gitops_gen.promote.apply import write_text_atomic
from gitops_gen.promote.edit import FieldChange, apply_changes
from gitops_gen.render import layout

# the tier values the schema accepts, read from it so the docs and errors cannot drift
TIERS: tuple[str, ...] = typing.get_args(EnvironmentFile.model_fields["tier"].annotation)


@dataclass(frozen=True)
class ClusterArg:
    name: str
    server: str


def parse_cluster(value: str) -> ClusterArg:
    """``--cluster NAME=URL``."""
    name, sep, server = value.partition("=")
    if not sep or not name or not server:
        raise InputError(
            f"--cluster {value}: expected NAME=URL, e.g. qa-eu1=https://qa-eu1.k8s.example.com"
        )
    if not re.match(DNS_LABEL, name):
        raise InputError(
            f"--cluster {value}: cluster name '{name}' must be a DNS label (lower-case letters, "
            "digits and '-')"
        )
    if not server.startswith("https://"):
        raise InputError(f"--cluster {value}: the API server URL must start with https://")
    return ClusterArg(name, server)


@dataclass(frozen=True)
class FileEdit:
    """A repository-relative path and its new text (None: delete the file)."""

    path: str
    text: str | None


@dataclass(frozen=True)
class EnvPlan:
    name: str
    edits: tuple[FileEdit, ...]
    folders: tuple[str, ...] = ()  # rendered folders to delete (env remove)
    notes: tuple[str, ...] = ()
    rewired: str | None = None  # the environment whose promotedFrom now names the new one
    kept: tuple[str, ...] = field(default_factory=tuple)  # what remove leaves for people


def _env_rel(name: str) -> str:
    return f"{ENVIRONMENTS_DIR}/{name}.yaml"


def _known(platform: Platform, name: str, option: str) -> Environment:
    if name not in platform.environments:
        names = sorted(platform.environments)
        raise InputError(
            f"{option} {name}: unknown environment{suggest(name, names)} "
            f"(environments: {', '.join(names)})"
        )
    return platform.environments[name]


def _check_cluster_free(platform: Platform, name: str, cluster: ClusterArg, namespace: str) -> None:
    """What validate's XENV001/XENV003 would report right after: refused before any file is
    written, since render would put the new Applications under the other cluster's root."""
    for other in platform.environments.values():
        same_server = other.cluster_server.rstrip("/") == cluster.server.rstrip("/")
        if other.cluster_name == cluster.name and not same_server:
            raise InputError(
                f"--cluster {cluster.name}={cluster.server}: {other.name}'s cluster is named "
                f"{cluster.name} with server {other.cluster_server}; one name is one API server: "
                "pick another cluster name"
            )
        if same_server and other.namespace == namespace:
            raise InputError(
                f"--cluster {cluster.name}={cluster.server}: {other.name} already deploys into "
                f"namespace {namespace} there, and {name}'s releases would overwrite its own; "
                "pass another --cluster or --namespace"
            )


def plan_add(
    platform: Platform,
    name: str,
    source: str,
    cluster: ClusterArg,
    *,
    namespace: str | None = None,
    domain: str | None = None,
    before: str | None = None,
    tier: str | None = None,
) -> EnvPlan:
    """A new environment ``name`` copied from ``source`` (comments kept), and, with ``before``,
    the environment it now precedes rewired to be promoted from it."""
    root = platform.root
    if not re.match(DNS_LABEL, name):
        raise InputError(
            f"environment name '{name}' must be a DNS label (lower-case letters, digits and "
            "'-'); it becomes the file name environments/<name>.yaml"
        )
    if name in platform.environments:
        raise InputError(
            f"environment '{name}' already exists ({_env_rel(name)}); pick another name or "
            f"'gitops-gen env remove {name}' first"
        )
    src = _known(platform, source, "--from")
    after = _known(platform, before, "--before") if before is not None else None
    if tier is not None and tier not in TIERS:
        raise InputError(f"--tier {tier}: not a tier; allowed: {', '.join(TIERS)}")
    if namespace is not None and not re.match(DNS_LABEL, namespace):
        raise InputError(f"--namespace {namespace}: must be a DNS label")
    if domain is None:
        if not src.domain.startswith(f"{src.name}."):
            raise InputError(
                f"--domain is needed: {source}'s domain {src.domain} does not start with "
                f"'{source}.', so the new one cannot be derived from it"
            )
        domain = f"{name}.{src.domain.removeprefix(f'{src.name}.')}"
    if not re.match(DNS_NAME, domain):
        raise InputError(f"--domain {domain}: not a DNS name")
    _check_cluster_free(platform, name, cluster, namespace or src.namespace)

    rel = src.source.relative_to(root).as_posix()
    text = src.source.read_text(encoding="utf-8")
    promoted_from = after.promoted_from if after is not None else src.name
    changes = [
        FieldChange(("cluster",), "name", cluster.name),
        FieldChange(("cluster",), "server", cluster.server),
        FieldChange((), "domain", domain),
        FieldChange((), "promotedFrom", promoted_from),
    ]
    if namespace is not None:
        changes.append(FieldChange((), "namespace", namespace))
    if tier is not None:
        changes.append(FieldChange((), "tier", tier))
    notes = []
    if src.holds:
        # a hold is an incident of one environment, never something a copy inherits
        changes.append(FieldChange((), "holds", None))
        notes.append(f"holds of {source} were not copied ({', '.join(sorted(src.holds))})")
    new_text = apply_changes(text, changes, rel)
    header = (
        f"# {name}: added with 'gitops-gen env add {name} --from {source}'.\n"
        f"# The comments below were copied from {rel}.\n"
    )
    edits = [FileEdit(_env_rel(name), header + new_text)]
    if after is not None:
        after_rel = after.source.relative_to(root).as_posix()
        after_text = after.source.read_text(encoding="utf-8")
        rewired = apply_changes(after_text, [FieldChange((), "promotedFrom", name)], after_rel)
        edits.append(FileEdit(after_rel, rewired))
    plan = EnvPlan(name, tuple(edits), notes=tuple(notes), rewired=before)
    check_plan(platform, plan)
    return plan


def plan_remove(platform: Platform, name: str) -> EnvPlan:
    env = _known(platform, name, "env remove")
    dependants = sorted(e.name for e in platform.environments.values() if e.promoted_from == name)
    if dependants:
        them = ", ".join(dependants)
        verb = "is" if len(dependants) == 1 else "are"
        instead = (
            f"(e.g. to {env.promoted_from})"
            if env.promoted_from
            else f"(or delete it: {name} starts the promotion chain)"
        )
        raise InputError(
            f"cannot remove {name}: {them} {verb} promoted from it; point {them}'s promotedFrom "
            f"elsewhere first {instead}"
        )
    if len(platform.environments) == 1:
        raise InputError(f"cannot remove {name}: it is the only environment")
    root = platform.root
    shared = any(
        e.cluster_name == env.cluster_name for e in platform.environments.values() if e is not env
    )
    # the last environment on a cluster takes the cluster's folder (and its root Application)
    owned = (
        layout.owned_prefixes(env.cluster_name, env.name)
        if shared
        else (layout.cluster_dir(env.cluster_name),)
    )
    folders = tuple(p.rstrip("/") for p in owned if (root / p).exists())
    kept = [
        p
        for p in (f"secrets/{name}/",)
        if (root / p).exists()  # encrypted values: deleting them is a decision for a person
    ]
    plan = EnvPlan(
        name,
        (FileEdit(env.source.relative_to(root).as_posix(), None),),
        folders=folders,
        kept=tuple(kept),
    )
    check_plan(platform, plan)
    return plan


def check_plan(platform: Platform, plan: EnvPlan) -> Platform:
    """Load the platform as it would be after ``plan``, from a scratch copy: a plan that would
    leave an invalid repository is refused before anything is written."""
    scratch = Path(tempfile.mkdtemp(prefix="gitops-gen-env-"))
    try:
        shutil.copytree(platform.root / ENVIRONMENTS_DIR, scratch / ENVIRONMENTS_DIR)
        for edit in plan.edits:
            path = scratch / edit.path
            if edit.text is None:
                path.unlink()
            else:
                path.write_text(edit.text, encoding="utf-8")
        return load_platform(scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def apply_files(root: Path, plan: EnvPlan) -> None:
    for edit in plan.edits:
        path = root / edit.path
        if edit.text is None:
            path.unlink(missing_ok=True)
        else:
            write_text_atomic(path, edit.text)
    for folder in plan.folders:
        shutil.rmtree(root / folder, ignore_errors=True)


def restore_files(root: Path, before: dict[str, str | None]) -> None:
    """Put files back as they were (a later step of ``env add`` failed)."""
    for rel, text in before.items():
        path = root / rel
        if text is None:
            path.unlink(missing_ok=True)
        else:
            write_text_atomic(path, text)


def snapshot(root: Path, plan: EnvPlan) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for edit in plan.edits:
        path = root / edit.path
        out[edit.path] = path.read_text(encoding="utf-8") if path.exists() else None
    return out


# --- env list ---------------------------------------------------------------------------------


def promotion_order(platform: Platform) -> list[Environment]:
    """Environments in promotion order: each chain from its start (no promotedFrom) outwards,
    siblings by name."""
    children: dict[str | None, list[Environment]] = {}
    for env in platform.environments.values():
        children.setdefault(env.promoted_from, []).append(env)
    ordered: list[Environment] = []

    def walk(parent: str | None) -> None:
        for env in sorted(children.get(parent, []), key=lambda e: e.name):
            ordered.append(env)
            walk(env.name)

    walk(None)
    return ordered
