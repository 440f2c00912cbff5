"""Check an environment's platform values against the chart at the environment's revision.

CHART001  the merged values (chart defaults + ours, as Helm merges them) violate the chart's
          values.schema.json: Helm would refuse to render, Argo CD shows a ComparisonError.
CHART002  a values key no template of the chart reads: it has no effect (a typo, a wrong shape,
          or a setting the chart does not have). Keys the chart's schema declares count as read
          (the schema itself is a consumer, e.g. runtimeSafety).
CHART003  (warning) the chart could not be fetched and is not cached: nothing was checked.

Every finding points at the line of environments/ the value comes from.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import jsonschema
import yaml

from gitops_gen.chart.coalesce import coalesce
from gitops_gen.chart.fetch import ChartUnavailable, FetchedChart, fetch_chart, redact
from gitops_gen.chart.template_refs import chart_reads, is_read
from gitops_gen.model import Environment, Platform
from gitops_gen.model.loader import CATALOG_FILE, ENVIRONMENTS_DIR
from gitops_gen.render.chart_values import CATALOG, ChartValues, platform_values
from gitops_gen.validate.findings import Finding, Severity
from gitops_gen.yamlio import LocatedDocument, load_located

RULES: dict[str, str] = {
    "CHART001": "the platform values satisfy the chart's values.schema.json at platform.revision",
    "CHART002": "every platform values key is read by the chart's templates at platform.revision",
    "CHART003": "the chart at platform.revision can be fetched (else nothing is checked)",
}


def validate_chart_values(platform: Platform, env: Environment) -> list[Finding]:
    info = platform.catalog.platform
    locator = _Locator(platform, env)
    try:
        chart = fetch_chart(info.app_repo, env.platform_revision, info.chart_path)
    except ChartUnavailable as exc:
        return [
            Finding(
                env.name,
                "CHART003",
                locator.env_where(("platform", "revision")),
                f"chart {info.chart_path} at {env.platform_revision} could not be fetched from "
                f"{redact(info.app_repo)} ({exc}) and is not cached: the values were NOT checked "
                "against it; fix platform.revision / platform.appRepo or the network",
                Severity.WARNING,
            )
        ]
    ours = platform_values(platform, env)
    return [
        *_schema_findings(env, chart, ours, locator),
        *_ignored_findings(env, chart, ours, locator),
    ]


def _load_chart_file(chart: FetchedChart, name: str) -> Any:
    path = chart.path / name
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8")
    return json.loads(text) if name.endswith(".json") else yaml.safe_load(text)


def _schema_findings(
    env: Environment, chart: FetchedChart, ours: ChartValues, locator: _Locator
) -> list[Finding]:
    schema = _load_chart_file(chart, "values.schema.json")
    if schema is None:
        return []
    merged = coalesce(_load_chart_file(chart, "values.yaml") or {}, ours.values)
    validator_class = jsonschema.validators.validator_for(schema)
    validator = validator_class(schema)
    findings = []
    for error in validator.iter_errors(merged):
        path = tuple(str(p) for p in error.absolute_path)
        shown = ".".join(path) or "(top level)"
        findings.append(
            Finding(
                env.name,
                "CHART001",
                locator.where(ours, path),
                f"{shown}: {_message(error)}: the chart's values.schema.json at "
                f"{chart.commit[:12]} rejects it, so Helm (and Argo CD) cannot render the "
                "platform; change it to what the schema allows",
            )
        )
    return findings


def _message(error: jsonschema.ValidationError) -> str:
    if error.validator == "anyOf" and error.context:
        allowed = "; or ".join(sorted({e.message for e in error.context}))
        return f"{json.dumps(error.instance, default=str)} is not allowed ({allowed})"
    return str(error.message)


def _ignored_findings(
    env: Environment, chart: FetchedChart, ours: ChartValues, locator: _Locator
) -> list[Finding]:
    templates = sorted((chart.path / "templates").glob("*"))
    reads = chart_reads(p for p in templates if p.is_file())
    schema = _load_chart_file(chart, "values.schema.json") or {}
    findings = []
    for path in _leaves(ours.values):
        if is_read(path, reads) or _declared(schema, path):
            continue
        findings.append(
            Finding(
                env.name,
                "CHART002",
                locator.where(ours, path),
                f"{'.'.join(path)}: no template of the chart at {chart.commit[:12]} reads this "
                "key, so it has no effect; remove it or use the key the chart reads",
            )
        )
    return findings


def _leaves(node: Any, here: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Key paths of the values we set; a list or a scalar is a leaf; null is a deletion of a
    chart default (not a setting), and an empty map sets nothing."""
    if isinstance(node, dict):
        for key, value in node.items():
            if value is None:
                continue
            yield from _leaves(value, (*here, str(key)))
    elif here:
        yield here


def _declared(schema: dict[str, Any], path: tuple[str, ...]) -> bool:
    """True when the schema names every key of ``path`` (properties / patternProperties)."""
    node: Any = schema
    for key in path:
        node = _deref(schema, node)
        if not isinstance(node, dict):
            return False
        nxt = (node.get("properties") or {}).get(key)
        if nxt is None:
            for pattern, sub in (node.get("patternProperties") or {}).items():
                if re.search(pattern, key):
                    nxt = sub
                    break
        if nxt is None:
            for part in node.get("allOf") or ():
                part = _deref(schema, part)
                if isinstance(part, dict) and key in (part.get("properties") or {}):
                    nxt = part["properties"][key]
                    break
        if nxt is None:
            return False
        node = nxt
    return True


def _deref(schema: dict[str, Any], node: Any) -> Any:
    seen = 0
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and seen < 20:
        ref = node["$ref"]
        if not ref.startswith("#/"):
            return node
        target: Any = schema
        for part in ref[2:].split("/"):
            target = target.get(part) if isinstance(target, dict) else None
        node = target
        seen += 1
    return node


class _Locator:
    """Turns a values path into ``environments/<file>:<line>`` through the values' origins."""

    def __init__(self, platform: Platform, env: Environment) -> None:
        self.root = platform.root
        self.env = env
        self._docs: dict[str, LocatedDocument] = {}

    def _doc(self, source: str) -> LocatedDocument:
        if source not in self._docs:
            path = (
                self.root / ENVIRONMENTS_DIR / CATALOG_FILE
                if source == CATALOG
                else self.env.source
            )
            self._docs[source] = load_located(path, self.root)
        return self._docs[source]

    def env_where(self, key_path: tuple[str | int, ...]) -> str:
        return self._doc("env").where(key_path, self.root)

    def where(self, ours: ChartValues, path: tuple[str, ...]) -> str:
        origin = ours.origin_of(path)
        if origin is None:
            return self._doc(CATALOG).where((), self.root)
        return self._doc(origin.source).where(origin.key_path, self.root)
