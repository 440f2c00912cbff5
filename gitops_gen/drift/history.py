"""What changed since the last run: first-seen times, new and resolved findings.

The state of one environment's scheduled audit is a small JSON document (``state.json`` in the
report ConfigMap ``drift-report-<env>``, or a local file with ``--state``): the open findings by
fingerprint with the time each was first seen, the time of the last run, and per notification
target what it was last told and when. It holds no values and no masks, only what the findings
are about (object, path, rule), so a resolved finding can still be named in the next report.

Comparing is a pure function of (previous state, this run's result, now): the reports and the
notifications read the :class:`Changes`, the caller stores the next :class:`State`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from gitops_gen.drift.findings import AuditResult, Finding, ObjectRef
from gitops_gen.drift.fingerprint import fingerprint
from gitops_gen.errors import InputError

STATE_VERSION = "gitops-gen.io/drift-state/v1"
STATE_KEY = "state.json"  # its key in the report ConfigMap, next to report.md and report.json
# Tests (and anyone replaying a run) fix the clock with this variable: RFC 3339, UTC.
CLOCK_VARIABLE = "GITOPS_GEN_NOW"
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(TIME_FORMAT)


def parse_time(text: str) -> datetime:
    """An RFC 3339 time in UTC (``2026-12-01T02:00:00Z``); ValueError otherwise."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone")
    return moment.astimezone(UTC).replace(microsecond=0)


def now() -> datetime:
    """The current time, or the one ``$GITOPS_GEN_NOW`` fixes (whole seconds, UTC)."""
    fixed = os.environ.get(CLOCK_VARIABLE, "").strip()
    if not fixed:
        return datetime.now(UTC).replace(microsecond=0)
    try:
        return parse_time(fixed)
    except ValueError:
        raise InputError(
            f"${CLOCK_VARIABLE}={fixed!r} is not an RFC 3339 time; use e.g. 2026-12-01T02:00:00Z "
            "or unset it"
        ) from None


@dataclass(frozen=True)
class Tracked:
    """An open finding as the state remembers it: what it is about, and since when."""

    fingerprint: str
    first_seen: datetime
    ref: ObjectRef
    path: str
    rule: str
    type: str
    severity: str
    app: str = ""

    @classmethod
    def of(cls, finding: Finding, first_seen: datetime) -> Tracked:
        return cls(
            fingerprint(finding),
            first_seen,
            finding.ref,
            finding.path,
            finding.rule,
            finding.type.value,
            finding.severity.value,
            finding.app,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "firstSeen": format_time(self.first_seen),
            "ref": self.ref.to_json(),
            "path": self.path,
            "rule": self.rule,
            "type": self.type,
            "severity": self.severity,
            "app": self.app,
        }

    @classmethod
    def from_json(cls, fp: str, data: Mapping[str, Any]) -> Tracked:
        ref = data["ref"]
        return cls(
            fp,
            parse_time(str(data["firstSeen"])),
            ObjectRef(
                str(ref["group"]),
                str(ref["version"]),
                str(ref["kind"]),
                str(ref["namespace"]),
                str(ref["name"]),
            ),
            str(data["path"]),
            str(data["rule"]),
            str(data["type"]),
            str(data["severity"]),
            str(data.get("app") or ""),
        )


@dataclass(frozen=True)
class Notified:
    """What one notification target was last told (the open fingerprints), and when."""

    at: datetime
    fingerprints: frozenset[str]


@dataclass(frozen=True)
class State:
    environment: str
    last_run: datetime | None = None
    open: Mapping[str, Tracked] = field(default_factory=dict)
    notified: Mapping[str, Notified] = field(default_factory=dict)

    def with_notified(self, target: str, at: datetime) -> State:
        told = Notified(at, frozenset(self.open))
        return replace(self, notified={**self.notified, target: told})

    def to_json(self) -> str:
        document = {
            "schemaVersion": STATE_VERSION,
            "environment": self.environment,
            "lastRun": format_time(self.last_run) if self.last_run else None,
            "open": {fp: self.open[fp].to_json() for fp in sorted(self.open)},
            "notified": {
                name: {
                    "at": format_time(told.at),
                    "fingerprints": sorted(told.fingerprints),
                }
                for name, told in sorted(self.notified.items())
            },
        }
        return json.dumps(document, indent=2) + "\n"


