"""Notification receivers on loopback HTTP: a JSON webhook, a Slack incoming webhook, and the
issue APIs of GitHub and GitLab, each recording every request it gets.

Each one checks what a real receiver would (method, path, content type, credentials, the JSON
body's shape) and answers as the real one does: a wrong credential gets the real service's
status and message, a malformed request a 400/422, and the violation is also kept in
``problems`` so a test can say exactly what was wrong. Each can be told to fail: answer a 5xx
(``fail_with``), or hang past the client's timeout (``hang``; released on ``stop()``).

The forge servers keep issues in memory (numbers from 1, comments, state), enough for the
"one issue per environment" lifecycle: list by label, create, edit, comment, close.
"""

from __future__ import annotations

import base64
import http.server
import json
import threading
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from tests.testenv.component import Component


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str  # as sent, percent-encoding kept (GitLab's project ids)
    query: dict[str, str]
    headers: dict[str, str]  # names lower-cased
    body: bytes
    json: Any


class Answer(Exception):
    """Stop handling and answer this (status, JSON or text) right away."""

    def __init__(self, status: int, payload: Any) -> None:
        super().__init__(status)
        self.status = status
        self.payload = payload


class Receiver(Component):
    """A loopback HTTP server; subclasses implement :meth:`handle`."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.problems: list[str] = []
        self.fail_with: int | None = None  # answer every request with this status
        self.hang = 0.0  # seconds to wait before answering
        self._release = threading.Event()
        self._lock = threading.Lock()
        self._server: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the receiver first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> None:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _any(self) -> None:
                receiver._serve(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._release.clear()
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._release.set()  # a hanging handler answers now
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # -- the request cycle ---------------------------------------------------------------

    def problem(self, status: int, text: str, payload: Any = None) -> Answer:
        with self._lock:
            self.problems.append(text)
        return Answer(status, payload if payload is not None else {"message": text})

    def _serve(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        parsed = urllib.parse.urlsplit(handler.path)
        try:
            data = json.loads(body) if body else None
        except ValueError:
            data = None
        record = Recorded(
            handler.command,
            parsed.path,
            dict(urllib.parse.parse_qsl(parsed.query)),
            {k.lower(): v for k, v in handler.headers.items()},
            body,
            data,
        )
        with self._lock:
            self.requests.append(record)
        if self.hang:
            self._release.wait(self.hang)
        try:
            if self.fail_with is not None:
                raise Answer(self.fail_with, {"message": "the receiver is down for maintenance"})
            if body and "application/json" not in record.headers.get("content-type", ""):
                raise self.problem(400, f"Content-Type is {record.headers.get('content-type')}")
            if body and data is None:
                raise self.problem(400, "the body is not JSON")
            status, payload = self.handle(record)
        except Answer as answer:
            status, payload = answer.status, answer.payload
        if isinstance(payload, str):
            out, kind = payload.encode(), "text/plain"
        else:
            out, kind = json.dumps(payload).encode(), "application/json"
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", kind)
            handler.send_header("Content-Length", str(len(out)))
            handler.end_headers()
            handler.wfile.write(out)
        except OSError:
            pass  # the client gave up (a timeout test): nothing to answer

    def handle(self, request: Recorded) -> tuple[int, Any]:
        raise NotImplementedError

    def bodies(self) -> list[bytes]:
        return [r.body for r in self.requests]


class WebhookReceiver(Receiver):
    """A generic JSON webhook at ``path``, behind HTTP basic authentication."""

    def __init__(self, user: str, password: str, path: str = "/hooks/drift") -> None:
        super().__init__()
        self.user, self.password, self.path = user, password, path

    def url_with_credentials(self, password: str | None = None) -> str:
        secret = urllib.parse.quote(self.password if password is None else password, safe="")
        return f"http://{self.user}:{secret}@{self.url.removeprefix('http://')}{self.path}"

    def handle(self, request: Recorded) -> tuple[int, Any]:
        expected = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {expected}":
            raise self.problem(401, "bad credentials")
        if request.method != "POST" or request.path != self.path:
            raise self.problem(404, f"no route {request.method} {request.path}")
        document = request.json
        if not isinstance(document, dict) or document.get("schemaVersion") != (
            "gitops-gen.io/drift-notification/v1"
        ):
            raise self.problem(422, "not a gitops-gen drift notification")
        for key in ("environment", "event", "checkedAt", "summary", "new", "resolved", "open"):
            if key not in document:
                raise self.problem(422, f"no {key}")
        return 202, {"accepted": True}


class SlackReceiver(Receiver):
    """A Slack incoming webhook: the token is the URL's last path segment."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def hook_url(self, token: str | None = None) -> str:
        return f"{self.url}/services/T0001/B0001/{self.token if token is None else token}"

    def handle(self, request: Recorded) -> tuple[int, Any]:
        if not request.path.startswith("/services/T0001/B0001/"):
            raise self.problem(404, "no_service", "no_service")
        if request.path.rsplit("/", 1)[-1] != self.token:
            raise self.problem(403, "invalid_token", "invalid_token")
        if request.method != "POST":
            raise self.problem(405, "method not allowed", "invalid_method")
        message = request.json
        if not isinstance(message, dict) or not isinstance(message.get("text"), str):
            raise self.problem(400, "no text", "no_text")
        for block in message.get("blocks") or []:
            if block.get("type") not in ("section", "context", "header", "divider"):
                raise self.problem(400, f"block type {block.get('type')}", "invalid_blocks")
        return 200, "ok"


@dataclass
class Issue:
    number: int
    title: str
    text: str
    labels: list[str]
    state: str  # open|closed (GitHub), opened|closed (GitLab)
    comments: list[str] = field(default_factory=list)


