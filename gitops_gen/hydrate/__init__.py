"""Hydration: an Argo CD Application's sources to the manifests Argo CD would apply.

The one engine behind ``gitops-gen hydrate``, the promotion's "Changes in the cluster" section,
``diff --hydrated`` and ``drift --hydrate``.
"""

from gitops_gen.hydrate.engine import (
    DEFAULT_API_VERSIONS,
    DEFAULT_KUBE_VERSION,
    GitopsRepo,
    HydratedApp,
    Hydrator,
    Settings,
)
from gitops_gen.hydrate.environment import applications_in, hydrate_environment, parse_url_map
from gitops_gen.hydrate.sources import Fetcher

__all__ = [
    "DEFAULT_API_VERSIONS",
    "DEFAULT_KUBE_VERSION",
    "Fetcher",
    "GitopsRepo",
    "HydratedApp",
    "Hydrator",
    "Settings",
    "applications_in",
    "hydrate_environment",
    "parse_url_map",
]
