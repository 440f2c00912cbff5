"""The pure comparison: desired ⊆ live, field by field, after canonicalisation.

A desired field must be present live with an equal value; fields only live has are fine
(defaults, controllers), except where the repository is the only legitimate author:
elements of keyed lists (containers, env, ports ...), the keys of ConfigMap/Secret data, and
an Argo CD Application's spec (what "override in the UI" changes).

Inside a list element or a pod template's spec, a field the manifest omits is not free for
anyone to set: it means the value the server gives it (a port's ``protocol`` is TCP, a
volume's ``defaultMode`` 0644, a container's ``privileged`` and a pod's ``hostPID`` false), as
the kind's schema says (see :mod:`schema`). A live value other than that is a modification of
what the repository asks for. Elsewhere, fields only live has stay free (a Deployment's
``replicas`` under an autoscaler, a Service's ``clusterIP``).

A desired ``false``/``0``/``""`` absent live is drift unless absence means that value to the
server. Decided per field: a key of a map is data (drift); a schema default (see :mod:`schema`)
decides when the schema has one; otherwise ``zero_stored`` says whether the server stores that
value at that place (a Go pointer field does, a non-pointer ``omitempty`` one cannot), as learnt
from a server-side-apply dry run. When the server cannot be asked (a read-only auditor), the
default the field's description states ("Default to false.") decides, else absence is drift;
without any schema the older rule applies: ``""`` and, in built-in kinds, ``false``/``0`` count
as absent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gitops_gen.drift.canonical import (
    KEY_DEFAULTS,
    SET_LISTS,
    Tokens,
    element_key,
    is_core_group,
    is_empty,
    is_quantity_path,
    is_zero,
    merge_key,
    scalars_equal,
)
from gitops_gen.drift.findings import FindingType, ObjectRef
from gitops_gen.drift.schema import UNKNOWN, FieldInfo, KindSchema

# The kind's schema, asked for only when a comparison needs it (it may cost a request).
SchemaLookup = Callable[[], KindSchema | None]
# Does the server store a false/0/"" at this field (True), drop it (False), or is it unknown?
ZeroStored = Callable[[Tokens], bool | None]


@dataclass(frozen=True)
class Diff:
    type: FindingType
    tokens: Tokens
    desired: Any
    live: Any


def _no_schema() -> KindSchema | None:
    return None


def _unknown_storage(tokens: Tokens) -> bool | None:
    return None


@dataclass
class _Walker:
    ref: ObjectRef
    core: bool
    schema_lookup: SchemaLookup = _no_schema
    zero_stored: ZeroStored = _unknown_storage
    # desired is a server-side dry run's result: every scalar it holds is one the server stores
    projected: bool = False
    diffs: list[Diff] = field(default_factory=list)
    _schema: KindSchema | None = None
    _looked_up: bool = False

    def emit(self, kind: FindingType, tokens: Tokens, desired: Any, live: Any) -> None:
        self.diffs.append(Diff(kind, tokens, desired, live))

    def field_info(self, tokens: Tokens) -> FieldInfo:
        if not self._looked_up:
            self._schema, self._looked_up = self.schema_lookup(), True
        return self._schema.field(tokens) if self._schema is not None else UNKNOWN

    def absent_ok(self, tokens: Tokens, desired: Any) -> bool:
        """May a field the manifest sets be absent live?"""
        if desired is None or desired == {} or desired == []:
            return True  # empty collections are not stored
        if self.projected or not (is_zero(desired) or desired == ""):
            return False
        info = self.field_info(tokens)
        if info.map_entry:
            return False  # a map's key is data (a label with an empty value)
        if info.has_default:
            return _same(info.default, desired)
        stored = self.zero_stored(tokens)
        if stored is not None:
            return not stored
        if info.known:
            # the server could not be asked: what the API documents absence to mean
            return info.stated_default is not None and _same(info.stated_default, desired)
        return desired == "" or (self.core and is_zero(desired))

    def is_quantity(self, tokens: Tokens) -> bool:
        info = self.field_info(tokens)
        if info.known:
            return info.quantity
        return self.core and is_quantity_path(tokens)

    def walk(self, desired: Any, live: Any, tokens: Tokens, exact: bool) -> None:
        if desired is None:
            return  # null in a manifest means "not set": nothing to require
        if isinstance(desired, dict):
            self.walk_dict(desired, live, tokens, exact)
        elif isinstance(desired, list):
            self.walk_list(desired, live, tokens, exact)
        elif isinstance(live, dict | list) or not scalars_equal(
            desired, live, tokens, quantity=self.is_quantity, kind=self.ref.kind
        ):
            self.emit(FindingType.MODIFIED, tokens, desired, live)

    def walk_dict(self, desired: dict[str, Any], live: Any, tokens: Tokens, exact: bool) -> None:
        if not isinstance(live, dict):
            if live is None and is_empty(desired):
                return
            self.emit(FindingType.MODIFIED, tokens, desired, live)
            return
        exact_keys = self.exact_keys(tokens)
        for key in sorted(desired):
            child = (*tokens, key)
            child_exact = exact or self.exact_subtree(child)
            if key not in live or live[key] is None:
                # the keys of a ConfigMap's data are data, whatever their value
                if desired[key] is not None and (
                    exact_keys or not self.absent_ok(child, desired[key])
                ):
                    self.emit(FindingType.MISSING, child, desired[key], None)
                continue
            self.walk(desired[key], live[key], child, child_exact)
        if exact or exact_keys:
            for key in sorted(set(live) - set(desired)):
                if not is_empty(live[key]):
                    self.emit(FindingType.EXTRA, (*tokens, key), None, live[key])
        elif _repository_only(tokens):
            self.omitted_defaults(desired, live, tokens)

    def walk_list(self, desired: list[Any], live: Any, tokens: Tokens, exact: bool) -> None:
        if not isinstance(live, list):
            if live is None and not desired:
                return
            self.emit(FindingType.MODIFIED, tokens, desired, live)
            return
        names = tuple(t for t in tokens if isinstance(t, str))
        if names in SET_LISTS:
            missing = [d for d in desired if d not in live]
            if missing:
                self.emit(FindingType.MISSING, tokens, missing, None)
            return
        keys = merge_key(tokens, desired)
        if keys is None:
            if len(desired) != len(live):
                self.emit(FindingType.MODIFIED, tokens, desired, live)
                return
            for index, (d, v) in enumerate(zip(desired, live, strict=True)):
                self.walk(d, v, (*tokens, index), exact)
            return
        live_index = {element_key(e, keys): i for i, e in enumerate(live) if isinstance(e, dict)}
        matched: set[int] = set()
        unmatched: list[tuple[int, Any]] = []
        for index, element in enumerate(desired):
            at = live_index.get(element_key(element, keys))
            if at is None:
                unmatched.append((index, element))
                continue
            matched.add(at)
            self.walk(element, live[at], (*tokens, at), exact)
        spare = [i for i in range(len(live)) if i not in matched]
        for index, element in unmatched:
            # A changed key (port 80 -> 81, a renamed env var) is one modification, not a
            # removal plus an addition: pair it with the unmatched live element at its place.
            if index in spare:
                spare.remove(index)
                self.walk(element, live[index], (*tokens, index), exact)
            else:
                self.emit(FindingType.MISSING, (*tokens, index), element, None)
        for index in spare:
            self.emit(FindingType.EXTRA, (*tokens, index), None, live[index])

    def omitted_defaults(
        self, desired: dict[str, Any], live: dict[str, Any], tokens: Tokens
    ) -> None:
        """Fields of a list element the manifest omits, live other than the server's default:
        a port written without ``protocol`` is TCP, so UDP live is drift although the manifest
        never says TCP; likewise a volume's ``defaultMode`` 0777, a container's
        ``privileged: true``."""
        for key in sorted(set(live) - set(desired)):
            value = live[key]
            if isinstance(value, dict | list) or value is None:
                continue
            child = (*tokens, key)
            known, default = self.omitted_default(child)
            if known and not scalars_equal(
                default, value, child, quantity=self.is_quantity, kind=self.ref.kind
            ):
                self.emit(FindingType.MODIFIED, child, default, value)

    def omitted_default(self, tokens: Tokens) -> tuple[bool, Any]:
        info = self.field_info(tokens)
        if info.known:
            return info.has_omitted_default, info.omitted_default
        # without a schema, the key fields' defaults of the core lists (k8s.io/api `+default`)
        key = tokens[-1]
        if self.core and isinstance(key, str) and key in KEY_DEFAULTS and _in_ports(tokens):
            return True, KEY_DEFAULTS[key]
        return False, None

    def exact_subtree(self, tokens: Tokens) -> bool:
        # An Application's spec has no server defaults and no other author than Git; anything
        # added there live (Helm parameters, values, sync options) is an override.
        return (
            self.ref.group == "argoproj.io"
            and self.ref.kind == "Application"
            and tokens == ("spec",)
        )

    def exact_keys(self, tokens: Tokens) -> bool:
        # The keys of a ConfigMap or Secret are the data itself, not room for defaults.
        return (
            self.ref.group == ""
            and self.ref.kind in ("ConfigMap", "Secret")
            and tokens in (("data",), ("binaryData",))
        )


def _repository_only(tokens: Tokens) -> bool:
    """Is an omitted field here the server's default rather than room for other writers?

    Inside list elements (ports, volumes, containers, policy rules) and a pod template's spec
    (``hostPID``, ``dnsPolicy``) only the manifest and the server's defaults write; a
    workload's own fields (``replicas``) or a Service's (``clusterIP``) have other authors.
    """
    if any(isinstance(t, int) for t in tokens):
        return True
    return any(tokens[i : i + 2] == ("template", "spec") for i in range(len(tokens) - 1))


def _in_ports(tokens: Tokens) -> bool:
    return len(tokens) >= 3 and tokens[-3] == "ports" and isinstance(tokens[-2], int)


def _same(default: Any, desired: Any) -> bool:
    return type(default) is type(desired) and bool(default == desired)


def compare_object(
    ref: ObjectRef,
    desired: dict[str, Any],
    live: dict[str, Any],
    schema: SchemaLookup = _no_schema,
    *,
    projected: bool = False,
    zero_stored: ZeroStored = _unknown_storage,
) -> list[Diff]:
    """Differences between a prepared desired object and a stripped live one.

    ``projected``: ``desired`` is a server-side dry run projected onto the manifest's fields.
    """
    walker = _Walker(
        ref,
        core=is_core_group(ref.group),
        schema_lookup=schema,
        zero_stored=zero_stored,
        projected=projected,
    )
    # the object was found by apiVersion and kind; versions may differ between reads
    body = {k: v for k, v in desired.items() if k not in ("apiVersion", "kind")}
    walker.walk_dict(body, live, (), False)
    # A desired key absent live surfaces from walk() as a MODIFIED against None; report it
    # as MISSING like any other absent field.
    return [
        Diff(FindingType.MISSING, d.tokens, d.desired, None)
        if d.type is FindingType.MODIFIED and d.live is None and len(d.tokens) == 1
        else d
        for d in walker.diffs
    ]
