"""Hydrate an environment: its rendered Applications, read from the rendered files."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from gitops_gen.errors import InputError
from gitops_gen.hydrate.engine import GitopsRepo, HydratedApp, Hydrator, Progress, Settings
from gitops_gen.hydrate.sources import Fetcher
from gitops_gen.hydrate.spec import Application, parse_application
from gitops_gen.model import Platform
from gitops_gen.model.loader import suggest
from gitops_gen.render import layout, plan_render
from gitops_gen.yamlio import load_all_fast


def applications_in(files: Mapping[str, str], cluster: str, env: str) -> list[Application]:
    """The Applications among an environment's rendered files, by name."""
    prefix = layout.apps_dir(cluster, env) + "/"
    apps: dict[str, Application] = {}
    for path in sorted(files):
        if not path.startswith(prefix):
            continue
        for doc in load_all_fast(files[path]):
            if isinstance(doc, dict) and doc.get("kind") == "Application":
                app = parse_application(doc, path)
                apps[app.name] = app
    return [apps[name] for name in sorted(apps)]


def select(apps: Sequence[Application], names: Sequence[str], env: str) -> list[Application]:
    if not names:
        return list(apps)
    known = {a.name: a for a in apps}
    # the component name alone is accepted too ("kafka" for "dev-kafka")
    for app in apps:
        known.setdefault(app.name.removeprefix(f"{env}-"), app)
    out: list[Application] = []
    for name in names:
        if name not in known:
            listing = ", ".join(sorted(a.name for a in apps))
            raise InputError(
                f"--app {name}: no such Application in {env}{suggest(name, known)} "
                f"(Applications: {listing})"
            )
        if known[name] not in out:
            out.append(known[name])
    return out


def hydrate_environment(
    platform: Platform,
    env_name: str,
    *,
    revision: str = "HEAD",
    files: Mapping[str, str] | None = None,
    only: Sequence[str] = (),
    settings: Settings | None = None,
    fetcher: Fetcher | None = None,
    progress: Progress | None = None,
) -> list[HydratedApp]:
    """Hydrate ``env_name``'s Applications from ``files`` (default: render it in memory)."""
    env = platform.environment(env_name)
    if files is None:
        files = plan_render(platform, [env.name]).files
    apps = select(applications_in(files, env.cluster_name, env.name), only, env.name)
    repo = GitopsRepo(platform.catalog.platform.gitops_repo, revision, files)
    hydrator = Hydrator(repo, fetcher or Fetcher(), settings or Settings())
    return hydrator.hydrate(apps, progress)


def parse_url_map(pairs: Sequence[str]) -> dict[str, str]:
    """``URL=LOCATION`` pairs (``--source-map``): fetch URL from LOCATION instead."""
    out: dict[str, str] = {}
    for pair in pairs:
        written, sep, real = pair.partition("=")
        if not sep or not written.strip() or not real.strip():
            raise InputError(
                f"--source-map {pair}: expected URL=LOCATION, e.g. "
                "https://git.example.com/app.git=file:///srv/mirror/app.git"
            )
        real = real.strip()
        if "://" not in real and Path(real).exists():
            real = Path(real).resolve().as_uri()
        out[written.strip()] = real
    return out


def find_applications(files: Mapping[str, str], names: Sequence[str]) -> list[Application]:
    """The Applications called ``names`` among rendered files of any environment."""
    wanted = set(names)
    found: dict[str, Application] = {}
    for path in sorted(files):
        if "/apps/" not in path or "kind: Application" not in files[path]:
            continue
        for doc in load_all_fast(files[path]):
            if isinstance(doc, dict) and doc.get("kind") == "Application":
                name = str((doc.get("metadata") or {}).get("name") or "")
                if name in wanted:
                    found[name] = parse_application(doc, path)
    return [found[n] for n in sorted(found)]
