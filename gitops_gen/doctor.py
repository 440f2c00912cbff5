"""``gitops-gen doctor``: is this machine and this repository ready? One line per check.

Each check is a plain function returning :class:`Check` records; none changes anything. A
check that cannot work for a reason outside this machine (an unreachable remote) is a warning;
``fail`` is kept for what stops gitops-gen itself (a missing sops or git, an invalid
``environments/``).
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from gitops_gen.errors import GitopsGenError
from gitops_gen.tools import ToolStatus, probe_all

Status = Literal["ok", "warn", "fail"]
REMOTE_TIMEOUT = 15  # seconds for one `git ls-remote`


@dataclass(frozen=True)
class Check:
    name: str  # what was checked, e.g. "tool sops", "key prod", "context staging"
    status: Status
    message: str
    fix: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "message": self.message, "fix": self.fix}

    def line(self) -> str:
        fix = f"; fix: {self.fix}" if self.fix and self.status != "ok" else ""
        return f"{self.status.upper():<4}  {self.name}: {self.message}{fix}"


def check_tools(statuses: Iterable[ToolStatus] | None = None) -> list[Check]:
    out = []
    for tool in probe_all() if statuses is None else statuses:
        name = f"tool {tool.name}"
        if tool.ok:
            out.append(Check(name, "ok", f"{tool.version} (>= {tool.spec.minimum}) at {tool.path}"))
            continue
        status: Status = "fail" if tool.spec.required else "warn"
        where = f" at {tool.path}" if tool.path else ""
        needed = f"needed: {tool.spec.purpose}"
        out.append(
            Check(
                name,
                status,
                f"{tool.problem}{where} ({needed}, >= {tool.spec.minimum})",
                tool.fix(),
            )
        )
    return out


def run_checks(repo_option: Path | None, *, offline: bool = False) -> list[Check]:
    """Every check, in the order a person would fix them."""
    from gitops_gen.context import find_repo_root
    from gitops_gen.model import load_platform

    checks = check_tools()
    try:
        root = find_repo_root(repo_option)
    except GitopsGenError as exc:
        return [
            *checks,
            Check(
                "repository",
                "fail",
                exc.message,
                "cd into the GitOps repository or pass --repo PATH",
            ),
        ]
    try:
        platform = load_platform(root)
    except GitopsGenError as exc:
        return [
            *checks,
            Check(
                "repository",
                "fail",
                exc.message,
                "fix the file named at the start of the message, then run 'gitops-gen validate'",
            ),
        ]
    checks.append(
        Check("repository", "ok", f"{root}: {len(platform.environments)} environments load")
    )
    checks.extend(check_keys(platform))
    checks.extend(check_contexts(platform))
    checks.extend(check_remotes(root, platform.catalog.platform.gitops_repo, offline=offline))
    return checks


# --- age keys ---------------------------------------------------------------------------------


def check_keys(platform: Any) -> list[Check]:
    """Per environment: a .sops.yaml rule, and an identity here that is one of its recipients."""
    from gitops_gen.secrets.config import load_config
    from gitops_gen.secrets.keys import IDENTITY_ENVS, default_identity_path, load_identity

    try:
        config = load_config(platform.root)
    except GitopsGenError as exc:
        return [Check("key files", "fail", exc.message, "fix .sops.yaml")]
    out: list[Check] = []
    for name in sorted(platform.environments):
        label = f"key {name}"
        rule = config.env_rule(name) if config is not None else None
        if rule is None or not rule.recipients:
            out.append(
                Check(
                    label,
                    "warn",
                    "no .sops.yaml rule with recipients for secrets/" + name,
                    f"gitops-gen secrets keygen {name}",
                )
            )
            continue
        candidates: list[tuple[str, Path]] = [
            (f"${var}", Path(os.environ[var])) for var in IDENTITY_ENVS if os.environ.get(var)
        ]
        candidates.append(("default", default_identity_path(platform.name, name)))
        found = None
        problem = None
        for source, path in candidates:
            if not path.expanduser().exists():
                continue
            try:
                identity = load_identity(path, source)
            except GitopsGenError as exc:
                problem = exc.message
                continue
            if identity.can_decrypt(rule.recipients):
                found = identity
                break
        if found is not None:
            out.append(Check(label, "ok", f"{found.path} is a recipient of {name}'s rule"))
        elif problem is not None:
            out.append(Check(label, "fail", problem, "fix the identity file named"))
        else:
            out.append(
                Check(
                    label,
                    "warn",
                    f"no identity here can decrypt secrets/{name} (needed to change them)",
                    f"set ${IDENTITY_ENVS[0]} to {name}'s identity file, or put it at "
                    f"{default_identity_path(platform.name, name)}",
                )
            )
    return out


# --- kubeconfig -------------------------------------------------------------------------------


def kubeconfig_path() -> Path | None:
    """The kubeconfig drift would read: $KUBECONFIG's first file, else ~/.kube/config."""
    env = os.environ.get("KUBECONFIG")
    if env:
        return Path(env.split(os.pathsep)[0])
    default = Path.home() / ".kube" / "config"
    return default if default.is_file() else None


