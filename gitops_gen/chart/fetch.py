"""The platform chart folder at ``platform.revision``, for validate.

There is one git fetcher (:class:`gitops_gen.hydrate.sources.Fetcher`, the hydration engine's) and
one cache: validate and hydrate read the same commit of the app repository from the same place,
so a chart fetched by either is offline for both. ``platform.revision`` is a full commit SHA or a
branch/tag name; a SHA already in the cache needs no network, and a name falls back to the commit
it resolved to last time when the remote cannot be reached.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from gitops_gen.cache import charts_cache
from gitops_gen.hydrate.sources import Fetcher, SourceError, redact, repo_cache_dir

__all__ = ["ChartUnavailable", "FetchedChart", "fetch_chart", "redact", "repo_cache_dir"]

_PREFIX = re.compile(r"^\S+: ")


class ChartUnavailable(Exception):
    """The chart could not be fetched and is not cached; the message is one safe line."""


@dataclass(frozen=True)
class FetchedChart:
    path: Path  # the chart folder (Chart.yaml, values.yaml, values.schema.json, templates/)
    commit: str


def fetch_chart(url: str, revision: str, chart_path: str) -> FetchedChart:
    """The chart folder ``chart_path`` of ``url`` at ``revision`` (SHA, branch or tag)."""
    try:
        tree, commit = Fetcher(cache=charts_cache()).git_checkout(url, revision)
    except SourceError as exc:
        # The caller names the repository already; keep the reason.
        raise ChartUnavailable(_PREFIX.sub("", str(exc), count=1)) from None
    chart = tree / chart_path
    if not (chart / "Chart.yaml").is_file():
        raise ChartUnavailable(f"{chart_path} does not exist at {commit[:12]}")
    return FetchedChart(chart, commit)
