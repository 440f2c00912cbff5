"""drift's metrics and stale verdicts, on the real API server and a real Pushgateway.

* ``-o openmetrics`` and ``--pushgateway`` carry the same numbers as the JSON report of the same
  run: findings by (rule, severity, type), objects audited, API requests, the exit code, the
  last success; the Pushgateway's group is replaced by each run (a resolved finding's series is
  gone), and a push that fails is one line on stderr while the exit code stays the audit's.
* ``argo/stale-verdict``: an Application whose ``status.reconciledAt`` is older than the
  threshold (``--stale-after``, ``drift.staleAfter``, else 3 × (argocd-cm's
  ``timeout.reconciliation`` + its jitter), else 3 × (180 s + 60 s)) is reported with its age
  and the threshold; a fresh one is not.
"""

from __future__ import annotations

import json
import socket
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.drift_support import Kube, write_manifests
from tests.helpers import copy_aether, run_cli
from tests.metrics_support import PREFIX, assert_series_match_report, from_openmetrics, series
from tests.testenv.pushgateway import Pushgateway

pytestmark = pytest.mark.cluster

SHA = "c" * 40


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return copy_aether(tmp_path / "aether")


def _config_map(namespace: str, name: str, mode: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": {"mode": mode},
    }


def _drifted(kubeconfig: Path, namespace: str, tmp_path: Path) -> tuple[Path, list[Any]]:
    """A ConfigMap changed by hand and one never created: two findings of two rules."""
    objects = [_config_map(namespace, "present", "desired"), _config_map(namespace, "absent", "x")]
    kube = Kube(kubeconfig)
    try:
        kube.client_side_apply(_config_map(namespace, "present", "changed-by-hand"))
    finally:
        kube.close()
    return write_manifests(tmp_path / "m", objects), objects


def _drift(repo: Path, kubeconfig: Path, manifests: Path, namespace: str, *args: str, expect: int):  # type: ignore[no-untyped-def]
    return run_cli(
        "drift",
        "dev",
        "--manifests",
        str(manifests),
        "-n",
        namespace,
        "--kubeconfig",
        str(kubeconfig),
        *args,
        repo=repo,
        expect=expect,
    )


def test_openmetrics_carries_the_json_reports_numbers(
    kubeconfig: Path, namespace: str, repo: Path, tmp_path: Path
) -> None:
    manifests, _ = _drifted(kubeconfig, namespace, tmp_path)
    both = _drift(
        repo, kubeconfig, manifests, namespace, "-o", "json", "-o", "openmetrics", expect=1
    )
    report, end = json.JSONDecoder().raw_decode(both.stdout)
    exposition = both.stdout[end:].lstrip("\n")
    assert exposition.endswith("# EOF\n")
    assert {f["rule"] for f in report["findings"]} == {
        "drift/field-modified",
        "drift/object-missing",
    }
    assert_series_match_report(from_openmetrics(exposition), report, exit_code=1)

    # --fail-on never: the exit code (and its series) is 0, the findings are still there
    quiet = _drift(
        repo, kubeconfig, manifests, namespace, "-o", "openmetrics", "--fail-on", "never", expect=0
    )
    samples = from_openmetrics(quiet.stdout)
    assert series(samples, f"{PREFIX}_exit_code") == {("dev",): 0.0}
    assert sum(series(samples, f"{PREFIX}_findings").values()) == 2


def test_pushgateway_holds_what_the_json_report_says_and_each_run_replaces_it(
    kubeconfig: Path, namespace: str, repo: Path, tmp_path: Path, pushgateway: Pushgateway
) -> None:
    manifests, objects = _drifted(kubeconfig, namespace, tmp_path)
    first = _drift(
        repo,
        kubeconfig,
        manifests,
        namespace,
        "-o",
        "json",
        "--pushgateway",
        pushgateway.url,
        expect=1,
    )
    assert "error" not in first.stderr
    assert f"metrics pushed to {pushgateway.url}" in first.stderr
    report = json.loads(first.stdout)
    (group,) = pushgateway.groups()
    assert group["labels"] == {"job": "gitops_gen_drift", "environment": "dev"}
    assert_series_match_report(pushgateway.samples(), report, exit_code=1)
    # What Prometheus scrapes from the gateway carries the same series.
    scraped = [
        ln for ln in pushgateway.exposition().splitlines() if ln.startswith(f"{PREFIX}_findings{{")
    ]
    assert len(scraped) == 2 and all('job="gitops_gen_drift"' in ln for ln in scraped)

    # The drift is repaired: the next run's push replaces the group, no finding series remain.
    kube = Kube(kubeconfig)
    try:
        live = kube.get(objects[0])
        live["data"] = {"mode": "desired"}
        kube.put(live)
        kube.create(objects[1])
    finally:
        kube.close()
    second = _drift(
        repo,
        kubeconfig,
        manifests,
        namespace,
        "-o",
        "json",
        "--pushgateway",
        pushgateway.url,
        expect=0,
    )
    clean = json.loads(second.stdout)
    assert clean["findings"] == []
    samples = pushgateway.samples()
    assert_series_match_report(samples, clean, exit_code=0)
    assert series(samples, f"{PREFIX}_findings") == {}
    assert len(pushgateway.groups()) == 1