def check_contexts(platform: Any, path: Path | None = None) -> list[Check]:
    """Per environment: a kubeconfig context named like its cluster, pointing at its server."""
    path = path or kubeconfig_path()
    if path is None:
        return [
            Check(
                "kubeconfig",
                "warn",
                "none found (needed by drift)",
                "set KUBECONFIG or create ~/.kube/config",
            )
        ]
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        return [
            Check(
                "kubeconfig",
                "fail",
                f"{path}: unreadable ({type(exc).__name__})",
                "fix or replace the file",
            )
        ]
    contexts = {
        c.get("name"): (c.get("context") or {})
        for c in data.get("contexts") or []
        if isinstance(c, dict)
    }
    clusters = {
        c.get("name"): (c.get("cluster") or {})
        for c in data.get("clusters") or []
        if isinstance(c, dict)
    }
    out: list[Check] = []
    for name, env in sorted(platform.environments.items()):
        label = f"context {name}"
        context = contexts.get(env.kube_context)
        if context is None:
            out.append(
                Check(
                    label,
                    "warn",
                    f"no context '{env.kube_context}' in {path}",
                    f"kubectl config set-context {env.kube_context} --cluster=CLUSTER "
                    f"--user=USER (or pass --context to 'gitops-gen drift {name}')",
                )
            )
            continue
        server = (clusters.get(context.get("cluster")) or {}).get("server")
        if server and server.rstrip("/") != env.cluster_server.rstrip("/"):
            out.append(
                Check(
                    label,
                    "warn",
                    f"context '{env.kube_context}' points at {server}, the environment at "
                    f"{env.cluster_server}",
                    f"point the context at {env.cluster_server} or fix cluster.server in "
                    f"environments/{name}.yaml",
                )
            )
            continue
        out.append(Check(label, "ok", f"context '{env.kube_context}' -> {server}"))
    return out


# --- remotes ----------------------------------------------------------------------------------


def _normalise(url: str) -> str:
    """``git@host:org/repo.git`` and ``https://host/org/repo`` compare equal."""
    url = url.strip().removesuffix("/").removesuffix(".git")
    url = re.sub(r"^[a-z+]+://", "", url)
    url = re.sub(r"^[^@/]+@", "", url)
    return url.replace(":", "/", 1).lower()


def check_remotes(
    root: Path,
    gitops_repo: str,
    *,
    offline: bool = False,
) -> list[Check]:
    """The remotes exist, answer (unless ``offline``), and one is the URL Argo CD pulls."""

    def git(*args: str, timeout: int = 10) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "GIT_TERMINAL_PROMPT": "0",  # never ask for a password in a check
            "GIT_SSH_COMMAND": os.environ.get("GIT_SSH_COMMAND", "ssh -o BatchMode=yes"),
        }
        return subprocess.run(
            ["git", "-C", str(root), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env=env,
        )

    listed = git("remote")
    remotes = listed.stdout.split() if listed.returncode == 0 else []
    if not remotes:
        return [
            Check(
                "remote",
                "warn",
                "no git remote (promote --push and Argo CD need one)",
                f"git remote add origin {gitops_repo}",
            )
        ]
    out: list[Check] = []
    urls: dict[str, str] = {}
    for remote in remotes:
        url = git("remote", "get-url", remote).stdout.strip()
        urls[remote] = url
        label = f"remote {remote}"
        if offline:
            out.append(Check(label, "ok", f"{url} (not contacted: --offline)"))
            continue
        try:
            answer = git("ls-remote", "--heads", remote, timeout=REMOTE_TIMEOUT)
        except subprocess.TimeoutExpired:
            out.append(
                Check(
                    label,
                    "warn",
                    f"{url}: no answer in {REMOTE_TIMEOUT}s",
                    "check the network, VPN or proxy",
                )
            )
            continue
        if answer.returncode != 0:
            reason = (answer.stderr.strip().splitlines() or ["unreachable"])[-1]
            out.append(
                Check(
                    label,
                    "warn",
                    f"{url}: {reason}",
                    f"check the URL ('git remote set-url {remote} URL') and your credentials",
                )
            )
        else:
            out.append(Check(label, "ok", f"{url} answers"))
    matching = [r for r, u in urls.items() if _normalise(u) == _normalise(gitops_repo)]
    if matching:
        out.append(
            Check(
                "remote gitopsRepo",
                "ok",
                f"{', '.join(matching)} is {gitops_repo}, the URL Argo CD pulls",
            )
        )
    else:
        out.append(
            Check(
                "remote gitopsRepo",
                "warn",
                f"no remote is {gitops_repo} (platform.gitopsRepo, the URL Argo CD pulls)",
                f"git remote add origin {gitops_repo}, or fix platform.gitopsRepo in "
                "environments/platform.yaml",
            )
        )
    return out


def summary(checks: Iterable[Check]) -> dict[str, int]:
    counts = {"ok": 0, "warn": 0, "fail": 0}
    for check in checks:
        counts[check.status] += 1
    return counts
