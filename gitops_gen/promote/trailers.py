"""Commit messages of promotions and rollbacks, and reading them back from ``git log``.

The trailers are the provenance record: ``history`` and ``rollback`` read nothing else, so they
keep working when pull requests are merged with merge commits or squashed with the message kept.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from gitops_gen.gitrepo import GitRepo, LogEntry
from gitops_gen.promote.body import title
from gitops_gen.promote.plan import PromotionPlan

PROMOTED_FROM = "Promoted-From"
PROMOTED_TO = "Promoted-To"
PROMOTION_ID = "Promotion-Id"
COMPONENT = "Component"
ROLLBACK_OF = "Rollback-Of"
NONE = "(none)"


def new_promotion_id() -> str:
    return secrets.token_hex(6)


def short_id(promotion_id: str) -> str:
    return promotion_id[:8]


def commit_message(plan: PromotionPlan) -> str:
    lines = [title(plan), ""]
    if plan.rollback_of:
        lines.append(
            f"Restore the promotable fields of {plan.target} as they were at "
            f"{plan.rollback_of} ({plan.source_commit[:12]})."
        )
    else:
        n = len(plan.moves)
        lines.append(
            f"Promote {n} {'component' if n == 1 else 'components'} of {plan.source} "
            f"({plan.source_commit[:12]}) to {plan.target}."
        )
    for move in (*plan.held, *plan.blocked):
        lines.append(f"Not promoted: {move.component} {move.to_version or NONE}: {move.reason}")
    lines += ["", f"{PROMOTED_FROM}: {plan.source}@{plan.source_commit}"]
    lines.append(f"{PROMOTED_TO}: {plan.target}")
    lines.append(f"{PROMOTION_ID}: {plan.promotion_id}")
    if plan.rollback_of:
        lines.append(f"{ROLLBACK_OF}: {plan.rollback_of}")
    lines += [
        f"{COMPONENT}: {m.component} {m.from_version or NONE} -> {m.to_version or NONE}"
        for m in plan.moves
    ]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class ComponentChange:
    component: str
    before: str
    after: str


@dataclass(frozen=True)
class HistoryEntry:
    commit: str
    date: str
    kind: str  # promotion | rollback
    promotion_id: str
    source: str
    source_commit: str
    target: str
    rollback_of: str
    components: tuple[ComponentChange, ...]
    subject: str

    def to_json(self) -> dict[str, object]:
        return {
            "commit": self.commit,
            "date": self.date,
            "kind": self.kind,
            "id": self.promotion_id,
            "source": self.source,
            "sourceCommit": self.source_commit,
            "target": self.target,
            "rollbackOf": self.rollback_of or None,
            "components": [
                {"component": c.component, "from": c.before, "to": c.after} for c in self.components
            ],
        }


def _parse(entry: LogEntry) -> HistoryEntry | None:
    target = entry.trailer(PROMOTED_TO)
    promotion_id = entry.trailer(PROMOTION_ID)
    if not target or not promotion_id:
        return None
    source, _, source_commit = (entry.trailer(PROMOTED_FROM) or "").partition("@")
    components = []
    for value in entry.trailer_values(COMPONENT):
        name, _, rest = value.partition(" ")
        before, sep, after = rest.partition(" -> ")
        if name and sep:
            components.append(
                ComponentChange(name, "" if before == NONE else before, _clean(after))
            )
    rollback_of = entry.trailer(ROLLBACK_OF) or ""
    return HistoryEntry(
        commit=entry.sha,
        date=entry.date,
        kind="rollback" if rollback_of else "promotion",
        promotion_id=promotion_id,
        source=source,
        source_commit=source_commit,
        target=target,
        rollback_of=rollback_of,
        components=tuple(components),
        subject=entry.subject,
    )


def _clean(value: str) -> str:
    return "" if value == NONE else value


def read_history(repo: GitRepo, target: str, ref: str = "HEAD") -> list[HistoryEntry]:
    """Promotions and rollbacks into ``target`` reachable from ``ref``, newest first.

    One ``git log`` process filters by trailer and prints only the trailers, so the cost grows
    with the number of matching commits, not with the length of the history.
    """
    pattern = f"^{PROMOTED_TO}: {_regex_escape(target)}$"
    entries = repo.log(ref, grep=[pattern, f"^{PROMOTION_ID}: "])
    out = []
    for entry in entries:
        parsed = _parse(entry)
        if parsed is not None and parsed.target == target:
            out.append(parsed)
    return out


def promotion_elsewhere(repo: GitRepo, prefix: str, ref: str = "HEAD") -> HistoryEntry | None:
    """A promotion or rollback into any environment whose id starts with ``prefix`` (at least
    4 hexadecimal characters): to say which environment an id given for another one is of."""
    if len(prefix) < 4 or not all(c in "0123456789abcdef" for c in prefix):
        return None
    for entry in repo.log(ref, grep=[f"^{PROMOTION_ID}: {prefix}"]):
        parsed = _parse(entry)
        if parsed is not None and parsed.promotion_id.startswith(prefix):
            return parsed
    return None


def _regex_escape(text: str) -> str:
    # environment names are DNS labels; '-' and '.' are the only specials that can occur
    return text.replace(".", "\\.")


def rolled_back_versions(history: list[HistoryEntry]) -> dict[str, tuple[str, str]]:
    """component -> (version, rollback commit) for versions the latest event took away."""
    decided: set[str] = set()
    refused: dict[str, tuple[str, str]] = {}
    for entry in history:  # newest first: the first entry naming a component decides
        for change in entry.components:
            if change.component in decided:
                continue
            decided.add(change.component)
            if entry.kind == "rollback" and change.before:
                refused[change.component] = (change.before, entry.commit)
    return refused
