"""An Argo CD Application's sources as typed records, read once from its manifest."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from gitops_gen.errors import InputError


@dataclass(frozen=True)
class HelmSpec:
    release_name: str = ""
    namespace: str = ""
    value_files: tuple[str, ...] = ()
    values: str = ""  # helm.values, or helm.valuesObject dumped as YAML
    parameters: tuple[tuple[str, str, bool], ...] = ()  # name, value, forceString
    file_parameters: tuple[tuple[str, str], ...] = ()
    skip_crds: bool = False
    skip_schema_validation: bool = False
    skip_tests: bool = False
    ignore_missing_value_files: bool = False
    kube_version: str = ""
    api_versions: tuple[str, ...] = ()


@dataclass(frozen=True)
class DirectorySpec:
    recurse: bool = False
    include: str = ""
    exclude: str = ""


@dataclass(frozen=True)
class Source:
    repo_url: str
    target_revision: str = "HEAD"
    path: str = ""
    chart: str = ""
    ref: str = ""
    helm: HelmSpec | None = None
    directory: DirectorySpec | None = None

    def describe(self) -> str:
        what = f"chart {self.chart}" if self.chart else f"path {self.path or '.'}"
        return f"{self.repo_url} {what} at {self.target_revision}"

    @property
    def is_helm(self) -> bool:
        return bool(self.chart) or self.helm is not None


@dataclass(frozen=True)
class Application:
    name: str
    project: str
    namespace: str  # the destination namespace
    sources: tuple[Source, ...]
    manifest: dict[str, Any] = field(compare=False, repr=False, default_factory=dict)

    @property
    def ignore_differences(self) -> list[Any]:
        return list((self.manifest.get("spec") or {}).get("ignoreDifferences") or [])


def parse_application(obj: dict[str, Any], where: str) -> Application:
    """Read an Application manifest; bad shapes name the file and the key."""
    metadata = obj.get("metadata") or {}
    name = str(metadata.get("name") or "")
    spec = obj.get("spec") or {}
    if not name or not isinstance(spec, dict):
        raise InputError(f"{where}: Application without metadata.name or spec")
    raw = spec.get("sources") or ([spec["source"]] if spec.get("source") else [])
    if not raw:
        raise InputError(f"{where}: Application {name} has no spec.source or spec.sources")
    sources = tuple(_source(s, f"{where}: Application {name}") for s in raw)
    destination = spec.get("destination") or {}
    return Application(
        name=name,
        project=str(spec.get("project") or "default"),
        namespace=str(destination.get("namespace") or ""),
        sources=sources,
        manifest=obj,
    )


def _source(raw: Any, where: str) -> Source:
    if not isinstance(raw, dict) or not raw.get("repoURL"):
        raise InputError(f"{where}: a source without repoURL")
    helm = raw.get("helm")
    directory = raw.get("directory")
    return Source(
        repo_url=str(raw["repoURL"]),
        target_revision=str(raw.get("targetRevision") or "HEAD"),
        path=str(raw.get("path") or ""),
        chart=str(raw.get("chart") or ""),
        ref=str(raw.get("ref") or ""),
        helm=_helm(helm) if isinstance(helm, dict) else None,
        directory=_directory(directory) if isinstance(directory, dict) else None,
    )


def _helm(raw: dict[str, Any]) -> HelmSpec:
    values = raw.get("valuesObject")
    text = yaml.safe_dump(values, sort_keys=True) if values else str(raw.get("values") or "")
    return HelmSpec(
        release_name=str(raw.get("releaseName") or ""),
        namespace=str(raw.get("namespace") or ""),
        value_files=tuple(str(v) for v in raw.get("valueFiles") or ()),
        values=text,
        parameters=tuple(
            (str(p["name"]), str(p.get("value", "")), bool(p.get("forceString")))
            for p in raw.get("parameters") or ()
        ),
        file_parameters=tuple(
            (str(p["name"]), str(p["path"])) for p in raw.get("fileParameters") or ()
        ),
        skip_crds=bool(raw.get("skipCrds")),
        skip_schema_validation=bool(raw.get("skipSchemaValidation")),
        skip_tests=bool(raw.get("skipTests")),
        ignore_missing_value_files=bool(raw.get("ignoreMissingValueFiles")),
        kube_version=str(raw.get("kubeVersion") or ""),
        api_versions=tuple(str(v) for v in raw.get("apiVersions") or ()),
    )


def _directory(raw: dict[str, Any]) -> DirectorySpec:
    return DirectorySpec(
        recurse=bool(raw.get("recurse")),
        include=str(raw.get("include") or ""),
        exclude=str(raw.get("exclude") or ""),
    )
