"""Open the pull request (GitHub) or merge request (GitLab) through the forge's REST API.

The token comes from the environment (``GITHUB_TOKEN`` / ``GITLAB_TOKEN``) and is only ever
placed in a request header: never in argv, a URL, a message or a log line. The API base URL
can be overridden (GitHub Enterprise, self-managed GitLab, and the tests' local server).
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from gitops_gen.errors import ExternalToolError, InputError

FORGES = ("github", "gitlab")
_TOKENS = {"github": "GITHUB_TOKEN", "gitlab": "GITLAB_TOKEN"}
_API_VARS = {"github": "GITOPS_GEN_GITHUB_API_URL", "gitlab": "GITOPS_GEN_GITLAB_API_URL"}
_DEFAULT_API = {"github": "https://api.github.com", "gitlab": "https://gitlab.com/api/v4"}
_TIMEOUT = 30


@dataclass(frozen=True)
class PullRequest:
    title: str
    body: str
    head: str  # the promotion branch
    base: str  # the branch it merges into


def token_for(forge: str) -> str:
    """The forge token from the environment; checked before anything is created."""
    name = _TOKENS[forge]
    token = os.environ.get(name, "").strip()
    if not token:
        raise InputError(f"--open-pr {forge}: set {name} to a token allowed to open pull requests")
    return token


def api_base(forge: str) -> str:
    return (os.environ.get(_API_VARS[forge]) or _DEFAULT_API[forge]).rstrip("/")


def project_path(remote_url: str) -> str:
    """``owner/repo`` (GitLab: ``group/sub/repo``) from a remote URL in any of git's forms."""
    url = remote_url.strip()
    match = re.match(r"^[\w.-]+@[\w.-]+:(?P<path>.+)$", url)  # scp-like: git@host:owner/repo
    if match and "://" not in url:
        path = match.group("path")
    else:
        parsed = urllib.parse.urlparse(url)
        if parsed.scheme not in {"https", "http", "ssh", "git"} or not parsed.netloc:
            raise InputError(
                f"cannot tell the forge project from the remote URL ({_redact(url)}); the "
                "remote must be an https:// or ssh URL of the project"
            )
        path = parsed.path
    path = path.strip("/").removesuffix(".git")
    if path.count("/") < 1:
        raise InputError(f"cannot tell the forge project from the remote URL ({_redact(url)})")
    return path


def _redact(url: str) -> str:
    return re.sub(r"//[^/@]+@", "//", url)


def open_pull_request(forge: str, remote_url: str, request: PullRequest) -> str:
    """Open the pull request; its web URL."""
    token = token_for(forge)
    project = project_path(remote_url)
    base = api_base(forge)
    if forge == "github":
        url = f"{base}/repos/{project}/pulls"
        payload: dict[str, Any] = {
            "title": request.title,
            "body": request.body,
            "head": request.head,
            "base": request.base,
        }
        headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }
        key = "html_url"
    else:
        url = f"{base}/projects/{urllib.parse.quote(project, safe='')}/merge_requests"
        payload = {
            "title": request.title,
            "description": request.body,
            "source_branch": request.head,
            "target_branch": request.base,
            "remove_source_branch": True,
        }
        headers = {"PRIVATE-TOKEN": token}
        key = "web_url"
    data = _post(forge, url, payload, headers)
    link = data.get(key) if isinstance(data, dict) else None
    if not isinstance(link, str):
        raise ExternalToolError(f"{forge}: the pull request was created but no {key} came back")
    return link


def _post(forge: str, url: str, payload: dict[str, Any], headers: dict[str, str]) -> Any:
    body = json.dumps(payload).encode("utf-8")
    req = urllib.request.Request(  # noqa: S310 - the URL is https:// or the tests' local server
        url,
        data=body,
        method="POST",
        headers={
            **headers,
            "Content-Type": "application/json",
            "User-Agent": "gitops-gen",
        },
    )
    try:
        with urllib.request.urlopen(req, timeout=_TIMEOUT) as response:  # noqa: S310
            return json.loads(response.read().decode("utf-8") or "{}")
    except urllib.error.HTTPError as exc:
        raise ExternalToolError(
            f"{forge}: opening the pull request failed: HTTP {exc.code}{_reason(exc)}"
        ) from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ExternalToolError(f"{forge}: cannot reach {_origin(url)}: {reason}") from None
    except json.JSONDecodeError:
        raise ExternalToolError(
            f"{forge}: the API answered with something other than JSON"
        ) from None


def _reason(exc: urllib.error.HTTPError) -> str:
    try:
        data = json.loads(exc.read().decode("utf-8"))
    except (ValueError, OSError):
        return ""
    message = data.get("message") if isinstance(data, dict) else None
    if isinstance(message, list):
        message = "; ".join(str(m) for m in message)
    if not message:
        return ""
    text = " ".join(str(message).split())
    return ": " + (text if len(text) <= 160 else text[:157] + "...")


def _origin(url: str) -> str:
    parsed = urllib.parse.urlparse(url)
    return f"{parsed.scheme}://{parsed.netloc}"
