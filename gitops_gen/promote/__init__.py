"""Promotions between environments as Git branches, commits and pull-request descriptions.

:mod:`.plan` is pure (two environments in, a plan out); :mod:`.edit` splices the plan into an
environment file; :mod:`.apply` builds the commit in a temporary worktree; :mod:`.service`
orders the checks, the commit, the push and the pull request; :mod:`.rollback` and
:mod:`.report` reuse that one path for rollbacks and the dry-run report.
"""

from gitops_gen.promote.plan import Move, PromotionPlan, plan_promotion
from gitops_gen.promote.report import dry_run_report
from gitops_gen.promote.rollback import rollback
from gitops_gen.promote.service import Options, Outcome, promote

__all__ = [
    "Move",
    "Options",
    "Outcome",
    "PromotionPlan",
    "dry_run_report",
    "plan_promotion",
    "promote",
    "rollback",
]
