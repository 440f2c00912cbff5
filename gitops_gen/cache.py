"""Where gitops-gen keeps what it fetched or built: charts, git sources and helm.

One rule for every cache: ``$XDG_CACHE_HOME/gitops-gen`` (else ``~/.cache/gitops-gen``), and
``$GITOPS_GEN_CHART_CACHE`` to move the chart and source cache alone (the tests give each test
its own).
"""

from __future__ import annotations

import os
from pathlib import Path


def user_cache_dir() -> Path:
    """``<$XDG_CACHE_HOME or ~/.cache>/gitops-gen``: charts, helm and the like."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gitops-gen"


def charts_cache() -> Path:
    """``$GITOPS_GEN_CHART_CACHE``, else ``<user cache>/gitops-gen/charts``."""
    explicit = os.environ.get("GITOPS_GEN_CHART_CACHE")
    if explicit:
        return Path(explicit)
    return user_cache_dir() / "charts"
