"""Open the pull request (GitHub) or merge request (GitLab) through the forge's REST API.

The token comes from the environment (``GITHUB_TOKEN`` / ``GITLAB_TOKEN``) and is only ever
placed in a request header: never in argv, a URL, a message or a log line. The API base URL
can be overridden (GitHub Enterprise, self-managed GitLab, and the tests' local server).
"""

from __future__ import annotations

import os
import re
import urllib.parse
from dataclasses import dataclass
from typing import Any

from gitops_gen.errors import ExternalToolError, InputError
from gitops_gen.jsonhttp import HttpFailure, request_json
from gitops_gen.redact import url_credentials

FORGES = ("github", "gitlab")
_TOKENS = {"github": "GITHUB_TOKEN", "gitlab": "GITLAB_TOKEN"}
_API_VARS = {"github": "GITOPS_GEN_GITHUB_API_URL", "gitlab": "GITOPS_GEN_GITLAB_API_URL"}
DEFAULT_API = {"github": "https://api.github.com", "gitlab": "https://gitlab.com/api/v4"}
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
    return (os.environ.get(_API_VARS[forge]) or DEFAULT_API[forge]).rstrip("/")


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
    return url_credentials(url, "")


def auth_headers(forge: str, token: str) -> dict[str, str]:
    """The forge's own way of carrying a token: a header, never the URL."""
    if forge == "github":
        return {
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }
    return {"PRIVATE-TOKEN": token}


def project_api(forge: str, base: str, project: str) -> str:
    """The API URL of a project: ``/repos/owner/repo`` or ``/projects/group%2Frepo``."""
    if forge == "github":
        return f"{base}/repos/{project}"
    return f"{base}/projects/{urllib.parse.quote(project, safe='')}"


def open_pull_request(forge: str, remote_url: str, request: PullRequest) -> str:
    """Open the pull request; its web URL."""
    token = token_for(forge)
    project = project_path(remote_url)
    base = api_base(forge)
    if forge == "github":
        url = f"{project_api(forge, base, project)}/pulls"
        payload: dict[str, Any] = {
            "title": request.title,
            "body": request.body,
            "head": request.head,
            "base": request.base,
        }
        key = "html_url"
    else:
        url = f"{project_api(forge, base, project)}/merge_requests"
        payload = {
            "title": request.title,
            "description": request.body,
            "source_branch": request.head,
            "target_branch": request.base,
            "remove_source_branch": True,
        }
        key = "web_url"
    data = _post(forge, url, payload, auth_headers(forge, token), token)
    link = data.get(key) if isinstance(data, dict) else None
    if not isinstance(link, str):
        raise ExternalToolError(f"{forge}: the pull request was created but no {key} came back")
    return link


def _post(
    forge: str, url: str, payload: dict[str, Any], headers: dict[str, str], token: str
) -> Any:
    try:
        data = request_json("POST", url, payload, headers, timeout=_TIMEOUT, secrets=[token])
    except HttpFailure as exc:
        if exc.status is None:
            raise ExternalToolError(f"{forge}: cannot reach {exc.origin}: {exc.reason}") from None
        reason = f": {exc.reason}" if exc.reason else ""
        raise ExternalToolError(
            f"{forge}: opening the pull request failed: HTTP {exc.status}{reason}"
        ) from None
    if isinstance(data, str):
        raise ExternalToolError(f"{forge}: the API answered with something other than JSON")
    return data
