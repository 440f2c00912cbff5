"""The drift auditor: is the live cluster what the repository says?

Pipeline: :mod:`desired` (what should exist) and :mod:`live` (what does, one LIST per type and
namespace) feed the pure :mod:`compare`, :mod:`argo`, :mod:`orphans` and :mod:`secrets` checks,
which produce :class:`~gitops_gen.drift.findings.Finding` records; :mod:`report` renders them.
"""

from gitops_gen.drift.findings import AuditResult, Finding, FindingType, ObjectRef, Severity

__all__ = ["AuditResult", "Finding", "FindingType", "ObjectRef", "Severity"]
