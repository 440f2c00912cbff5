"""The scheduled drift audit's objects for one environment (DESIGN.md §5, "Scheduled reports").

Files under ``layout.audit_dir`` (ServiceAccount, read-only ClusterRole and binding, namespaced
Role and binding, CronJob) and the Application that syncs them, in the last sync wave.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jinja2

from gitops_gen import __version__
from gitops_gen.model import Environment, Platform
from gitops_gen.render import alerts, layout, waves
from gitops_gen.render.templating import render_template

AUDIT_NAME = "gitops-gen-drift"
# cluster-scoped kinds the audit adds, which the environment's AppProject must admit
CLUSTER_RESOURCES = (
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
)
COMPONENT = "drift-audit"
# The tool's image (Dockerfile at the repository root), next to the platform's own images.
IMAGE_REPOSITORY = "ghcr.io/{platform}/gitops-gen"


@dataclass(frozen=True)
class ReadRule:
    group: str
    resources: tuple[str, ...]


# Exactly what `gitops-gen drift ENV` reads (desired kinds, orphan scopes, required Secrets
# are in the namespaced Role).
READ_RULES = (
    ReadRule("argoproj.io", ("applications", "appprojects")),
    ReadRule("isindir.github.com", ("sopssecrets",)),
    ReadRule("batch", ("cronjobs",)),
    ReadRule("", ("serviceaccounts",)),
    ReadRule(
        "rbac.authorization.k8s.io",
        ("clusterroles", "clusterrolebindings", "roles", "rolebindings"),
    ),
)
APPLICATION_TEMPLATE = "drift-audit-application.yaml.j2"
CRONJOB_TEMPLATE = "drift-audit-cronjob.yaml.j2"
RBAC_TEMPLATE = "drift-audit-rbac.yaml.j2"
ALERTS_TEMPLATE = "drift-audit-alerts.yaml.j2"
RBAC_FILES = ("serviceaccount", "clusterrole", "clusterrolebinding", "role", "rolebinding")


@dataclass(frozen=True)
class AuditSpec:
    name: str
    cluster_name: str
    application: str
    path: str
    wave: int
    image: str
    report_config_map: str
    args: tuple[str, ...]
    read_rules: tuple[ReadRule, ...] = READ_RULES


def audit_spec(platform: Platform, env: Environment) -> AuditSpec:
    report = f"drift-report-{env.name}"
    args = ["--repo", "/work/repo", "drift", env.name, "-o", "markdown", "-o", "json"]
    args += ["--fail-on", "never"]
    if env.drift.report_config_map:
        args += ["--report-config-map", report]
    if env.drift.pushgateway:
        args += ["--pushgateway", env.drift.pushgateway]
    return AuditSpec(
        name=AUDIT_NAME,
        cluster_name=f"{AUDIT_NAME}-{env.name}",
        application=f"{env.name}-{COMPONENT}",
        path=layout.audit_dir(env.cluster_name, env.name),
        wave=waves.AUDIT,
        image=f"{IMAGE_REPOSITORY.format(platform=platform.name)}:{__version__}",
        report_config_map=report,
        args=tuple(args),
    )


def render_audit(
    jinja: jinja2.Environment,
    platform: Platform,
    env: Environment,
    common: dict[str, Any],
    labels: dict[str, str],
) -> tuple[dict[str, tuple[str, str]], str]:
    """(path -> (template, text), the audit Application's name)."""
    spec = audit_spec(platform, env)
    context = {**common, "audit": spec, "labels": labels}
    folder = layout.audit_dir(env.cluster_name, env.name)
    files = {
        f"{layout.apps_dir(env.cluster_name, env.name)}/{COMPONENT}.yaml": (
            APPLICATION_TEMPLATE,
            render_template(jinja, APPLICATION_TEMPLATE, context),
        ),
        f"{folder}/cronjob.yaml": (
            CRONJOB_TEMPLATE,
            render_template(jinja, CRONJOB_TEMPLATE, context),
        ),
    }
    if env.drift.pushgateway:
        files[f"{folder}/{alerts.ALERTS_FILE}"] = (
            ALERTS_TEMPLATE,
            render_template(jinja, ALERTS_TEMPLATE, {**context, "alerts": alerts.alert_rules(env)}),
        )
    for name in RBAC_FILES:
        files[f"{folder}/{name}.yaml"] = (
            RBAC_TEMPLATE,
            render_template(jinja, RBAC_TEMPLATE, {**context, "rbac_object": name}),
        )
    return files, spec.application
