"""Promotion edits in every layout a person writes, found by mutation testing (docs/testing.md):
the exact bytes after the edit, so a reviewer's diff shows the promoted field and nothing else."""

from __future__ import annotations

import pytest

from gitops_gen.promote.edit import FieldChange, apply_changes, read_fields

DIGEST = "sha256:" + "ab" * 32


def _set(path: tuple[str, ...], key: str, value: str | None) -> list[FieldChange]:
    return [FieldChange(path, key, value)]


@pytest.mark.parametrize(
    ("before", "after"),
    [
        # first, middle, last and only entry of a flow mapping
        (
            f'a: {{digest: "{DIGEST}", tag: "1", replicas: 2}}\n',
            'a: {tag: "1", replicas: 2}\n',
        ),
        (
            f'a: {{tag: "1", digest: "{DIGEST}", replicas: 2}}\n',
            'a: {tag: "1", replicas: 2}\n',
        ),
        (f'a: {{tag: "1", digest: "{DIGEST}"}}  # pinned\n', 'a: {tag: "1"}  # pinned\n'),
        (f'a: {{digest: "{DIGEST}"}}\nb: 1\n', "a: {}\nb: 1\n"),
        # block mappings: the whole line goes, also as the file's last line without newline
        (f"a:\n  tag: 1\n  digest: {DIGEST}\nb: 2\n", "a:\n  tag: 1\nb: 2\n"),
        (f"a:\n  tag: 1\n  digest: {DIGEST}", "a:\n  tag: 1\n"),
        (f"a:\n  digest: {DIGEST}\n  tag: 1\n", "a:\n  tag: 1\n"),
    ],
)
def test_removing_a_pin_removes_exactly_its_entry(before: str, after: str) -> None:
    assert apply_changes(before, _set(("a",), "digest", None)) == after


@pytest.mark.parametrize(
    ("before", "change", "after"),
    [
        # a tag goes first, anything else after the last promotable key
        ("a: {replicas: 2}\n", ("tag", "1.1"), 'a: {tag: "1.1", replicas: 2}\n'),
        ("a: {}\n", ("tag", "1.1"), 'a: {tag: "1.1"}\n'),
        (
            "a: {tag: 1.0, replicas: 2}\n",
            ("digest", DIGEST),
            f'a: {{tag: 1.0, digest: "{DIGEST}", replicas: 2}}\n',
        ),
        (
            "a: {chart: 1.0, values: x}\n",
            ("digest", DIGEST),
            f'a: {{chart: 1.0, digest: "{DIGEST}", values: x}}\n',
        ),
        (
            "a: {revision: v1, values: x}\n",
            ("digest", DIGEST),
            f'a: {{revision: v1, digest: "{DIGEST}", values: x}}\n',
        ),
        ("a: {replicas: 2}\n", ("digest", DIGEST), f'a: {{digest: "{DIGEST}", replicas: 2}}\n'),
        (
            "a:\n  replicas: 2\n  tag: 1.0\nb: 1\n",
            ("digest", DIGEST),
            f'a:\n  replicas: 2\n  tag: 1.0\n  digest: "{DIGEST}"\nb: 1\n',
        ),
        (
            "a:\n  replicas: 2\n  tag: 1.0",
            ("digest", DIGEST),
            f'a:\n  replicas: 2\n  tag: 1.0\n  digest: "{DIGEST}"',
        ),
        ("a:\n  replicas: 2\n", ("tag", "1.1"), 'a:\n  tag: "1.1"\n  replicas: 2\n'),
        (
            "# head\na:\n    replicas: 2\n",
            ("digest", DIGEST),
            f'# head\na:\n    digest: "{DIGEST}"\n    replicas: 2\n',
        ),
    ],
)
def test_adding_a_field_puts_it_where_a_person_would(
    before: str, change: tuple[str, str], after: str
) -> None:
    key, value = change
    assert apply_changes(before, _set(("a",), key, value)) == after


def test_a_changed_value_keeps_the_quoting_that_can_hold_it() -> None:
    assert apply_changes("a: {tag: '1.0'}\n", _set(("a",), "tag", "it's")) == (
        "a: {tag: 'it''s'}\n"
    )
    assert apply_changes("a: {tag: 1.0}\n", _set(("a",), "tag", "v1 # not a comment")) == (
        'a: {tag: "v1 # not a comment"}\n'
    )
    assert apply_changes("a: {tag: 1.0}\n", _set(("a",), "tag", " padded")) == (
        'a: {tag: " padded"}\n'
    )
    assert apply_changes("a: {tag: x}\n", _set(("a",), "tag", "true")) == 'a: {tag: "true"}\n'
    assert apply_changes("a: {tag: x}\n", _set(("a",), "tag", "v2.0")) == "a: {tag: v2.0}\n"


def test_a_field_that_is_not_a_single_value_is_refused() -> None:
    with pytest.raises(Exception, match=r"a\.tag: expected a single value"):
        apply_changes("a: {tag: [1, 2]}\n", _set(("a",), "tag", "3"), "env.yaml")
    with pytest.raises(Exception, match=r"a: expected a mapping"):
        apply_changes("a: 1\n", _set(("a",), "tag", "3"), "env.yaml")
    with pytest.raises(Exception, match=r"env.yaml: expected a mapping at the top level"):
        apply_changes("- a\n", _set(("a",), "tag", "3"), "env.yaml")


@pytest.mark.parametrize(
    ("component", "kind", "fields"),
    [
        ("platform", "platform", {"revision": "v1.0.0"}),
        ("kafka", "dependency", {"chart": "31.0.0"}),
        ("risk-service", "service", {"tag": "2.13.2", "digest": None}),
        ("ui", "ui", {"tag": "1.5", "digest": DIGEST}),
        ("ingest", "pipeline", {"tag": "0.3", "digest": None}),
    ],
)
def test_read_fields_of_each_kind(component: str, kind: str, fields: dict[str, str]) -> None:
    text = (
        "platform: {revision: v1.0.0, values: ignored}\n"
        "dependencies:\n  kafka: {chart: 31.0.0, tag: not-promotable}\n"
        "services:\n  risk-service: {tag: 2.13.2, replicas: 2}\n"
        f"ui: {{tag: 1.5, digest: {DIGEST}}}\n"
        "pipelines:\n  ingest: {tag: 0.3}\n"
    )
    assert read_fields(text, component, kind) == fields


def test_read_fields_of_an_absent_component_is_empty() -> None:
    assert read_fields("services: {}\n", "nope", "service") == {}
    assert read_fields("services: none\n", "nope", "service") == {}
    assert read_fields("dependencies:\n  kafka: 31\n", "kafka", "dependency") == {}
