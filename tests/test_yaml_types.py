"""Values YAML reads as something other than what was written, and files that are not UTF-8:
one line naming file, line and key, saying what YAML did and how to fix it; exit 2; nothing
changed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers import run_cli, tree_digest

PROD = "environments/prod.yaml"
RISK = 'risk-service: {tag: "2.13.2"'


def _edit(repo: Path, rel: str, old: str, new: str) -> None:
    path = repo / rel
    text = path.read_text()
    assert old in text, f"fixture drifted: {old!r} not in {rel}"
    path.write_text(text.replace(old, new, 1))


MISREAD = [
    pytest.param(
        PROD,
        RISK,
        "risk-service: {tag: 2.10",
        "environments/prod.yaml:23: services.risk-service.tag: 2.10 is read by YAML as the number "
        '2.1; quote it: "2.10"',
        id="tag-2.10",
    ),
    pytest.param(
        PROD,
        "platform: {revision: 1ef53dd38e6d2116d669161582201ba087d8119f}",
        "platform: {revision: 2.13}",
        "environments/prod.yaml:14: platform.revision: 2.13 is read by YAML as the number 2.13; "
        'quote it: "2.13"',
        id="revision",
    ),
    pytest.param(
        PROD,
        "timescaledb: {chart: 16.4.0,",
        "timescaledb: {chart: 16.40,",
        "environments/prod.yaml:17: dependencies.timescaledb.chart: 16.40 is read by YAML as the "
        'number 16.4; quote it: "16.40"',
        id="chart-version",
    ),
    pytest.param(
        PROD,
        RISK,
        "risk-service: {tag: on",
        "environments/prod.yaml:23: services.risk-service.tag: on is read by YAML as the boolean "
        'true; quote it: "on"',
        id="on",
    ),
    pytest.param(
        PROD,
        RISK,
        "risk-service: {tag: no",
        "environments/prod.yaml:23: services.risk-service.tag: no is read by YAML as the boolean "
        'false; quote it: "no"',
        id="no",
    ),
    pytest.param(
        PROD,
        RISK,
        "risk-service: {tag: 1e3",
        "environments/prod.yaml:23: services.risk-service.tag: 1e3 is read by YAML as the number "
        '1000.0; quote it: "1e3"',
        id="1e3",
    ),
    pytest.param(
        PROD,
        RISK,
        "risk-service: {tag: 0755",
        "environments/prod.yaml:23: services.risk-service.tag: 0755 is read by YAML as the number "
        '493; quote it: "0755"',
        id="octal",
    ),
    pytest.param(
        "environments/platform.yaml",
        "secrets: [fastapi-credentials, fastapi-secrets]",
        "secrets: [fastapi-credentials, yes]",
        "environments/platform.yaml:177: services.oms-service.secrets[1]: yes is read by YAML "
        'as the boolean true; quote it: "yes"',
        id="list-item",
    ),
]


@pytest.mark.parametrize(("rel", "old", "new", "message"), MISREAD)
@pytest.mark.parametrize("command", ["render", "validate"])
def test_a_value_yaml_misreads_says_what_happened_and_how_to_quote_it(
    aether: Path, rel: str, old: str, new: str, message: str, command: str
) -> None:
    _edit(aether, rel, old, new)
    before = tree_digest(aether)
    result = run_cli(command, repo=aether, expect=2)
    assert result.stdout == ""
    assert result.stderr == f"error: {message}\n"
    assert tree_digest(aether) == before


def test_the_quoted_value_is_accepted(aether: Path) -> None:
    _edit(aether, PROD, RISK, 'risk-service: {tag: "2.10"')
    run_cli("render", "prod", repo=aether, expect=0)
    rendered = "".join(p.read_text() for p in (aether / "clusters").rglob("*.yaml"))
    # still a string in what Helm reads (quoted, whichever quotes the YAML writer chose)
    assert re.search(r"tag: (\"2\.10\"|'2\.10')\n", rendered), "tag 2.10 not rendered as a string"


def test_a_number_where_a_number_belongs_is_not_reported(aether: Path) -> None:
    _edit(aether, PROD, "hpa: {min: 3, max: 10}", "hpa: {min: 3, max: 1e1}")
    result = run_cli("validate", "prod", repo=aether, expect=0)
    assert "read by YAML" not in result.stderr


@pytest.mark.parametrize(
    ("rel", "anchor", "inserted", "line", "column"),
    [
        # a valid "ü" first: the column counts characters, not bytes
        ("environments/dev.yaml", "Development", b"\xc3\xbc\xe9", 1, 4),
        ("environments/prod.yaml", "namespace: aether", b"\xe9", 5, 1),
        ("environments/platform.yaml", "", b"\xe9", 1, 1),
    ],
)
@pytest.mark.parametrize("command", ["render", "validate", "promote dev staging --dry-run"])
def test_a_file_that_is_not_utf8_gives_file_line_and_column(
    aether: Path, rel: str, anchor: str, inserted: bytes, line: int, column: int, command: str
) -> None:
    path = aether / rel
    text = path.read_text()
    at = text.index(anchor)
    path.write_bytes(text[:at].encode() + inserted + text[at:].encode())
    before = tree_digest(aether)
    result = run_cli(*command.split(), repo=aether, expect=2)
    assert result.stderr == (
        f"error: {rel}:{line}:{column}: not UTF-8 text (byte 0xe9); save the file as UTF-8 "
        "(e.g. 'iconv -f latin1 -t utf-8')\n"
    )
    assert tree_digest(aether) == before
