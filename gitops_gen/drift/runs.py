"""One audit as one run in a series: compare with the previous run's state, send the
notifications that are due, store the reports and the next state. Plain functions under the
drift command, so the order (compare → notify → store what was sent) is in one place."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gitops_gen.drift import history
from gitops_gen.drift.findings import AuditResult
from gitops_gen.drift.report import render
from gitops_gen.drift.state_store import StateStore
from gitops_gen.model.schema import Notify
from gitops_gen.notify import run as notify_run
from gitops_gen.notify.delivery import Delivery


@dataclass(frozen=True)
class FollowUp:
    changes: history.Changes | None = None
    deliveries: tuple[Delivery, ...] = ()


def follow_up(
    store: StateStore | None,
    result: AuditResult,
    moment: datetime,
    *,
    notify: Notify | None,
    stamp: str | None,
    notify_timeout: float,
) -> FollowUp:
    """What the reports add about the series; nothing without a store, or for an audit that
    stopped half-way (no run to compare: nothing is stored or sent)."""
    if store is None or result.stopped:
        return FollowUp()
    previous = store.load(result.environment)
    changes, state = history.compare(previous, result, moment)
    deliveries: tuple[Delivery, ...] = ()
    if notify is not None:
        markdown = render(result, "markdown", timestamp=stamp, changes=changes)
        deliveries, state = notify_run.deliver(
            notify,
            notify_run.Run(result, changes, previous, markdown),
            state,
            timeout=notify_timeout,
        )
    reports = {
        name: render(result, fmt, timestamp=stamp, changes=changes, deliveries=deliveries)
        for name, fmt in (("report.md", "markdown"), ("report.json", "json"))
    }
    store.save(state, reports)
    return FollowUp(changes, deliveries)
