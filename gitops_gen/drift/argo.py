"""The Argo CD layer: what an Application's status says, and which spec drift matters most."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gitops_gen.drift.canonical import Tokens
from gitops_gen.drift.findings import Finding, FindingType, ObjectRef, Severity
from gitops_gen.durations import format_duration, parse_duration

# A targetRevision that names one immutable thing: a chart version, a tag like v2.14.0, a SHA.
PINNED = re.compile(r"^(v?\d+(\.\d+)*([-+][0-9A-Za-z.-]+)?|[0-9a-f]{40})$")
SHA = re.compile(r"^[0-9a-f]{40}$")
# (repoURL, targetRevision) -> the commit SHA that branch or tag points at in that repository,
# or None when it cannot be known for sure (another repository, an unverified remote).
RevisionResolver = Callable[[str, str], str | None]
# Application conditions that mean Argo CD could not render or compare the desired state.
COMPARISON_ERRORS = frozenset({"ComparisonError", "InvalidSpecError"})


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
    sync = status.get("sync") or {}
    if not sync.get("status") and not status.get("reconciledAt"):
        # Argo CD writes status.sync on its first reconciliation: nothing else can be judged.
        return [
            Finding(
                ref,
                FindingType.MISSING,
                "/status",
                "reconciled by Argo CD",
                None,
                Severity.HIGH,
                "argo/not-reconciled",
                app,
                "Argo CD has never reconciled this Application (no status); check that the "
                "application controller runs and watches this namespace",
            )
        ]
    findings: list[Finding] = []
    errors = _comparison_errors(status)
    if sync.get("status") == "Unknown" or errors:
        findings.append(
            Finding(
                ref,
                FindingType.MODIFIED,
                "/status/conditions",
                "Synced",
                {"status": sync.get("status") or "", "conditions": errors},
                Severity.HIGH,
                "argo/comparison-error",
                app,
                "; ".join(errors)
                or "Argo CD cannot compare this Application (sync status Unknown)",
            )
        )
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
    if not errors and sync.get("status") != "Unknown":
        # After a failed comparison status.sync describes an older one: nothing to compare.
        findings.extend(_revision_findings(ref, desired, sync, app, resolve))
    return findings


def _comparison_errors(status: dict[str, Any]) -> list[str]:
    """The messages of the conditions saying Argo CD could not render or compare the app."""
    return [
        str(c.get("message") or c.get("type"))
        for c in status.get("conditions") or []
        if isinstance(c, dict) and c.get("type") in COMPARISON_ERRORS
    ]


def _resource_name(resource: dict[str, Any]) -> str:
    group = resource.get("group") or ""
    kind = f"{resource.get('kind', '')}.{group}" if group else str(resource.get("kind", ""))
    namespace = resource.get("namespace") or ""
    return f"{kind} {namespace + '/' if namespace else ''}{resource.get('name', '')}"


def _sources(spec: dict[str, Any]) -> list[dict[str, Any]]:
    if spec.get("sources"):
        return [s for s in spec["sources"] if isinstance(s, dict)]
    return [spec["source"]] if isinstance(spec.get("source"), dict) else []


def _same_source(desired: dict[str, Any], compared: dict[str, Any]) -> bool:
    """Argo CD compared against this source (same repository, revision, path or chart)."""
    return all(
        str(desired.get(key) or "").rstrip("/") == str(compared.get(key) or "").rstrip("/")
        for key in ("repoURL", "targetRevision", "path", "chart")
    )


def _revision_findings(
    ref: ObjectRef,
    desired: dict[str, Any],
    sync: dict[str, Any],
    app: str,
    resolve: RevisionResolver | None,
) -> list[Finding]:
    """Sources whose revision Argo CD compared against is not what the repository has now.

    ``status.sync.revision(s)`` is what Argo CD resolved the target to at its last comparison
    (a commit SHA for git, the version for a chart), and ``status.sync.comparedTo`` the spec it
    compared. Only when that spec is the desired one can the revisions be judged, and then only
    like with like: a SHA is checked against the commit the repository's branch or tag points
    at (from `resolve`), never against the name of a tag.
    """
    spec = desired.get("spec") or {}
    multi = bool(spec.get("sources"))
    sources = _sources(spec)
    compared = _sources(sync.get("comparedTo") or {})
    if len(compared) != len(sources) or not all(
        _same_source(want, have) for want, have in zip(sources, compared, strict=True)
    ):
        # Argo CD has not compared the current spec yet (a spec difference is its own finding).
        return []
    deployed: list[Any] = list(sync.get("revisions") or []) if multi else [sync.get("revision")]
    findings = []
    for index, source in enumerate(sources):
        if index >= len(deployed) or not deployed[index] or source.get("ref"):
            # A `ref` source only supplies value files; its revision is the other sources' input.
            continue
        target = str(source.get("targetRevision") or "HEAD")
        expected = _expected_revision(source, target, resolve)
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
                f"source {index} ({source.get('repoURL', '')} {target}): Argo CD compared "
                f"{deployed[index]}, the repository has {expected}",
            )
        )
    return findings


def _expected_revision(
    source: dict[str, Any], target: str, resolve: RevisionResolver | None
) -> str | None:
    """What Argo CD should have resolved `target` to, in its own terms; None if unknown."""
    if source.get("chart"):
        # Argo CD records a chart's version; a range (^1.2, 1.x) resolves to what it found.
        return target if PINNED.match(target) and not SHA.match(target) else None
    if SHA.match(target):
        return target
    if resolve is None:
        return None
    return resolve(str(source.get("repoURL", "")), target)


# --------------------------------------------------------------------------------------------
# Stale verdicts: Synced/Healthy mean nothing while the application controller is down
# --------------------------------------------------------------------------------------------

# Argo CD's application controller re-compares every Application after argocd-cm's
# `timeout.reconciliation` (default 180s) plus a random delay of up to
# `timeout.reconciliation.jitter` (default 60s): its resync is at most their sum.
DEFAULT_RESYNC_S = 180.0
DEFAULT_JITTER_S = 60.0
STALE_FACTOR = 3
ARGOCD_CM = "argocd-cm"
RESYNC_KEY = "timeout.reconciliation"
JITTER_KEY = "timeout.reconciliation.jitter"


@dataclass(frozen=True)
class StaleThreshold:
    """How old ``status.reconciledAt`` may be, and where that number comes from."""

    seconds: float
    source: str  # for the finding's message: "drift.staleAfter", "3 × argocd-cm …", …


def default_threshold(argocd_cm: dict[str, Any] | None) -> StaleThreshold | None:
    """Three times the controller's longest resync (``timeout.reconciliation`` + its jitter),
    from argocd-cm when it can be read, else Argo CD's defaults (180 s + 60 s: 12 minutes).
    None when the resync is off (``0``): then no verdict is refreshed on a timer, and only an
    explicit threshold can judge it."""
    data = (argocd_cm or {}).get("data") or {}

    def seconds(key: str) -> float | None:
        return parse_duration(str(data[key])) if key in data else None

    resync, jitter = seconds(RESYNC_KEY), seconds(JITTER_KEY)
    if resync is not None and resync <= 0:
        return None
    jitter = DEFAULT_JITTER_S if jitter is None else jitter
    if resync is None:
        resync, source = DEFAULT_RESYNC_S, "Argo CD's default resync"
    else:
        source = f"{ARGOCD_CM} {RESYNC_KEY}"
    return StaleThreshold(
        STALE_FACTOR * (resync + jitter),
        f"{STALE_FACTOR} × ({source} {format_duration(resync)} + jitter {format_duration(jitter)})",
    )


def stale_finding(
    ref: ObjectRef, live: dict[str, Any], app: str, threshold: StaleThreshold, now: datetime
) -> Finding | None:
    """A finding when Argo CD last compared this Application longer ago than `threshold`."""
    reconciled = ((live.get("status") or {}).get("reconciledAt")) or ""
    try:
        when = datetime.fromisoformat(str(reconciled).replace("Z", "+00:00"))
    except ValueError:
        return None  # never reconciled (its own finding) or not a time
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    age = (now - when).total_seconds()
    if age <= threshold.seconds:
        return None
    return Finding(
        ref,
        FindingType.MODIFIED,
        "/status/reconciledAt",
        f"within {format_duration(threshold.seconds)}",
        str(reconciled),
        Severity.HIGH,
        "argo/stale-verdict",
        app,
        f"Argo CD last reconciled this Application {format_duration(age)} ago, more than the "
        f"{format_duration(threshold.seconds)} allowed ({threshold.source}): its sync and "
        "health status are stale; check that the application controller runs",
    )
