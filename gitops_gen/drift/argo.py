"""The Argo CD layer: what an Application's status says, and which spec drift matters most."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from gitops_gen.drift.canonical import Tokens
from gitops_gen.drift.findings import Finding, FindingType, ObjectRef, Severity

# A targetRevision that names one immutable thing: a chart version, a tag like v2.14.0, a SHA.
PINNED = re.compile(r"^(v?\d+(\.\d+)*([-+][0-9A-Za-z.-]+)?|[0-9a-f]{40})$")
RevisionResolver = Callable[[str, str], str | None]


def is_application(ref: ObjectRef) -> bool:
    return ref.group == "argoproj.io" and ref.kind == "Application"


def classify(ref: ObjectRef, tokens: Tokens, kind: FindingType) -> tuple[str, Severity]:
    """The rule and severity of a field difference."""
    names = tuple(str(t) for t in tokens)
    if is_application(ref):
        if names[:3] == ("spec", "syncPolicy", "automated"):
            return "argo/auto-sync-disabled", Severity.HIGH
        if names[:1] == ("spec",):
            return "argo/spec-override", Severity.MEDIUM
    if ref.kind in ("Secret", "SopsSecret"):
        return f"drift/secret-{kind.value}", Severity.HIGH
    if kind is FindingType.MISSING:
        return "drift/field-missing", Severity.MEDIUM
    if kind is FindingType.EXTRA:
        return "drift/field-extra", Severity.MEDIUM
    return "drift/field-modified", Severity.MEDIUM


def automated_disabled(desired: dict[str, Any], live: dict[str, Any]) -> bool:
    """Argo CD 3 can keep ``automated`` and set ``enabled: false`` instead of deleting it."""
    want = ((desired.get("spec") or {}).get("syncPolicy") or {}).get("automated")
    have = ((live.get("spec") or {}).get("syncPolicy") or {}).get("automated")
    return want is not None and (have is None or have.get("enabled") is False)


def status_findings(
    ref: ObjectRef,
    desired: dict[str, Any],
    live: dict[str, Any],
    app: str,
    resolve: RevisionResolver | None = None,
) -> list[Finding]:
    status = live.get("status") or {}
    findings: list[Finding] = []
    sync = status.get("sync") or {}
    if sync.get("status") == "OutOfSync":
        resources = sorted(
            _resource_name(r)
            for r in status.get("resources") or []
            if isinstance(r, dict) and r.get("status") == "OutOfSync"
        )
        findings.append(
            Finding(
                ref,
                FindingType.MODIFIED,
                "/status/sync/status",
                "Synced",
                {"status": "OutOfSync", "resources": resources},
                Severity.MEDIUM,
                "argo/out-of-sync",
                app,
                f"{len(resources)} resource(s) out of sync",
            )
        )
    health = (status.get("health") or {}).get("status")
    if health in ("Degraded", "Missing"):
        findings.append(
            Finding(
                ref,
                FindingType.MODIFIED,
                "/status/health/status",
                "Healthy",
                health,
                Severity.HIGH,
                "argo/health",
                app,
                (status.get("health") or {}).get("message", ""),
            )
        )
    findings.extend(_revision_findings(ref, desired, sync, app, resolve))
    return findings


def _resource_name(resource: dict[str, Any]) -> str:
    group = resource.get("group") or ""
    kind = f"{resource.get('kind', '')}.{group}" if group else str(resource.get("kind", ""))
    namespace = resource.get("namespace") or ""
    return f"{kind} {namespace + '/' if namespace else ''}{resource.get('name', '')}"


def _revision_findings(
    ref: ObjectRef,
    desired: dict[str, Any],
    sync: dict[str, Any],
    app: str,
    resolve: RevisionResolver | None,
) -> list[Finding]:
    spec = desired.get("spec") or {}
    multi = bool(spec.get("sources"))
    sources = spec.get("sources") or ([spec["source"]] if spec.get("source") else [])
    deployed: list[Any] = list(sync.get("revisions") or []) if multi else [sync.get("revision")]
    findings = []
    for index, source in enumerate(sources):
        if index >= len(deployed) or not deployed[index]:
            continue
        target = str(source.get("targetRevision") or "HEAD")
        expected = target if PINNED.match(target) else None
        if expected is None and resolve is not None:
            expected = resolve(str(source.get("repoURL", "")), target)
        if expected is None or deployed[index] == expected:
            continue
        path = f"/status/sync/revisions/{index}" if multi else "/status/sync/revision"
        findings.append(
            Finding(
                ref,
                FindingType.MODIFIED,
                path,
                expected,
                deployed[index],
                Severity.MEDIUM,
                "argo/revision-behind",
                app,
                f"source {index} ({source.get('repoURL', '')}) deploys {deployed[index]}, "
                f"the repository has {expected}",
            )
        )
    return findings
