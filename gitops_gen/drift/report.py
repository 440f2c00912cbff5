"""Reports: text, JSON, Markdown and JUnit renderings of one sorted :class:`AuditResult`.

Every format is a pure function of the result: sorted, no timestamps unless asked for, so two
runs on the same state give the same bytes. Values are already masked where they must be.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from typing import Any

from gitops_gen.drift.findings import AuditResult, Finding, FindingType

SCHEMA_VERSION = "gitops-gen.io/drift/v1"
FORMATS = ("text", "json", "markdown", "junit")
VALUE_WIDTH = 60
NO_APP = "(no application)"


def render(result: AuditResult, fmt: str, *, timestamp: str | None = None) -> str:
    renderers = {"text": to_text, "json": to_json, "markdown": to_markdown, "junit": to_junit}
    return renderers[fmt](result, timestamp)


def summary(result: AuditResult) -> dict[str, Any]:
    counts = Counter(f.type.value for f in result.findings)
    return {
        "objects": len(result.objects),
        "findings": len(result.findings),
        "drift": bool(result.drift),
        "byType": {t.value: counts.get(t.value, 0) for t in FindingType},
        "apiRequests": result.api_requests,
        "lists": result.lists,
    }


def _value(value: Any, width: int = VALUE_WIDTH) -> str:
    if value is None:
        return "-"
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= width else text[: width - 1] + "…"


def _headline(result: AuditResult) -> str:
    s = summary(result)
    by = s["byType"]
    if not result.findings:
        return f"drift {result.environment}: no drift in {s['objects']} objects"
    return (
        f"drift {result.environment}: {s['findings']} findings in {s['objects']} objects "
        f"({by['missing']} missing, {by['modified']} modified, {by['extra']} extra, "
        f"{by['error']} errors)"
    )


def to_text(result: AuditResult, timestamp: str | None = None) -> str:
    lines = [_headline(result)]
    if timestamp:
        lines.append(f"generated {timestamp}")
    if result.stopped:
        lines.append(f"incomplete: {result.stopped}")
    if result.findings:
        header = ("SEVERITY", "TYPE", "APP", "OBJECT", "PATH", "RULE", "DESIRED", "LIVE")
        rows = [header] + [
            (
                f.severity.value,
                f.type.value,
                f.app or "-",
                f.ref.display(),
                f.path or "/",
                f.rule,
                _value(f.desired, 40),
                _value(f.live if f.type is not FindingType.ERROR else f.message, 40),
            )
            for f in result.findings
        ]
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
        lines.append("")
        for row in rows:
            lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    lines.extend(f"warning: {w}" for w in result.warnings)
    return "\n".join(lines) + "\n"


def to_json(result: AuditResult, timestamp: str | None = None) -> str:
    document: dict[str, Any] = {
        "schemaVersion": SCHEMA_VERSION,
        "environment": result.environment,
        "mode": result.mode,
    }
    if timestamp:
        document["generatedAt"] = timestamp
    if result.stopped:
        document["stopped"] = result.stopped
    document["summary"] = summary(result)
    document["findings"] = [f.to_json() for f in result.findings]
    document["warnings"] = result.warnings
    document["objects"] = [{"ref": o.ref.to_json(), "app": o.app} for o in result.objects]
    return json.dumps(document, indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def _md(text: str) -> str:
    """A table cell: pipes escaped, code spans safe, one line."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _code(value: Any) -> str:
    text = _value(value)
    if text == "-":
        return "–"
    fence = "``" if "`" in text else "`"
    return f"{fence}{_md(text)}{fence}"


def to_markdown(result: AuditResult, timestamp: str | None = None) -> str:
    s = summary(result)
    by = s["byType"]
    out = [f"## Drift report: `{result.environment}`", ""]
    if timestamp:
        out += [f"Generated {timestamp}.", ""]
    if result.stopped:
        out += [f"**Incomplete:** {_md(result.stopped)}", ""]
    if not result.findings:
        out += [f"No drift: all {s['objects']} audited objects match the repository.", ""]
        return "\n".join(out)
    out += [
        "| objects | findings | missing | modified | extra | errors |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| {s['objects']} | {s['findings']} | {by['missing']} | {by['modified']} | "
        f"{by['extra']} | {by['error']} |",
        "",
    ]
    grouped: dict[str, list[Finding]] = defaultdict(list)
    for finding in result.findings:
        grouped[finding.app or NO_APP].append(finding)
    for app in sorted(grouped):
        findings = grouped[app]
        counts = Counter(f.type.value for f in findings)
        detail = ", ".join(f"{counts[t.value]} {t.value}" for t in FindingType if counts[t.value])
        out += [
            "<details>",
            f"<summary><b>{_md(app)}</b>: {len(findings)} findings ({detail})</summary>",
            "",
            "| severity | type | object | path | desired | live | rule |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for f in findings:
            live = f.message if f.type is FindingType.ERROR else f.live
            out.append(
                f"| {f.severity.value} | {f.type.value} | {_md(f.ref.display())} | "
                f"`{_md(f.path or '/')}` | {_code(f.desired)} | {_code(live)} | {f.rule} |"
            )
        out += ["", "</details>", ""]
    if result.warnings:
        out += ["Warnings:", "", *(f"- {_md(w)}" for w in result.warnings), ""]
    return "\n".join(out)


def to_junit(result: AuditResult, timestamp: str | None = None) -> str:
    by_object: dict[tuple[str, tuple[str, str, str, str]], list[Finding]] = defaultdict(list)
    for finding in result.findings:
        by_object[(finding.app, finding.ref.identity)].append(finding)
    failures = sum(
        1
        for o in result.objects
        if any(f.type is not FindingType.ERROR for f in by_object[(o.app, o.ref.identity)])
    )
    # Errors about whole types (forbidden, not served) have no audited object: own testcases.
    type_errors = [f for f in result.findings if f.type is FindingType.ERROR and not f.ref.name]
    suites = ET.Element("testsuites")
    suite = ET.SubElement(
        suites,
        "testsuite",
        {
            "name": f"drift.{result.environment}",
            "tests": str(len(result.objects) + len(type_errors)),
            "failures": str(failures),
            "errors": str(
                len(type_errors)
                + sum(
                    1
                    for o in result.objects
                    if any(f.type is FindingType.ERROR for f in by_object[(o.app, o.ref.identity)])
                )
            ),
        },
    )
    if timestamp:
        suite.set("timestamp", timestamp)
    for obj in result.objects:
        case = ET.SubElement(
            suite,
            "testcase",
            {"classname": obj.app or result.environment, "name": obj.ref.display()},
        )
        findings = by_object[(obj.app, obj.ref.identity)]
        drift = [f for f in findings if f.type is not FindingType.ERROR]
        errors = [f for f in findings if f.type is FindingType.ERROR]
        if drift:
            failure = ET.SubElement(
                case,
                "failure",
                {"message": f"{len(drift)} difference(s)", "type": drift[0].rule},
            )
            failure.text = "\n".join(_line(f) for f in drift)
        if errors:
            error = ET.SubElement(case, "error", {"message": errors[0].message})
            error.text = "\n".join(_line(f) for f in errors)
    for finding in type_errors:
        case = ET.SubElement(
            suite,
            "testcase",
            {"classname": result.environment, "name": f"list {finding.ref.display().strip()}"},
        )
        ET.SubElement(case, "error", {"message": finding.message, "type": finding.rule})
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, "unicode") + "\n"


def _line(f: Finding) -> str:
    return (
        f"{f.type.value} {f.path or '/'} ({f.rule}): desired {_value(f.desired)}, "
        f"live {_value(f.live)}"
    )
