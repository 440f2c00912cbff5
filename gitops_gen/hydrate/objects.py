"""Hydrated objects: split from helm's output, namespaced and tracked as Argo CD would."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import yaml

from gitops_gen.yamlio import load_all_fast

TRACKING_ANNOTATION = "argocd.argoproj.io/tracking-id"
INSTANCE_LABEL = "app.kubernetes.io/instance"
TRACKING_METHODS = ("annotation", "label", "annotation+label")

# Kinds the API server serves cluster-scoped. Argo CD learns scope from the destination
# cluster; offline we know the built-in ones, and CRDs rendered alongside say their own.
CLUSTER_SCOPED = frozenset(
    {
        ("", "Namespace"),
        ("", "Node"),
        ("", "PersistentVolume"),
        ("", "ComponentStatus"),
        ("rbac.authorization.k8s.io", "ClusterRole"),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
        ("apiextensions.k8s.io", "CustomResourceDefinition"),
        ("apiregistration.k8s.io", "APIService"),
        ("storage.k8s.io", "StorageClass"),
        ("storage.k8s.io", "CSIDriver"),
        ("storage.k8s.io", "CSINode"),
        ("storage.k8s.io", "VolumeAttachment"),
        ("scheduling.k8s.io", "PriorityClass"),
        ("networking.k8s.io", "IngressClass"),
        ("node.k8s.io", "RuntimeClass"),
        ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
        ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"),
        ("certificates.k8s.io", "CertificateSigningRequest"),
        ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
        ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
    }
)


@dataclass(frozen=True)
class ObjectKey:
    group: str
    kind: str
    namespace: str
    name: str

    def display(self) -> str:
        group = f".{self.group}" if self.group else ""
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind}{group} {where}{self.name}"

    def file_name(self) -> str:
        group = f".{self.group}" if self.group else ""
        where = self.namespace or "_cluster"
        return f"{self.kind}{group}_{where}_{self.name}.yaml"

    def to_json(self) -> dict[str, str]:
        return {
            "group": self.group,
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
        }


def key_of(obj: dict[str, Any]) -> ObjectKey:
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    metadata = obj.get("metadata") or {}
    return ObjectKey(
        group,
        str(obj.get("kind", "")),
        str(metadata.get("namespace") or ""),
        str(metadata.get("name") or ""),
    )


def split_manifests(text: str) -> list[dict[str, Any]]:
    """Every object in a YAML stream; ``kind: *List`` expanded; empty documents dropped."""
    out: list[dict[str, Any]] = []
    for doc in load_all_fast(text):
        if not isinstance(doc, dict):
            continue
        if str(doc.get("kind", "")).endswith("List") and isinstance(doc.get("items"), list):
            out.extend(i for i in doc["items"] if isinstance(i, dict))
        elif doc.get("apiVersion") and doc.get("kind"):
            out.append(doc)
    return out


def crd_scopes(objects: Iterable[dict[str, Any]]) -> set[tuple[str, str]]:
    """(group, kind) of the cluster-scoped custom resources defined among ``objects``."""
    out: set[tuple[str, str]] = set()
    for obj in objects:
        if obj.get("kind") == "CustomResourceDefinition":
            spec = obj.get("spec") or {}
            if spec.get("scope") == "Cluster":
                out.add((str(spec.get("group", "")), str((spec.get("names") or {}).get("kind"))))
    return out


def settle(
    objects: list[dict[str, Any]],
    app: str,
    namespace: str,
    tracking: str = "annotation",
    extra_cluster_scoped: set[tuple[str, str]] | None = None,
) -> list[dict[str, Any]]:
    """Give namespaced objects the destination namespace and add Argo CD's tracking."""
    cluster_scoped = CLUSTER_SCOPED | crd_scopes(objects) | (extra_cluster_scoped or set())
    out: list[dict[str, Any]] = []
    for obj in objects:
        metadata = obj.setdefault("metadata", {})
        key = key_of(obj)
        # Argo CD's repo server tracks before the controller knows the scope: the manifest's
        # namespace, else the destination's, even for a cluster-scoped object; CRDs untracked
        tracked_ns = key.namespace or namespace
        if (key.group, key.kind) in cluster_scoped:
            metadata.pop("namespace", None)
        elif not metadata.get("namespace") and namespace:
            metadata["namespace"] = namespace
        if (key.group, key.kind) != ("apiextensions.k8s.io", "CustomResourceDefinition"):
            _track(metadata, tracking, app, f"{app}:{key.group}/{key.kind}:{tracked_ns}/{key.name}")
        out.append(obj)
    return sorted(out, key=lambda o: _sort_key(key_of(o)))


def _track(metadata: dict[str, Any], tracking: str, app: str, tracking_id: str) -> None:
    if "annotation" in tracking:
        annotations = metadata.get("annotations") or {}
        annotations[TRACKING_ANNOTATION] = tracking_id
        metadata["annotations"] = annotations
    if "label" in tracking:
        labels = metadata.get("labels") or {}
        labels[INSTANCE_LABEL] = app
        metadata["labels"] = labels


def _sort_key(key: ObjectKey) -> tuple[str, str, str, str]:
    return (key.group, key.kind, key.namespace, key.name)


def dump(obj: dict[str, Any]) -> str:
    """One object as canonical YAML: sorted keys, block style, stable across runs."""
    return yaml.dump(
        obj,
        Dumper=_Dumper,
        sort_keys=True,
        default_flow_style=False,
        allow_unicode=True,
        width=10_000,
    )


# libyaml's emitter when PyYAML has it (ten times faster); the same output either way
_Base: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Dumper(_Base):  # type: ignore[valid-type,misc]
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def is_hook(obj: dict[str, Any]) -> bool:
    """A Helm or Argo CD hook: run around a sync, not tracked as part of the app's state."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    return "helm.sh/hook" in annotations or "argocd.argoproj.io/hook" in annotations
