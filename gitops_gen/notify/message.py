"""What one notification says, whatever the receiver: built once from the run and what the
target was last told, then shaped by each receiver (JSON, Slack blocks, an issue)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gitops_gen.drift.findings import SEVERITY_ORDER, AuditResult, Finding, Severity
from gitops_gen.drift.fingerprint import fingerprint
from gitops_gen.drift.history import Changes, Tracked, age, format_time
from gitops_gen.drift.report import summary

NOTIFICATION_VERSION = "gitops-gen.io/drift-notification/v1"
TOP_FINDINGS = 5


@dataclass(frozen=True)
class Notice:
    environment: str
    event: str  # policy.Event
    result: AuditResult
    changes: Changes
    # relative to what this target was last told (not to the last run: a failed delivery is
    # retried with everything it missed)
    new: tuple[Finding, ...]
    resolved: tuple[Tracked, ...]
    report_markdown: str  # the run's Markdown report: the body
    link: str | None = None

    @property
    def now(self) -> datetime:
        return self.changes.now

    @property
    def open(self) -> list[Finding]:
        return self.result.findings

    def headline(self) -> str:
        count = len(self.open)
        env = self.environment
        if self.event == "resolved":
            return f"Drift in {env} resolved: no findings"
        moved = f"{len(self.new)} new, {len(self.resolved)} resolved"
        if self.event == "reminder":
            oldest = max((self.changes.open_seconds(fingerprint(f)) for f in self.open), default=0)
            return f"Drift in {env} persists: {count} findings, oldest open for {age(oldest)}"
        return f"Drift in {env}: {count} findings ({moved})"

    def top(self, limit: int = TOP_FINDINGS) -> list[Finding]:
        """New first, then the most severe, then the oldest: what a person should read."""
        new = {fingerprint(f) for f in self.new}

        def key(f: Finding) -> tuple[int, int, datetime, tuple[Any, ...]]:
            fp = fingerprint(f)
            order = SEVERITY_ORDER.get(f.severity, SEVERITY_ORDER[Severity.LOW])
            return (fp not in new, order, self.changes.first_seen[fp], f.sort_key())

        return sorted(self.open, key=key)[:limit]

    def finding_json(self, finding: Finding) -> dict[str, Any]:
        fp = fingerprint(finding)
        return {
            **finding.to_json(),
            "fingerprint": fp,
            "firstSeen": format_time(self.changes.first_seen[fp]),
            "openSeconds": self.changes.open_seconds(fp),
        }

    def to_json(self) -> dict[str, Any]:
        """The generic webhook's payload (docs/drift.md, "Scheduled reports")."""
        return {
            "schemaVersion": NOTIFICATION_VERSION,
            "environment": self.environment,
            "event": self.event,
            "headline": self.headline(),
            "checkedAt": format_time(self.now),
            "summary": summary(self.result),
            "new": [self.finding_json(f) for f in self.new],
            "resolved": [
                {
                    "fingerprint": t.fingerprint,
                    **t.to_json(),
                    "openSeconds": int((self.now - t.first_seen).total_seconds()),
                }
                for t in self.resolved
            ],
            "open": [self.finding_json(f) for f in self.open],
            "link": self.link,
        }


def notice(
    event: str,
    result: AuditResult,
    changes: Changes,
    told: frozenset[str],
    open_now: frozenset[str],
    known: Mapping[str, Tracked],
    report_markdown: str,
    link: str | None,
) -> Notice:
    """The notice for a target last told ``told``.

    ``open_now`` is what the state keeps open (this run's findings, and those an incomplete
    audit could not judge); ``known`` (the previous state) names what may have resolved.
    """
    findings = {fingerprint(f): f for f in result.findings}
    new = tuple(f for fp, f in findings.items() if fp not in told)
    resolved = tuple(known[fp] for fp in sorted(told) if fp not in open_now and fp in known)
    return Notice(result.environment, event, result, changes, new, resolved, report_markdown, link)
