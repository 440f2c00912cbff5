"""Canonical forms: what the API server does to a manifest, undone before comparing.

Every rule here removes one known class of false positive (see DESIGN.md §5): server metadata
and status, tool annotations, quantities, integral floats, empty vs missing, Secret
``stringData``, lists merged by key rather than by position.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from gitops_gen.drift.mask import decode_secret_data
from gitops_gen.drift.quantity import quantities_equal

Tokens = tuple[str | int, ...]

# Written by the server or by controllers, never by the repository.
SERVER_METADATA = (
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)
# Written by tools as bookkeeping; last-applied also holds a Secret's plaintext stringData.
TOOL_ANNOTATIONS = (
    "kubectl.kubernetes.io/last-applied-configuration",
    "deployment.kubernetes.io/revision",
)

# Strategic-merge keys of the core lists (k8s.io/api `patchMergeKey` tags): the element of a
# list is found by this field, not by its position.
MERGE_KEYS: dict[str, tuple[str, ...]] = {
    "containers": ("name",),
    "initContainers": ("name",),
    "ephemeralContainers": ("name",),
    "env": ("name",),
    "volumes": ("name",),
    "volumeMounts": ("mountPath",),
    "volumeDevices": ("devicePath",),
    "imagePullSecrets": ("name",),
    "hostAliases": ("ip",),
    "topologySpreadConstraints": ("topologyKey", "whenUnsatisfiable"),
    "resourceClaims": ("name",),
    # SopsSecret (not a core list): the operator makes one Secret per template name, so a
    # template added live is one extra element, not a rewrite of the whole list
    "secretTemplates": ("name",),
}
# Lists that are sets: the server or controllers may add members (finalizers).
SET_LISTS = frozenset({("metadata", "finalizers")})
# Ancestors and leaves under which a core object holds resource quantities: only for a server
# that publishes no OpenAPI v3 schema (the schema says which fields are quantities).
QUANTITY_PARENTS = frozenset({"requests", "limits", "hard", "capacity", "overhead"})
QUANTITY_LEAVES = frozenset({"sizeLimit", "averageValue"})
# Key fields of keyed lists that a manifest may omit, and the value the server stores then
# (ServicePort and ContainerPort `protocol`, `+default="TCP"` in k8s.io/api). Elements are
# matched with it; comparing an omitted field goes by the server's schema (compare.py), and by
# this only when the server publishes none.
KEY_DEFAULTS: dict[str, str] = {"protocol": "TCP"}


def is_core_group(group: str) -> bool:
    """Built-in API groups (no dot, or *.k8s.io): the server canonicalises their fields."""
    return "." not in group or group.endswith(".k8s.io")


def strip_object(obj: dict[str, Any]) -> dict[str, Any]:
    """A deep copy without status, server metadata and tool annotations."""
    out = copy.deepcopy(obj)
    out.pop("status", None)
    metadata = out.get("metadata")
    if isinstance(metadata, dict):
        for key in SERVER_METADATA:
            metadata.pop(key, None)
        annotations = metadata.get("annotations")
        if isinstance(annotations, dict):
            for key in TOOL_ANNOTATIONS:
                annotations.pop(key, None)
    return out


def prepare_desired(obj: dict[str, Any]) -> dict[str, Any]:
    """The manifest as the server would store it, as far as that is known without asking.

    The namespace is settled later (:func:`scope_object`), once discovery says whether the
    kind is namespaced at all.
    """
    out = strip_object(obj)
    out.setdefault("metadata", {})
    if out.get("kind") == "Secret" and str(out.get("apiVersion")) == "v1":
        # stringData is write-only: the server merges it into data (base64), stringData winning.
        string_data = out.pop("stringData", None) or {}
        if string_data:
            data = dict(out.get("data") or {})
            for key, value in string_data.items():
                data[key] = base64.b64encode(str(value).encode()).decode()
            out["data"] = data
    return out


def scope_object(obj: dict[str, Any], namespaced: bool, namespace: str) -> dict[str, Any]:
    """Default a namespaced object's namespace; drop a cluster-scoped object's (ignored)."""
    metadata = obj.setdefault("metadata", {})
    if not namespaced:
        metadata.pop("namespace", None)
    elif not metadata.get("namespace"):
        metadata["namespace"] = namespace
    return obj


def is_empty(value: Any) -> bool:
    """Values the server treats as absent: a manifest's ``{}``, ``[]``, ``""`` or null."""
    return value is None or value == {} or value == [] or value == ""


def is_zero(value: Any) -> bool:
    """Go zero values: an ``omitempty`` field set to false/0 comes back absent."""
    return value is False or (
        isinstance(value, int | float) and not isinstance(value, bool) and value == 0
    )


def is_quantity_path(tokens: Tokens) -> bool:
    names = [t for t in tokens if isinstance(t, str)]
    if not names:
        return False
    if names[-1] in QUANTITY_LEAVES:
        return True
    return any(name in QUANTITY_PARENTS for name in names[:-1])


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def scalars_equal(
    desired: Any, live: Any, tokens: Tokens, *, quantity: Callable[[Tokens], bool], kind: str
) -> bool:
    """``quantity`` says whether the field holds a resource quantity (asked only when the
    values differ as written: it may cost a schema lookup)."""
    if isinstance(desired, bool) or isinstance(live, bool):
        return desired is live
    if _is_number(desired) and _is_number(live):
        # 1.0 == 1: YAML floats that are integral come back as integers.
        return Decimal(str(desired)) == Decimal(str(live))
    if desired == live and type(desired) is type(live):
        return True
    if quantities_equal(desired, live) and quantity(tokens):
        return True
    if kind == "Secret" and len(tokens) == 2 and tokens[0] == "data":
        return decode_secret_data(desired) == decode_secret_data(live)
    return bool(desired == live) and type(desired) is type(live)


def merge_key(tokens: Tokens, elements: list[Any]) -> tuple[str, ...] | None:
    """The fields identifying an element of this list, or None for a positional list."""
    if not elements or not all(isinstance(e, dict) for e in elements):
        return None
    field_name = next((t for t in reversed(tokens) if isinstance(t, str)), "")
    if field_name == "ports":
        # container ports (containerPort) and Service ports (port), each per protocol
        for key in ("containerPort", "port"):
            if all(key in e for e in elements):
                return (key, "protocol")
        return None
    if field_name == "volumeClaimTemplates":
        return ("metadata.name",)
    keys = MERGE_KEYS.get(field_name)
    if keys and all(keys[0] in e for e in elements):
        return keys
    return None


def element_key(element: dict[str, Any], keys: tuple[str, ...]) -> tuple[str, ...]:
    values = []
    for key in keys:
        node: Any = element
        for part in key.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node is None and key in KEY_DEFAULTS:
            node = KEY_DEFAULTS[key]  # the server's default, so a manifest without it matches
        values.append(str(node))
    return tuple(values)
