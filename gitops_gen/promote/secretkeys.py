"""Which secret key names the promoted workloads need that the target environment lacks.

Names only, never values. The secrets feature writes encrypted ``SopsSecret`` manifests (whose
key names stay readable) under ``clusters/<cluster>/secrets/<env>/``; where no secret files
exist yet for an environment the check says so instead of guessing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from gitops_gen.model import ComponentKind, Environment, Platform
from gitops_gen.render import layout
from gitops_gen.yamlio import load_all_fast

Inventory = dict[str, set[str]]  # secret name -> key names


def secret_inventory(root: Path, env: Environment) -> Inventory | None:
    """Key names per secret present for ``env`` in the repository, or None if there are none."""
    folders = [root / layout.secrets_dir(env.cluster_name, env.name), root / "secrets" / env.name]
    found: Inventory = {}
    seen_any = False
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*.y*ml")):
            seen_any = True
            with contextlib.suppress(OSError, UnicodeDecodeError, yaml.YAMLError):
                for doc in load_all_fast(path.read_text(encoding="utf-8")):
                    for name, keys in _secrets_in(doc, path.name.split(".")[0]):
                        found.setdefault(name, set()).update(keys)
    return found if seen_any else None


def _secrets_in(doc: Any, stem: str) -> Iterable[tuple[str, set[str]]]:
    if not isinstance(doc, Mapping):
        return
    kind = doc.get("kind")
    if kind == "SopsSecret":
        for template in (doc.get("spec") or {}).get("secretTemplates") or []:
            if isinstance(template, Mapping) and template.get("name"):
                yield str(template["name"]), _keys(template)
    elif kind == "Secret":
        name = (doc.get("metadata") or {}).get("name")
        if name:
            yield str(name), _keys(doc)
    elif "sops" in doc:  # a plain sops-encrypted file: named by its file, keys at the top
        keys = _keys(doc) or {str(k) for k in doc if k != "sops"}
        yield stem, keys


def _keys(doc: Mapping[str, Any]) -> set[str]:
    out: set[str] = set()
    for section in ("data", "stringData"):
        value = doc.get(section)
        if isinstance(value, Mapping):
            out.update(str(k) for k in value)
    return out


def secrets_used(platform: Platform, env: Environment, component: str) -> set[str]:
    """Catalog secret names a component's workload mounts."""
    workload = env.workload(component)
    if workload is None:
        return set()
    names = set(workload.secrets)
    spec = workload.spec
    if workload.kind is ComponentKind.FEAST:
        names.update({spec.offline_store_secret, spec.backup.secret})
    if workload.kind is ComponentKind.BOOTSTRAP:
        for job in spec.jobs.values():
            names.update(job.secrets)
    return names


def missing_keys(
    platform: Platform, source: Environment, target: Environment, components: Iterable[str]
) -> tuple[list[str], str]:
    """Warnings (one per secret lacking keys) and a note when the check could not run."""
    dst = secret_inventory(platform.root, target)
    if dst is None:
        return [], (
            f"secret key check skipped: no secrets of {target.name} in the repository yet "
            f"({layout.secrets_dir(target.cluster_name, target.name)}/)"
        )
    src = secret_inventory(platform.root, source) or {}
    required = {s.name: s for s in target.required_secrets}
    needed: dict[str, set[str]] = {}
    for component in components:
        for used in secrets_used(platform, target, component):
            matches = [s for s in required.values() if s.catalog_name == used or s.name == used]
            for secret in matches or []:
                needed.setdefault(secret.name, set()).update(secret.keys)
            if used in src:
                needed.setdefault(used, set()).update(src[used])
    warnings = []
    for name in sorted(needed):
        lacking = sorted(needed[name] - dst.get(name, set()))
        if lacking:
            where = "missing" if name not in dst else "lacks keys"
            warnings.append(
                f"secret `{name}` {where} in {target.name}: {', '.join(lacking)} "
                "(needed by the promoted components)"
            )
    return warnings, ""
