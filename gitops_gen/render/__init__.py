"""Render: the platform model + templates -> the files under ``clusters/``."""

from gitops_gen.render.plan import RenderPlan, plan_render
from gitops_gen.render.writer import CheckResult, apply_plan, check_plan

__all__ = ["CheckResult", "RenderPlan", "apply_plan", "check_plan", "plan_render"]
