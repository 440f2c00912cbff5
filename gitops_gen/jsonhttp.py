"""One JSON request over HTTP(S), for the forge (pull requests, issues) and the notification
receivers: what failed is said in one line that names the receiver's origin only.

The origin only, because the rest of such a URL is often the credential itself (a Slack
incoming webhook's path, a token in a query string); and any credential the caller names is
blanked out of whatever the receiver answered before it reaches a message.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from gitops_gen import redact

USER_AGENT = "gitops-gen"
_REASON_WIDTH = 160


@dataclass(frozen=True)
class HttpFailure(Exception):
    """The request failed: an HTTP status (``status``), or no answer at all (``status`` None)."""

    status: int | None
    reason: str  # one line: the receiver's own message, or why there was no answer
    origin: str  # scheme://host:port, never the path or the query

    def __str__(self) -> str:
        if self.status is None:
            return f"cannot reach {self.origin}: {self.reason}"
        said = f": {self.reason}" if self.reason else ""
        return f"HTTP {self.status} from {self.origin}{said}"


def origin(url: str) -> str:
    parsed = urllib.parse.urlsplit(url)
    host = parsed.hostname or ""
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{host}{port}"


def request_json(
    method: str,
    url: str,
    payload: Any,
    headers: dict[str, str],
    *,
    timeout: float,
    secrets: Iterable[str] = (),
) -> Any:
    """Send ``payload`` as JSON (None: no body); the answer as JSON, or as text when it is not.

    Raises :class:`HttpFailure` on a status outside 2xx, a timeout or a transport error.
    """
    hidden = [s for s in secrets if s]
    data = json.dumps(payload).encode("utf-8") if payload is not None else None
    all_headers = {"Accept": "application/json", **headers, "User-Agent": USER_AGENT}
    if data is not None:
        all_headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, method=method, headers=all_headers)  # noqa: S310
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:  # noqa: S310
            text = response.read().decode("utf-8", errors="replace")
    except urllib.error.HTTPError as exc:
        raise HttpFailure(exc.code, _reason(exc, hidden), origin(url)) from None
    except TimeoutError:
        raise HttpFailure(None, f"no answer within {timeout:g} s", origin(url)) from None
    except (urllib.error.URLError, OSError) as exc:
        cause = getattr(exc, "reason", exc)
        if isinstance(cause, TimeoutError):
            raise HttpFailure(None, f"no answer within {timeout:g} s", origin(url)) from None
        raise HttpFailure(None, redact.values(_short(cause), hidden), origin(url)) from None
    try:
        return json.loads(text) if text.strip() else {}
    except json.JSONDecodeError:
        return text  # Slack's incoming webhooks answer a plain "ok"


def _short(cause: object) -> str:
    text = str(getattr(cause, "strerror", None) or cause)
    return " ".join(text.split()) or type(cause).__name__


def _reason(exc: urllib.error.HTTPError, hidden: list[str]) -> str:
    """The receiver's own words: a JSON ``message``/``error``, or a short plain-text answer."""
    try:
        body = exc.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if isinstance(data, dict):
        message = data.get("message") or data.get("error") or ""
        if isinstance(message, list):
            message = "; ".join(str(m) for m in message)
    elif data is None and len(body) <= _REASON_WIDTH and "<" not in body:
        message = body  # "invalid_token", "no_service": Slack's answers are plain text
    else:
        message = ""
    text = redact.values(" ".join(str(message).split()), hidden)
    return text if len(text) <= _REASON_WIDTH else text[: _REASON_WIDTH - 3] + "..."
