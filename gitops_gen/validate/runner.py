"""Run every check on what ``render`` would produce (in memory: nothing is written)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml

from gitops_gen.model import Platform
from gitops_gen.render import plan_render
from gitops_gen.render.layout import root_app_file
from gitops_gen.secrets.operator import UnencryptedSecretError
from gitops_gen.validate.argo import ARGO_API_VERSION, check_argo_object
from gitops_gen.validate.chart import validate_chart_values
from gitops_gen.validate.findings import Finding
from gitops_gen.validate.kube import is_core_object, validate_core
from gitops_gen.validate.policies import POLICIES
from gitops_gen.validate.secrets import validate_secrets
from gitops_gen.yamlio import load_all_fast


def validate_platform(
    platform: Platform, environments: Iterable[str] | None = None
) -> list[Finding]:
    """All findings for ``environments`` (every environment when None), sorted."""
    try:
        plan = plan_render(platform, environments)
    except UnencryptedSecretError:
        # render refuses to copy plaintext; validate reports it (and the rest) as findings
        names = tuple(sorted(environments or platform.environments))
        return sorted(set(validate_secrets(platform, names)))
    findings: list[Finding] = []
    for env_name in plan.environments:
        env = platform.environments[env_name]
        prefixes = tuple(p for p in plan.owned_prefixes if f"/{env_name}/" in p)
        rendered: dict[str, Any] = {}
        for path, text in plan.files.items():
            if path.startswith(prefixes) or path == root_app_file(env.cluster_name):
                try:
                    docs = load_all_fast(text)
                except yaml.YAMLError as exc:
                    findings.append(Finding(env_name, "YAML001", path, f"invalid YAML: {exc}"))
                    continue
                for doc in docs:
                    rendered[path] = doc
                    findings.extend(_check_object(env_name, path, doc))
        for policy in POLICIES:
            findings.extend(policy.check(platform, env, rendered))
        findings.extend(validate_chart_values(platform, env))
    findings.extend(validate_secrets(platform, plan.environments))
    return sorted(set(findings))


def _check_object(env: str, path: str, doc: Any) -> list[Finding]:
    if not isinstance(doc, dict) or "kind" not in doc or "apiVersion" not in doc:
        return []  # Helm values files are not Kubernetes objects
    if str(doc["apiVersion"]).startswith("argoproj.io/") or doc["apiVersion"] == ARGO_API_VERSION:
        return check_argo_object(env, path, doc)
    if is_core_object(doc):
        return validate_core(env, path, doc)
    return []  # custom resources of other operators are checked by their own rules
