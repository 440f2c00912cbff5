"""``validate``: schema checks of rendered objects, Argo CD checks and the platform policies."""

from gitops_gen.validate.findings import Finding, Severity
from gitops_gen.validate.runner import validate_platform

__all__ = ["Finding", "Severity", "validate_platform"]
