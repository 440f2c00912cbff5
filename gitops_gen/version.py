"""``gitops-gen --version``: the release, the commit of a checkout, and the external tools."""

from __future__ import annotations

import subprocess
from pathlib import Path

import gitops_gen
from gitops_gen import __version__
from gitops_gen.tools import ToolStatus, probe_all


def checkout_commit(package_dir: Path | None = None) -> str | None:
    """The short commit (``+dirty`` when modified) when the package runs from a git checkout.

    An installed wheel has no ``.git`` next to it, so this is ``None`` there; an editable
    install (``pip install -e``) or running from the source tree reports its commit.
    """
    package = package_dir or Path(gitops_gen.__file__).resolve().parent
    source = package.parent
    if not (source / ".git").exists() or not (source / "pyproject.toml").is_file():
        return None
    try:
        head = subprocess.run(
            ["git", "-C", str(source), "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
        if head.returncode != 0:
            return None
        status = subprocess.run(
            ["git", "-C", str(source), "status", "--porcelain", "--untracked-files=no", "--", "."],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    dirty = "+dirty" if status.returncode == 0 and status.stdout.strip() else ""
    return head.stdout.strip() + dirty


def tool_line(tool: ToolStatus) -> str:
    minimum = f">= {tool.spec.minimum}"
    if tool.path is None:
        need = "required" if tool.spec.required else "optional"
        return f"  {tool.name:<5} not found ({need}, {minimum})"
    found = tool.version or "unknown version"
    verdict = "" if tool.ok else f"  TOO OLD: {tool.problem}"
    return f"  {tool.name:<5} {found} ({minimum}) {tool.path}{verdict}"


def version_text() -> str:
    commit = checkout_commit()
    head = f"gitops-gen {__version__}" + (f" (commit {commit})" if commit else "")
    return "\n".join([head, *(tool_line(t) for t in probe_all())]) + "\n"
