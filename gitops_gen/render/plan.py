"""Compute what ``clusters/`` must contain: a pure function of the model and the templates.

Nothing here writes to disk; :mod:`gitops_gen.render.writer` applies or checks a plan.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import yaml

from gitops_gen.errors import TemplateError
from gitops_gen.model import Environment, Platform
from gitops_gen.model.schema import Resources
from gitops_gen.render import audit, layout, waves
from gitops_gen.render.chart_values import platform_values
from gitops_gen.render.templating import TEMPLATES_DIR, make_environment, render_template
from gitops_gen.secrets.operator import OPERATOR, encrypted_manifests
from gitops_gen.secrets.store import has_secrets
from gitops_gen.yamlio import is_single_mapping

MANAGED_BY = "gitops-gen"
LABEL_ENV = "gitops-gen.io/environment"
LABEL_COMPONENT = "gitops-gen.io/component"


@dataclass(frozen=True)
class AppSpec:
    """One Argo CD Application of an environment, before templating."""

    name: str
    component: str
    wave: int
    repo_url: str
    target_revision: str
    release_name: str
    values_file: str
    namespace: str
    chart: str | None = None
    path: str | None = None
    hpa_deployments: tuple[str, ...] = ()


@dataclass(frozen=True)
class RenderPlan:
    """Every file a render writes (repo-relative POSIX path -> text) and what it replaces."""

    files: dict[str, str]
    owned_prefixes: tuple[str, ...]
    owned_files: tuple[str, ...]
    environments: tuple[str, ...]
    full: bool
    applications: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def owns(self, path: str) -> bool:
        if self.full:
            return path.startswith(layout.CLUSTERS_DIR + "/")
        return path in self.owned_files or any(path.startswith(p) for p in self.owned_prefixes)


def plan_render(platform: Platform, environments: Iterable[str] | None = None) -> RenderPlan:
    """Render ``environments`` (all when None) with the repository's templates."""
    names = sorted(platform.environments) if environments is None else sorted(set(environments))
    for name in names:
        platform.environment(name)  # unknown names fail here, with a suggestion
    full = environments is None or set(names) == set(platform.environments)
    jinja = make_environment(platform.root / TEMPLATES_DIR)
    files: dict[str, str] = {}
    owned_prefixes: list[str] = []
    owned_files: list[str] = []
    applications: dict[str, tuple[str, ...]] = {}
    clusters: set[str] = set()
    for name in names:
        env = platform.environments[name]
        rendered, apps = _render_environment(jinja, platform, env)
        files.update(rendered)
        applications[name] = apps
        owned_prefixes.extend(layout.owned_prefixes(env.cluster_name, env.name))
        clusters.add(env.cluster_name)
    for cluster in sorted(clusters):
        path = layout.root_app_file(cluster)
        files[path] = _render_root(jinja, platform, cluster)
        owned_files.append(path)
    return RenderPlan(
        files=dict(sorted(files.items())),
        owned_prefixes=tuple(owned_prefixes),
        owned_files=tuple(owned_files),
        environments=tuple(names),
        full=full,
        applications=applications,
    )


def base_labels(
    platform: Platform, env: Environment | None, component: str | None
) -> dict[str, str]:
    labels = {
        "app.kubernetes.io/managed-by": MANAGED_BY,
        "app.kubernetes.io/part-of": platform.name,
    }
    if env is not None:
        labels[LABEL_ENV] = env.name
    if component is not None:
        labels[LABEL_COMPONENT] = component
    return labels


def application_specs(platform: Platform, env: Environment) -> list[AppSpec]:
    """The Applications of ``env`` in sync-wave order."""
    values = layout.values_dir(env.cluster_name, env.name)
    apps = [
        AppSpec(
            name=f"{env.name}-{dep.name}",
            component=dep.name,
            wave=waves.DEPENDENCIES,
            repo_url=dep.spec.repo_url,
            chart=dep.spec.chart,
            target_revision=dep.chart_version,
            release_name=dep.name,
            values_file=f"{values}/{dep.name}.yaml",
            namespace=dep.namespace,
        )
        for dep in env.dependencies
    ]
    hpa_owned = tuple(sorted(w.name for w in env.workloads if w.hpa is not None))
    apps.append(
        _platform_chart_app(
            platform, env, "platform", platform_release(platform), waves.PLATFORM, hpa_owned
        )
    )
    if has_secrets(platform.root, env.name):
        apps.append(
            AppSpec(
                name=f"{env.name}-{OPERATOR.name}",
                component=OPERATOR.name,
                wave=waves.OPERATORS,
                repo_url=platform.catalog.platform.secrets_operator_repo or OPERATOR.repo_url,
                chart=OPERATOR.chart,
                target_revision=OPERATOR.version,
                release_name=OPERATOR.name,
                values_file=f"{values}/{OPERATOR.name}.yaml",
                namespace=env.namespace,
            )
        )
    return sorted(apps, key=lambda a: (a.wave, a.name))


