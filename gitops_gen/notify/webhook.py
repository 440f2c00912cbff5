"""A generic JSON webhook: the notice as one JSON document, POSTed to the target's URL.

Credentials in the URL's user part (``https://user:token@host/path``) are sent as HTTP basic
authentication, never as part of the URL on the wire.
"""

from __future__ import annotations

import base64
import urllib.parse

from gitops_gen.jsonhttp import request_json
from gitops_gen.notify.message import Notice


def split_credentials(url: str) -> tuple[str, dict[str, str]]:
    """(the URL without user:password, the Authorization header they make, if any)."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None:
        return url, {}
    user = urllib.parse.unquote(parts.username)
    password = urllib.parse.unquote(parts.password or "")
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port:
        netloc += f":{parts.port}"
    bare = urllib.parse.urlunsplit(parts._replace(netloc=netloc))
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return bare, {"Authorization": f"Basic {token}"}


def send(notice: Notice, url: str, *, timeout: float) -> str:
    """POST the notice; what to report (nothing: the URL is the secret)."""
    bare, headers = split_credentials(url)
    password = urllib.parse.unquote(urllib.parse.urlsplit(url).password or "")
    request_json("POST", bare, notice.to_json(), headers, timeout=timeout, secrets=[url, password])
    return ""
