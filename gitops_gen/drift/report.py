"""Reports: text, JSON, Markdown and JUnit renderings of one sorted :class:`AuditResult`.

Every format is a pure function of the result: sorted, no timestamps unless asked for, so two
runs on the same state give the same bytes. Values are already masked where they must be.

With a previous run's state (:mod:`history`) each report also says what is new, what was
resolved and how long each finding has been open: those ages are the only part that moves with
the clock alone (``$GITOPS_GEN_NOW`` fixes it). Fingerprints never move.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from typing import Any

from gitops_gen.drift.findings import AuditResult, Finding, FindingType
from gitops_gen.drift.fingerprint import fingerprint
from gitops_gen.drift.history import Changes, Tracked, age, format_time
from gitops_gen.notify.delivery import Delivery

SCHEMA_VERSION = "gitops-gen.io/drift/v1"
FORMATS = ("text", "json", "markdown", "junit")
VALUE_WIDTH = 60
PAIR_CONTEXT = 12  # characters kept before the first difference of a cut pair
NO_APP = "(no application)"


def render(
    result: AuditResult,
    fmt: str,
    *,
    timestamp: str | None = None,
    changes: Changes | None = None,
    deliveries: tuple[Delivery, ...] = (),
) -> str:
    renderers = {"text": to_text, "json": to_json, "markdown": to_markdown, "junit": to_junit}
    return renderers[fmt](result, timestamp, changes, deliveries)


def _since(changes: Changes) -> str:
    """One line: what changed since the previous run."""
    if changes.previous_run is None:
        return "first recorded run: every finding is new"
    parts = [f"{len(changes.new)} new", f"{len(changes.resolved)} resolved"]
    if changes.unjudged:
        parts.append(f"{len(changes.unjudged)} not seen but not judged (incomplete audit)")
    text = f"since the last run ({format_time(changes.previous_run)}): {', '.join(parts)}"
    if changes.first_seen:
        oldest = min(changes.first_seen.values())
        text += f"; oldest open for {age(int((changes.now - oldest).total_seconds()))}"
    return text


def _open_for(changes: Changes, finding: Finding) -> str:
    fp, _, new = changes.of(finding)
    return "new" if new else age(changes.open_seconds(fp))


def _resolved_line(t: Tracked, changes: Changes) -> str:
    opened = age(int((changes.now - t.first_seen).total_seconds()))
    return f"{t.ref.display()} {t.path or '/'} ({t.rule}), open for {opened}"


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


def _pair(desired: Any, live: Any, width: int) -> tuple[str, str]:
    """DESIRED and LIVE cells of one finding. When they must be cut, the common beginning
    goes first (keeping a few characters of context), so the cells show where they differ:
    cut at the end, 'registry/account-service:2.15.0-rc.1' and '…-rc.2' looked the same."""
    a = "-" if desired is None else _value(desired, 10**9)
    b = "-" if live is None else _value(live, 10**9)
    if desired is not None and live is not None and max(len(a), len(b)) > width:
        common = next(
            (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))
        )
        # drop no more of the common beginning than the longer cell needs, and never the
        # last PAIR_CONTEXT characters before the difference
        needed = max(len(a), len(b)) - (width - 1)
        start = min(needed, common - PAIR_CONTEXT)
        if start > 0:
            a, b = "…" + a[start:], "…" + b[start:]
    return _value(a, width), _value(b, width)


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


def to_text(
    result: AuditResult,
    timestamp: str | None = None,
    changes: Changes | None = None,
    deliveries: tuple[Delivery, ...] = (),
) -> str:
    lines = [_headline(result)]
    if timestamp:
        lines.append(f"generated {timestamp}")
    if result.stopped:
        lines.append(f"incomplete: {result.stopped}")
    if changes is not None and changes.noteworthy:
        lines.append(_since(changes))
    if result.findings:
        header: tuple[str, ...] = ("SEVERITY", "TYPE", "APP", "OBJECT", "PATH", "RULE")
        header += ("DESIRED", "LIVE") + (("OPEN",) if changes is not None else ())
        rows = [header] + [
            (
                f.severity.value,
                f.type.value,
                f.app or "-",
                f.ref.display(),
                f.path or "/",
                f.rule,
                *(
                    _pair(f.desired, f.live, 40)
                    if f.type is not FindingType.ERROR
                    else (_value(f.desired, 40), _value(f.message, 40))
                ),
                *((_open_for(changes, f),) if changes is not None else ()),
            )
            for f in result.findings
        ]
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
        lines.append("")
        for row in rows:
            lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    if changes is not None and changes.resolved:
        lines += ["", "resolved since the last run:"]
        lines += [f"  {_resolved_line(t, changes)}" for t in changes.resolved]
    lines.extend(f"warning: {w}" for w in result.warnings)
    lines.extend(d.line() for d in deliveries)
    return "\n".join(lines) + "\n"


def _finding_json(finding: Finding, changes: Changes | None) -> dict[str, Any]:
    data = {**finding.to_json(), "fingerprint": fingerprint(finding)}
    if changes is not None:
        fp, first_seen, new = changes.of(finding)
        data.update(
            firstSeen=format_time(first_seen), openSeconds=changes.open_seconds(fp), new=new
        )
    return data


def _changes_json(changes: Changes) -> dict[str, Any]:
    def gone(t: Tracked) -> dict[str, Any]:
        return {
            "fingerprint": t.fingerprint,
            **t.to_json(),
            "openSeconds": int((changes.now - t.first_seen).total_seconds()),
        }

    return {
        "checkedAt": format_time(changes.now),
        "previousRun": format_time(changes.previous_run) if changes.previous_run else None,
        "new": sorted(changes.new),
        "resolved": [gone(t) for t in changes.resolved],
        "unjudged": [gone(t) for t in changes.unjudged],
    }


def to_json(
    result: AuditResult,
    timestamp: str | None = None,
    changes: Changes | None = None,
    deliveries: tuple[Delivery, ...] = (),
) -> str:
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
    if changes is not None:
        document["changes"] = _changes_json(changes)
    document["findings"] = [_finding_json(f, changes) for f in result.findings]
    if deliveries:
        document["notifications"] = [d.to_json() for d in deliveries]
    document["warnings"] = result.warnings
    document["objects"] = [{"ref": o.ref.to_json(), "app": o.app} for o in result.objects]
    return json.dumps(document, indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def _md(text: str) -> str:
    """A table cell: pipes escaped, code spans safe, one line."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _code(value: Any) -> str:
    return _code_text(_value(value))


