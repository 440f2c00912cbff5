"""Where the previous run's state is kept: the report ConfigMap, or a local file (``--state``).

Both give the same two operations, so the drift command neither knows nor cares which.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from gitops_gen.drift.history import STATE_KEY, State, load_state
from gitops_gen.drift.live import LiveCluster
from gitops_gen.drift.report_store import read_report_key, store_report
from gitops_gen.errors import InputError


class StateStore(Protocol):
    def load(self, environment: str) -> State | None: ...

    def save(self, state: State, reports: dict[str, str]) -> None: ...


@dataclass
class ConfigMapStore:
    """``state.json`` next to ``report.md`` and ``report.json`` in the report ConfigMap."""

    cluster: LiveCluster
    namespace: str
    name: str

    def load(self, environment: str) -> State | None:
        text = read_report_key(self.cluster, self.namespace, self.name, STATE_KEY)
        if text is None:
            return None
        return load_state(
            text,
            environment,
            f"ConfigMap {self.namespace}/{self.name} key {STATE_KEY}",
            f"delete that key (kubectl -n {self.namespace} edit configmap {self.name}) to start "
            "over",
        )

    def save(self, state: State, reports: dict[str, str]) -> None:
        store_report(
            self.cluster, self.namespace, self.name, {**reports, STATE_KEY: state.to_json()}
        )


@dataclass
class FileStore:
    """A local JSON file, for runs without a report ConfigMap (a laptop, CI)."""

    path: Path

    def load(self, environment: str) -> State | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None  # the first run creates it
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or "not UTF-8"
            raise InputError(f"--state {self.path}: unreadable ({reason})") from None
        return load_state(text, environment, f"--state {self.path}", "delete it to start over")

    def save(self, state: State, reports: dict[str, str]) -> None:
        # written whole or not at all: a run killed halfway must not leave half a state
        folder = self.path.parent
        try:
            handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{self.path.name}.")
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(state.to_json())
            os.replace(temporary, self.path)
        except OSError as exc:
            raise InputError(f"--state {self.path}: cannot write ({exc.strerror})") from None
