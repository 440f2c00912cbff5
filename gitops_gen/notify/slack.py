"""A Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat): a summary line, the top
findings and a link. ``text`` alone carries the message for receivers without Block Kit."""

from __future__ import annotations

import urllib.parse
from typing import Any

from gitops_gen.drift.findings import Finding, FindingType
from gitops_gen.drift.fingerprint import fingerprint
from gitops_gen.drift.history import age
from gitops_gen.jsonhttp import request_json
from gitops_gen.notify.message import Notice

_CELL = 60


def _escape(text: str) -> str:
    """Slack's three control characters in message text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _short(text: str) -> str:
    return text if len(text) <= _CELL else text[: _CELL - 1] + "…"


def _line(notice: Notice, finding: Finding, new: set[str]) -> str:
    fp = fingerprint(finding)
    when = "*new*" if fp in new else f"open {age(notice.changes.open_seconds(fp))}"
    what = finding.message if finding.type is FindingType.ERROR else finding.type.value
    return (
        f"• {when} · {finding.severity.value} · `{_escape(finding.ref.display())}` "
        f"`{_escape(finding.path or '/')}` {_escape(_short(what))} ({finding.rule})"
    )


def payload(notice: Notice) -> dict[str, Any]:
    new = {fingerprint(f) for f in notice.new}
    summary = _escape(notice.headline())
    lines = [_line(notice, f, new) for f in notice.top()]
    more = len(notice.open) - len(lines)
    if more > 0:
        lines.append(f"… and {more} more")
    resolved = [
        f"• resolved · `{_escape(t.ref.display())}` `{_escape(t.path or '/')}` ({t.rule})"
        for t in notice.resolved[:5]
    ]
    body = "\n".join(lines + resolved)
    link = f"<{notice.link}|Open the drift report>" if notice.link else ""
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{summary}*"}},
    ]
    if body:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": body}})
    context = f"checked {notice.now.strftime('%Y-%m-%d %H:%M UTC')}"
    blocks.append(
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": f"{link} · {context}" if link else context}],
        }
    )
    text = summary + (f" {link}" if link else "")
    return {"text": text, "blocks": blocks}


def send(notice: Notice, url: str, *, timeout: float) -> str:
    """POST to the incoming webhook; the URL (its path is the credential) is never reported."""
    token = urllib.parse.urlsplit(url).path.rsplit("/", 1)[-1]
    request_json("POST", url, payload(notice), {}, timeout=timeout, secrets=[url, token])
    return ""
