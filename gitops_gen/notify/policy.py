"""When a target is told something: on change, and again after ``remindEvery`` while drift
persists. Never on every run (DESIGN.md §7: a scheduled audit that finds nothing new says
nothing new)."""

from __future__ import annotations

from datetime import datetime, timedelta

from gitops_gen.drift.history import Notified


class Event:
    CHANGE = "change"  # findings were added or resolved, some remain open
    REMINDER = "reminder"  # nothing changed, drift persists, remindEvery has passed
    RESOLVED = "resolved"  # everything the target was told about is resolved: clean


def due(
    told: Notified | None, open_now: frozenset[str], now: datetime, remind_every: timedelta
) -> str | None:
    """The event to send to a target that was last ``told``; None when nothing is due."""
    before = told.fingerprints if told is not None else frozenset()
    if open_now != before:
        return Event.CHANGE if open_now else Event.RESOLVED
    if open_now and told is not None and now - told.at >= remind_every:
        return Event.REMINDER
    return None
