"""What an audit produces: findings about objects, in a stable order."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class FindingType(StrEnum):
    MISSING = "missing"  # the object (or a field of it) is absent live
    MODIFIED = "modified"  # a field differs
    EXTRA = "extra"  # live has something the repository no longer renders
    ERROR = "error"  # this part could not be audited (forbidden, not served, ...)


class Severity(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


SEVERITY_ORDER = {Severity.HIGH: 0, Severity.MEDIUM: 1, Severity.LOW: 2}


@dataclass(frozen=True, order=True)
class ObjectRef:
    group: str
    version: str
    kind: str
    namespace: str
    name: str

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def type_key(self) -> tuple[str, str]:
        """Identity of an object regardless of the version it was read at."""
        return (self.group, self.kind)

    @property
    def identity(self) -> tuple[str, str, str, str]:
        return (self.group, self.kind, self.namespace, self.name)

    def display(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        group = f".{self.group}" if self.group else ""
        return f"{self.kind}{group} {where}{self.name}"

    def to_json(self) -> dict[str, str]:
        return {
            "group": self.group,
            "version": self.version,
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
        }

    @classmethod
    def of(cls, obj: dict[str, Any], default_namespace: str = "") -> ObjectRef:
        api_version = str(obj.get("apiVersion", ""))
        group, _, version = api_version.rpartition("/")
        metadata = obj.get("metadata") or {}
        return cls(
            group=group,
            version=version,
            kind=str(obj.get("kind", "")),
            namespace=str(metadata.get("namespace") or default_namespace),
            name=str(metadata.get("name", "")),
        )


@dataclass(frozen=True)
class Finding:
    ref: ObjectRef
    type: FindingType
    path: str  # RFC 6901 pointer; "" is the whole object
    desired: Any
    live: Any
    severity: Severity
    rule: str
    app: str = ""
    message: str = ""

    def sort_key(self) -> tuple[str, tuple[str, str, str, str], str, str, str]:
        return (self.app, self.ref.identity, self.path, self.type.value, self.rule)

    def to_json(self) -> dict[str, Any]:
        return {
            "ref": self.ref.to_json(),
            "type": self.type.value,
            "path": self.path,
            "desired": self.desired,
            "live": self.live,
            "severity": self.severity.value,
            "rule": self.rule,
            "app": self.app,
            "message": self.message,
        }


@dataclass(frozen=True)
class AuditedObject:
    """One object the audit looked at: a JUnit testcase, a row of the summary."""

    ref: ObjectRef
    app: str = ""


@dataclass
class AuditResult:
    environment: str
    objects: list[AuditedObject] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    api_requests: int = 0
    lists: int = 0
    mode: str = "fast"
    # What the audit could not do exactly but worked around (a dry run refused: compared
    # canonically instead). Not findings: the objects were audited.
    warnings: list[str] = field(default_factory=list)
    # Why the audit stopped before the end (server gone, --deadline); "" when it finished.
    stopped: str = ""

    def sorted(self) -> AuditResult:
        unique_objects = {(o.ref.identity, o.app): o for o in self.objects}
        objects = sorted(unique_objects.values(), key=lambda o: (o.app, o.ref.identity))
        # Findings hold dicts (unhashable): de-duplicate on their canonical JSON.
        unique = {json.dumps(f.to_json(), sort_keys=True): f for f in self.findings}
        findings = sorted(unique.values(), key=lambda f: (f.sort_key(), _json_key(f)))
        return AuditResult(
            self.environment,
            objects,
            findings,
            self.api_requests,
            self.lists,
            self.mode,
            sorted(set(self.warnings)),
            self.stopped,
        )

    @property
    def drift(self) -> list[Finding]:
        return [f for f in self.findings if f.type is not FindingType.ERROR]

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.type is FindingType.ERROR]


def escape_token(token: str | int) -> str:
    """RFC 6901: '~' becomes '~0' and '/' becomes '~1'."""
    return str(token).replace("~", "~0").replace("/", "~1")


def pointer(tokens: tuple[str | int, ...]) -> str:
    return "".join("/" + escape_token(t) for t in tokens)


def parse_pointer(text: str) -> tuple[str, ...]:
    if not text:
        return ()
    if not text.startswith("/"):
        raise ValueError(f"JSON pointer {text!r} must start with '/'")
    return tuple(p.replace("~1", "/").replace("~0", "~") for p in text[1:].split("/"))


def _json_key(finding: Finding) -> str:
    return json.dumps([finding.desired, finding.live], sort_keys=True, default=str)
