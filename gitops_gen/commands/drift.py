"""``gitops-gen drift``: audit a live cluster against the repository."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import click

from gitops_gen.commands.hydrate import HydrationOptions, head_revision, hydration_options
from gitops_gen.commands.options import identity_option, output_option
from gitops_gen.context import AppContext
from gitops_gen.drift import argo, history, metrics
from gitops_gen.drift import desired as desired_state
from gitops_gen.drift.audit import AuditOptions, Progress, run_audit
from gitops_gen.drift.findings import AuditResult
from gitops_gen.drift.live import (
    DEFAULT_TIMEOUT,
    LiveCluster,
    cluster_context,
    load_configuration,
)
from gitops_gen.drift.mask import Masker, load_mask_key
from gitops_gen.drift.report import FORMATS, render
from gitops_gen.drift.revisions import gitops_resolver
from gitops_gen.drift.runs import follow_up
from gitops_gen.drift.secrets import ValueSource
from gitops_gen.drift.state_store import ConfigMapStore, FileStore, StateStore
from gitops_gen.durations import parse_duration
from gitops_gen.errors import ExitCode, ExternalToolError, InputError
from gitops_gen.hydrate import DEFAULT_API_VERSIONS, DEFAULT_KUBE_VERSION, hydrate_environment
from gitops_gen.hydrate import audit as hydrated_audit
from gitops_gen.model import Environment, Platform, load_platform
from gitops_gen.notify import run as notify_run
from gitops_gen.notify.delivery import Delivery, Status
from gitops_gen.output import json_to_yaml
from gitops_gen.secrets import drift as secret_values
from gitops_gen.secrets.keys import identity_or_default


@click.command("drift")
@click.argument("environment", metavar="ENV")
@click.option(
    "--kubeconfig",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster).",
)
@click.option(
    "--context",
    "kube_context",
    default=None,
    help="kubeconfig context to use (default: ENV's cluster.kubeContext, else its cluster name, "
    "if the kubeconfig has that context; else the current context).",
)
@output_option(*FORMATS, metrics.FORMAT, multiple=True, name="outputs")
@click.option(
    "--output-file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write the report to FILE instead of stdout (one -o format).",
)
@click.option(
    "--fail-on",
    type=click.Choice(["drift", "never"]),
    default="drift",
    show_default=True,
    help="Exit 1 on drift, or never (errors still exit 2).",
)
@click.option(
    "--manifests",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Audit this folder of manifests instead of what render produces for ENV.",
)
@click.option(
    "-n",
    "--namespace",
    default=None,
    help="Namespace of manifests that name none (default: the environment's).",
)
@click.option("--server-side", is_flag=True, help="Exact mode: server-side-apply dry runs.")
@click.option(
    "--concurrency",
    type=click.IntRange(1, 64),
    default=8,
    show_default=True,
    help="Parallel requests (LISTs, dry runs).",
)
@click.option(
    "--decrypt",
    is_flag=True,
    help="Also compare the required Secrets' values with the repository's (needs ENV's age key).",
)
@click.option(
    "--hydrate",
    is_flag=True,
    help="Also hydrate every Application (helm template, as Argo CD) and audit its objects, "
    "attributed to it: the workloads themselves, without Argo CD's verdict.",
)
@hydration_options
@identity_option()
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_TIMEOUT,
    show_default=True,
    metavar="SECONDS",
    help="How long one request to the API server may take before the server counts as gone.",
)
@click.option(
    "--deadline",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="SECONDS",
    help="Time limit for the whole audit. When it passes, the report of what was audited so "
    "far is printed with an error finding for the rest, and the exit code is 2.",
)
@click.option(
    "--mask-key-file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Key for masking Secret values (at least 32 bytes, e.g. `openssl rand -hex 32`): the "
    "same value gets the same mask in every run using this key. Default: a fresh key per run.",
)
@click.option("--timestamp", is_flag=True, help="Put the time in the report (not reproducible).")
@click.option(
    "--report-config-map",
    default=None,
    metavar="NAME",
    help="Also store the Markdown and JSON reports in this ConfigMap (the scheduled audit), with "
    "the state that tells the next run what is new and resolved.",
)
@click.option(
    "--state",
    "state_file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Keep the state between runs (first-seen times, what was notified) in this local file "
    "instead of the report ConfigMap: reports then say what is new, resolved and how old.",
)
@click.option(
    "--notify",
    is_flag=True,
    help="Send ENV's drift.notify notifications that are due: on new or resolved findings, and "
    "after remindEvery while drift persists (needs --report-config-map or --state).",
)
@click.option(
    "--notify-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=notify_run.DEFAULT_TIMEOUT,
    show_default=True,
    metavar="SECONDS",
    help="How long one request to a notification receiver may take.",
)
@click.option(
    "--pushgateway",
    default=None,
    metavar="URL",
    help="Also push the run's metrics (as -o openmetrics) to this Prometheus Pushgateway: "
    f"job {metrics.JOB}, grouped by environment, replaced on every run. The scheduled audit "
    "passes the environment's drift.pushgateway. A failed push is one error line; the exit code "
    "stays the audit's.",
)
@click.option(
    "--stale-after",
    default=None,
    metavar="DURATION",
    help="Report an Application whose status.reconciledAt is older than this (e.g. 9m). "
    "Default: the environment's drift.staleAfter, else 3 × Argo CD's longest resync "
    "(argocd-cm timeout.reconciliation + its jitter, else 180s + 60s).",
)
@click.pass_obj
def drift_command(
    app: AppContext,
    environment: str,
    kubeconfig: Path | None,
    kube_context: str | None,
    outputs: tuple[str, ...],
    output_file: Path | None,
    fail_on: str,
    manifests: Path | None,
    namespace: str | None,
    server_side: bool,
    concurrency: int,
    decrypt: bool,
    hydrate: bool,
    hydration: HydrationOptions,
    identity: Path | None,
    timeout: float,
    deadline: float | None,
    mask_key_file: Path | None,
    timestamp: bool,
    report_config_map: str | None,
    state_file: Path | None,
    notify: bool,
    notify_timeout: float,
    pushgateway: str | None,
    stale_after: str | None,
) -> None:
    """Audit the live cluster of ENV against the repository.

    Compares what render produces for ENV (Applications, AppProject, SopsSecrets, the drift
    audit's own objects), the Applications' sync/health/revision status, the required Secrets'
    key names and orphans labelled as ours — or, with --manifests, any folder of manifests.
    One paginated LIST per (type, namespace). Exit 0 no drift, 1 drift, 2 error.

    --hydrate also hydrates every Application (helm template, as Argo CD's repo server) and
    audits its objects, attributed to it, with the cluster's kube and API versions; its
    ignoreDifferences are honoured and the report says what Argo CD would not show.

    --decrypt decrypts secrets/ENV/ in memory with --identity (or $GITOPS_GEN_AGE_KEY_FILE) and
    compares values too; values are only ever shown masked.

    When the API server stops answering (--timeout per request) or --deadline passes, the
    report of what was audited is still printed, with an error finding for the rest (exit 2).

    With a previous run's state (--report-config-map, or --state FILE) every report also says
    what is new since the last run, what was resolved and how long each finding has been open;
    --notify then tells ENV's drift.notify targets when that changes. A failed notification is
    one line on stderr and in the report; it never changes the exit code.
    """
    formats = outputs or ("text",)
    if output_file is not None and len(formats) > 1:
        raise InputError("--output-file takes one report format; pass -o once")
    platform = load_platform(app.root)
    env = platform.environment(environment)
    if manifests is not None:
        state = desired_state.from_manifests(manifests, env.name, namespace or env.namespace)
        state.not_from_source = lambda: desired_state.rendered_identities(platform, env.name)
    else:
        state = desired_state.from_render(platform, env.name)
        if namespace is not None:
            raise InputError("--namespace only applies to --manifests")
    if hydrate and manifests is not None:
        raise InputError("--hydrate audits what render produces for ENV; drop --manifests")
    if identity is not None and not decrypt:
        raise InputError("--identity only applies to --decrypt")
    _check_state_options(env, report_config_map, state_file, notify)
    if pushgateway is not None:
        metrics.check_gateway_url(pushgateway)
    stale = _stale_threshold(stale_after, env.drift.stale_after, env.name)
    moment = history.now()
    masker = Masker(load_mask_key(mask_key_file) if mask_key_file is not None else None)
    started = time.monotonic()
    options = AuditOptions(
        stale_after=stale,
        server_side=server_side,
        concurrency=concurrency,
        expected_secret_values=_secret_values(platform, env.name, identity) if decrypt else None,
        resolve_revision=gitops_resolver(app.root, platform.catalog.platform.gitops_repo),
    )
    context = kube_context or cluster_context(kubeconfig, env.kube_context)
    configuration = load_configuration(kubeconfig, context)
    with (
        LiveCluster(configuration, timeout=timeout, deadline=deadline) as cluster,
        _progress(app) as progress,
    ):
        options.progress = progress
        hooks, not_hydrated = (
            _hydrate(app, platform, env.name, state, cluster, hydration, options)
            if hydrate
            else (set(), [])
        )
        result = run_audit(state, cluster, masker, options)
        if hydrate:
            result = hydrated_audit.explain(result, hooks)
        stamp = history.format_time(moment) if timestamp else None
        store: StateStore | None = None
        if report_config_map:
            store = ConfigMapStore(cluster, namespace or env.namespace, report_config_map)
        elif state_file is not None:
            store = FileStore(state_file)
        series = follow_up(
            store,
            result,
            moment,
            notify=env.drift.notify if notify else None,
            stamp=stamp,
            notify_timeout=notify_timeout,
        )
        deliveries = series.deliveries
        run = metrics.RunInfo(
            duration_seconds=time.monotonic() - started,
            exit_code=_exit_code(result, not_hydrated, fail_on),
            finished_at=time.time(),
        )
        texts = [_report(result, fmt, stamp, series.changes, deliveries, run) for fmt in formats]
    if output_file is not None:
        try:
            output_file.write_text(texts[0], encoding="utf-8")
        except OSError as exc:
            raise InputError(
                f"--output-file {output_file}: cannot write ({exc.strerror})"
            ) from None
    else:
        click.echo("\n".join(texts), nl=False)
    for delivery in deliveries:
        if delivery.status is Status.FAILED:
            click.echo(delivery.line(), err=True)
        else:
            app.info(delivery.line())
    for line in not_hydrated:
        click.echo(f"error: {line}", err=True)
    if pushgateway is not None:
        try:
            metrics.push(pushgateway, result, run)
        except metrics.PushError as exc:
            # Never hides the audit's result: one line, and the exit code stays the audit's.
            click.echo(f"error: {exc}", err=True)
        else:
            app.info(f"metrics pushed to {metrics.without_credentials(pushgateway)}")
    if not_hydrated:
        raise ExternalToolError(
            f"audit incomplete: {len(not_hydrated)} Application(s) could not be hydrated"
        )
    if result.stopped:
        raise ExternalToolError(result.stopped)
    if result.errors:
        raise ExternalToolError(
            f"audit incomplete: {len(result.errors)} part(s) could not be audited "
            f"({', '.join(sorted({f.rule for f in result.errors}))}); see the report"
        )
    app.info(
        f"audited {len(result.objects)} objects with {result.api_requests} API requests "
        f"({result.lists} LISTs): {len(result.drift)} findings"
    )
    if result.drift and fail_on == "drift":
        raise click.exceptions.Exit(ExitCode.FINDINGS)


def _check_state_options(
    env: Environment, report_config_map: str | None, state_file: Path | None, notify: bool
) -> None:
    if report_config_map and state_file is not None:
        raise InputError(
            "--state keeps the state in a local file, --report-config-map in the ConfigMap; "
            "pass one of them"
        )
    if not notify:
        return
    if env.drift.notify is None:
        raise InputError(
            f"--notify: environments/{env.name}.yaml sets no drift.notify targets; add "
            "drift.notify.targets or drop --notify"
        )
    if not report_config_map and state_file is None:
        raise InputError(
            "--notify needs the previous run's state to tell what changed: pass "
            "--report-config-map NAME or --state FILE"
        )


def _report(
    result: AuditResult,
    fmt: str,
    stamp: str | None,
    changes: history.Changes | None,
    deliveries: tuple[Delivery, ...],
    run: metrics.RunInfo,
) -> str:
    if fmt == metrics.FORMAT:
        return metrics.to_openmetrics(result, run)
    if fmt == "yaml":
        return json_to_yaml(
            render(result, "json", timestamp=stamp, changes=changes, deliveries=deliveries)
        )
    return render(result, fmt, timestamp=stamp, changes=changes, deliveries=deliveries)


def _exit_code(result: AuditResult, not_hydrated: list[str], fail_on: str) -> int:
    """The exit code the run ends with (raised below; the metrics record it too)."""
    if not_hydrated or result.stopped or result.errors:
        return int(ExitCode.ERROR)
    if result.drift and fail_on == "drift":
        return int(ExitCode.FINDINGS)
    return int(ExitCode.OK)


def _stale_threshold(
    option: str | None, configured: str | None, environment: str
) -> argo.StaleThreshold | None:
    """--stale-after, else the environment's drift.staleAfter; None: from Argo CD's resync."""
    if option is not None:
        seconds = parse_duration(option)
        if seconds is None or seconds <= 0:
            raise InputError(f"--stale-after {option!r}: not a duration; pass e.g. 9m, 1h or 540s")
        return argo.StaleThreshold(seconds, "--stale-after")
    if configured is not None:
        seconds = parse_duration(configured)
        if seconds is None or seconds <= 0:
            raise InputError(
                f"environments/{environment}.yaml: drift.staleAfter {configured!r} is not a "
                "positive duration; write e.g. 9m or 1h"
            )
        return argo.StaleThreshold(seconds, f"drift.staleAfter of {environment}")
    return None


def _hydrate(
    app: AppContext,
    platform: Platform,
    environment: str,
    state: desired_state.DesiredState,
    cluster: LiveCluster,
    hydration: HydrationOptions,
    options: AuditOptions,
) -> tuple[set[tuple[str, ...]], list[str]]:
    """Add the hydrated Applications to ``state``; the hooks among them, and the failures."""
    explicit = hydration.settings.kube_version != DEFAULT_KUBE_VERSION or (
        hydration.settings.api_versions != DEFAULT_API_VERSIONS
    )
    settings = hydrated_audit.cluster_settings(cluster, hydration.settings, explicit)
    results = hydrate_environment(
        platform,
        environment,
        revision=head_revision(app.root),
        settings=settings,
        fetcher=hydration.fetcher(),
    )
    options.ignored_notes = []
    hooks = hydrated_audit.add_hydrated(state, [r for r in results if not r.error])
    return hooks, [r.error for r in results if r.error]


@contextmanager
def _progress(app: AppContext) -> Iterator[Progress | None]:
    """A progress bar on stderr, only for a person watching (stderr is a terminal)."""
    if not sys.stderr.isatty() or app.verbosity < 0:
        yield None
        return
    from rich.progress import Progress as RichProgress

    with RichProgress(console=app.err, transient=True) as bar:
        tasks: dict[str, object] = {}

        def update(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=total)
            bar.update(tasks[phase], completed=done, total=total)  # type: ignore[arg-type]

        yield update


def _secret_values(
    platform: Platform, environment: str, identity: Path | None
) -> Mapping[str, Mapping[str, bytes]]:
    """The repository's secret values, decrypted in memory by the secrets feature."""
    identity = identity_or_default(identity, platform.name, environment)
    source: ValueSource = secret_values.value_source(platform, identity)
    return source.values(environment)
