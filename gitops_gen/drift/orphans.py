"""Orphans: live objects carrying our tracking labels that the repository no longer renders."""

from __future__ import annotations

from collections.abc import Iterable
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
) -> list[Finding]:
    findings = []
    for ref, obj in live:
        if ref.identity in desired or not is_tracked(obj, environment):
            continue
        if (obj.get("metadata") or {}).get("ownerReferences"):
            continue  # created by a controller from one of ours (a Job from the CronJob)
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
