"""Metrics of one audit: ``drift -o openmetrics`` and ``drift --pushgateway URL``.

The series (all gauges: each run replaces the last, a push replaces the whole group):

* ``gitops_gen_drift_findings{environment, rule, severity, type}``: findings of the run, one
  series per (rule, severity, type) that has at least one finding;
* ``gitops_gen_drift_objects_audited{environment}``, ``gitops_gen_drift_api_requests{environment}``
  and ``gitops_gen_drift_audit_duration_seconds{environment}``;
* ``gitops_gen_drift_exit_code{environment}``: the exit code of the run (0, 1 or 2);
* ``gitops_gen_drift_last_run_timestamp_seconds{environment}``: when this run finished;
* ``gitops_gen_drift_last_success_timestamp_seconds{environment}``: the same, only when the audit
  completed (exit 0 or 1). A run that could not audit (exit 2) leaves it out, so the alert on
  "no successful audit" looks back over Prometheus' own history (docs/drift.md).

The exposition is written by ``prometheus_client``, not by hand. Pushing goes through its
``push_to_gateway`` (HTTP PUT: the group ``job/gitops_gen_drift/environment/<env>`` is replaced
on every run, so a resolved finding's series disappears).
"""

from __future__ import annotations

import http.client
import urllib.error
from collections import Counter
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit, urlunsplit

from prometheus_client import CollectorRegistry, Gauge
from prometheus_client.exposition import push_to_gateway
from prometheus_client.openmetrics.exposition import generate_latest

from gitops_gen.drift.findings import AuditResult
from gitops_gen.errors import InputError

JOB: Final = "gitops_gen_drift"
FORMAT: Final = "openmetrics"
PREFIX: Final = "gitops_gen_drift"
PUSH_TIMEOUT_S: Final = 10.0


@dataclass(frozen=True)
class RunInfo:
    """What the report does not hold: how the run went."""

    duration_seconds: float
    exit_code: int
    finished_at: float  # Unix time

    @property
    def succeeded(self) -> bool:
        """The audit completed (drift or not): its findings are the cluster's whole story."""
        return self.exit_code in (0, 1)


def registry_of(result: AuditResult, run: RunInfo) -> CollectorRegistry:
    """The run's series in a registry of their own (never the process-wide default one)."""
    registry = CollectorRegistry(auto_describe=True)
    env = {"environment": result.environment}

    findings = Gauge(
        f"{PREFIX}_findings",
        "Findings of the last audit by rule, severity and type (error = not audited).",
        ["environment", "rule", "severity", "type"],
        registry=registry,
    )
    counts = Counter((f.rule, f.severity.value, f.type.value) for f in result.findings)
    for (rule, severity, kind), count in sorted(counts.items()):
        findings.labels(result.environment, rule, severity, kind).set(count)

    def gauge(name: str, help_text: str, value: float) -> None:
        Gauge(f"{PREFIX}_{name}", help_text, ["environment"], registry=registry).labels(**env).set(
            value
        )

    gauge("objects_audited", "Objects the last audit looked at.", len(result.objects))
    gauge("api_requests", "Requests the last audit made to the API server.", result.api_requests)
    gauge(
        "audit_duration_seconds",
        "How long the last audit took, from connecting to the report.",
        run.duration_seconds,
    )
    gauge("exit_code", "Exit code of the last run: 0 no drift, 1 drift, 2 error.", run.exit_code)
    gauge("last_run_timestamp_seconds", "When the last run finished.", run.finished_at)
    if run.succeeded:
        gauge(
            "last_success_timestamp_seconds",
            "When an audit last completed (exit 0 or 1).",
            run.finished_at,
        )
    return registry


def to_openmetrics(result: AuditResult, run: RunInfo) -> str:
    """The OpenMetrics text exposition of the run (ends with ``# EOF``)."""
    text: bytes = generate_latest(registry_of(result, run))  # type: ignore[no-untyped-call]
    return text.decode()


class PushError(Exception):
    """The Pushgateway did not take the metrics; the message says which gateway and why."""


def without_credentials(url: str) -> str:
    """The URL as it may be printed: any ``user:password@`` removed."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def check_gateway_url(url: str) -> None:
    """An http(s) URL without credentials, or InputError (before anything is audited)."""
    if not url.startswith(("http://", "https://")):
        raise InputError(
            f"--pushgateway {url!r}: not an http(s) URL; pass e.g. http://pushgateway:9091"
        )
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None:
        raise InputError(
            f"--pushgateway {without_credentials(url)}: a user or password in the URL is not "
            "supported (it would show on the command line); use a gateway reachable without one"
        )


def push(
    gateway: str, result: AuditResult, run: RunInfo, *, timeout: float = PUSH_TIMEOUT_S
) -> None:
    """PUT the run's series to `gateway` as group ``job=gitops_gen_drift, environment=<env>``."""
    try:
        push_to_gateway(
            gateway,
            job=JOB,
            registry=registry_of(result, run),
            grouping_key={"environment": result.environment},
            timeout=timeout,
        )
    except (OSError, ValueError, http.client.HTTPException) as exc:
        raise PushError(
            f"metrics not pushed to {without_credentials(gateway)}: {_reason(exc)}"
        ) from None


def _reason(exc: Exception) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        # The gateway's answer: its status, and the first line of its body (why it refused).
        try:
            body = exc.read().decode(errors="replace").strip().splitlines()
        except OSError:
            body = []
        detail = f": {body[0][:200]}" if body and body[0] != exc.reason else ""
        return f"HTTP {exc.code} {exc.reason}{detail}"
    # urllib's URLError carries the socket error in .reason.
    reason = getattr(exc, "reason", None)
    return str(reason if reason is not None else exc) or type(exc).__name__