def _errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error")]


def test_a_push_that_fails_does_not_hide_the_audit_result(
    kubeconfig: Path, namespace: str, repo: Path, tmp_path: Path, pushgateway: Pushgateway
) -> None:
    manifests, _ = _drifted(kubeconfig, namespace, tmp_path)
    expected = _drift(repo, kubeconfig, manifests, namespace, "-o", "json", expect=1)

    with socket.socket() as held:  # bound, never listening: refused, and nobody else's
        held.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{held.getsockname()[1]}"
        refused = _drift(
            repo, kubeconfig, manifests, namespace, "-o", "json", "--pushgateway", closed, expect=1
        )
    assert json.loads(refused.stdout)["findings"] == json.loads(expected.stdout)["findings"]
    assert _errors(refused.stderr) == [
        f"error: metrics not pushed to {closed}: [Errno 111] Connection refused"
    ]

    # The gateway answers, but not at that path (a URL with a wrong prefix): its HTTP status,
    # the same exit code.
    wrong = f"{pushgateway.url}/no-such-prefix"
    rejected = _drift(repo, kubeconfig, manifests, namespace, "--pushgateway", wrong, expect=1)
    assert _errors(rejected.stderr) == [
        f"error: metrics not pushed to {wrong}: HTTP 404 Not Found: 404 page not found"
    ]
    assert pushgateway.groups() == []

    # Another job pushed a series of the same name as a counter: the gateway refuses ours (400)
    # and says why.
    other = urllib.request.Request(  # noqa: S310 - the test's own gateway
        f"{pushgateway.url}/metrics/job/other",
        data=b"# TYPE gitops_gen_drift_exit_code counter\ngitops_gen_drift_exit_code 3\n",
        method="PUT",
    )
    urllib.request.urlopen(other, timeout=10).close()  # noqa: S310
    refused_by_gateway = _drift(
        repo, kubeconfig, manifests, namespace, "--pushgateway", pushgateway.url, expect=1
    )
    (line,) = _errors(refused_by_gateway.stderr)
    assert line.startswith(
        f"error: metrics not pushed to {pushgateway.url}: HTTP 400 Bad Request: pushed metrics "
        "are invalid or inconsistent with existing metrics"
    ), line
    # The gateway keeps only the failure's time for our group, none of its series.
    ours = [g for g in pushgateway.groups() if g["labels"]["job"] == "gitops_gen_drift"]
    assert all(f"{PREFIX}_findings" not in group for group in ours)


def test_a_pushgateway_that_is_not_a_url_is_refused_before_the_audit(
    kubeconfig: Path, namespace: str, repo: Path, tmp_path: Path
) -> None:
    manifests = write_manifests(tmp_path / "m", [_config_map(namespace, "x", "y")])
    result = _drift(
        repo, kubeconfig, manifests, namespace, "--pushgateway", "pushgateway:9091", expect=2
    )
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "error: --pushgateway 'pushgateway:9091': not an http(s) URL; pass e.g. "
        "http://pushgateway:9091"
    ]
    # Credentials would be on the command line (and in the CronJob's args): refused, unechoed.
    secret = "http://user:s3cret@127.0.0.1:9091"
    result = _drift(repo, kubeconfig, manifests, namespace, "--pushgateway", secret, expect=2)
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "error: --pushgateway http://127.0.0.1:9091: a user or password in the URL is not "
        "supported (it would show on the command line); use a gateway reachable without one"
    ]


# --------------------------------------------------------------------------------------------
# Stale verdicts
# --------------------------------------------------------------------------------------------


def _application(namespace: str, name: str) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "project": "default",
            "source": {
                "repoURL": "https://git.example.com/gitops.git",
                "targetRevision": SHA,
                "path": f"apps/{name}",
            },
            "destination": {"server": "https://kubernetes.default.svc", "namespace": namespace},
        },
    }


def _stamp(age: timedelta) -> str:
    return (datetime.now(UTC) - age).strftime("%Y-%m-%dT%H:%M:%SZ")


