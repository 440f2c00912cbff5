"""``gitops-gen init``: a new GitOps repository with the same layout as Aether's.

The default templates live here (the Aether repository's ``templates/`` links to this folder),
so a scaffolded repository renders exactly like the embedded one.
"""

from __future__ import annotations

import re
import secrets
import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import git

from gitops_gen.errors import InputError, RepoError
from gitops_gen.gitrepo import GitRepo
from gitops_gen.model import load_platform
from gitops_gen.model.schema import DNS_LABEL
from gitops_gen.render import apply_plan, plan_render

PLACEHOLDER = "__PLATFORM__"

README = """# {name} GitOps repository

Scaffolded by `gitops-gen init`. Argo CD reads `clusters/`; people edit `environments/`.

- `environments/platform.yaml`: what every environment shares (components, secrets catalog).
- `environments/<env>.yaml`: what differs per environment (cluster, domain, versions, sync).
- `templates/`: the Jinja2 templates of every rendered manifest.
- `clusters/`: rendered output; written only by `gitops-gen render`, committed.
- `.sops.yaml`: which age recipients encrypt which environment's secrets.

    gitops-gen render            # re-render clusters/ after editing environments/
    gitops-gen validate          # schema, Argo CD and policy checks
    gitops-gen render --check    # in CI: fails when clusters/ is stale

Bootstrap a cluster once with `kubectl apply -f clusters/<cluster>/root.yaml`.
"""

SOPS_STUB = """# sops creation rules: which age recipients encrypt which environment's secrets.
# 'gitops-gen secrets keygen ENV' adds a rule per environment with its recipient.
creation_rules: []
"""


FIRST_COMMIT = "Scaffold with gitops-gen init"


@dataclass(frozen=True)
class ScaffoldResult:
    root: Path
    files: int
    applications: int
    commit: str | None = None  # the first commit, or None when git has no identity
    note: str = ""


def scaffold_repository(path: Path, platform_name: str) -> ScaffoldResult:
    """Create the repository at ``path``; nothing is left behind if any step fails."""
    if not re.match(DNS_LABEL, platform_name):
        raise InputError(
            f"--platform {platform_name}: must be a DNS label (lower-case letters, digits, '-')"
        )
    target = path.expanduser()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise InputError(f"{path}: already exists and is not empty; choose a new folder")
    # mkdir, not mkdtemp: the folder becomes the repository, so it gets the user's umask
    # (mkdtemp would leave it 0700, unreadable to the group a team may share it with)
    staging = target.parent / f".{target.name}.init-{secrets.token_hex(4)}"
    _make_folder(path, target.parent, staging)
    try:
        source = resources.files("gitops_gen.scaffold")
        with resources.as_file(source) as source_dir:
            shutil.copytree(source_dir / "templates", staging / "templates")
            env_dir = staging / "environments"
            env_dir.mkdir()
            for example in sorted((source_dir / "environments").glob("*.yaml")):
                text = example.read_text(encoding="utf-8").replace(PLACEHOLDER, platform_name)
                (env_dir / example.name).write_text(text, encoding="utf-8")
        (staging / ".sops.yaml").write_text(SOPS_STUB, encoding="utf-8")
        (staging / "README.md").write_text(README.format(name=platform_name), encoding="utf-8")
        git.Repo.init(staging, initial_branch="main")
        platform = load_platform(staging)
        plan = plan_render(platform)
        apply_plan(staging, plan)
        commit, note = _first_commit(staging)
        if target.exists():
            target.rmdir()
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    applications = sum(len(apps) for apps in plan.applications.values())
    return ScaffoldResult(
        root=target.resolve(),
        files=len(plan.files),
        applications=applications,
        commit=commit,
        note=note,
    )


def _make_folder(path: Path, parent: Path, staging: Path) -> None:
    """The staging folder beside the target, its parents created; an unwritable or impossible
    place (a file in the path, a read-only file system) is bad input, not a crash."""
    blocker = next((p for p in (parent, *parent.parents) if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        raise InputError(
            f"{path}: cannot create it ({blocker} is not a folder); choose a path in a folder "
            "you can write to"
        )
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging.mkdir()
    except OSError as exc:
        raise InputError(
            f"{path}: cannot create it ({exc.strerror or exc.__class__.__name__}); choose a path "
            "in a folder you can write to"
        ) from None


def _first_commit(root: Path) -> tuple[str | None, str]:
    """Commit the scaffold, so 'history', 'diff' and 'promote' work at once. Without a git
    identity the repository is still created, and the note says how to commit it."""
    repo = GitRepo(root)
    try:
        repo.identity()
    except RepoError as exc:
        return None, f"no first commit: {exc.message}; then run 'git add -A && git commit'"
    repo.run("add", "-A", what="add")
    repo.run("commit", "-q", "--no-verify", "-m", FIRST_COMMIT, what="commit")
    return repo.head_sha(), ""
