"""What happened to one notification target in one run: what the reports say about it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    SENT = "sent"
    FAILED = "failed"  # tried and failed: retried on the next run (nothing is marked notified)
    SKIPPED = "skipped"  # nothing new to say, and no reminder due


@dataclass(frozen=True)
class Delivery:
    target: str
    type: str
    status: Status
    event: str = ""  # change | reminder | resolved, when something was (to be) sent
    # what came of it: the URL, the error (one line, never a secret), why skipped
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "type": self.type,
            "status": self.status.value,
            "event": self.event,
            "detail": self.detail,
        }

    def line(self) -> str:
        what = f"{self.target} ({self.type})"
        if self.status is Status.FAILED:
            return f"notify failed: {what}: {self.detail}"
        if self.status is Status.SKIPPED:
            return f"notify skipped: {what}: {self.detail}"
        return f"notified {what}: {self.event}" + (f", {self.detail}" if self.detail else "")
