"""What Argo CD requires of an Application or AppProject, checked without a cluster."""

from __future__ import annotations

import re
from typing import Any

from gitops_gen.validate.findings import Finding

ARGO_API_VERSION = "argoproj.io/v1alpha1"
WAVE_ANNOTATION = "argocd.argoproj.io/sync-wave"
FINALIZER = "resources-finalizer.argocd.argoproj.io"
# syncOptions Argo CD understands (docs: user-guide/sync-options), with their allowed values
SYNC_OPTIONS: dict[str, set[str]] = {
    "Validate": {"true", "false"},
    "CreateNamespace": {"true", "false"},
    "PruneLast": {"true", "false"},
    "ApplyOutOfSyncOnly": {"true", "false"},
    "Replace": {"true", "false"},
    "ServerSideApply": {"true", "false"},
    "RespectIgnoreDifferences": {"true", "false"},
    "FailOnSharedResource": {"true", "false"},
    "SkipDryRunOnMissingResource": {"true", "false"},
    "Prune": {"true", "false", "confirm"},
    "Delete": {"true", "false", "confirm"},
    "PrunePropagationPolicy": {"foreground", "background", "orphan"},
    "ClientSideApplyMigration": {"true", "false"},
}
INTEGER = re.compile(r"^-?\d+$")


def check_argo_object(env: str, path: str, doc: dict[str, Any]) -> list[Finding]:
    kind = doc.get("kind")
    name = (doc.get("metadata") or {}).get("name", "?")
    where = f"{path} ({kind}/{name})"
    findings: list[Finding] = []

    def bad(rule: str, message: str) -> None:
        findings.append(Finding(env, rule, where, message))

    if doc.get("apiVersion") != ARGO_API_VERSION:
        bad("ARGO001", f"apiVersion must be {ARGO_API_VERSION}, found {doc.get('apiVersion')!r}")
    metadata = doc.get("metadata") or {}
    if not metadata.get("name") or not metadata.get("namespace"):
        bad("ARGO002", "metadata.name and metadata.namespace (Argo CD's namespace) are required")
    wave = (metadata.get("annotations") or {}).get(WAVE_ANNOTATION)
    if wave is not None and not (isinstance(wave, str) and INTEGER.match(wave)):
        bad("ARGO003", f"{WAVE_ANNOTATION} must be an integer string, found {wave!r}")
    spec = doc.get("spec") or {}
    if kind == "Application":
        findings.extend(_check_application(env, where, metadata, spec))
    elif kind == "AppProject":
        if not spec.get("sourceRepos"):
            bad("ARGO010", "spec.sourceRepos is empty: the project admits no repository")
        if not spec.get("destinations"):
            bad("ARGO011", "spec.destinations is empty: the project admits no destination")
    else:
        bad("ARGO001", f"unknown Argo CD kind {kind!r}")
    return findings


def _check_application(
    env: str, where: str, metadata: dict[str, Any], spec: dict[str, Any]
) -> list[Finding]:
    findings: list[Finding] = []

    def bad(rule: str, message: str) -> None:
        findings.append(Finding(env, rule, where, message))

    if not spec.get("project"):
        bad("ARGO004", "spec.project is required")
    destination = spec.get("destination") or {}
    if not (destination.get("server") or destination.get("name")):
        bad("ARGO005", "spec.destination needs a server or a name")
    if not destination.get("namespace"):
        bad("ARGO005", "spec.destination.namespace is required")
    sources = spec.get("sources") or ([spec["source"]] if spec.get("source") else [])
    if not sources:
        bad("ARGO006", "spec.source or spec.sources is required")
    if spec.get("source") and spec.get("sources"):
        bad("ARGO006", "set spec.source or spec.sources, not both")
    refs = {s.get("ref") for s in sources if s.get("ref")}
    for index, source in enumerate(sources):
        label = f"source {index}"
        if not source.get("repoURL"):
            bad("ARGO007", f"{label}: repoURL is required")
        if source.get("chart") and not source.get("targetRevision"):
            bad("ARGO007", f"{label}: a Helm chart needs a pinned targetRevision")
        if str(source.get("targetRevision", "")).upper() == "HEAD" and source.get("chart"):
            bad("ARGO007", f"{label}: targetRevision HEAD is not a chart version")
        for value_file in (source.get("helm") or {}).get("valueFiles") or []:
            if value_file.startswith("$"):
                ref = value_file[1:].split("/", 1)[0]
                if ref not in refs:
                    bad(
                        "ARGO008",
                        f"{label}: value file {value_file} uses ${ref} but no source "
                        f"has 'ref: {ref}'",
                    )
    for option in (spec.get("syncPolicy") or {}).get("syncOptions") or []:
        key, _, value = str(option).partition("=")
        if key not in SYNC_OPTIONS:
            bad("ARGO009", f"unknown sync option {option!r}")
        elif value not in SYNC_OPTIONS[key]:
            allowed = ", ".join(sorted(SYNC_OPTIONS[key]))
            bad("ARGO009", f"sync option {option!r}: value must be one of {allowed}")
    if FINALIZER not in (metadata.get("finalizers") or []):
        bad(
            "ARGO012",
            f"missing finalizer {FINALIZER}: deleting the Application would orphan its resources",
        )
    return findings
