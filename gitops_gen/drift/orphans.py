"""Orphans: live objects carrying our tracking labels that the audited source no longer renders.

Only what the audited source could have produced is a candidate: the object must carry the
environment's labels, belong to one of the Applications the source's objects belong to (Argo CD's
tracking, else the ``app.kubernetes.io/instance`` label; "" for objects attributed to none), and
not be something another source of the repository renders (the audit's own ClusterRole when a
folder is audited with ``--manifests``). A cluster-scoped type is listed cluster-wide, so
without these two rules another audit's objects would look like ours.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from gitops_gen.drift.findings import Finding, FindingType, ObjectRef, Severity
from gitops_gen.render.plan import LABEL_ENV, MANAGED_BY

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"


def is_tracked(obj: dict[str, Any], environment: str) -> bool:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return labels.get(MANAGED_BY_LABEL) == MANAGED_BY and labels.get(LABEL_ENV) == environment


def orphan_findings(
    live: Iterable[tuple[ObjectRef, dict[str, Any]]],
    desired: set[tuple[str, str, str, str]],
    environment: str,
    app_of: dict[tuple[str, str, str, str], str],
    *,
    sources: set[str] | None = None,
    exclude: Callable[[], set[tuple[str, str, str, str]]] | None = None,
) -> list[Finding]:
    """``sources``: the Applications of the audited objects (None: any); ``exclude``: the
    identities other sources render (asked only when there is a candidate)."""
    candidates = []
    for ref, obj in live:
        if ref.identity in desired or not is_tracked(obj, environment):
            continue
        if (obj.get("metadata") or {}).get("ownerReferences"):
            continue  # created by a controller from one of ours (a Job from the CronJob)
        if sources is not None and app_of.get(ref.identity, "") not in sources:
            continue  # another Application's object (another audit's source)
        candidates.append((ref, obj))
    others = exclude() if exclude is not None and candidates else set()
    findings = []
    for ref, _ in candidates:
        if ref.identity in others:
            continue
        findings.append(
            Finding(
                ref,
                FindingType.EXTRA,
                "",
                None,
                "present",
                Severity.MEDIUM,
                "drift/orphan",
                app_of.get(ref.identity, ""),
                f"labelled {MANAGED_BY_LABEL}={MANAGED_BY}, {LABEL_ENV}={environment} but "
                "no longer rendered; delete it or render it again",
            )
        )
    return findings