class _ForgeIssues(Receiver):
    """What both forges share: issues in memory and a token check."""

    open_state = "open"

    def __init__(self, token: str, project: str = "acme/aether-gitops") -> None:
        super().__init__()
        self.token, self.project = token, project
        self.issues: dict[int, Issue] = {}
        # GitHub drops the labels of an issue opened with a token without push access
        self.drop_labels = False

    def add_issue(self, title: str, text: str, labels: list[str]) -> Issue:
        """An issue someone else opened (to prove the tool finds only its own)."""
        issue = Issue(len(self.issues) + 1, title, text, list(labels), self.open_state)
        self.issues[issue.number] = issue
        return issue

    def open_issues(self) -> list[Issue]:
        return [i for i in self.issues.values() if i.state == self.open_state]

    def _checked(self, request: Recorded, keys: tuple[str, ...]) -> dict[str, Any]:
        data = request.json
        if not isinstance(data, dict):
            raise self.problem(400, "the body is no JSON object")
        unknown = set(data) - set(keys)
        if unknown:
            raise self.problem(422, f"unknown fields {sorted(unknown)}")
        return data


class GitHubIssues(_ForgeIssues):
    """GitHub's REST API for issues: /repos/{owner}/{repo}/issues[...]."""

    def _json(self, issue: Issue) -> dict[str, Any]:
        return {
            "number": issue.number,
            "title": issue.title,
            "body": issue.text,
            "state": issue.state,
            "labels": [{"name": n} for n in issue.labels],
            "html_url": f"https://github.example/{self.project}/issues/{issue.number}",
        }

    def handle(self, request: Recorded) -> tuple[int, Any]:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            raise self.problem(401, "Bad credentials")
        if request.headers.get("accept") != "application/vnd.github+json":
            raise self.problem(415, f"Accept is {request.headers.get('accept')}")
        prefix = f"/repos/{self.project}/issues"
        if not request.path.startswith(prefix):
            raise self.problem(404, f"Not Found: {request.path}")
        rest = request.path[len(prefix) :].strip("/").split("/") if request.path != prefix else []
        if not rest and request.method == "GET":
            wanted = request.query.get("labels", "")
            state = request.query.get("state", "open")
            found = [
                self._json(i)
                for i in self.issues.values()
                if (state == "all" or i.state == state) and (not wanted or wanted in i.labels)
            ]
            return 200, found
        if not rest and request.method == "POST":
            data = self._checked(request, ("title", "body", "labels"))
            if not data.get("title"):
                raise self.problem(422, "Validation Failed: title")
            labels = [] if self.drop_labels else list(data["labels"])
            issue = self.add_issue(data["title"], data.get("body", ""), labels)
            return 201, self._json(issue)
        if not rest[0].isdigit() or int(rest[0]) not in self.issues:
            raise self.problem(404, "Not Found")
        issue = self.issues[int(rest[0])]
        if len(rest) == 1 and request.method == "PATCH":
            data = self._checked(request, ("title", "body", "state", "state_reason"))
            issue.text = data.get("body", issue.text)
            issue.state = data.get("state", issue.state)
            return 200, self._json(issue)
        if rest[1:] == ["comments"] and request.method == "POST":
            data = self._checked(request, ("body",))
            issue.comments.append(str(data["body"]))
            return 201, {"id": len(issue.comments), "body": data["body"]}
        raise self.problem(404, f"no route {request.method} {request.path}")


class GitLabIssues(_ForgeIssues):
    """GitLab's REST API v4 for issues: /projects/{url-encoded path}/issues[...]."""

    open_state = "opened"

    def _json(self, issue: Issue) -> dict[str, Any]:
        return {
            "iid": issue.number,
            "title": issue.title,
            "description": issue.text,
            "state": issue.state,
            "labels": issue.labels,
            "web_url": f"https://gitlab.example/{self.project}/-/issues/{issue.number}",
        }

    def handle(self, request: Recorded) -> tuple[int, Any]:
        if request.headers.get("private-token") != self.token:
            raise self.problem(401, "401 Unauthorized")
        prefix = f"/projects/{urllib.parse.quote(self.project, safe='')}/issues"
        if not request.path.startswith(prefix):
            raise self.problem(404, f"404 Project Not Found: {request.path}")
        rest = request.path[len(prefix) :].strip("/").split("/") if request.path != prefix else []
        if not rest and request.method == "GET":
            wanted = request.query.get("labels", "")
            state = request.query.get("state", "all")
            found = [
                self._json(i)
                for i in self.issues.values()
                if (state == "all" or i.state == state) and (not wanted or wanted in i.labels)
            ]
            return 200, found
        if not rest and request.method == "POST":
            data = self._checked(request, ("title", "description", "labels"))
            labels = [n for n in str(data.get("labels", "")).split(",") if n]
            issue = self.add_issue(data["title"], data.get("description", ""), labels)
            return 201, self._json(issue)
        if not rest[0].isdigit() or int(rest[0]) not in self.issues:
            raise self.problem(404, "404 Not found")
        issue = self.issues[int(rest[0])]
        if len(rest) == 1 and request.method == "PUT":
            data = self._checked(request, ("title", "description", "state_event"))
            issue.text = data.get("description", issue.text)
            if data.get("state_event") == "close":
                issue.state = "closed"
            return 200, self._json(issue)
        if rest[1:] == ["notes"] and request.method == "POST":
            data = self._checked(request, ("body",))
            issue.comments.append(str(data["body"]))
            return 201, {"id": len(issue.comments), "body": data["body"]}
        raise self.problem(404, f"no route {request.method} {request.path}")