def _applications(
    kubeconfig: Path, namespace: str, tmp_path: Path, ages: dict[str, timedelta]
) -> Path:
    """Applications Argo CD compared (Synced, Healthy, this spec) `ages` ago, as it writes them."""
    objects = [_application(namespace, name) for name in ages]
    kube = Kube(kubeconfig)
    try:
        for obj, age in zip(objects, ages.values(), strict=True):
            kube.create(obj)
            live = kube.get(obj)
            live["status"] = {
                "sync": {
                    "status": "Synced",
                    "comparedTo": {
                        "source": obj["spec"]["source"],
                        "destination": obj["spec"]["destination"],
                    },
                    "revision": SHA,
                },
                "health": {"status": "Healthy"},
                "reconciledAt": _stamp(age),
            }
            kube.put(live)
    finally:
        kube.close()
    return write_manifests(tmp_path / "apps", objects)


def _stale(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["ref"]["name"]: f for f in report["findings"] if f["rule"] == "argo/stale-verdict"}


def test_an_application_reconciled_too_long_ago_is_a_stale_verdict(
    kubeconfig: Path, namespace: str, repo: Path, tmp_path: Path
) -> None:
    manifests = _applications(
        kubeconfig,
        namespace,
        tmp_path,
        {"frozen": timedelta(hours=1, minutes=5), "fresh": timedelta(seconds=20)},
    )
    report = json.loads(
        _drift(repo, kubeconfig, manifests, namespace, "-o", "json", expect=1).stdout
    )
    # Only the stale verdict: the rest of both Applications' status is clean.
    assert [(f["ref"]["name"], f["rule"]) for f in report["findings"]] == [
        ("frozen", "argo/stale-verdict")
    ]
    finding = _stale(report)["frozen"]
    assert finding["severity"] == "high"
    assert finding["path"] == "/status/reconciledAt"
    assert finding["desired"] == "within 12m"
    assert finding["message"].startswith("Argo CD last reconciled this Application 1h5m")
    assert (
        "more than the 12m allowed (3 × (Argo CD's default resync 3m + jitter 1m))"
        in finding["message"]
    )

    # --stale-after wins over the default: two hours is not exceeded, one minute is by both.
    relaxed = _drift(
        repo, kubeconfig, manifests, namespace, "-o", "json", "--stale-after", "2h", expect=0
    )
    assert json.loads(relaxed.stdout)["findings"] == []
    strict = json.loads(
        _drift(
            repo, kubeconfig, manifests, namespace, "-o", "json", "--stale-after", "10s", expect=1
        ).stdout
    )
    assert set(_stale(strict)) == {"frozen", "fresh"}
    assert "(--stale-after)" in _stale(strict)["fresh"]["message"]

    bad = _drift(repo, kubeconfig, manifests, namespace, "--stale-after", "soon", expect=2)
    assert bad.stdout == ""
    assert bad.stderr.strip().splitlines() == [
        "error: --stale-after 'soon': not a duration; pass e.g. 9m, 1h or 540s"
    ]


def test_the_threshold_follows_drift_stale_after_then_argocd_cm(
    kubeconfig: Path, namespace: str, repo: Path, tmp_path: Path
) -> None:
    manifests = _applications(
        kubeconfig, namespace, tmp_path, {"five-minutes": timedelta(minutes=5)}
    )
    # Under the default (3 × (180 s + 60 s jitter)) five minutes is fresh.
    run = _drift(repo, kubeconfig, manifests, namespace, "-o", "json", expect=0)
    assert json.loads(run.stdout)["findings"] == []

    # argocd-cm says the controller resyncs every 60 s without jitter: three minutes allowed.
    kube = Kube(kubeconfig)
    try:
        kube.create(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "argocd-cm", "namespace": namespace},
                "data": {"timeout.reconciliation": "60s", "timeout.reconciliation.jitter": "0s"},
            }
        )
    finally:
        kube.close()
    report = json.loads(
        _drift(repo, kubeconfig, manifests, namespace, "-o", "json", expect=1).stdout
    )
    message = _stale(report)["five-minutes"]["message"]
    assert (
        "more than the 3m allowed (3 × (argocd-cm timeout.reconciliation 1m + jitter 0s))"
        in message
    )

    # The environment's drift.staleAfter wins over argocd-cm.
    env_file = repo / "environments" / "dev.yaml"
    env_file.write_text(
        env_file.read_text().replace(
            'drift: {schedule: "0 * * * *"}', 'drift: {schedule: "0 * * * *", staleAfter: 10m}'
        )
    )
    run = _drift(repo, kubeconfig, manifests, namespace, "-o", "json", expect=0)
    assert json.loads(run.stdout)["findings"] == []
    env_file.write_text(env_file.read_text().replace("staleAfter: 10m", "staleAfter: 4m"))
    report = json.loads(
        _drift(repo, kubeconfig, manifests, namespace, "-o", "json", expect=1).stdout
    )
    assert "(drift.staleAfter of dev)" in _stale(report)["five-minutes"]["message"]