def load_state(text: str, environment: str, where: str, fix: str) -> State:
    """Parse a stored state; a bad one is one line naming ``where`` and how to start over."""
    try:
        document = json.loads(text)
        if not isinstance(document, dict) or document.get("schemaVersion") != STATE_VERSION:
            raise ValueError(f"schemaVersion is not {STATE_VERSION}")
        stored_env = str(document.get("environment"))
        last_run = document.get("lastRun")
        state = State(
            stored_env,
            parse_time(str(last_run)) if last_run else None,
            {
                str(fp): Tracked.from_json(str(fp), data)
                for fp, data in (document.get("open") or {}).items()
            },
            {
                str(name): Notified(
                    parse_time(str(data["at"])), frozenset(map(str, data["fingerprints"]))
                )
                for name, data in (document.get("notified") or {}).items()
            },
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InputError(f"{where}: not a drift state ({_short(exc)}); {fix}") from None
    if stored_env != environment:
        raise InputError(
            f"{where}: holds the state of environment {stored_env!r}, not {environment!r}; {fix}"
        )
    return state


def _short(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"no key {exc}"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


@dataclass(frozen=True)
class Changes:
    """This run against the previous one."""

    now: datetime
    previous_run: datetime | None
    # every finding of this run: fingerprint -> first seen (now, for a new one)
    first_seen: Mapping[str, datetime]
    new: frozenset[str]
    resolved: tuple[Tracked, ...]
    # open before, not seen now, in an audit that did not finish: not called resolved
    unjudged: tuple[Tracked, ...] = ()

    def open_seconds(self, fp: str) -> int:
        return int((self.now - self.first_seen[fp]).total_seconds())

    def of(self, finding: Finding) -> tuple[str, datetime, bool]:
        """(fingerprint, first seen, new?) of one finding of this run."""
        fp = fingerprint(finding)
        return fp, self.first_seen[fp], fp in self.new

    @property
    def changed(self) -> bool:
        return bool(self.new or self.resolved)

    @property
    def noteworthy(self) -> bool:
        """Anything for a person to read: open, resolved or unjudged findings (a clean
        environment that stays clean says nothing about runs)."""
        return bool(self.first_seen or self.resolved or self.unjudged)


def compare(previous: State | None, result: AuditResult, moment: datetime) -> tuple[Changes, State]:
    """What is new, resolved and how old, and the state to store after this run."""
    before = previous.open if previous is not None else {}
    current: dict[str, Tracked] = {}
    for finding in result.findings:
        fp = fingerprint(finding)
        if fp not in current:
            old = before.get(fp)
            current[fp] = Tracked.of(finding, old.first_seen if old else moment)
    gone = [before[fp] for fp in sorted(before) if fp not in current]
    # An audit that could not look everywhere (a type forbidden, the server gone) cannot tell
    # a resolved finding from one it did not see: those stay open, unjudged.
    incomplete = bool(result.errors or result.stopped)
    unjudged = tuple(gone) if incomplete else ()
    resolved = () if incomplete else tuple(gone)
    changes = Changes(
        now=moment,
        previous_run=previous.last_run if previous is not None else None,
        first_seen={fp: t.first_seen for fp, t in current.items()},
        new=frozenset(fp for fp in current if fp not in before),
        resolved=resolved,
        unjudged=unjudged,
    )
    state = State(
        result.environment,
        moment,
        {**current, **{t.fingerprint: t for t in unjudged}},
        dict(previous.notified) if previous is not None else {},
    )
    return changes, state


def age(seconds: int) -> str:
    """A person's idea of how long: ``<1m``, ``45m``, ``3h 5m``, ``2d 4h``."""
    minutes = max(seconds, 0) // 60
    if minutes < 1:
        return "<1m"
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h" if hours else f"{days}d"
