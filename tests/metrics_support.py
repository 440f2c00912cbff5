"""Comparing drift's metrics with the JSON report of the same run (for any test that pushes).

``assert_series_match_report(samples, report, exit_code)`` takes series as
``(name, labels, value)`` — from ``Pushgateway.samples()`` or :func:`from_openmetrics` — and
the parsed ``drift -o json`` report, and checks every series the run produces (docs/drift.md,
"Metrics"). The ``job`` and ``instance`` labels the Pushgateway adds are ignored.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from prometheus_client.openmetrics.parser import text_string_to_metric_families

PREFIX = "gitops_gen_drift"
Sample = tuple[str, dict[str, str], float]


def from_openmetrics(text: str) -> list[Sample]:
    return [
        (sample.name, dict(sample.labels), float(sample.value))
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    ]


def series(samples: list[Sample], name: str) -> dict[tuple[str, ...], float]:
    """name's series by their label values, labels sorted by name (job/instance left out)."""
    return {
        tuple(v for k, v in sorted(labels.items()) if k not in ("job", "instance")): value
        for metric, labels, value in samples
        if metric == name
    }


def expected_findings(report: dict[str, Any]) -> dict[tuple[str, ...], float]:
    """``gitops_gen_drift_findings`` as the report says it: (environment, rule, severity, type)."""
    counts = Counter(
        (report["environment"], f["rule"], f["severity"], f["type"]) for f in report["findings"]
    )
    return {key: float(n) for key, n in counts.items()}


def assert_series_match_report(
    samples: list[Sample], report: dict[str, Any], exit_code: int
) -> None:
    """The series of one run say what the JSON report of the same run says."""
    env = report["environment"]
    assert series(samples, f"{PREFIX}_findings") == expected_findings(report)
    assert series(samples, f"{PREFIX}_objects_audited") == {
        (env,): float(report["summary"]["objects"])
    }
    assert series(samples, f"{PREFIX}_api_requests") == {
        (env,): float(report["summary"]["apiRequests"])
    }
    assert series(samples, f"{PREFIX}_exit_code") == {(env,): float(exit_code)}
    (duration,) = series(samples, f"{PREFIX}_audit_duration_seconds").values()
    assert 0 < duration < 900
    (last_run,) = series(samples, f"{PREFIX}_last_run_timestamp_seconds").values()
    assert abs(last_run - datetime.now(UTC).timestamp()) < 900
    success = series(samples, f"{PREFIX}_last_success_timestamp_seconds")
    assert success == ({(env,): last_run} if exit_code in (0, 1) else {})
