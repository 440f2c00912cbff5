"""The pure parts of drift's metrics, stale verdicts and the rendered alert rules (no cluster)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from gitops_gen.drift import argo, metrics
from gitops_gen.drift.desired import from_render
from gitops_gen.drift.findings import (
    AuditedObject,
    AuditResult,
    Finding,
    FindingType,
    ObjectRef,
    Severity,
)
from gitops_gen.durations import format_duration, parse_duration
from gitops_gen.errors import InputError
from gitops_gen.model import load_platform
from gitops_gen.render.alerts import schedule_interval
from tests.helpers import copy_aether, run_cli, tree_digest

APP = ObjectRef("argoproj.io", "v1alpha1", "Application", "argocd", "dev-web")
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("schedule", "seconds"),
    [
        ("*/15 * * * *", 900),
        ("0 * * * *", 3600),
        ("*/30 * * * *", 1800),
        ("@daily", 86400),
        ("0 9 * * 1-5", 3 * 86400),  # Friday 09:00 to Monday 09:00
        ("0 9 * * mon-fri", 3 * 86400),
        ("0 3 1 * *", 31 * 86400),  # the longest month
        ("0 0 1,15 * mon", 7 * 86400),  # day 1 or 15 OR Monday (cron's rule)
        ("0 8,20 * * *", 12 * 3600),
        ("0 6,7 * * *", 23 * 3600),  # uneven: the night's gap counts
    ],
)
def test_the_schedules_longest_gap_between_runs(schedule: str, seconds: int) -> None:
    assert schedule_interval(schedule, "here") == seconds


@pytest.mark.parametrize("schedule", ["61 * * * *", "every hour", "0 0 31 2 *"])
def test_a_schedule_that_is_not_cron_or_never_runs_is_input_error(schedule: str) -> None:
    with pytest.raises(InputError, match=r"^environments/x.yaml: drift.schedule: '"):
        schedule_interval(schedule, "environments/x.yaml: drift.schedule")


def test_durations_read_and_written() -> None:
    assert parse_duration("9m") == 540
    assert parse_duration("1h30m") == 5400
    assert parse_duration("180s") == 180
    assert parse_duration("180") == 180
    assert parse_duration("2d") == 172800
    assert parse_duration("soon") is None
    assert parse_duration("9x") is None
    assert parse_duration("") is None
    assert [format_duration(s) for s in (0, 45, 540, 3900, 90061)] == [
        "0s",
        "45s",
        "9m",
        "1h5m",
        "1d1h1m1s",
    ]


def _live(reconciled: str | None) -> dict[str, object]:
    status: dict[str, object] = {"sync": {"status": "Synced"}}
    if reconciled is not None:
        status["reconciledAt"] = reconciled
    return {"status": status}


def test_stale_verdict_says_the_age_and_the_threshold() -> None:
    threshold = argo.default_threshold(None)
    assert threshold is not None and threshold.seconds == 720
    old = (NOW - timedelta(minutes=47)).strftime("%Y-%m-%dT%H:%M:%SZ")
    finding = argo.stale_finding(APP, _live(old), "dev-web", threshold, NOW)
    assert finding is not None
    assert (finding.rule, finding.severity, finding.type) == (
        "argo/stale-verdict",
        Severity.HIGH,
        FindingType.MODIFIED,
    )
    assert (finding.path, finding.desired, finding.live) == (
        "/status/reconciledAt",
        "within 12m",
        old,
    )
    assert finding.message == (
        "Argo CD last reconciled this Application 47m ago, more than the 12m allowed "
        "(3 × (Argo CD's default resync 3m + jitter 1m)): its sync and health status are "
        "stale; check that the application controller runs"
    )
    fresh = (NOW - timedelta(minutes=11)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert argo.stale_finding(APP, _live(fresh), "dev-web", threshold, NOW) is None
    # no reconciledAt (argo/not-reconciled says so) or not a time: not judged here
    assert argo.stale_finding(APP, _live(None), "dev-web", threshold, NOW) is None
    assert argo.stale_finding(APP, _live("yesterday"), "dev-web", threshold, NOW) is None


def test_the_default_threshold_follows_argocd_cm() -> None:
    def cm(value: str, jitter: str | None = None) -> dict[str, object]:
        data = {"timeout.reconciliation": value}
        if jitter is not None:
            data["timeout.reconciliation.jitter"] = jitter
        return {"data": data}

    two = argo.default_threshold(cm("2m"))
    assert two is not None and (two.seconds, two.source) == (
        540,
        "3 × (argocd-cm timeout.reconciliation 2m + jitter 1m)",
    )
    no_jitter = argo.default_threshold(cm("2m", "0s"))
    assert no_jitter is not None and no_jitter.seconds == 360
    # resync turned off: nothing refreshes a verdict on a timer, so no default threshold
    assert argo.default_threshold(cm("0")) is None
    assert argo.default_threshold(cm("0s")) is None
    unreadable = argo.default_threshold(cm("often"))
    assert unreadable is not None and unreadable.seconds == 720


def _result(*findings: Finding) -> AuditResult:
    ref = ObjectRef("", "v1", "ConfigMap", "shop", "a")
    return AuditResult("dev", [AuditedObject(ref)], list(findings), api_requests=7)


def _finding(rule: str, kind: FindingType, severity: Severity) -> Finding:
    return Finding(
        ObjectRef("", "v1", "ConfigMap", "shop", "a"), kind, "/data/x", 1, 2, severity, rule
    )


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_openmetrics_counts_findings_by_rule_severity_and_type() -> None:
    result = _result(
        _finding("drift/field-modified", FindingType.MODIFIED, Severity.MEDIUM),
        _finding("drift/field-modified", FindingType.MODIFIED, Severity.MEDIUM),
        _finding("audit/forbidden", FindingType.ERROR, Severity.HIGH),
    )
    text = metrics.to_openmetrics(result, metrics.RunInfo(2.5, 2, 1_764_590_400.0))
    assert text.endswith("# EOF\n")
    samples = _samples(text)
    env = ("environment", "dev")
    assert (
        samples[
            (
                "gitops_gen_drift_findings",
                (
                    env,
                    ("rule", "drift/field-modified"),
                    ("severity", "medium"),
                    ("type", "modified"),
                ),
            )
        ]
        == 2
    )
    assert (
        samples[
            (
                "gitops_gen_drift_findings",
                (env, ("rule", "audit/forbidden"), ("severity", "high"), ("type", "error")),
            )
        ]
        == 1
    )
    assert samples[("gitops_gen_drift_api_requests", (env,))] == 7
    assert samples[("gitops_gen_drift_objects_audited", (env,))] == 1
    assert samples[("gitops_gen_drift_exit_code", (env,))] == 2
    assert samples[("gitops_gen_drift_last_run_timestamp_seconds", (env,))] == 1_764_590_400.0
    # exit 2: the audit did not complete, so no success is recorded
    assert ("gitops_gen_drift_last_success_timestamp_seconds", (env,)) not in samples
    ok = _samples(metrics.to_openmetrics(_result(), metrics.RunInfo(1.0, 0, 1_764_590_400.0)))
    assert ok[("gitops_gen_drift_last_success_timestamp_seconds", (env,))] == 1_764_590_400.0
    assert not any(name == "gitops_gen_drift_findings" for name, _ in ok)


def test_staging_renders_the_pushgateway_argument_and_its_alert_rules(tmp_path: Path) -> None:
    repo = copy_aether(tmp_path / "aether")
    run_cli("render", repo=repo, expect=0)
    audit = repo / "clusters" / "staging-eu1" / "audit" / "staging"
    cronjob = yaml.safe_load((audit / "cronjob.yaml").read_text())
    args = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[-2:] == ["--pushgateway", "http://pushgateway.monitoring.svc:9091"]
    rules_text = (audit / "prometheus-rules.yaml").read_text()
    rules = yaml.safe_load(rules_text)
    (group,) = rules["groups"]
    persists, missing = group["rules"]
    assert persists["alert"] == "GitopsGenDriftPersists"
    assert persists["for"] == "45m"  # */30: 30 min between runs + the job's 15 min deadline
    assert 'type!="error"' in persists["expr"] and "< 2700" in persists["expr"]
    assert missing["alert"] == "GitopsGenDriftAuditMissing"
    assert "[1h]" in missing["expr"] and "> 3600" in missing["expr"]  # twice 30 min
    assert 'environment="staging"' in missing["expr"]
    # Argo CD syncs the folder and skips the file only while it does not look like a manifest.
    assert not all(word in rules_text for word in ("apiVersion:", "kind:", "metadata:"))
    # drift audits objects, not this file
    sources = {item.source for item in from_render(load_platform(repo), "staging").objects}
    assert not any(source.endswith("prometheus-rules.yaml") for source in sources)
    # dev (and prod) push nowhere: no argument, no rules
    dev = repo / "clusters" / "dev-eu1" / "audit" / "dev"
    assert "--pushgateway" not in (dev / "cronjob.yaml").read_text()
    assert not (dev / "prometheus-rules.yaml").exists()


def test_a_bad_schedule_with_a_pushgateway_is_one_line_and_nothing_written(
    tmp_path: Path,
) -> None:
    repo = copy_aether(tmp_path / "aether")
    env_file = repo / "environments" / "staging.yaml"
    env_file.write_text(
        env_file.read_text().replace('schedule: "*/30 * * * *"', 'schedule: "0 0 31 2 *"')
    )
    before = tree_digest(repo)
    result = run_cli("render", repo=repo, expect=2)
    assert result.stderr.strip().splitlines() == [
        "error: environments/staging.yaml: drift.schedule: '0 0 31 2 *' never runs; fix the day "
        "and month fields"
    ]
    assert tree_digest(repo) == before
