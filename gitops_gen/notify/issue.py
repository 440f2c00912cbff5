"""One issue per environment on GitHub or GitLab: opened on the first drift, updated in place
when the findings change (plus a comment, since an edited body notifies nobody), commented on
as a reminder, and closed when the environment is clean again.

The issue is found again on every run, not remembered: the open issue with the label
``gitops-gen-drift`` whose body holds this environment's marker. The forge pieces (token
header, project URL, default API) are the ones ``promote --open-pr`` uses.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from typing import Any

from gitops_gen.drift.history import age
from gitops_gen.jsonhttp import request_json
from gitops_gen.notify.message import Notice
from gitops_gen.notify.policy import Event
from gitops_gen.promote.forge import DEFAULT_API, auth_headers, project_api

LABEL = "gitops-gen-drift"
BODY_LIMIT = 60_000  # GitHub refuses bodies over 65,536 characters; GitLab allows more
FOOTER = (
    "_Kept by `gitops-gen drift --notify`: updated when the findings change, closed when the "
    "environment is clean. Edits to this body are overwritten._"
)


def marker(environment: str) -> str:
    return f"<!-- gitops-gen:drift-issue environment={environment} -->"


def title(environment: str) -> str:
    return f"Drift in environment {environment}"


@dataclass(frozen=True)
class Forge:
    forge: str  # github | gitlab
    project: str  # owner/repo, group/sub/repo
    token: str
    api_url: str | None = None
    timeout: float = 10.0

    @property
    def project_url(self) -> str:
        base = (self.api_url or DEFAULT_API[self.forge]).rstrip("/")
        return project_api(self.forge, base, self.project)

    def call(self, method: str, path: str, payload: Any = None) -> Any:
        return request_json(
            method,
            f"{self.project_url}{path}",
            payload,
            auth_headers(self.forge, self.token),
            timeout=self.timeout,
            secrets=[self.token],
        )


def body(notice: Notice) -> str:
    report = notice.report_markdown
    if len(report) > BODY_LIMIT:
        cut = report.rfind("\n", 0, BODY_LIMIT)
        where = f"ConfigMap drift-report-{notice.environment}"
        report = report[:cut] + f"\n\n… cut here: the whole report is in {where}.\n"
    return f"{marker(notice.environment)}\n{report.rstrip()}\n\n{FOOTER}\n"


def comment(notice: Notice) -> str:
    lines = [f"**{notice.headline()}**"]
    if notice.new:
        lines += ["", "New:"]
        lines += [
            f"- {f.severity.value} {f.type.value} `{f.ref.display()}` `{f.path or '/'}` ({f.rule})"
            for f in notice.new[:20]
        ]
    if notice.resolved:
        lines += ["", "Resolved:"]
        lines += [
            f"- `{t.ref.display()}` `{t.path or '/'}` ({t.rule}), open for "
            f"{age(int((notice.now - t.first_seen).total_seconds()))}"
            for t in notice.resolved[:20]
        ]
    return "\n".join(lines) + "\n"


def find_issue(forge: Forge, environment: str) -> dict[str, Any] | None:
    """The environment's open issue: the one whose body holds this environment's marker.

    Looked for among the open issues labelled ours first, then among all open issues: a token
    without push access has its labels dropped silently by GitHub, and the issue must still be
    found again rather than opened twice.
    """
    state = "open" if forge.forge == "github" else "opened"
    for labels in ({"labels": LABEL}, {}):
        query = urllib.parse.urlencode({"state": state, **labels, "per_page": "100"})
        found = _with_marker(forge, forge.call("GET", f"/issues?{query}"), environment)
        if found is not None:
            return found
    return None


def _with_marker(forge: Forge, issues: Any, environment: str) -> dict[str, Any] | None:
    text_key = "body" if forge.forge == "github" else "description"
    for issue in issues if isinstance(issues, list) else []:
        if not isinstance(issue, dict) or "pull_request" in issue:  # GitHub lists PRs too
            continue
        if marker(environment) in str(issue.get(text_key) or ""):
            return issue
    return None


def send(notice: Notice, forge: Forge) -> str:
    """Open, update or close the environment's issue; what was done, with the issue's URL."""
    github = forge.forge == "github"
    number_key, url_key, text_key = (
        ("number", "html_url", "body") if github else ("iid", "web_url", "description")
    )
    issue = find_issue(forge, notice.environment)
    if issue is None:
        if notice.event == Event.RESOLVED:
            return "no open issue to close"
        payload: dict[str, Any] = {
            "title": title(notice.environment),
            text_key: body(notice),
            "labels": [LABEL] if github else LABEL,
        }
        created = forge.call("POST", "/issues", payload)
        return f"issue opened {_url(created, url_key)}"
    path = f"/issues/{issue[number_key]}"
    notes = f"{path}/comments" if github else f"{path}/notes"
    update: dict[str, Any] = {text_key: body(notice)}
    edit = "PATCH" if github else "PUT"
    if notice.event == Event.RESOLVED:
        forge.call("POST", notes, {"body": comment(notice)})
        update.update({"state": "closed", "state_reason": "completed"} if github else {})
        update.update({} if github else {"state_event": "close"})
        forge.call(edit, path, update)
        return f"issue closed {_url(issue, url_key)}"
    forge.call(edit, path, update)
    forge.call("POST", notes, {"body": comment(notice)})
    return f"issue updated {_url(issue, url_key)}"


def _url(issue: Any, key: str) -> str:
    return str(issue.get(key) or "") if isinstance(issue, dict) else ""
