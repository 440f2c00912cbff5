"""Fingerprints, first-seen times, new/resolved findings and their state (pure functions)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest

from gitops_gen.drift.findings import (
    AuditedObject,
    AuditResult,
    Finding,
    FindingType,
    ObjectRef,
    Severity,
)
from gitops_gen.drift.fingerprint import fingerprint
from gitops_gen.drift.history import State, age, compare, load_state, now
from gitops_gen.drift.mask import Masker
from gitops_gen.drift.report import render
from gitops_gen.drift.state_store import FileStore
from gitops_gen.errors import InputError
from tests.helpers import PROJECT_ROOT

T0 = datetime(2026, 12, 1, 1, 0, 0, tzinfo=UTC)
SETTINGS = ObjectRef("", "v1", "ConfigMap", "shop", "settings")
CREDS = ObjectRef("", "v1", "Secret", "shop", "creds")
WEB = ObjectRef("apps", "v1", "Deployment", "shop", "web")


def modified(ref: ObjectRef, path: str, desired: object, live: object, rule: str) -> Finding:
    return Finding(ref, FindingType.MODIFIED, path, desired, live, Severity.MEDIUM, rule, "dev-web")


def result(*findings: Finding, errors: bool = False) -> AuditResult:
    extra = (
        [
            Finding(
                ObjectRef("", "v1", "Secret", "shop", ""),
                FindingType.ERROR,
                "",
                None,
                None,
                Severity.HIGH,
                "audit/forbidden",
                message="list secrets: HTTP 403",
            )
        ]
        if errors
        else []
    )
    objects = [AuditedObject(f.ref, f.app) for f in findings]
    return AuditResult("dev", objects=objects, findings=[*findings, *extra]).sorted()


def secret_finding(masker: Masker, live: bytes) -> Finding:
    return Finding(
        CREDS,
        FindingType.MODIFIED,
        "/data/password",
        masker.mask_bytes(b"desired"),
        masker.mask_bytes(live),
        Severity.HIGH,
        "drift/secret-modified",
        "dev-web",
    )


def test_fingerprint_is_what_the_finding_is_about_never_its_values() -> None:
    # masks under two per-run keys, and another live value: the same finding
    first = secret_finding(Masker(), b"hunter2")
    second = secret_finding(Masker(), b"changed-again")
    assert first.live != second.live
    assert fingerprint(first) == fingerprint(second)
    base = modified(SETTINGS, "/data/mode", "fast", "slow", "drift/field-modified")
    same = modified(SETTINGS, "/data/mode", "fast", "other", "drift/field-modified")
    # read at another version: the same object
    moved = modified(
        ObjectRef("", "v2", "ConfigMap", "shop", "settings"),
        "/data/mode",
        "fast",
        "slow",
        "drift/field-modified",
    )
    assert fingerprint(base) == fingerprint(same) == fingerprint(moved)
    others = [
        modified(SETTINGS, "/data/level", "fast", "slow", "drift/field-modified"),
        modified(SETTINGS, "/data/mode", "fast", "slow", "drift/field-missing"),
        modified(
            ObjectRef("", "v1", "ConfigMap", "other", "settings"),
            "/data/mode",
            "fast",
            "slow",
            "drift/field-modified",
        ),
    ]
    assert len({fingerprint(f) for f in [base, *others]}) == 4
    assert len(fingerprint(base)) == 16 and int(fingerprint(base), 16) >= 0


def test_first_seen_survives_new_and_resolved_are_named() -> None:
    a = modified(SETTINGS, "/data/mode", "fast", "slow", "drift/field-modified")
    b = modified(WEB, "/spec/template/spec/containers/0/image", "web:1", "web:2", "r")
    changes, state = compare(None, result(a), T0)
    assert changes.previous_run is None and changes.new == {fingerprint(a)}
    assert state.open[fingerprint(a)].first_seen == T0

    later = T0 + timedelta(hours=3, minutes=5)
    changes, state = compare(state, result(a, b), later)
    assert changes.new == {fingerprint(b)} and changes.resolved == ()
    assert changes.first_seen[fingerprint(a)] == T0
    assert changes.open_seconds(fingerprint(a)) == 3 * 3600 + 300

    changes, state = compare(state, result(b), later + timedelta(days=2))
    (gone,) = changes.resolved
    assert (gone.ref, gone.path, gone.first_seen) == (SETTINGS, "/data/mode", T0)
    assert set(state.open) == {fingerprint(b)}


def test_an_incomplete_audit_resolves_nothing() -> None:
    a = modified(SETTINGS, "/data/mode", "fast", "slow", "drift/field-modified")
    _, state = compare(None, result(a), T0)
    changes, after = compare(state, result(errors=True), T0 + timedelta(hours=1))
    assert changes.resolved == () and [t.ref for t in changes.unjudged] == [SETTINGS]
    assert fingerprint(a) in after.open and after.open[fingerprint(a)].first_seen == T0
    text = render(result(errors=True), "text", changes=changes)
    assert "1 not seen but not judged (incomplete audit)" in text


def test_state_round_trips_and_bad_state_is_one_line(tmp_path: Path) -> None:
    a = modified(SETTINGS, "/data/mode", "fast", "slow", "drift/field-modified")
    _, state = compare(None, result(a), T0)
    state = state.with_notified("ops", T0)
    store = FileStore(tmp_path / "state.json")
    assert store.load("dev") is None
    store.save(state, {})
    assert store.load("dev") == state
    document = json.loads((tmp_path / "state.json").read_text())
    schema = PROJECT_ROOT / "docs" / "cli" / "schemas" / "drift-state.schema.json"
    jsonschema.validate(document, json.loads(schema.read_text()))
    # no values, no masks: only what the findings are about
    assert "slow" not in json.dumps(document) and "fast" not in json.dumps(document)

    with pytest.raises(InputError) as bad:
        store.load("prod")
    assert str(bad.value) == (
        f"--state {tmp_path / 'state.json'}: holds the state of environment 'dev', not 'prod'; "
        "delete it to start over"
    )
    (tmp_path / "state.json").write_text('{"schemaVersion": "x"}')
    with pytest.raises(InputError) as bad:
        store.load("dev")
    assert "not a drift state (schemaVersion is not gitops-gen.io/drift-state/v1)" in str(bad.value)
    with pytest.raises(InputError):
        load_state("{", "dev", "here", "fix")


def test_clock_is_injectable_and_ages_read_like_a_person(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITOPS_GEN_NOW", "2026-12-01T02:00:00Z")
    assert now() == datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    monkeypatch.setenv("GITOPS_GEN_NOW", "yesterday")
    with pytest.raises(InputError, match=r"\$GITOPS_GEN_NOW='yesterday' is not an RFC 3339"):
        now()
    assert [age(s) for s in (5, 60, 2700, 3600, 11100, 86400, 183600)] == [
        "<1m",
        "1m",
        "45m",
        "1h",
        "3h 5m",
        "1d",
        "2d 3h",
    ]


def test_reports_with_history_differ_only_in_ages_as_time_passes() -> None:
    a = modified(SETTINGS, "/data/mode", "fast", "slow", "drift/field-modified")
    _, state = compare(None, result(a), T0)
    one, _ = compare(state, result(a), T0 + timedelta(minutes=30))
    again, _ = compare(state, result(a), T0 + timedelta(minutes=30))
    later, _ = compare(state, result(a), T0 + timedelta(hours=2))
    for fmt in ("text", "json", "markdown", "junit"):
        first = render(result(a), fmt, changes=one)
        assert first == render(result(a), fmt, changes=again)  # same clock: same bytes
        moved = render(result(a), fmt, changes=later)
        differing = [
            (x, y) for x, y in zip(first.splitlines(), moved.splitlines(), strict=True) if x != y
        ]
        assert differing, fmt
        for x, y in differing:  # only the ages and the time of the check move
            assert any(k in x for k in ("30m", "openSeconds", "checkedAt")), (fmt, x, y)
    text = render(result(a), "text", changes=later)
    assert "since the last run (2026-12-01T01:00:00Z): 0 new, 0 resolved" in text
    assert text.splitlines()[3].split()[-1] == "OPEN" and text.splitlines()[4].endswith("2h")


def test_a_clean_environment_that_stays_clean_says_nothing_about_runs() -> None:
    changes, _ = compare(State("dev", T0), result(), T0 + timedelta(hours=1))
    assert render(result(), "text", changes=changes) == render(result(), "text")
    assert render(result(), "markdown", changes=changes) == render(result(), "markdown")
