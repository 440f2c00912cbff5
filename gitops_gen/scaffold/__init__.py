"""``gitops-gen init``: a new GitOps repository with the same layout as Aether's.

The default templates live here (the Aether repository's ``templates/`` links to this folder),
so a scaffolded repository renders exactly like the embedded one.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import git

from gitops_gen.errors import InputError
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


@dataclass(frozen=True)
class ScaffoldResult:
    root: Path
    files: int
    applications: int


def scaffold_repository(path: Path, platform_name: str) -> ScaffoldResult:
    """Create the repository at ``path``; nothing is left behind if any step fails."""
    if not re.match(DNS_LABEL, platform_name):
        raise InputError(
            f"--platform {platform_name}: must be a DNS label (lower-case letters, digits, '-')"
        )
    target = path.expanduser()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise InputError(f"{path}: already exists and is not empty; choose a new folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.init-", dir=target.parent))
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
        if target.exists():
            target.rmdir()
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    applications = sum(len(apps) for apps in plan.applications.values())
    return ScaffoldResult(root=target.resolve(), files=len(plan.files), applications=applications)