def _code_text(text: str) -> str:
    if text == "-":
        return "–"
    fence = "``" if "`" in text else "`"
    return f"{fence}{_md(text)}{fence}"


def to_markdown(
    result: AuditResult,
    timestamp: str | None = None,
    changes: Changes | None = None,
    deliveries: tuple[Delivery, ...] = (),
) -> str:
    s = summary(result)
    by = s["byType"]
    out = [f"## Drift report: `{result.environment}`", ""]
    if timestamp:
        out += [f"Generated {timestamp}.", ""]
    if result.stopped:
        out += [f"**Incomplete:** {_md(result.stopped)}", ""]
    if changes is not None and changes.noteworthy:
        since = _since(changes)
        out += [since[0].upper() + since[1:] + ".", ""]
        if changes.resolved:
            out += [
                "Resolved since the last run:",
                "",
                *(f"- {_md(_resolved_line(t, changes))}" for t in changes.resolved),
                "",
            ]
    if deliveries:
        out += [*(f"- {_md(d.line())}" for d in deliveries), ""]
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
        aged = changes is not None
        out += [
            "<details>",
            f"<summary><b>{_md(app)}</b>: {len(findings)} findings ({detail})</summary>",
            "",
            "| severity | type | object | path | desired | live | rule |"
            + (" open for |" if aged else ""),
            "| --- | --- | --- | --- | --- | --- | --- |" + (" --- |" if aged else ""),
        ]
        for f in findings:
            if f.type is FindingType.ERROR:
                desired, live = _value(f.desired), _value(f.message)
            else:
                desired, live = _pair(f.desired, f.live, VALUE_WIDTH)
            opened = ""
            if changes is not None:
                cell = _open_for(changes, f)
                opened = f" **{cell}** |" if cell == "new" else f" {cell} |"
            out.append(
                f"| {f.severity.value} | {f.type.value} | {_md(f.ref.display())} | "
                f"`{_md(f.path or '/')}` | {_code_text(desired)} | {_code_text(live)} | {f.rule} |"
                + opened
            )
        out += ["", "</details>", ""]
    if result.warnings:
        out += ["Warnings:", "", *(f"- {_md(w)}" for w in result.warnings), ""]
    return "\n".join(out)


def to_junit(
    result: AuditResult,
    timestamp: str | None = None,
    changes: Changes | None = None,
    deliveries: tuple[Delivery, ...] = (),
) -> str:
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
    if changes is not None:
        properties = ET.SubElement(suite, "properties")
        for name, value in (
            ("previousRun", format_time(changes.previous_run) if changes.previous_run else ""),
            ("new", str(len(changes.new))),
            ("resolved", str(len(changes.resolved))),
        ):
            ET.SubElement(properties, "property", {"name": name, "value": value})
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
            failure.text = "\n".join(_line(f, changes) for f in drift)
        if errors:
            error = ET.SubElement(case, "error", {"message": errors[0].message})
            error.text = "\n".join(_line(f, changes) for f in errors)
    for finding in type_errors:
        case = ET.SubElement(
            suite,
            "testcase",
            {"classname": result.environment, "name": f"list {finding.ref.display().strip()}"},
        )
        ET.SubElement(case, "error", {"message": finding.message, "type": finding.rule})
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, "unicode") + "\n"


def _line(f: Finding, changes: Changes | None = None) -> str:
    desired, live = _pair(f.desired, f.live, VALUE_WIDTH)
    text = f"{f.type.value} {f.path or '/'} ({f.rule}): desired {desired}, live {live}"
    if changes is not None:
        cell = _open_for(changes, f)
        text += " [new]" if cell == "new" else f" [open for {cell}]"
    return text