def _platform_chart_app(
    platform: Platform,
    env: Environment,
    component: str,
    release: str,
    wave: int,
    hpa_deployments: tuple[str, ...],
) -> AppSpec:
    """The platform chart's release, from the application repository at the env's revision.

    One release holds the UI too: the chart cannot switch its pipelines, bootstrap jobs or
    managed Secrets off (`enabled | default true`), so a UI-only second release would render
    those objects a second time (README: the chart mapping)."""
    info = platform.catalog.platform
    return AppSpec(
        name=f"{env.name}-{release}",
        component=component,
        wave=wave,
        repo_url=info.app_repo,
        path=info.chart_path,
        target_revision=env.platform_revision,
        release_name=release,
        values_file=f"{layout.values_dir(env.cluster_name, env.name)}/{release}.yaml",
        namespace=env.namespace,
        hpa_deployments=hpa_deployments,
    )


def source_repos(platform: Platform, env: Environment) -> list[str]:
    info = platform.catalog.platform
    repos = {info.gitops_repo, info.app_repo, *info.chart_repos}
    repos.update(dep.spec.repo_url for dep in env.dependencies)
    if has_secrets(platform.root, env.name):
        repos.add(info.secrets_operator_repo or OPERATOR.repo_url)
    return sorted(repos)


def _render_environment(
    jinja: jinja2.Environment, platform: Platform, env: Environment
) -> tuple[dict[str, str], tuple[str, ...]]:
    info = platform.catalog.platform
    common: dict[str, Any] = {
        "env": env,
        "argocd_namespace": info.argocd_namespace,
        "gitops_repo": info.gitops_repo,
        "gitops_revision": info.gitops_revision,
        "project": project_name(platform, env),
        "globals": platform.catalog.globals,
        "resources": _resources,
    }
    files: dict[str, str] = {}
    apps_dir = layout.apps_dir(env.cluster_name, env.name)
    values_dir = layout.values_dir(env.cluster_name, env.name)

    files[f"{apps_dir}/project.yaml"] = _checked(
        render_template(
            jinja,
            "appproject.yaml.j2",
            {
                **common,
                "labels": base_labels(platform, env, None),
                "wave": waves.PROJECT,
                "description": f"{platform.name} {env.name} ({env.tier}) on {env.cluster_name}",
                "source_repos": source_repos(platform, env),
                "cluster_resources": _cluster_resources(platform, env),
            },
        ),
        "appproject.yaml.j2",
    )
    app_names: list[str] = []
    for app in application_specs(platform, env):
        files[f"{apps_dir}/{app.component}.yaml"] = _checked(
            render_template(
                jinja,
                "application.yaml.j2",
                {**common, "app": app, "labels": base_labels(platform, env, app.component)},
            ),
            "application.yaml.j2",
        )
        app_names.append(app.name)
    if env.drift.enabled:
        labels = base_labels(platform, env, audit.COMPONENT)
        audit_files, audit_app = audit.render_audit(jinja, platform, env, common, labels)
        files.update({path: _checked(text, tpl) for path, (tpl, text) in audit_files.items()})
        app_names.append(audit_app)

    for dep in env.dependencies:
        files[f"{values_dir}/{dep.name}.yaml"] = _checked(
            render_template(jinja, "dependency-values.yaml.j2", {**common, "dependency": dep}),
            "dependency-values.yaml.j2",
        )
    files[f"{values_dir}/{platform_release(platform)}.yaml"] = _checked(
        render_template(
            jinja,
            "platform-values.yaml.j2",
            {
                **common,
                "chart_path": platform.catalog.platform.chart_path,
                "values": platform_values(platform, env).values,
                "release": platform_release(platform),
            },
        ),
        "platform-values.yaml.j2",
    )
    if has_secrets(platform.root, env.name):
        app_names.append(_render_secrets(jinja, platform, env, common, files))
    return files, tuple(sorted(app_names))


