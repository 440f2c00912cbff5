"""Each notification receiver against a loopback server that checks the requests
(tests/testenv/receivers.py): what is sent, when, and what a failure looks like.

No cluster here: the audit's result is built by hand; the CLI and the report ConfigMap are
covered in tests/test_drift_notify_cluster.py.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from gitops_gen.drift.findings import (
    AuditedObject,
    AuditResult,
    Finding,
    FindingType,
    ObjectRef,
    Severity,
)
from gitops_gen.drift.fingerprint import fingerprint
from gitops_gen.drift.history import State, compare
from gitops_gen.drift.report import render
from gitops_gen.model.schema import Notify
from gitops_gen.notify import issue
from gitops_gen.notify.delivery import Status
from gitops_gen.notify.run import Run, deliver
from gitops_gen.notify.variables import variable
from tests.helpers import PROJECT_ROOT, run_cli
from tests.testenv.receivers import (
    Answer,
    GitHubIssues,
    GitLabIssues,
    Receiver,
    Recorded,
    SlackReceiver,
    WebhookReceiver,
)

T0 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
CANARY = "canary-notify-5e1f09"  # planted in every credential: it must reach no body or line
SETTINGS = ObjectRef("", "v1", "ConfigMap", "shop", "settings")
WEB = ObjectRef("apps", "v1", "Deployment", "shop", "web")
SCHEMAS = PROJECT_ROOT / "docs" / "cli" / "schemas"
TIMEOUT = 0.5  # the client's; the hanging receiver waits far longer


def finding(ref: ObjectRef, path: str, live: str) -> Finding:
    return Finding(
        ref, FindingType.MODIFIED, path, "desired", live, Severity.MEDIUM, "drift/field-modified"
    )


MODE = finding(SETTINGS, "/data/mode", "slow")
IMAGE = finding(WEB, "/spec/template/spec/containers/0/image", "web:1.0.1-hotfix")


def audit(*findings: Finding) -> AuditResult:
    objects = [AuditedObject(SETTINGS), AuditedObject(WEB)]
    return AuditResult("dev", objects=objects, findings=list(findings)).sorted()


class Runs:
    """Successive runs of one environment, each one hour after the last, as the CLI chains
    them: compare with the stored state, deliver, store."""

    def __init__(self, config: dict[str, Any], environ: dict[str, str]) -> None:
        self.config = Notify.model_validate(config)
        self.environ = environ
        self.state: State | None = None
        self.clock = T0

    def run(self, *findings: Finding, hours: float = 1) -> dict[str, Any]:
        self.clock += timedelta(hours=hours)
        result = audit(*findings)
        changes, state = compare(self.state, result, self.clock)
        markdown = render(result, "markdown", changes=changes)
        deliveries, state = deliver(
            self.config,
            Run(result, changes, self.state, markdown),
            state,
            environ=self.environ,
            timeout=TIMEOUT,
        )
        self.state = state
        return {d.target: d for d in deliveries}


@pytest.fixture
def started() -> Iterator[list[Receiver]]:
    receivers: list[Receiver] = []
    yield receivers
    for receiver in receivers:
        receiver.stop()


def start(started: list[Receiver], receiver: Receiver) -> Any:
    receiver.start()
    started.append(receiver)
    return receiver


def no_canary(receiver: Receiver, *lines: str) -> None:
    for body in receiver.bodies():
        assert CANARY.encode() not in body
    for line in lines:
        assert CANARY not in line


# --- the generic webhook --------------------------------------------------------------------


def test_webhook_gets_one_json_document_on_change_and_none_when_nothing_changed(
    started: list[Receiver],
) -> None:
    hook: WebhookReceiver = start(started, WebhookReceiver("gitops", CANARY))
    runs = Runs(
        {"targets": [{"name": "hooks", "type": "webhook", "url": {"secret": "s", "key": "k"}}]},
        {"GITOPS_GEN_NOTIFY_HOOKS_URL": hook.url_with_credentials()},
    )
    first = runs.run(MODE)["hooks"]
    assert (first.status, first.event) == (Status.SENT, "change")
    (request,) = hook.requests
    assert request.method == "POST" and request.path == "/hooks/drift"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == "gitops-gen"
    document = request.json
    assert document["event"] == "change" and document["environment"] == "dev"
    assert [f["fingerprint"] for f in document["new"]] == [fingerprint(MODE)]
    assert document["open"][0]["firstSeen"] == "2026-12-01T02:00:00Z"
    assert document["headline"] == "Drift in dev: 1 findings (1 new, 0 resolved)"
    assert hook.problems == []
    schema = json.loads((SCHEMAS / "drift-notification.schema.json").read_text())

    assert runs.run(MODE)["hooks"].status is Status.SKIPPED  # nothing new: nothing sent
    assert len(hook.requests) == 1
    runs.run(MODE, IMAGE)
    runs.run()  # clean again
    events = [r.json["event"] for r in hook.requests]
    assert events == ["change", "change", "resolved"]
    for request in hook.requests:
        jsonschema.validate(request.json, schema)
    resolved = hook.requests[-1].json
    assert resolved["open"] == [] and {r["path"] for r in resolved["resolved"]} == {
        "/data/mode",
        "/spec/template/spec/containers/0/image",
    }
    assert runs.run(hours=48)["hooks"].status is Status.SKIPPED  # clean stays quiet
    no_canary(hook, *(str(d.detail) for d in runs.run().values()))


def test_reminder_after_remind_every_while_drift_persists(started: list[Receiver]) -> None:
    hook: WebhookReceiver = start(started, WebhookReceiver("gitops", CANARY))
    runs = Runs(
        {
            "targets": [{"name": "hooks", "type": "webhook", "url": {"secret": "s", "key": "k"}}],
            "remindEvery": "6h",
        },
        {"GITOPS_GEN_NOTIFY_HOOKS_URL": hook.url_with_credentials()},
    )
    runs.run(MODE)
    statuses = [runs.run(MODE)["hooks"].status for _ in range(5)]  # 1h..5h later
    assert statuses == [Status.SKIPPED] * 5
    reminder = runs.run(MODE)["hooks"]  # 6h after the last notice
    assert (reminder.status, reminder.event) == (Status.SENT, "reminder")
    assert hook.requests[-1].json["headline"] == (
        "Drift in dev persists: 1 findings, oldest open for 6h"
    )
    assert runs.run(MODE)["hooks"].status is Status.SKIPPED  # the clock restarts


@pytest.mark.parametrize("failure", ["5xx", "timeout", "bad-password"])
def test_webhook_failure_is_one_line_without_secrets_and_retried_next_run(
    started: list[Receiver], failure: str
) -> None:
    hook: WebhookReceiver = start(started, WebhookReceiver("gitops", CANARY))
    url = hook.url_with_credentials()
    expected = {
        "5xx": f"HTTP 503 from {hook.url}: the receiver is down for maintenance",
        "timeout": f"cannot reach {hook.url}: no answer within {TIMEOUT:g} s",
        "bad-password": f"HTTP 401 from {hook.url}: bad credentials",
    }[failure]
    if failure == "5xx":
        hook.fail_with = 503
    elif failure == "timeout":
        hook.hang = 30
    else:
        url = hook.url_with_credentials(CANARY + "-wrong")
    runs = Runs(
        {"targets": [{"name": "hooks", "type": "webhook", "url": {"secret": "s", "key": "k"}}]},
        {"GITOPS_GEN_NOTIFY_HOOKS_URL": url},
    )
    started_at = time.monotonic()
    delivery = runs.run(MODE)["hooks"]
    assert time.monotonic() - started_at < 10  # the client gave up; it did not wait 30 s
    assert (delivery.status, delivery.event) == (Status.FAILED, "change")
    assert delivery.line() == f"notify failed: hooks (webhook): {expected}"
    assert "/hooks/drift" not in delivery.line()  # the origin only, never the path
    assert runs.state is not None and "hooks" not in runs.state.notified
    # the receiver is back: the next run sends what was missed, although nothing changed
    hook.fail_with, hook.hang = None, 0
    runs.environ["GITOPS_GEN_NOTIFY_HOOKS_URL"] = hook.url_with_credentials()
    again = runs.run(MODE)["hooks"]
    assert (again.status, again.event) == (Status.SENT, "change")
    assert [f["path"] for f in hook.requests[-1].json["new"]] == ["/data/mode"]
    no_canary(hook, delivery.line(), again.line())


def test_missing_variable_names_the_secret_and_the_others_still_go_out(
    started: list[Receiver],
) -> None:
    hook: WebhookReceiver = start(started, WebhookReceiver("gitops", CANARY))
    runs = Runs(
        {
            "targets": [
                {"name": "ops-chat", "type": "slack", "url": {"secret": "chat", "key": "url"}},
                {"name": "hooks", "type": "webhook", "url": {"secret": "s", "key": "k"}},
            ]
        },
        {"GITOPS_GEN_NOTIFY_HOOKS_URL": hook.url_with_credentials()},
    )
    got = runs.run(MODE)
    assert got["ops-chat"].line() == (
        "notify failed: ops-chat (slack): GITOPS_GEN_NOTIFY_OPS_CHAT_URL is not set (the CronJob "
        "sets it from Secret chat key url)"
    )
    assert got["hooks"].status is Status.SENT
    assert variable(runs.config.targets[0]) == "GITOPS_GEN_NOTIFY_OPS_CHAT_URL"


# --- Slack ----------------------------------------------------------------------------------


def test_slack_message_has_a_summary_the_top_findings_and_a_link(
    started: list[Receiver],
) -> None:
    slack: SlackReceiver = start(started, SlackReceiver(CANARY))
    runs = Runs(
        {
            "targets": [{"name": "chat", "type": "slack", "url": {"secret": "s", "key": "k"}}],
            "link": "https://argocd.example.com/applications?labels=env%3Ddev",
        },
        {"GITOPS_GEN_NOTIFY_CHAT_URL": slack.hook_url()},
    )
    runs.run(MODE)
    assert runs.run(MODE, IMAGE)["chat"].status is Status.SENT
    assert slack.problems == []
    message = slack.requests[-1].json
    assert message["text"] == (
        "Drift in dev: 2 findings (1 new, 0 resolved) "
        "<https://argocd.example.com/applications?labels=env%3Ddev|Open the drift report>"
    )
    summary, top, context = message["blocks"]
    assert summary["text"]["text"] == "*Drift in dev: 2 findings (1 new, 0 resolved)*"
    # the new finding first, then the older one with its age
    assert top["text"]["text"].splitlines() == [
        "• *new* · medium · `Deployment.apps shop/web` `/spec/template/spec/containers/0/image` "
        "modified (drift/field-modified)",
        "• open 1h · medium · `ConfigMap shop/settings` `/data/mode` modified "
        "(drift/field-modified)",
    ]
    assert context["elements"][0]["text"].endswith("· checked 2026-12-01 03:00 UTC")
    no_canary(slack)


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        ("5xx", "HTTP 500 from {url}: the receiver is down for maintenance"),
        ("timeout", "cannot reach {url}: no answer within 0.5 s"),
        ("bad-token", "HTTP 403 from {url}: invalid_token"),
    ],
)
def test_slack_failures(started: list[Receiver], failure: str, expected: str) -> None:
    slack: SlackReceiver = start(started, SlackReceiver(CANARY))
    url = slack.hook_url()
    if failure == "5xx":
        slack.fail_with = 500
    elif failure == "timeout":
        slack.hang = 30
    else:
        url = slack.hook_url(CANARY + "x")
    runs = Runs(
        {"targets": [{"name": "chat", "type": "slack", "url": {"secret": "s", "key": "k"}}]},
        {"GITOPS_GEN_NOTIFY_CHAT_URL": url},
    )
    delivery = runs.run(MODE)["chat"]
    assert delivery.line() == "notify failed: chat (slack): " + expected.format(url=slack.url)
    no_canary(slack, delivery.line())


# --- one issue per environment ----------------------------------------------------------------


FORGES = {"github": GitHubIssues, "gitlab": GitLabIssues}


@pytest.mark.parametrize("forge", sorted(FORGES))
def test_one_issue_opened_updated_in_place_and_closed_when_clean(
    started: list[Receiver], forge: str
) -> None:
    server = start(started, FORGES[forge](CANARY))
    # someone else's issue with our label, and another environment's: never touched
    server.add_issue("Flaky test", "nothing to do with drift", ["gitops-gen-drift"])
    server.add_issue(
        "Drift in environment prod", issue.marker("prod") + "\nprod's drift", ["gitops-gen-drift"]
    )
    webhook: WebhookReceiver = start(started, WebhookReceiver("gitops", CANARY))
    runs = Runs(
        {
            "targets": [
                {"name": "hooks", "type": "webhook", "url": {"secret": "s", "key": "k"}},
                {
                    "name": "tracker",
                    "type": forge,
                    "project": "acme/aether-gitops",
                    "apiUrl": server.url,
                    "token": {"secret": "t", "key": "token"},
                },
            ]
        },
        {
            "GITOPS_GEN_NOTIFY_TRACKER_TOKEN": CANARY,
            "GITOPS_GEN_NOTIFY_HOOKS_URL": webhook.url_with_credentials(),
        },
    )
    opened = runs.run(MODE)["tracker"]
    (mine,) = [i for i in server.issues.values() if i.number == 3]
    web = "https://github.example/acme/aether-gitops/issues/3"
    if forge == "gitlab":
        web = "https://gitlab.example/acme/aether-gitops/-/issues/3"
    assert opened.line() == f"notified tracker ({forge}): change, issue opened {web}"
    assert mine.title == "Drift in environment dev" and mine.labels == ["gitops-gen-drift"]
    assert mine.text.startswith(issue.marker("dev") + "\n## Drift report: `dev`\n")
    assert "`/data/mode`" in mine.text and mine.comments == []
    # the webhook links to the issue
    assert webhook.requests[-1].json["link"] == web

    assert runs.run(MODE)["tracker"].status is Status.SKIPPED  # nothing changed: no request
    requests_before = len(server.requests)
    assert runs.run(MODE)["tracker"].status is Status.SKIPPED
    assert len(server.requests) == requests_before

    updated = runs.run(MODE, IMAGE)["tracker"]
    assert updated.line() == f"notified tracker ({forge}): change, issue updated {web}"
    assert len(server.open_issues()) == 3 and "/spec/template/spec/containers/0/image" in mine.text
    assert mine.comments == [
        "**Drift in dev: 2 findings (1 new, 0 resolved)**\n\nNew:\n- medium modified "
        "`Deployment.apps shop/web` `/spec/template/spec/containers/0/image` "
        "(drift/field-modified)\n"
    ]

    closed = runs.run()["tracker"]
    assert closed.line() == f"notified tracker ({forge}): resolved, issue closed {web}"
    assert mine.state == "closed" and len(mine.comments) == 2
    assert mine.comments[1].startswith("**Drift in dev resolved: no findings**\n\nResolved:\n")
    assert [i.number for i in server.open_issues()] == [1, 2]
    # drift again: a new issue (the closed one is history)
    assert runs.run(MODE)["tracker"].detail.startswith("issue opened")
    assert server.problems == []
    token_headers = [
        r.headers.get("authorization", r.headers.get("private-token")) for r in server.requests
    ]
    assert all(CANARY in (h or "") for h in token_headers)  # the token, in the header only
    no_canary(server, *(d.line() for d in runs.run().values()))
    for request in server.requests:
        assert CANARY not in request.path and CANARY not in json.dumps(request.query)


@pytest.mark.parametrize("forge", sorted(FORGES))
def test_issue_reminder_is_a_comment_and_fresh_ages(started: list[Receiver], forge: str) -> None:
    server = start(started, FORGES[forge](CANARY))
    runs = Runs(
        {
            "targets": [
                {
                    "name": "tracker",
                    "type": forge,
                    "project": "acme/aether-gitops",
                    "apiUrl": server.url,
                    "token": {"secret": "t", "key": "token"},
                }
            ],
            "remindEvery": "2h",
        },
        {"GITOPS_GEN_NOTIFY_TRACKER_TOKEN": CANARY},
    )
    runs.run(MODE)
    assert runs.run(MODE)["tracker"].status is Status.SKIPPED
    reminder = runs.run(MODE)["tracker"]
    assert (reminder.event, reminder.detail.split()[:2]) == ("reminder", ["issue", "updated"])
    (opened,) = server.issues.values()
    assert opened.comments == ["**Drift in dev persists: 1 findings, oldest open for 2h**\n"]
    assert "| drift/field-modified | 2h |" in opened.text  # the body's ages are fresh
    assert server.problems == []


def test_issue_is_found_again_when_the_forge_dropped_its_label(started: list[Receiver]) -> None:
    server: GitHubIssues = start(started, GitHubIssues(CANARY))
    server.drop_labels = True  # a token without push access: GitHub drops labels silently
    runs = Runs(
        {
            "targets": [
                {
                    "name": "tracker",
                    "type": "github",
                    "project": "acme/aether-gitops",
                    "apiUrl": server.url,
                    "token": {"secret": "t", "key": "token"},
                }
            ]
        },
        {"GITOPS_GEN_NOTIFY_TRACKER_TOKEN": CANARY},
    )
    runs.run(MODE)
    (opened,) = server.issues.values()
    assert opened.labels == []
    assert runs.run(MODE, IMAGE)["tracker"].detail.startswith("issue updated")
    assert runs.run()["tracker"].detail.startswith("issue closed")
    assert list(server.issues) == [1] and opened.state == "closed"
    assert [(r.method, r.query.get("labels")) for r in server.requests[:3]] == [
        ("GET", "gitops-gen-drift"),
        ("GET", None),
        ("POST", None),
    ]


@pytest.mark.parametrize("forge", sorted(FORGES))
@pytest.mark.parametrize("failure", ["5xx", "timeout", "bad-token"])
def test_issue_failures(started: list[Receiver], forge: str, failure: str) -> None:
    server = start(started, FORGES[forge](CANARY))
    token = CANARY
    if failure == "5xx":
        server.fail_with = 502
    elif failure == "timeout":
        server.hang = 30
    else:
        token = CANARY + "-revoked"
    runs = Runs(
        {
            "targets": [
                {
                    "name": "tracker",
                    "type": forge,
                    "project": "acme/aether-gitops",
                    "apiUrl": server.url,
                    "token": {"secret": "t", "key": "token"},
                }
            ]
        },
        {"GITOPS_GEN_NOTIFY_TRACKER_TOKEN": token},
    )
    delivery = runs.run(MODE)["tracker"]
    reason = {
        "5xx": "HTTP 502 from {url}: the receiver is down for maintenance",
        "timeout": "cannot reach {url}: no answer within 0.5 s",
        "bad-token": "HTTP 401 from {url}: "
        + ("Bad credentials" if forge == "github" else "401 Unauthorized"),
    }[failure].format(url=server.url)
    assert delivery.line() == f"notify failed: tracker ({forge}): {reason}"
    assert server.issues == {}
    no_canary(server, delivery.line())


# --- the CLI's bad input ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--notify"],
            "--notify: environments/dev.yaml sets no drift.notify targets; add "
            "drift.notify.targets or drop --notify",
        ),
        (
            ["--state", "s.json", "--report-config-map", "drift-report-dev"],
            "--state keeps the state in a local file, --report-config-map in the ConfigMap; "
            "pass one of them",
        ),
    ],
)
def test_state_and_notify_options_bad_input(aether: Path, args: list[str], message: str) -> None:
    result = run_cli("drift", "dev", *args, repo=aether, expect=2)
    assert result.stdout == ""
    assert result.stderr.splitlines() == [f"error: {message}"]
    assert not (aether / "s.json").exists()


def test_notify_needs_a_state(aether: Path) -> None:
    env_file = aether / "environments" / "dev.yaml"
    env_file.write_text(
        env_file.read_text().replace(
            'drift: {schedule: "0 * * * *"}',
            "drift:\n  notify:\n    targets:\n"
            "      - {name: hooks, type: webhook, url: {secret: s, key: url}}\n",
        )
    )
    result = run_cli("drift", "dev", "--notify", repo=aether, expect=2)
    assert result.stderr.splitlines() == [
        "error: --notify needs the previous run's state to tell what changed: pass "
        "--report-config-map NAME or --state FILE"
    ]


class _Echo(Receiver):
    """A receiver that quotes the credential back in its error (some proxies do)."""

    def handle(self, request: Recorded) -> tuple[int, Any]:
        said = request.headers.get("authorization", "") + " " + request.path
        raise Answer(400, {"message": f"rejected {said}"})


def test_a_credential_the_receiver_quotes_back_is_blanked(started: list[Receiver]) -> None:
    echo = start(started, _Echo())
    runs = Runs(
        {
            "targets": [
                {
                    "name": "tracker",
                    "type": "gitlab",
                    "project": "acme/aether-gitops",
                    "apiUrl": echo.url,
                    "token": {"secret": "t", "key": "token"},
                },
                {"name": "chat", "type": "slack", "url": {"secret": "s", "key": "k"}},
            ]
        },
        {
            "GITOPS_GEN_NOTIFY_TRACKER_TOKEN": CANARY,
            "GITOPS_GEN_NOTIFY_CHAT_URL": f"{echo.url}/services/T0001/B0001/{CANARY}",
        },
    )
    got = runs.run(MODE)
    assert got["chat"].line() == (
        f"notify failed: chat (slack): HTTP 400 from {echo.url}: rejected /services/T0001/B0001/***"
    )
    assert got["tracker"].detail.startswith(f"HTTP 400 from {echo.url}: rejected")
    assert CANARY not in got["tracker"].line() + got["chat"].line()
