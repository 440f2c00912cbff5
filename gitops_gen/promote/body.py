"""The pull-request description: Markdown for people, the plan as JSON for machines.

Forges cap a description at 65,536 characters; the rendered diffs are the only part that can be
long, so they are added last and cut at the cap with a note saying what was left out. The plan
always survives intact in a hidden HTML comment, so tools can read it back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from gitops_gen.errors import InputError
from gitops_gen.hydrate.diff import ClusterChanges, markdown_section
from gitops_gen.promote.diffing import AppDiff, FileChange
from gitops_gen.promote.plan import PromotionPlan

BODY_CAP = 65_536
_PLAN_OPEN = "<!-- gitops-gen:plan"
_PLAN_CLOSE = "-->"
_PLAN_RE = re.compile(re.escape(_PLAN_OPEN) + r"\n(?P<json>.*?)\n" + re.escape(_PLAN_CLOSE), re.S)
_NOTE_RESERVE = 600  # room kept for the truncation note itself


def title(plan: PromotionPlan) -> str:
    """The commit subject and pull-request title."""
    n = len(plan.moves)
    noun = "component" if n == 1 else "components"
    if plan.rollback_of:
        return f"rollback({plan.target}): {n} {noun} to {plan.rollback_of}"
    return f"promote({plan.target}): {n} {noun} from {plan.source}"


def render_body(
    plan: PromotionPlan,
    diffs: Sequence[AppDiff],
    cap: int = BODY_CAP,
    full_diff_hint: str = "",
    files: Sequence[FileChange] = (),
    cluster: ClusterChanges | None = None,
) -> str:
    head = [f"## {title(plan)}", ""]
    short = plan.source_commit[:12] if plan.source_commit else "working tree"
    if plan.rollback_of:
        head.append(
            f"Restores the promotable fields of `{plan.target}` as they were at "
            f"`{plan.rollback_of}` (commit `{short}`)."
        )
    else:
        head.append(f"Promotes `{plan.source}` (`{short}`) to `{plan.target}`.")
    if plan.promotion_id:
        head[-1] += f" Promotion `{plan.promotion_id}`."
    head += ["", "| Component | Kind | From | To |", "|---|---|---|---|"]
    head += [
        f"| {m.component} | {m.kind} | {_code(m.from_version)} | {_code(m.to_version)} |"
        for m in plan.moves
    ]
    if plan.held or plan.blocked:
        head += ["", "**Not promoted**", ""]
        head += [f"- `{m.component}` {_code(m.to_version)}: {m.reason}" for m in plan.held]
        head += [f"- `{m.component}` {_code(m.to_version)}: {m.reason}" for m in plan.blocked]
    notes = [str(n) for n in plan.extra.values() if n]
    if plan.warnings or notes:
        head += ["", "### Warnings", ""]
        head += [f"- {w}" for w in plan.warnings]
        head += [f"- _{n}_" for n in notes]
    if files:
        head += ["", *file_list(files)]
    head += ["", "### Rendered changes", ""]
    tail = ["", plan_comment(plan), ""]
    fixed = "\n".join(head) + "\n" + "\n".join(tail)
    budget = cap - len(fixed) - 1
    section = ""
    if cluster is not None:
        # the cluster's changes get what the rendered diffs leave, and never less than half
        natural = len(diff_blocks(diffs, budget, full_diff_hint))
        hint = f"{full_diff_hint} --hydrated" if full_diff_hint else ""
        section = "\n" + markdown_section(cluster, max(budget - natural, budget // 2) - 1, hint)
        budget -= len(section)
    blocks = diff_blocks(diffs, budget, full_diff_hint)
    body = "\n".join(head) + "\n" + blocks + section + "\n".join(tail)
    if len(body) > cap:  # pragma: no cover - diff_blocks keeps to the budget
        raise AssertionError(f"body is {len(body)} characters, over the cap of {cap}")
    return body


_STATUS = {"A": "added", "M": "changed", "D": "deleted"}


def file_list(files: Sequence[FileChange]) -> list[str]:
    """Every file the commit changes, so a reviewer (and a test) can hold the commit to it."""
    noun = "file" if len(files) == 1 else "files"
    lines = [f"<details><summary>{len(files)} {noun} changed</summary>", ""]
    lines += [f"- {_STATUS.get(f.status, f.status)} `{f.path}`" for f in files]
    return [*lines, "", "</details>"]


def diff_blocks(diffs: Sequence[AppDiff], budget: int, full_diff_hint: str = "") -> str:
    """Collapsible ```diff blocks, one per Application, within ``budget`` characters."""
    if not diffs:
        return "_No rendered manifest changes._\n"
    out: list[str] = []
    used = 0
    shown_full = 0
    cut: list[str] = []
    room = budget - _NOTE_RESERVE
    for index, diff in enumerate(diffs):
        block = _block(diff, diff.diff)
        if used + len(block) <= room:
            out.append(block)
            used += len(block)
            shown_full += 1
            continue
        # the first Application that does not fit is shown in part, the rest only by name
        remaining = room - used - len(_block(diff, "")) - 1
        if remaining > 200:
            partial = _cut_lines(diff.diff, remaining)
            block = _block(diff, partial, partial=True)
            out.append(block)
            used += len(block)
            cut.append(f"{diff.application} (partly)")
        else:
            cut.append(diff.application)
        cut.extend(d.application for d in diffs[index + 1 :])
        break
    if cut:
        total = len(diffs)
        names = ", ".join(f"`{c}`" for c in cut)
        note = (
            f"> **Diff truncated** at {BODY_CAP:,} characters: {shown_full} of {total} "
            f"Applications shown in full; cut: {names}."
        )
        if full_diff_hint:
            note += f" Full diff: `{full_diff_hint}`."
        if len(note) > _NOTE_RESERVE - 10:
            note = note[: _NOTE_RESERVE - 14] + "...`."
        out.append(note + "\n")
    return "".join(out)


def _block(diff: AppDiff, text: str, partial: bool = False) -> str:
    fence = "`" * max(3, _longest_backtick_run(text) + 1)
    more = " (truncated)" if partial else ""
    summary = f"<code>{diff.application}</code> (+{diff.added} &minus;{diff.removed}){more}"
    return (
        f"<details><summary>{summary}</summary>\n\n{fence}diff\n{text}"
        f"{'' if text.endswith(chr(10)) or not text else chr(10)}{fence}\n\n</details>\n\n"
    )


def _cut_lines(text: str, limit: int) -> str:
    cut = text[:limit]
    newline = cut.rfind("\n")
    return cut[: newline + 1] if newline >= 0 else ""


def _longest_backtick_run(text: str) -> int:
    runs = re.findall(r"`+", text)
    return max((len(r) for r in runs), default=0)


def _code(value: str) -> str:
    return f"`{value}`" if value else "_(none)_"


def plan_comment(plan: PromotionPlan) -> str:
    # '<', '>' and '&' are escaped so no value (a hold reason, say) can close the comment early
    text = json.dumps(plan.to_json(), indent=1, sort_keys=True)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f"{_PLAN_OPEN}\n{text}\n{_PLAN_CLOSE}"


def plan_from_body(body: str) -> PromotionPlan:
    """Read the plan back from a pull-request description written by :func:`render_body`."""
    match = _PLAN_RE.search(body)
    if match is None:
        raise InputError("no gitops-gen plan found in the pull-request description")
    try:
        data = json.loads(match.group("json"))
    except json.JSONDecodeError as exc:
        raise InputError(
            f"the plan in the pull-request description is not valid JSON: {exc}"
        ) from None
    return PromotionPlan.from_json(data)