def _cluster_resources(platform: Platform, env: Environment) -> list[tuple[str, str]]:
    kinds = [("", "Namespace")]
    if has_secrets(platform.root, env.name):
        kinds.extend(OPERATOR.cluster_resources)
    if env.drift.enabled:  # the audit's read-only ClusterRole and its binding
        kinds.extend(audit.CLUSTER_RESOURCES)
    return sorted(set(kinds), key=kinds.index)


def _render_secrets(
    jinja: jinja2.Environment,
    platform: Platform,
    env: Environment,
    common: dict[str, Any],
    files: dict[str, str],
) -> str:
    """Encrypted SopsSecrets copied verbatim (never decrypted: render needs no key), the
    Application syncing them after the dependencies, and the operator's values."""
    secrets_dir = layout.secrets_dir(env.cluster_name, env.name)
    for name, text in encrypted_manifests(platform.root, env.name).items():
        files[f"{secrets_dir}/{name}"] = text
    values_file = f"{layout.values_dir(env.cluster_name, env.name)}/{OPERATOR.name}.yaml"
    files[values_file] = _checked(
        render_template(jinja, "sops-operator-values.yaml.j2", {**common, "operator": OPERATOR}),
        "sops-operator-values.yaml.j2",
    )
    name = f"{env.name}-secrets"
    files[f"{layout.apps_dir(env.cluster_name, env.name)}/secrets.yaml"] = _checked(
        render_template(
            jinja,
            "secrets-application.yaml.j2",
            {
                **common,
                "name": name,
                "wave": waves.SECRETS,
                "path": secrets_dir,
                "labels": base_labels(platform, env, "secrets"),
            },
        ),
        "secrets-application.yaml.j2",
    )
    return name


def platform_release(platform: Platform) -> str:
    """The platform chart's release and Application suffix (``aether-platform`` for Aether)."""
    return f"{platform.name}-platform"


def project_name(platform: Platform, env: Environment) -> str:
    return f"{platform.name}-{env.name}"


def _render_root(jinja: jinja2.Environment, platform: Platform, cluster: str) -> str:
    info = platform.catalog.platform
    envs = [e for e in platform.environments.values() if e.cluster_name == cluster]
    # The root follows the most careful environment on the cluster.
    automated = all(e.sync.automated for e in envs)
    context = {
        "cluster": {
            "name": cluster,
            "automated": automated,
            "prune": all(e.sync.prune for e in envs),
            "self_heal": all(e.sync.self_heal for e in envs),
        },
        "argocd_namespace": info.argocd_namespace,
        "gitops_repo": info.gitops_repo,
        "gitops_revision": info.gitops_revision,
        "apps_path": layout.apps_root(cluster),
        "labels": base_labels(platform, None, None),
    }
    return _checked(
        render_template(jinja, "root-application.yaml.j2", context), "root-application.yaml.j2"
    )


def _resources(resources: Resources) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if resources.requests:
        out["requests"] = {k: str(v) for k, v in resources.requests.items()}
    if resources.limits:
        out["limits"] = {k: str(v) for k, v in resources.limits.items()}
    return out


def _checked(text: str, template: str) -> str:
    """Rendered text must be one YAML mapping; a template that emits broken YAML is a bug there."""
    try:
        is_mapping = is_single_mapping(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" (output line {mark.line + 1})" if mark is not None else ""
        raise TemplateError(
            f"{TEMPLATES_DIR}/{template}: rendered invalid YAML{line}: "
            f"{getattr(exc, 'problem', None) or exc}; fix the template's indentation or quoting"
        ) from None
    if not is_mapping:
        raise TemplateError(
            f"{TEMPLATES_DIR}/{template}: rendered output is not a YAML mapping; fix the template"
        )
    return text.rstrip("\n") + "\n"


def template_names(root: Path) -> list[str]:
    return sorted(p.name for p in (root / TEMPLATES_DIR).glob("*.j2"))
