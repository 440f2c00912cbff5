"""Durations as the environment files, argocd-cm and Prometheus write them: ``90s``, ``9m``,
``1h30m``, ``7d``."""

from __future__ import annotations

import re

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s|d)")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str) -> float | None:
    """Seconds of a duration like ``9m``, ``1h30m``, ``180s`` (Go's notation, plus ``d``);
    a bare number is seconds. None when it is not a duration."""
    text = text.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    if not text or _PART.sub("", text):
        return None
    return sum(float(n) * _UNIT_S[unit] for n, unit in _PART.findall(text))


def format_duration(seconds: float) -> str:
    """``1h5m``, ``9m``, ``45s``: whole seconds, largest units first (Prometheus reads it too)."""
    total = round(seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if total >= size:
            parts.append(f"{total // size}{unit}")
            total %= size
    if total or not parts:
        parts.append(f"{total}s")
    return "".join(parts)
