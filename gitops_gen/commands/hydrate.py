"""``gitops-gen hydrate``, and the hydration options other commands share."""

from __future__ import annotations

import functools
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from gitops_gen.context import AppContext
from gitops_gen.errors import ExitCode, ExternalToolError
from gitops_gen.hydrate import (
    DEFAULT_API_VERSIONS,
    DEFAULT_KUBE_VERSION,
    Fetcher,
    HydratedApp,
    Settings,
    hydrate_environment,
    parse_url_map,
)
from gitops_gen.hydrate.engine import DEFAULT_JOBS, Progress
from gitops_gen.hydrate.objects import TRACKING_METHODS
from gitops_gen.hydrate.output import as_stream, write_folders
from gitops_gen.model import load_platform

F = TypeVar("F", bound=Callable[..., Any])


def hydration_options(func: F) -> F:
    """--source-map, --kube-version, --api-versions, --tracking, --jobs (one ``hydration``
    keyword argument holding the parsed :class:`HydrationOptions`)."""

    @click.option(
        "--source-map",
        "source_map",
        multiple=True,
        metavar="URL=LOCATION",
        help="Fetch the repository or chart repository URL from LOCATION (repeatable).",
    )
    @click.option(
        "--kube-version",
        default=DEFAULT_KUBE_VERSION,
        show_default=True,
        help="Kubernetes version passed to helm, as Argo CD passes the destination's.",
    )
    @click.option(
        "--api-versions",
        "api_versions",
        multiple=True,
        metavar="GROUP/VERSION",
        help="API versions passed to helm (repeatable; default: a plain cluster's).",
    )
    @click.option(
        "--tracking",
        type=click.Choice(TRACKING_METHODS),
        default="annotation",
        show_default=True,
        help="Argo CD's resource tracking method (application.resourceTrackingMethod).",
    )
    @click.option(
        "--jobs",
        type=click.IntRange(1, 32),
        default=DEFAULT_JOBS,
        show_default=True,
        help="Applications hydrated in parallel.",
    )
    @functools.wraps(func)
    def wrapper(
        *args: Any,
        source_map: tuple[str, ...],
        kube_version: str,
        api_versions: tuple[str, ...],
        tracking: str,
        jobs: int,
        **kwargs: Any,
    ) -> Any:
        kwargs["hydration"] = HydrationOptions(
            Settings(kube_version, api_versions or DEFAULT_API_VERSIONS, tracking, jobs),
            parse_url_map(source_map),
        )
        return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


class HydrationOptions:
    def __init__(self, settings: Settings, url_map: dict[str, str]) -> None:
        self.settings = settings
        self.url_map = url_map

    def fetcher(self) -> Fetcher:
        return Fetcher(url_map=self.url_map)


@contextmanager
def progress_bar(app: AppContext, label: str) -> Iterator[Progress | None]:
    """A progress bar on stderr, only when a person watches (stderr is a terminal)."""
    if not sys.stderr.isatty() or app.verbosity < 0:
        yield None
        return
    from rich.progress import Progress as RichProgress

    with RichProgress(console=app.err, transient=True) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def head_revision(root: Path) -> str:
    """The commit Argo CD would report for the GitOps repository (HEAD), or 'HEAD'."""
    done = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", "HEAD"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or "HEAD"


def report_errors(app: AppContext, results: list[HydratedApp]) -> None:
    """Each Application that could not be hydrated, one line each; exit 2 if any."""
    failed = [r for r in results if r.error]
    for result in failed:
        click.echo(f"error: {result.error}", err=True)
    if failed:
        rest = "; the others were" if len(failed) < len(results) else ""
        raise ExternalToolError(
            f"{len(failed)} of {len(results)} Application(s) could not be hydrated{rest}"
        )


@click.command("hydrate")
@click.argument("environment", metavar="ENV")
@click.option(
    "--app",
    "apps",
    multiple=True,
    metavar="NAME",
    help="Only this Application (its name, or the component name; repeatable).",
)
@click.option(
    "-o",
    "--output-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Write DIR/<Application>/<object>.yaml instead of one YAML stream on stdout.",
)
@hydration_options
@click.pass_obj
def hydrate_command(
    app: AppContext,
    environment: str,
    apps: tuple[str, ...],
    output_dir: Path | None,
    hydration: HydrationOptions,
) -> None:
    """Render ENV's Applications into the manifests Argo CD would apply.

    Each Application's sources are hydrated as Argo CD's repo server does: 'helm template' with
    the same release name, namespace, kube version, API versions, value files (including
    multi-source $values refs) and ARGOCD_APP_* environment, or the directory's manifests; with
    the tracking annotation (or label) Argo CD adds. Charts are cached in
    $XDG_CACHE_HOME/gitops-gen/charts. Needs helm (3.14 or later; tested with v3.19.0).
    Deterministic. Exit 0, or 2 when an Application could not be hydrated (the rest are).
    """
    platform = load_platform(app.root)
    env = platform.environment(environment)
    fetcher = hydration.fetcher()
    with progress_bar(app, f"hydrating {env.name}") as progress:
        results = hydrate_environment(
            platform,
            env.name,
            revision=head_revision(app.root),
            only=apps,
            settings=hydration.settings,
            fetcher=fetcher,
            progress=progress,
        )
    good = [r for r in results if not r.error]
    if output_dir is None:
        click.echo(as_stream(good), nl=False)
    else:
        written = write_folders(good, output_dir)
        app.info(f"wrote {len(written)} Application folder(s) to {output_dir}")
    objects = sum(len(r.objects) for r in good)
    app.detail(
        f"{objects} objects from {len(good)} Application(s); fetched: {len(fetcher.fetched)}"
    )
    report_errors(app, results)
    raise click.exceptions.Exit(ExitCode.OK)
