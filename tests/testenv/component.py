"""The lifecycle every test-environment component shares (control plane, Argo CD, chart
repository): ``start()`` then ``stop()``, also as a ``with`` block, so pytest fixtures,
``make cluster`` and the benchmarks drive them all the same way."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class Component:
    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
