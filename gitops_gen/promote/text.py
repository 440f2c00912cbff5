"""Plain-text renderings for terminals: the plan and the history."""

from __future__ import annotations

from gitops_gen.promote.plan import PromotionPlan
from gitops_gen.promote.trailers import HistoryEntry


def format_plan(plan: PromotionPlan) -> str:
    verb = "rollback of" if plan.rollback_of else "promotion"
    where = (
        f"{plan.target} to {plan.rollback_of}"
        if plan.rollback_of
        else f"{plan.source} -> {plan.target}"
    )
    lines = [f"{verb} {where}: {len(plan.moves)} to move"]
    rows = [(m.component, m.kind, m.from_version or "-", m.to_version or "-") for m in plan.moves]
    if rows:
        widths = [
            max(len(r[i]) for r in [("COMPONENT", "KIND", "FROM", "TO"), *rows]) for i in (0, 1, 2)
        ]
        header = ("COMPONENT", "KIND", "FROM", "TO")
        for row in [header, *rows]:
            lines.append(
                "  "
                + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3]))
                + "  "
                + row[3]
            )
    for move in plan.held:
        lines.append(f"  held     {move.component} {move.to_version}: {move.reason}")
    for move in plan.blocked:
        lines.append(f"  blocked  {move.component} {move.to_version or '(no tag)'}: {move.reason}")
    for warning in plan.warnings:
        if not any(warning.startswith(m.component + " ") for m in (*plan.held, *plan.blocked)):
            lines.append(f"  warning: {warning}")
    return "\n".join(lines) + "\n"


def format_history(env: str, entries: list[HistoryEntry]) -> str:
    if not entries:
        return f"no promotions into {env} found in the history\n"
    lines = []
    for entry in entries:
        date = entry.date.replace("T", " ")[:16]
        origin = (
            f"to {entry.rollback_of}"
            if entry.kind == "rollback"
            else f"from {entry.source}@{entry.source_commit[:12]}"
        )
        lines.append(f"{date}  {entry.promotion_id}  {entry.commit[:12]}  {entry.kind} {origin}")
        lines += [
            f"    {c.component}  {c.before or '-'} -> {c.after or '-'}" for c in entry.components
        ]
    return "\n".join(lines) + "\n"
