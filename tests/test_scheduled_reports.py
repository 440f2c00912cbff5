"""Issue 14's whole scenario, as the cluster runs it: the rendered CronJob's processes (clone of
a private repository, audit as the audit ServiceAccount, report ConfigMap), with the issue
tracker and the Pushgateway the environment file names. Four scheduled runs against one
environment: drift appears (one issue opened), a finding is added (the same issue updated once),
nothing changes (nothing sent), the drift is repaired (the issue closed). After every run the
Pushgateway holds exactly what that run's JSON report says."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitops_gen.model import load_platform
from tests.audit_job import JobRun, Scheduled, scheduled_environment
from tests.drift_support import CANARY_PASSWORD, ENV
from tests.metrics_support import assert_series_match_report
from tests.testenv.pushgateway import Pushgateway
from tests.testenv.receivers import GitHubIssues

pytestmark = pytest.mark.cluster

CLONE_TOKEN = "canary-clone-token-5e0b7d"
ISSUE_TOKEN = "canary-issue-token-c41f92"
PROJECT = "acme/aether-gitops"


@pytest.fixture
def tracker() -> Iterator[GitHubIssues]:
    with GitHubIssues(ISSUE_TOKEN, project=PROJECT) as forge:
        yield forge


@pytest.fixture
def scheduled(
    kubeconfig: Path, tmp_path: Path, tracker: GitHubIssues, pushgateway: Pushgateway
) -> Iterator[Scheduled]:
    def configure(repo: Path) -> None:
        # What a team writes in environments/dev.yaml: the tracker and the gateway, the token
        # by Secret reference only.
        env_file = repo / "environments" / f"{ENV}.yaml"
        target = (
            f"{{name: tracker, type: github, project: {PROJECT}, apiUrl: '{tracker.url}', "
            "token: {secret: drift-notify, key: token}}"
        )
        text = env_file.read_text()
        assert text.count("drift: {") == 1
        env_file.write_text(
            text.replace(
                "drift: {",
                f"drift: {{notify: {{targets: [{target}]}}, pushgateway: '{pushgateway.url}', ",
            )
        )

    with scheduled_environment(
        kubeconfig, tmp_path, token=CLONE_TOKEN, edit=configure
    ) as environment:
        environment.kube.create(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "drift-notify", "namespace": environment.namespace},
                "stringData": {"token": ISSUE_TOKEN},
            }
        )
        yield environment


def _secret_ref(scheduled: Scheduled, name: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": scheduled.namespace},
    }


def _remove_key(scheduled: Scheduled, name: str, key: str) -> None:
    scheduled.kube.json_patch(
        _secret_ref(scheduled, name), [{"op": "remove", "path": f"/data/{key}"}]
    )


def _restore_key(scheduled: Scheduled, name: str, key: str) -> None:
    # A merge patch: removing a Secret's only key removed its `data` map too.
    scheduled.kube.live.request(
        "PATCH",
        f"/api/v1/namespaces/{scheduled.namespace}/secrets/{name}",
        "patch",
        body={"stringData": {key: f"{CANARY_PASSWORD}-{key}"}},
        content_type="application/merge-patch+json",
    )


def _run(scheduled: Scheduled, pushgateway: Pushgateway) -> tuple[JobRun, dict[str, object]]:
    """One scheduled run; its stored JSON report, after checking the gateway agrees with it."""
    run = scheduled.run()
    assert run.exit_code == 0, run.output  # --fail-on never: drift is reported, not failed
    assert "error" not in run.audit.stderr.lower(), run.output  # the push and the notice worked
    assert run.report is not None
    report = json.loads(run.report["report.json"])
    assert_series_match_report(pushgateway.samples(), report, run.audit.exit_code)
    everything = run.output + json.dumps(run.report) + json.dumps(pushgateway.groups())
    for canary in (CLONE_TOKEN, ISSUE_TOKEN, CANARY_PASSWORD):
        assert canary not in everything, canary
    return run, report


def _rules(report: dict[str, object]) -> list[tuple[str, str]]:
    findings = report["findings"]
    assert isinstance(findings, list)
    return sorted((f["ref"]["name"], f["rule"]) for f in findings)


def test_scheduled_runs_open_update_and_close_one_issue_and_push_what_they_report(
    scheduled: Scheduled, tracker: GitHubIssues, pushgateway: Pushgateway
) -> None:
    first, second = load_platform(scheduled.repo).environment(ENV).required_secrets[:2]

    # Run 1: a required key is missing. One issue is opened for the environment.
    _remove_key(scheduled, first.name, first.keys[0])
    _, report = _run(scheduled, pushgateway)
    assert _rules(report) == [(first.name, "secrets/key-missing")]
    assert [i.state for i in tracker.issues.values()] == ["open"]
    (issue,) = tracker.issues.values()
    assert issue.title == f"Drift in environment {ENV}"
    assert first.name in issue.text and issue.comments == []
    created = [r for r in tracker.requests if r.method == "POST"]
    assert len(created) == 1

    # Run 2: a second finding. The same issue is updated in place: its body, one comment.
    _remove_key(scheduled, second.name, second.keys[0])
    seen = len(tracker.requests)
    _, report = _run(scheduled, pushgateway)
    assert _rules(report) == sorted(
        [(first.name, "secrets/key-missing"), (second.name, "secrets/key-missing")]
    )
    assert list(tracker.issues) == [issue.number] and issue.state == "open"
    assert second.name in issue.text and len(issue.comments) == 1
    assert second.name in issue.comments[0]
    assert not [
        r for r in tracker.requests[seen:] if r.method == "POST" and r.path.endswith("/issues")
    ], "a second issue was opened"

    # Run 3: nothing changed. Nothing is sent (the reminder is 24 h away).
    seen = len(tracker.requests)
    _run(scheduled, pushgateway)
    assert tracker.requests[seen:] == []
    assert len(issue.comments) == 1

    # Run 4: repaired. The issue is closed, and the gateway holds no finding series.
    _restore_key(scheduled, first.name, first.keys[0])
    _restore_key(scheduled, second.name, second.keys[0])
    _, report = _run(scheduled, pushgateway)
    assert _rules(report) == []
    assert list(tracker.issues) == [issue.number] and issue.state == "closed"
    assert len(issue.comments) == 2
    assert not [s for s in pushgateway.samples() if s[0] == "gitops_gen_drift_findings"]
    assert tracker.problems == []
