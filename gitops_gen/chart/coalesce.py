"""Helm's merge of a chart's default values with user values.

Maps merge key by key, anything else (lists included) is replaced, and a user value of null
deletes the key (Helm's way to remove a default). The result is what the chart's schema is
checked against and what its templates see.
"""

from __future__ import annotations

import copy
from typing import Any


def coalesce(defaults: Any, user: Any) -> Any:
    if not isinstance(defaults, dict) or not isinstance(user, dict):
        return copy.deepcopy(user)
    merged: dict[str, Any] = copy.deepcopy(defaults)
    for key, value in user.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = coalesce(merged[key], value)
        else:
            merged[key] = _without_nulls(value)
    return merged


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    return copy.deepcopy(value)
