"""Editing environment files: only the promoted scalars change, every other byte stays."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from gitops_gen.errors import GitopsGenError
from gitops_gen.promote.edit import FieldChange, apply_changes, changes_for, read_fields

PROJECT = Path(__file__).resolve().parent.parent
DIGEST = "sha256:" + "0123456789abcdef" * 4


def _changed_lines(before: str, after: str) -> list[int]:
    a, b = before.splitlines(keepends=True), after.splitlines(keepends=True)
    assert len(a) == len(b)
    return [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]


def test_untouched_lines_are_byte_identical() -> None:
    text = (PROJECT / "environments/prod.yaml").read_text()
    changes = [
        FieldChange(("services", "risk-service"), "tag", "2.14.0"),
        FieldChange(("dependencies", "kafka"), "chart", "31.1.0"),
        FieldChange(("platform",), "revision", "d8a560b9d8fd7d10afaad6255496872ed4a22f41"),
        FieldChange(("ui",), "tag", "2.14.0"),
    ]
    after = apply_changes(text, changes, "prod.yaml")
    lines = text.splitlines(keepends=True)
    changed = _changed_lines(text, after)
    assert [lines[i].split(":")[0].strip() for i in changed] == [
        "platform",
        "kafka",
        "risk-service",
        "ui",
    ]
    new = after.splitlines(keepends=True)
    # quoting, flow style, the comment on the line, and the rest of the mapping are kept
    assert new[changed[0]] == (
        "platform: {revision: d8a560b9d8fd7d10afaad6255496872ed4a22f41} # app-repo commit (the "
        "repo has no tags) holding deploy/helm/aether-platform\n"
    )
    assert new[changed[2]] == '  risk-service: {tag: "2.14.0", hpa: {min: 3, max: 10}}\n'


BLOCK = """\
# a block-style file
services:
  risk-service:
    tag: '2.13.2'   # single quotes stay
    replicas: 2
  oms-service:
    tag: 2.13.2
    digest: {digest}
    hpa:
      min: 3
ui:
  tag: "2.13.2"
"""


def test_block_style_and_quoting_kept() -> None:
    text = BLOCK.format(digest=DIGEST)
    after = apply_changes(
        text,
        [
            FieldChange(("services", "risk-service"), "tag", "2.14.0"),
            FieldChange(("ui",), "tag", "2.14.0"),
        ],
    )
    assert "    tag: '2.14.0'   # single quotes stay\n" in after
    assert '  tag: "2.14.0"\n' in after
    assert len(_changed_lines(text, after)) == 2


def test_digest_added_and_removed_in_flow_and_block_mappings() -> None:
    flow = 'services:\n  a: {tag: "1.0", replicas: 2}  # note\n'
    added = apply_changes(
        flow,
        changes_for(
            "a", "service", {"tag": "1.0", "digest": None}, {"tag": "1.1", "digest": DIGEST}
        ),
    )
    assert added == f'services:\n  a: {{tag: "1.1", digest: "{DIGEST}", replicas: 2}}  # note\n'
    removed = apply_changes(
        added,
        changes_for(
            "a", "service", {"tag": "1.1", "digest": DIGEST}, {"tag": "1.0", "digest": None}
        ),
    )
    assert removed == flow  # the exact inverse

    block = BLOCK.format(digest=DIGEST)
    dropped = apply_changes(
        block,
        changes_for(
            "oms-service",
            "service",
            {"tag": "2.13.2", "digest": DIGEST},
            {"tag": "2.14.0", "digest": None},
        ),
    )
    assert "digest" not in dropped
    assert "    tag: 2.14.0\n    hpa:\n" in dropped
    back = apply_changes(
        dropped,
        changes_for(
            "oms-service",
            "service",
            {"tag": "2.14.0", "digest": None},
            {"tag": "2.13.2", "digest": DIGEST},
        ),
    )
    assert yaml.safe_load(back) == yaml.safe_load(block)


def test_tag_replaced_by_digest_in_place() -> None:
    text = 'ui: {tag: "2.13.2"} # why\n'
    after = apply_changes(
        text,
        changes_for("ui", "ui", {"tag": "2.13.2", "digest": None}, {"tag": None, "digest": DIGEST}),
    )
    assert after == f'ui: {{digest: "{DIGEST}"}} # why\n'
    assert read_fields(after, "ui", "ui") == {"tag": None, "digest": DIGEST}


def test_values_that_need_quotes_get_them() -> None:
    text = "dependencies:\n  kafka: {chart: 31.0.0}\n"
    after = apply_changes(text, [FieldChange(("dependencies", "kafka"), "chart", "1.2")])
    assert after == 'dependencies:\n  kafka: {chart: "1.2"}\n'  # plain 1.2 would be a float
    assert yaml.safe_load(after)["dependencies"]["kafka"]["chart"] == "1.2"


def test_missing_mapping_is_a_clear_error() -> None:
    with pytest.raises(GitopsGenError, match=r"services.nope: not found"):
        apply_changes("services: {}\n", [FieldChange(("services", "nope"), "tag", "1")], "x.yaml")
