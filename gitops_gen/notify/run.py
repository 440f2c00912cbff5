"""Send what is due to every target of an environment's ``drift.notify``, and record it.

Each target stands alone: one that fails is reported (one line, no secret) and retried on the
next run, because only a delivered notice is recorded in the state; the others still go out,
and the audit's own result and exit code are untouched. The forge targets go first, so the
webhook and Slack messages can link to the issue.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from gitops_gen.drift.findings import AuditResult
from gitops_gen.drift.history import Changes, State
from gitops_gen.durations import parse_duration
from gitops_gen.jsonhttp import HttpFailure
from gitops_gen.model.schema import Notify
from gitops_gen.notify import issue, slack, webhook
from gitops_gen.notify.delivery import Delivery, Status
from gitops_gen.notify.message import notice
from gitops_gen.notify.policy import due
from gitops_gen.notify.variables import variable

DEFAULT_TIMEOUT = 10.0


@dataclass(frozen=True)
class Run:
    """One run's facts, as every target sees them."""

    result: AuditResult
    changes: Changes
    previous: State | None
    report_markdown: str


def deliver(
    config: Notify,
    run: Run,
    state: State,
    *,
    environ: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> tuple[tuple[Delivery, ...], State]:
    """Every target's delivery, and the state with the delivered ones recorded."""
    env = os.environ if environ is None else environ
    # The schema admits only durations (schema.DURATION), so this always parses.
    remind = timedelta(seconds=parse_duration(config.remind_every) or 0)
    open_now = frozenset(state.open)
    known = run.previous.open if run.previous is not None else {}
    ordered = sorted(config.targets, key=lambda t: t.type not in ("github", "gitlab"))
    link: str | None = config.link
    deliveries: list[Delivery] = []
    for target in ordered:
        told = state.notified.get(target.name)
        event = due(told, open_now, run.changes.now, remind)
        if event is None:
            deliveries.append(
                Delivery(
                    target.name, target.type, Status.SKIPPED, "", "nothing new, no reminder due"
                )
            )
            continue
        secret = env.get(variable(target), "").strip()
        if not secret:
            ref = target.url or target.token
            where = f" (the CronJob sets it from Secret {ref.secret} key {ref.key})" if ref else ""
            deliveries.append(
                Delivery(
                    target.name,
                    target.type,
                    Status.FAILED,
                    event,
                    f"{variable(target)} is not set{where}",
                )
            )
            continue
        message = notice(
            event,
            run.result,
            run.changes,
            told.fingerprints if told is not None else frozenset(),
            open_now,
            known,
            run.report_markdown,
            link,
        )
        try:
            if target.type == "webhook":
                detail = webhook.send(message, secret, timeout=timeout)
            elif target.type == "slack":
                detail = slack.send(message, secret, timeout=timeout)
            else:
                forge = issue.Forge(
                    target.type, target.project or "", secret, target.api_url, timeout
                )
                detail = issue.send(message, forge)
                url = detail.rsplit(" ", 1)[-1]
                if url.startswith(("https://", "http://")) and config.link is None:
                    link = url
        except HttpFailure as exc:
            deliveries.append(Delivery(target.name, target.type, Status.FAILED, event, str(exc)))
            continue
        except (KeyError, TypeError, AttributeError):
            deliveries.append(
                Delivery(
                    target.name,
                    target.type,
                    Status.FAILED,
                    event,
                    "the receiver's answer is not what its API documents",
                )
            )
            continue
        deliveries.append(Delivery(target.name, target.type, Status.SENT, event, detail))
        state = state.with_notified(target.name, run.changes.now)
    order = {t.name: i for i, t in enumerate(config.targets)}
    return tuple(sorted(deliveries, key=lambda d: order[d.target])), state
