"""What the API server's OpenAPI v3 schema says about a field: its default, whether it is a
quantity, whether it is a key of a map.

Three comparison rules depend on it (see :mod:`compare`):

* A field the manifest sets to ``false``/``0``/``""`` and the live object lacks is drift unless
  the schema's ``default`` for that field equals the manifest's value. Go's non-pointer fields
  (``hostNetwork``, ``readOnly`` of a mount) are published with their zero value as default,
  because the server cannot store them any other way; pointer fields
  (``allowPrivilegeEscalation``, ``automountServiceAccountToken``) have none, because for them
  "unset" is a third state, usually the less safe one.
* A field the manifest omits inside a list element (a port's ``protocol``, a volume's
  ``defaultMode``, a probe's ``periodSeconds``) means the value the server gives it: the
  schema's ``default`` when it is not just Go's zero value, else the default the description
  states as a whole sentence ("If not specified, this field defaults to TCP.", "Defaults to
  0644."), checked against the field's type and enum. A live value other than that is drift.
* A field is compared as a resource quantity (``0.5`` = ``500m``) when its schema is the
  ``resource.Quantity`` type, or a CRD's int-or-string with the quantity pattern.

The schema of a group/version is fetched once per run (``/openapi/v3`` lists the documents),
and only when a comparison needs it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

QUANTITY_SCHEMA = "io.k8s.apimachinery.pkg.api.resource.Quantity"
# The quantity grammar as controller-gen writes it into CRD schemas: its binary suffixes are
# what tells a quantity from a plain int-or-string (a port, "25%").
_QUANTITY_PATTERN_MARK = "[KMGTPE]i"
_REF_PREFIX = "#/components/schemas/"
# "Default to false.", "Defaults to 0 (...)", "Default is false." in a field's description: what
# the API documents absence to mean, for when the server cannot be asked (see compare).
_STATED_DEFAULT = re.compile(r'\bDefaults? (?:to|is) (false\b|true\b|-?\d+\b|"")')
# The same, stricter, for what an omitted field means: the value must end its sentence
# ("Defaults to File. Cannot be updated.", "Default to 10 seconds.", "(which defaults to None)."),
# so a conditional one ("Defaults to Always if :latest tag is specified", 'Defaults to "" for
# ServiceAccount subjects') is never taken for a constant.
_OMITTED_DEFAULT = re.compile(
    r'(?i)\bdefaults? (?:to|is) ("[^"]*"|[\w/.+-]+?)(?: seconds?)?\)?\.(?:\s|$)'
)


@dataclass(frozen=True)
class FieldInfo:
    """One field of one kind, as far as the schema describes it."""

    known: bool = False  # the schema describes this path
    map_entry: bool = False  # a key of a map (labels, ConfigMap data): its presence is data
    has_default: bool = False
    default: Any = None
    quantity: bool = False
    # the default the description states ("Default to false."), when it states one
    stated_default: Any = None
    # what the server takes the field to be when a manifest omits it (see the module's doc)
    has_omitted_default: bool = False
    omitted_default: Any = None


UNKNOWN = FieldInfo()
Fetch = Callable[[str, str], dict[str, Any]]  # (path, what) -> JSON document


class KindSchema:
    """The schema of one kind, resolved field by field (and cached: paths repeat a lot)."""

    def __init__(self, schemas: dict[str, Any], root: dict[str, Any]) -> None:
        self._schemas = schemas
        self._root = root
        self._cache: dict[tuple[str | int, ...], FieldInfo] = {}

    def field(self, tokens: tuple[str | int, ...]) -> FieldInfo:
        # list indexes only select `items`: cache by shape, not by index
        key = tuple(0 if isinstance(t, int) else t for t in tokens)
        info = self._cache.get(key)
        if info is None:
            info = self._resolve(key)
            self._cache[key] = info
        return info

    def _deref(self, node: Any) -> tuple[dict[str, Any], str]:
        """Follow ``$ref`` and a single-element ``allOf`` (how v3 wraps a referenced type)."""
        name = ""
        for _ in range(16):  # guards against a malformed, self-referencing document
            if not isinstance(node, dict):
                return {}, name
            ref = node.get("$ref")
            if ref is None:
                all_of = node.get("allOf")
                if isinstance(all_of, list) and len(all_of) == 1 and "properties" not in node:
                    ref = (all_of[0] or {}).get("$ref") if isinstance(all_of[0], dict) else None
            if not isinstance(ref, str) or not ref.startswith(_REF_PREFIX):
                return node, name
            name = ref[len(_REF_PREFIX) :]
            node = self._schemas.get(name)
        return {}, name

    def _resolve(self, tokens: tuple[str | int, ...]) -> FieldInfo:
        node: Any = self._root
        map_entry = False
        for token in tokens:
            current, _ = self._deref(node)
            if isinstance(token, int):
                node = current.get("items")
                map_entry = False
            else:
                properties = current.get("properties") or {}
                if token in properties:
                    node = properties[token]
                    map_entry = False
                elif isinstance(current.get("additionalProperties"), dict):
                    node = current["additionalProperties"]
                    map_entry = True
                else:
                    return UNKNOWN
            if not isinstance(node, dict):
                return UNKNOWN
        # the default sits on the referencing node (next to allOf), or on the type itself
        has_default = "default" in node
        default = node.get("default")
        target, name = self._deref(node)
        if not has_default and "default" in target:
            has_default, default = True, target["default"]
        omitted = _omitted_default(node, default if has_default else None)
        return FieldInfo(
            known=True,
            map_entry=map_entry,
            has_default=has_default and not map_entry,
            default=default,
            quantity=_is_quantity(target, name),
            stated_default=_stated_default(str(node.get("description") or "")),
            has_omitted_default=omitted is not None and not map_entry,
            omitted_default=omitted,
        )


def _stated_default(description: str) -> Any:
    match = _STATED_DEFAULT.search(description)
    if match is None:
        return None
    text = match[1]
    if text == '""':
        return ""
    if text in ("false", "true"):
        return text == "true"
    return int(text)


def _omitted_default(node: dict[str, Any], default: Any) -> Any:
    """The value of an omitted scalar field, or None when the schema does not say one."""
    if default is not None and not _go_zero(default):
        # a Go zero value (`default: ""` on a required name) says nothing the server fills in
        return default if isinstance(default, str | int | float) else None
    match = _OMITTED_DEFAULT.search(str(node.get("description") or ""))
    if match is None:
        return None
    text, kind = match[1], node.get("type")
    if kind == "boolean":
        return {"true": True, "false": False}.get(text)
    if kind == "integer":
        if not re.fullmatch(r"-?\d+", text):
            return None
        # mode bits are written in octal ("Defaults to 0644.")
        return int(text, 8) if len(text) > 1 and text.startswith("0") else int(text)
    if kind == "string":
        if text.startswith('"'):
            return text[1:-1]
        # an unquoted word only when it is one of the field's values ("defaults to TCP.")
        return text if text in (node.get("enum") or ()) else None
    return None


def _go_zero(value: Any) -> bool:
    return value in ("", 0, {}, [])  # False == 0


def _is_quantity(node: dict[str, Any], name: str) -> bool:
    if name == QUANTITY_SCHEMA or node.get("format") == "quantity":
        return True
    return bool(node.get("x-kubernetes-int-or-string")) and _QUANTITY_PATTERN_MARK in str(
        node.get("pattern", "")
    )


class GroupVersionSchema:
    """One ``/openapi/v3/<group-version>`` document: its kinds by name."""

    def __init__(self, document: dict[str, Any]) -> None:
        self._schemas: dict[str, Any] = (document.get("components") or {}).get("schemas") or {}
        self._kinds: dict[tuple[str, str, str], str] = {}
        for name, schema in self._schemas.items():
            for gvk in (schema or {}).get("x-kubernetes-group-version-kind") or []:
                key = (str(gvk.get("group", "")), str(gvk.get("version", "")), str(gvk["kind"]))
                # a kind may be listed under several schema names (aliases); the first wins
                self._kinds.setdefault(key, name)
        self._resolved: dict[tuple[str, str, str], KindSchema | None] = {}

    def kind(self, group: str, version: str, kind: str) -> KindSchema | None:
        key = (group, version, kind)
        if key not in self._resolved:
            name = self._kinds.get(key)
            self._resolved[key] = (
                KindSchema(self._schemas, self._schemas[name]) if name is not None else None
            )
        return self._resolved[key]


class SchemaSource:
    """The server's schemas, fetched lazily: the index once, each group/version once."""

    def __init__(self, fetch: Fetch) -> None:
        self._fetch = fetch
        self._lock = threading.Lock()
        self._index: dict[str, str] | None = None
        self._documents: dict[str, GroupVersionSchema | None] = {}

    def kind(self, group: str, version: str, kind: str) -> KindSchema | None:
        """The schema of a kind, or None when the server publishes none for it."""
        document = self._document(f"apis/{group}/{version}" if group else f"api/{version}")
        return document.kind(group, version, kind) if document is not None else None

    def _document(self, key: str) -> GroupVersionSchema | None:
        with self._lock:
            if key in self._documents:
                return self._documents[key]
            if self._index is None:
                index = self._fetch("/openapi/v3", "the OpenAPI v3 index")
                self._index = {
                    str(path): str((entry or {}).get("serverRelativeURL") or "")
                    for path, entry in (index.get("paths") or {}).items()
                }
            url = self._index.get(key)
            document = (
                GroupVersionSchema(self._fetch(url, f"the OpenAPI v3 schema of {key}"))
                if url
                else None
            )
            self._documents[key] = document
            return document
