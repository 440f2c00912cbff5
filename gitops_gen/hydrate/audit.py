"""``drift --hydrate``: the workloads themselves, hydrated, audited against the live cluster.

Argo CD's verdict on an Application is frozen while its controller is down and blind to what
``ignoreDifferences`` hides. Hydrating each Application and auditing its objects directly, as
``--manifests`` does, attributes every finding to its Application, and says which findings
Argo CD would not show: differences its ``ignoreDifferences`` covers, and hooks (which Argo CD
runs at sync time and does not track).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from gitops_gen.drift.desired import DesiredObject, DesiredState
from gitops_gen.drift.findings import AuditResult, FindingType, ObjectRef
from gitops_gen.drift.live import ApiRequestError, LiveCluster
from gitops_gen.hydrate.engine import HydratedApp, Settings
from gitops_gen.hydrate.objects import is_hook

HOOK_NOTE = "a hook, which Argo CD runs at sync time and does not track"


def add_hydrated(state: DesiredState, results: Sequence[HydratedApp]) -> set[tuple[str, ...]]:
    """Add each Application's hydrated objects to ``state``, attributed to it; an object the
    render already holds (an Application, a SopsSecret) takes the hydrating Application.
    Returns the identities of the hook objects."""
    by_identity = {o.ref.identity: i for i, o in enumerate(state.objects)}
    hooks: set[tuple[str, ...]] = set()
    for result in results:
        for obj in result.objects:
            before = len(state.objects)
            state.add(obj, f"hydrated:{result.name}", result.name)
            if len(state.objects) == before:
                continue
            added = state.objects.pop()
            if is_hook(obj):
                hooks.add(added.ref.identity)
            index = by_identity.get(added.ref.identity)
            if index is None:
                by_identity[added.ref.identity] = len(state.objects)
                state.objects.append(added)
            else:
                old = state.objects[index]
                state.objects[index] = DesiredObject(old.ref, old.obj, old.source, result.name)
    return hooks


def explain(result: AuditResult, hooks: set[tuple[str, ...]]) -> AuditResult:
    """Say which findings Argo CD would not show; a hook that is gone is not drift (hooks are
    deleted by their delete policy)."""
    findings = []
    for finding in result.findings:
        if finding.ref.identity in hooks:
            if finding.type is FindingType.MISSING and not finding.path:
                continue
            finding = replace(finding, message=f"Argo CD would not show this: {HOOK_NOTE}")
            result.warnings.append(
                f"Argo CD would not show: {finding.ref.display()} {finding.path or ''} "
                f"({finding.app}): {HOOK_NOTE}".replace("  ", " ")
            )
        findings.append(finding)
    result.findings = findings
    return result.sorted()


def cluster_settings(cluster: LiveCluster, settings: Settings, explicit: bool) -> Settings:
    """The destination's kube version and API versions, as Argo CD would pass them to helm
    (unless given on the command line)."""
    if explicit:
        return settings
    try:
        version: dict[str, Any] = cluster.request("GET", "/version", "server version")
        groups = cluster.request("GET", "/apis", "API groups")
        core = cluster.request("GET", "/api", "core API versions")
    except ApiRequestError:
        return settings
    api_versions = {str(v) for v in core.get("versions") or []}
    for group in groups.get("groups") or []:
        for v in group.get("versions") or []:
            api_versions.add(str(v.get("groupVersion")))
    git_version = str(version.get("gitVersion") or "").lstrip("v").split("+")[0].split("-")[0]
    return replace(
        settings,
        kube_version=git_version or settings.kube_version,
        api_versions=tuple(sorted(api_versions)) or settings.api_versions,
    )


def ignored_note(ref: ObjectRef, path: str, app: str) -> str:
    return (
        f"Argo CD would not show: {ref.display()} {path} differs ({app}): "
        "covered by the Application's ignoreDifferences"
    )
