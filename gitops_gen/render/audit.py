"""The scheduled drift audit's objects for one environment (DESIGN.md §5, "Scheduled reports").

Files under ``layout.audit_dir`` (ServiceAccount, read-only ClusterRole and binding, namespaced
Role and binding, CronJob) and the Application that syncs them, in the last sync wave.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jinja2

from gitops_gen import __version__
from gitops_gen.drift.clone import CREDENTIALS_MOUNT
from gitops_gen.model import Environment, Platform
from gitops_gen.notify.variables import variable as notify_variable
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
# Where the init container clones the repository (an emptyDir shared with the audit).
CHECKOUT = "/work/repo"
CREDENTIALS_VOLUME = "repo-credentials"


@dataclass(frozen=True)
class SecretEnv:
    """An environment variable of the audit container set from a Secret (a notify target's
    URL or token): the repository names the Secret, never the value."""

    name: str
    secret: str
    key: str


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
    # the init container's command: `gitops-gen clone` with the credentials' mount, if any
    checkout_command: tuple[str, ...]
    # drift.repoCredentials' Secret, mounted at CREDENTIALS_MOUNT (a reference, never a value)
    credentials_secret: str | None = None
    credentials_mount: str = CREDENTIALS_MOUNT
    credentials_volume: str = CREDENTIALS_VOLUME
    read_rules: tuple[ReadRule, ...] = READ_RULES
    secret_env: tuple[SecretEnv, ...] = ()


def checkout_command(platform: Platform, env: Environment) -> tuple[str, ...]:
    info = platform.catalog.platform
    command = ["gitops-gen", "clone", info.gitops_repo, CHECKOUT, "--revision"]
    command.append(info.gitops_revision)
    credentials = env.drift.repo_credentials
    if credentials is not None:
        command += ["--auth", credentials.type, "--credentials", CREDENTIALS_MOUNT]
        command += ["--secret-name", credentials.secret]
    return tuple(command)


def audit_spec(platform: Platform, env: Environment) -> AuditSpec:
    report = f"drift-report-{env.name}"
    credentials = env.drift.repo_credentials
    args = ["--repo", CHECKOUT, "drift", env.name, "-o", "markdown", "-o", "json"]
    args += ["--fail-on", "never"]
    if env.drift.report_config_map:
        args += ["--report-config-map", report]
    secret_env: list[SecretEnv] = []
    if env.drift.notify is not None:
        args += ["--notify"]
        for target in env.drift.notify.targets:
            ref = target.url or target.token
            if ref is not None:
                secret_env.append(SecretEnv(notify_variable(target), ref.secret, ref.key))
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
        secret_env=tuple(secret_env),
        checkout_command=checkout_command(platform, env),
        credentials_secret=credentials.secret if credentials else None,
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
