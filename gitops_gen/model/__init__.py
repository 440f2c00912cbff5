"""The platform model: what people write in ``environments/``, validated and resolved."""

from gitops_gen.model.loader import load_platform
from gitops_gen.model.resolved import Component, ComponentKind, Environment, Platform

__all__ = ["Component", "ComponentKind", "Environment", "Platform", "load_platform"]
