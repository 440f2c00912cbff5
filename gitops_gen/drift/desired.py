"""Desired state: what the repository says should be live for one environment.

From a render (in memory; nothing is written): the environment's Applications and AppProject,
its SopsSecrets, the drift audit's own objects, and the cluster's root Application. Or, with
``--manifests DIR``, every object in a folder of YAML files.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gitops_gen.drift.canonical import prepare_desired
from gitops_gen.drift.findings import ObjectRef
from gitops_gen.drift.secrets import Requirement
from gitops_gen.errors import InputError
from gitops_gen.model import Environment, Platform
from gitops_gen.render import layout, plan_render
from gitops_gen.yamlio import load_all_fast

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True)
class DesiredObject:
    ref: ObjectRef
    obj: dict[str, Any]  # prepared: stripped, stringData folded (namespace settled later)
    source: str
    app: str = ""


@dataclass
class DesiredState:
    environment: str
    namespace: str
    objects: list[DesiredObject] = field(default_factory=list)
    requirements: list[Requirement] = field(default_factory=list)
    argocd_namespace: str = "argocd"
    # Types looked at for orphans besides the desired ones: (apiVersion, kind, namespace)
    orphan_scopes: list[tuple[str, str, str]] = field(default_factory=list)
    # Identities another source of the repository renders for the environment (never orphans
    # of this one); called only when there is an orphan candidate.
    not_from_source: Callable[[], set[tuple[str, str, str, str]]] | None = None

    def add(self, obj: dict[str, Any], source: str, app: str = "") -> None:
        if not _is_object(obj):
            return
        prepared = prepare_desired(obj)
        self.objects.append(DesiredObject(ObjectRef.of(prepared), prepared, source, app))


# What render puts in a cluster for an environment, also scanned for orphans.
RENDERED_KINDS = (
    ("argoproj.io/v1alpha1", "Application"),
    ("argoproj.io/v1alpha1", "AppProject"),
)
AUDIT_KINDS = (
    ("batch/v1", "CronJob"),
    ("v1", "ServiceAccount"),
    ("rbac.authorization.k8s.io/v1", "Role"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"),
    ("rbac.authorization.k8s.io/v1", "ClusterRole"),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
)
SOPS_KIND = ("isindir.github.com/v1alpha3", "SopsSecret")


def from_render(platform: Platform, name: str) -> DesiredState:
    env = platform.environment(name)
    plan = plan_render(platform, [name])
    argocd = platform.catalog.platform.argocd_namespace
    state = DesiredState(
        environment=name,
        namespace=env.namespace,
        requirements=[Requirement(s.name, tuple(s.keys)) for s in env.required_secrets],
        argocd_namespace=argocd,
    )
    root = layout.root_app_file(env.cluster_name)
    apps = layout.apps_dir(env.cluster_name, name) + "/"
    audit = layout.audit_dir(env.cluster_name, name) + "/"
    secrets = layout.secrets_dir(env.cluster_name, name) + "/"
    root_app = f"{env.cluster_name}-root"
    for path, text in plan.files.items():
        if path == root:
            app = ""
        elif path.startswith(apps):
            app = root_app
        elif path.startswith(audit):
            app = audit_application_name(env)
        elif path.startswith(secrets):
            app = ""
        else:
            continue  # Helm values files are not objects
        for doc in load_all_fast(text):
            state.add(doc, path, app)
    state.orphan_scopes = _orphan_scopes(env, argocd)
    return state


def rendered_identities(platform: Platform, name: str) -> set[tuple[str, str, str, str]]:
    """What render produces for an environment, by identity (a namespaced object without a
    namespace is counted in the environment's, and unscoped in case it is cluster-scoped)."""
    namespace = platform.environment(name).namespace
    out: set[tuple[str, str, str, str]] = set()
    for item in from_render(platform, name).objects:
        out.add(item.ref.identity)
        if not item.ref.namespace:
            out.add((item.ref.group, item.ref.kind, namespace, item.ref.name))
    return out


def audit_application_name(env: Environment) -> str:
    return f"{env.name}-drift-audit"


def _orphan_scopes(env: Environment, argocd: str) -> list[tuple[str, str, str]]:
    scopes = [(api, kind, argocd) for api, kind in RENDERED_KINDS]
    scopes += [(api, kind, env.namespace) for api, kind in AUDIT_KINDS]
    scopes.append((*SOPS_KIND, env.namespace))
    return scopes


def from_manifests(folder: Path, environment: str, namespace: str) -> DesiredState:
    if not folder.is_dir():
        raise InputError(f"--manifests {folder}: not a folder of YAML manifests")
    state = DesiredState(environment=environment, namespace=namespace)
    files = sorted(p for p in folder.rglob("*") if p.suffix in MANIFEST_SUFFIXES and p.is_file())
    if not files:
        raise InputError(f"--manifests {folder}: no .yaml, .yml or .json files")
    for path in files:
        rel = path.relative_to(folder).as_posix()
        try:
            docs = load_all_fast(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f":{mark.line + 1}" if mark is not None else ""
            raise InputError(
                f"{path}{line}: invalid YAML: {getattr(exc, 'problem', exc)}"
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: unreadable ({exc})") from None
        for doc in docs:
            for item in _expand_lists(doc):
                state.add(item, rel)
    return state


def _expand_lists(doc: Any) -> list[Any]:
    """``kind: List`` (what ``kubectl get -o yaml`` writes) holds objects in ``items``."""
    if isinstance(doc, dict) and str(doc.get("kind", "")).endswith("List") and "items" in doc:
        return list(doc.get("items") or [])
    return [doc]


def _is_object(doc: Any) -> bool:
    return (
        isinstance(doc, dict)
        and bool(doc.get("apiVersion"))
        and bool(doc.get("kind"))
        and bool((doc.get("metadata") or {}).get("name"))
    )
