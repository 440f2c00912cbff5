"""Scheduled runs against the real API server: the state in the report ConfigMap, what is new
and resolved between runs, and the notifications that go out (and do not) on the way.

The clock is fixed per run with $GITOPS_GEN_NOW, so ages are exact; the receivers are the
loopback servers of tests/testenv/receivers.py.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.drift_support import CANARY_PASSWORD, Kube, drift_manifests, write_manifests
from tests.helpers import PROJECT_ROOT, Result, copy_aether
from tests.testenv.receivers import GitHubIssues, SlackReceiver, WebhookReceiver

pytestmark = pytest.mark.cluster

CANARY_TOKEN = "canary-forge-token-91c3a7"  # the forge token, the Slack path, the webhook password
ENV = "dev"


def _objects(namespace: str) -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "settings", "namespace": namespace},
            "data": {"mode": "fast"},
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "creds", "namespace": namespace},
            "stringData": {"password": CANARY_PASSWORD},
        },
    ]


class Scheduled:
    """One environment's scheduled audit, run by hand: same arguments as the CronJob's."""

    def __init__(
        self, kubeconfig: Path, namespace: str, repo: Path, manifests: Path, kube: Kube
    ) -> None:
        self.kubeconfig, self.namespace, self.repo = kubeconfig, namespace, repo
        self.manifests, self.kube = manifests, kube
        self.outputs: list[str] = []

    def run(self, at: str, *args: str, expect: int, monkeypatch: pytest.MonkeyPatch) -> Result:
        monkeypatch.setenv("GITOPS_GEN_NOW", at)
        result = drift_manifests(
            self.repo, self.manifests, self.namespace, self.kubeconfig, *args, expect=expect
        )
        self.outputs.append(result.output)
        return result

    def stored(self) -> dict[str, str]:
        data: dict[str, str] = self.kube.live.request(
            "GET",
            f"/api/v1/namespaces/{self.namespace}/configmaps/drift-report-{ENV}",
            "get",
        )["data"]
        return data


@pytest.fixture
def receivers() -> Iterator[tuple[GitHubIssues, SlackReceiver, WebhookReceiver]]:
    forge, slack, hook = (
        GitHubIssues(CANARY_TOKEN),
        SlackReceiver(CANARY_TOKEN),
        WebhookReceiver("gitops", CANARY_TOKEN),
    )
    with forge, slack, hook:
        yield forge, slack, hook


@pytest.fixture
def scheduled(
    kubeconfig: Path,
    namespace: str,
    tmp_path: Path,
    receivers: tuple[GitHubIssues, SlackReceiver, WebhookReceiver],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Scheduled]:
    forge, slack, hook = receivers
    repo = copy_aether(tmp_path / "repo")
    env_file = repo / "environments" / f"{ENV}.yaml"
    env_file.write_text(
        env_file.read_text().replace(
            'drift: {schedule: "0 * * * *"}',
            "drift:\n"
            '  schedule: "0 * * * *"\n'
            "  notify:\n"
            "    remindEvery: 24h\n"
            "    targets:\n"
            "      - {name: tracker, type: github, project: acme/aether-gitops,\n"
            f"         apiUrl: '{forge.url}', token: {{secret: drift-notify, key: token}}}}\n"
            "      - {name: ops-chat, type: slack, url: {secret: drift-notify, key: slack}}\n"
            "      - {name: hooks, type: webhook, url: {secret: drift-notify, key: hook}}\n",
        )
    )
    monkeypatch.setenv("GITOPS_GEN_NOTIFY_TRACKER_TOKEN", CANARY_TOKEN)
    monkeypatch.setenv("GITOPS_GEN_NOTIFY_OPS_CHAT_URL", slack.hook_url())
    monkeypatch.setenv("GITOPS_GEN_NOTIFY_HOOKS_URL", hook.url_with_credentials())
    objects = _objects(namespace)
    kube = Kube(kubeconfig)
    try:
        for obj in objects:
            kube.client_side_apply(obj)
        yield Scheduled(kubeconfig, namespace, repo, write_manifests(tmp_path / "m", objects), kube)
    finally:
        kube.close()


def _secret(namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "creds", "namespace": namespace},
    }


def _settings(namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "settings", "namespace": namespace},
    }


def test_scheduled_runs_say_what_is_new_resolved_and_how_old_and_notify_on_change(
    scheduled: Scheduled,
    receivers: tuple[GitHubIssues, SlackReceiver, WebhookReceiver],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    forge, slack, hook = receivers
    ns = scheduled.namespace
    args = ("-o", "json", "--report-config-map", f"drift-report-{ENV}", "--notify")
    scheduled.kube.merge_patch(_settings(ns), {"data": {"mode": "slow"}})

    # run 1: the drift is new; every target is told; the issue is opened
    first = json.loads(
        scheduled.run("2026-12-01T01:00:00Z", *args, expect=1, monkeypatch=monkeypatch).stdout
    )
    (mode,) = first["findings"]
    assert (mode["path"], mode["new"], mode["firstSeen"]) == (
        "/data/mode",
        True,
        "2026-12-01T01:00:00Z",
    )
    assert first["changes"]["previousRun"] is None
    assert [(n["target"], n["status"], n["event"]) for n in first["notifications"]] == [
        ("tracker", "sent", "change"),
        ("ops-chat", "sent", "change"),
        ("hooks", "sent", "change"),
    ]
    (issue,) = forge.open_issues()
    state = json.loads(scheduled.stored()["state.json"])
    schemas = PROJECT_ROOT / "docs" / "cli" / "schemas"
    jsonschema.validate(state, json.loads((schemas / "drift-state.schema.json").read_text()))
    assert state["open"][mode["fingerprint"]]["firstSeen"] == "2026-12-01T01:00:00Z"
    assert state["lastRun"] == "2026-12-01T01:00:00Z"
    assert set(state["notified"]) == {"tracker", "ops-chat", "hooks"}

    # runs 2 and 3: nothing changed: nothing sent, the finding ages, the bytes move only there
    second = scheduled.run("2026-12-01T01:30:00Z", *args, expect=1, monkeypatch=monkeypatch)
    third = scheduled.run("2026-12-01T02:00:00Z", *args, expect=1, monkeypatch=monkeypatch)
    document = json.loads(third.stdout)
    (mode,) = document["findings"]
    assert (mode["new"], mode["firstSeen"], mode["openSeconds"]) == (
        False,
        "2026-12-01T01:00:00Z",
        3600,
    )
    assert {n["status"] for n in document["notifications"]} == {"skipped"}
    # run 1 looked for the issue (by label, then among all open ones) and opened it: no more
    assert len(forge.requests) == 3 and len(slack.requests) == 1 and len(hook.requests) == 1
    moved = [
        (a, b)
        for a, b in zip(second.stdout.splitlines(), third.stdout.splitlines(), strict=True)
        if a != b
    ]
    assert [a.split(":")[0].strip() for a, _ in moved] == [
        '"checkedAt"',
        '"previousRun"',
        '"openSeconds"',
    ], moved
    assert "notify skipped: tracker (github): nothing new, no reminder due" in third.stderr

    # run 4: a Secret value changed by hand (a masked finding): new; the issue is updated in
    # place, Slack and the webhook hear of it
    scheduled.kube.merge_patch(_secret(ns), {"stringData": {"password": "changed-by-hand"}})
    fourth = json.loads(
        scheduled.run("2026-12-01T03:00:00Z", *args, expect=1, monkeypatch=monkeypatch).stdout
    )
    assert [(f["path"], f["new"]) for f in fourth["findings"]] == [
        ("/data/mode", False),
        ("/data/password", True),
    ]
    assert fourth["changes"]["new"] == [fourth["findings"][1]["fingerprint"]]
    assert [n["status"] for n in fourth["notifications"]] == ["sent"] * 3
    assert forge.open_issues() == [issue] and "/data/password" in issue.text
    assert len(issue.comments) == 1 and "1 new, 0 resolved" in issue.comments[0]
    assert "Secret" in slack.requests[-1].json["blocks"][1]["text"]["text"]
    assert hook.requests[-1].json["link"] == (
        f"https://github.example/acme/aether-gitops/issues/{issue.number}"
    )

    # run 5: the receivers fail; the audit's result and exit code do not change
    scheduled.kube.merge_patch(_settings(ns), {"data": {"mode": "fast"}})
    forge.fail_with, slack.fail_with, hook.hang = 500, 503, 30
    failing = scheduled.run(
        "2026-12-01T04:00:00Z", *args, "--notify-timeout", "0.5", expect=1, monkeypatch=monkeypatch
    )
    assert failing.stderr.splitlines()[:3] == [
        f"notify failed: tracker (github): HTTP 500 from {forge.url}: the receiver is down for "
        "maintenance",
        f"notify failed: ops-chat (slack): HTTP 503 from {slack.url}: the receiver is down for "
        "maintenance",
        f"notify failed: hooks (webhook): cannot reach {hook.url}: no answer within 0.5 s",
    ]
    report = json.loads(failing.stdout)
    assert [n["status"] for n in report["notifications"]] == ["failed"] * 3
    schema = json.loads((PROJECT_ROOT / "docs/cli/schemas/drift.schema.json").read_text())
    for document in (first, fourth, report):
        jsonschema.validate(document, schema)
    assert [t["path"] for t in report["changes"]["resolved"]] == ["/data/mode"]
    assert json.loads(scheduled.stored()["report.json"])["notifications"] == report["notifications"]

    # run 6: clean again, the receivers are back: the issue is closed, everyone is told
    forge.fail_with = slack.fail_with = None
    hook.hang = 0
    scheduled.kube.merge_patch(_secret(ns), {"stringData": {"password": CANARY_PASSWORD}})
    clean = scheduled.run("2026-12-01T05:00:00Z", *args, expect=0, monkeypatch=monkeypatch)
    report = json.loads(clean.stdout)
    assert report["findings"] == [] and [t["path"] for t in report["changes"]["resolved"]] == [
        "/data/password"
    ]
    assert [(n["status"], n["event"]) for n in report["notifications"]] == [
        ("sent", "resolved")
    ] * 3
    assert issue.state == "closed" and forge.open_issues() == []
    assert hook.requests[-1].json["event"] == "resolved"
    assert forge.problems == slack.problems == hook.problems == []

    # no secret anywhere: outputs, the stored reports and state, any request body or URL
    stored = json.dumps(scheduled.stored())
    for canary in (CANARY_TOKEN, CANARY_PASSWORD):
        forms = (canary, base64.b64encode(canary.encode()).decode(), canary.encode().hex())
        for text in [*scheduled.outputs, stored]:
            assert not any(form in text for form in forms)
        for receiver in (forge, slack, hook):
            for body in receiver.bodies():
                assert not any(form.encode() in body for form in forms)
    for request in forge.requests:
        assert CANARY_TOKEN not in request.path


def test_local_state_file_and_bad_state(
    scheduled: Scheduled, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    ns = scheduled.namespace
    scheduled.kube.merge_patch(_settings(ns), {"data": {"mode": "slow"}})
    state = tmp_path / "drift-state.json"
    text = scheduled.run(
        "2026-12-01T01:00:00Z", "--state", str(state), expect=1, monkeypatch=monkeypatch
    ).stdout
    assert "first recorded run: every finding is new" in text
    text = scheduled.run(
        "2026-12-01T03:30:00Z", "--state", str(state), expect=1, monkeypatch=monkeypatch
    ).stdout
    lines = text.splitlines()
    assert lines[1] == (
        "since the last run (2026-12-01T01:00:00Z): 0 new, 0 resolved; oldest open for 2h 30m"
    )
    assert lines[3].split()[-1] == "OPEN" and lines[4].split()[-2:] == ["2h", "30m"]
    markdown = scheduled.run(
        "2026-12-01T03:30:00Z",
        "--state",
        str(state),
        "-o",
        "markdown",
        expect=1,
        monkeypatch=monkeypatch,
    ).stdout
    assert "| drift/field-modified | 2h 30m |" in markdown
    # no ConfigMap was written: the state is the file's
    assert json.loads(state.read_text())["environment"] == ENV

    before = state.read_text()
    state.write_text(before.replace('"environment": "dev"', '"environment": "prod"'))
    bad = scheduled.run(
        "2026-12-01T04:00:00Z", "--state", str(state), expect=2, monkeypatch=monkeypatch
    )
    assert bad.stderr.splitlines() == [
        f"error: --state {state}: holds the state of environment 'prod', not 'dev'; delete it "
        "to start over"
    ]
    assert bad.stdout == ""
