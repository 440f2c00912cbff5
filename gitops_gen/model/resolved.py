"""The resolved model: catalog + one environment file merged into immutable records.

Templates, validation, promotion and drift all read these records; nothing downstream of the
loader handles raw dictionaries from people's files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from gitops_gen.model import schema


class ComponentKind(StrEnum):
    DEPENDENCY = "dependency"
    PLATFORM = "platform"
    SERVICE = "service"
    PIPELINE = "pipeline"
    FEAST = "feast"
    UI = "ui"
    BOOTSTRAP = "bootstrap"


IMAGE_KINDS = frozenset(
    {
        ComponentKind.SERVICE,
        ComponentKind.PIPELINE,
        ComponentKind.FEAST,
        ComponentKind.UI,
        ComponentKind.BOOTSTRAP,
    }
)


def image_ref(image: str, tag: str | None, digest: str | None) -> str:
    """``repo@sha256:…`` when pinned by digest (the digest wins), else ``repo:tag``."""
    return f"{image}@{digest}" if digest else f"{image}:{tag}"


@dataclass(frozen=True)
class Component:
    """One promotable unit of an environment and the version it runs there."""

    name: str
    kind: ComponentKind
    image: str | None = None
    tag: str | None = None
    digest: str | None = None
    chart: str | None = None  # dependency chart version
    revision: str | None = None  # platform chart's application-repository revision
    held: str | None = None  # reason, when the environment holds this component

    @property
    def version(self) -> str:
        """What a promotion moves, as one comparable string."""
        if self.kind is ComponentKind.DEPENDENCY:
            return self.chart or ""
        if self.kind is ComponentKind.PLATFORM:
            return self.revision or ""
        if self.digest and self.tag:
            return f"{self.tag}@{self.digest}"
        return self.digest or self.tag or ""

    @property
    def image_ref(self) -> str | None:
        return None if self.image is None else image_ref(self.image, self.tag, self.digest)


@dataclass(frozen=True)
class Workload:
    """A container workload of the platform chart with this environment's settings applied."""

    name: str
    kind: ComponentKind
    image: str
    tag: str | None
    digest: str | None
    replicas: int
    hpa: schema.Hpa | None
    resources: schema.Resources
    enabled: bool
    host: str | None  # fully qualified ingress host, when exposed
    secrets: tuple[str, ...]
    spec: Any  # the catalog spec (ServiceSpec, PipelineSpec, ...) for kind-specific settings

    @property
    def image_ref(self) -> str:
        return image_ref(self.image, self.tag, self.digest)


@dataclass(frozen=True)
class Dependency:
    name: str
    spec: schema.DependencySpec
    chart_version: str
    namespace: str
    values: dict[str, Any]

    @property
    def dns_name(self) -> str:
        return f"{self.spec.host}.{self.namespace}.svc.cluster.local"


@dataclass(frozen=True)
class RequiredSecret:
    """A Secret the platform needs in the namespace, with the key names it must hold."""

    name: str
    keys: tuple[str, ...]
    purpose: str
    catalog_name: str


@dataclass(frozen=True)
class Environment:
    name: str
    tier: str
    source: Path
    cluster_name: str
    cluster_server: str
    namespace: str
    domain: str
    promoted_from: str | None
    protected: bool
    sync: schema.SyncPolicy
    platform_revision: str
    holds: dict[str, str]
    allow_insecure_defaults: bool
    drift: schema.DriftSchedule
    dependencies: tuple[Dependency, ...]
    workloads: tuple[Workload, ...]
    required_secrets: tuple[RequiredSecret, ...]
    components: tuple[Component, ...]
    # Which per-workload settings the environment file sets itself (name -> field -> set), so
    # a finding about a rendered value can point at the file that decided it.
    pins: dict[str, dict[str, bool]] = field(default_factory=dict)
    runtime_safety_pinned: bool = False

    def component(self, name: str) -> Component | None:
        return next((c for c in self.components if c.name == name), None)

    def workloads_of(self, kind: ComponentKind) -> tuple[Workload, ...]:
        return tuple(w for w in self.workloads if w.kind is kind)

    def workload(self, name: str) -> Workload | None:
        return next((w for w in self.workloads if w.name == name), None)


@dataclass(frozen=True)
class Platform:
    root: Path
    catalog: schema.Catalog
    environments: dict[str, Environment] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.catalog.platform.name

    def environment(self, name: str) -> Environment:
        from gitops_gen.model.loader import unknown_environment

        try:
            return self.environments[name]
        except KeyError:
            raise unknown_environment(name, self) from None

    def promotion_order(self) -> list[str]:
        """Environment names with every source before the environments promoted from it."""
        ordered: list[str] = []
        remaining = dict(self.environments)
        while remaining:
            ready = sorted(
                name
                for name, env in remaining.items()
                if env.promoted_from is None or env.promoted_from in ordered
            )
            if not ready:  # the loader rejects cycles, so this only guards against misuse
                ordered.extend(sorted(remaining))
                break
            for name in ready:
                ordered.append(name)
                del remaining[name]
        return ordered
