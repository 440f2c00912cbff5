"""The example alert rules for the scheduled audit's metrics (``drift.pushgateway``).

A plain Prometheus rules file, ``clusters/<cluster>/audit/<env>/prometheus-rules.yaml``: load it
with Prometheus' ``rule_files`` (or paste its ``groups`` into a PrometheusRule). It is not a
Kubernetes object, so Argo CD's directory source skips it (a YAML file without ``apiVersion:``,
``kind:`` and ``metadata:`` is "an unrelated YAML file") and drift does not audit it; a
PrometheusRule would need the prometheus-operator's CRD in every cluster.

Two alerts, with durations computed from the CronJob's schedule (its longest gap between runs):

* drift present for two runs: non-error findings > 0 continuously for one interval plus the
  job's deadline, while the last run is that recent (so the second run has pushed, and found
  drift too: a clean run replaces the group and ends the condition);
* no successful audit in twice the interval (a run that errs pushes no success timestamp).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from itertools import pairwise
from typing import Final

from croniter import croniter
from croniter.croniter import CroniterError

from gitops_gen.drift.metrics import JOB, PREFIX
from gitops_gen.durations import format_duration
from gitops_gen.errors import InputError
from gitops_gen.model import Environment

ALERTS_FILE: Final = "prometheus-rules.yaml"
# The CronJob's activeDeadlineSeconds: the latest a run can push after its scheduled time.
JOB_DEADLINE_S: Final = 900
# Four years from a fixed day: every weekday/month-day combination, leap day included, and the
# same answer on every render.
_FIRST_DAY: Final = date(2025, 1, 1)
_DAYS: Final = 4 * 366


@dataclass(frozen=True)
class AlertRules:
    environment: str
    job: str
    prefix: str
    interval: str  # the schedule's longest gap between two runs
    drift_for: str  # interval + the job's deadline
    audit_window: str  # twice the interval
    drift_for_seconds: int
    audit_window_seconds: int


def schedule_interval(schedule: str, where: str) -> int:
    """The longest time in seconds between two runs of a 5-field cron `schedule` (UTC).

    The fields are parsed by croniter; the gaps are computed from the expanded fields (times of
    day on matching days), so an irregular schedule (weekdays only) gives its longest gap.
    """
    try:
        fields, _ = croniter.expand(schedule)
    except (CroniterError, ValueError) as exc:
        raise InputError(f"{where}: {schedule!r} is not a cron schedule ({exc})") from None
    if len(fields) != 5:
        raise InputError(
            f"{where}: {schedule!r}: write five fields (minute hour day month weekday)"
        )

    def values(field: list[int | str], full: range) -> list[int]:
        if field == ["*"]:
            return list(full)
        if not all(isinstance(v, int) for v in field):
            raise InputError(f"{where}: {schedule!r}: only numbers, ranges, steps and names")
        return sorted({int(v) for v in field})

    minutes, hours = values(fields[0], range(60)), values(fields[1], range(24))
    days, months = set(values(fields[2], range(1, 32))), set(values(fields[3], range(1, 13)))
    weekdays = {d % 7 for d in values(fields[4], range(7))}
    any_day, any_weekday = fields[2] == ["*"], fields[4] == ["*"]

    def runs_on(day: date) -> bool:
        if day.month not in months:
            return False
        by_day, by_weekday = day.day in days, (day.weekday() + 1) % 7 in weekdays
        if any_day or any_weekday:  # cron: both restricted means either one
            return by_day and by_weekday
        return by_day or by_weekday

    times = sorted(h * 3600 + m * 60 for h in hours for m in minutes)
    matching = [n for n in range(_DAYS) if runs_on(_FIRST_DAY + timedelta(days=n))]
    if not matching:
        raise InputError(f"{where}: {schedule!r} never runs; fix the day and month fields")
    gaps = [b - a for a, b in pairwise(times)]
    gaps += [(d2 - d1) * 86400 + times[0] - times[-1] for d1, d2 in pairwise(matching)]
    return max(gaps or [86400 * 365])


def alert_rules(env: Environment) -> AlertRules:
    interval = schedule_interval(
        env.drift.schedule, f"environments/{env.name}.yaml: drift.schedule"
    )
    return AlertRules(
        environment=env.name,
        job=JOB,
        prefix=PREFIX,
        interval=format_duration(interval),
        drift_for=format_duration(interval + JOB_DEADLINE_S),
        audit_window=format_duration(2 * interval),
        drift_for_seconds=interval + JOB_DEADLINE_S,
        audit_window_seconds=2 * interval,
    )
