"""The whole command line, walked: every command and option has help text, every report's
``-o json`` parses and matches its published JSON Schema, ``-o yaml`` is the same document, and
piped output is one line per row at any width (40 columns here)."""

from __future__ import annotations

import json
from pathlib import Path

import click
import jsonschema
import pytest
import yaml

from gitops_gen.cli import main_group
from gitops_gen.output import ALIASES
from tests.helpers import PROJECT_ROOT, copy_aether, run_cli

SCHEMAS = PROJECT_ROOT / "docs" / "cli" / "schemas"

# One invocation per command that reports something, run against the embedded Aether
# repository. A new command with -o fails test_every_report_has_a_sample until it is added here
# (and its schema to docs/cli/schemas/). drift needs a live cluster: tests/test_cli_drift.py.
SAMPLES: dict[str, list[str]] = {
    "render": ["render", "dev"],
    "validate": ["validate"],
    "diff": ["diff", "--base", "HEAD"],
    "history": ["history", "prod"],
    "promote": ["promote", "dev", "staging", "--dry-run"],
    "rollback": ["rollback", "prod", "--to", "HEAD", "--dry-run"],
    "secrets list": ["secrets", "list", "dev"],
    "secrets show": ["secrets", "show", "dev", "account-service-database"],
    "secrets verify": ["secrets", "verify"],
    "doctor": ["doctor", "--offline"],
    "env list": ["env", "list"],
}
ELSEWHERE = {"drift"}  # every -o of drift, openmetrics included: tests/test_cli_drift.py


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """The embedded Aether repository with its render committed: a promotion refuses to build
    on a stale (here: absent) committed render, since its commit would carry all of it."""
    return copy_aether(tmp_path / "aether", with_clusters=True)


def walk(
    command: click.Command = main_group,
    path: tuple[str, ...] = (),
    parent: click.Context | None = None,
) -> list[tuple[str, click.Command]]:
    """Every command, as the CLI loads it (with the global options it adds)."""
    ctx = click.Context(command, info_name=path[-1] if path else "gitops-gen", parent=parent)
    found = [(" ".join(path), command)]
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            assert sub is not None, name
            found.extend(walk(sub, (*path, name), ctx))
    return found


COMMANDS = walk()


def _output_option(command: click.Command) -> click.Option | None:
    return next(
        (p for p in command.params if isinstance(p, click.Option) and "--output" in p.opts), None
    )


REPORTING = sorted(name for name, cmd in COMMANDS if _output_option(cmd) is not None)


def test_every_command_and_option_has_help_text() -> None:
    missing = []
    for name, command in COMMANDS:
        if not (command.help or command.short_help):
            missing.append(f"command '{name or 'gitops-gen'}'")
        for param in command.params:
            if isinstance(param, click.Option) and not param.hidden and not param.help:
                missing.append(f"'{name or 'gitops-gen'}' option {'/'.join(param.opts)}")
    assert missing == [], "no help text: " + ", ".join(missing)


def test_the_walk_sees_every_command() -> None:
    names = {name for name, _ in COMMANDS}
    assert {"render", "validate", "secrets list", "drift", "doctor", "completion"} <= names


def test_every_report_has_the_standard_formats_a_sample_and_a_schema() -> None:
    for name in REPORTING:
        option = _output_option(dict(COMMANDS)[name])
        assert option is not None
        choices = list(getattr(option.type, "choices", []))
        assert choices[:3] == ["text", "json", "yaml"], f"{name}: -o offers {choices}"
        assert name in SAMPLES or name in ELSEWHERE, (
            f"'{name}' has -o but no sample invocation: add one to SAMPLES in tests/test_cli.py"
        )
        kind = name.replace(" ", "-")
        assert (SCHEMAS / f"{kind}.schema.json").is_file(), (
            f"'{name}' has -o json but no docs/cli/schemas/{kind}.schema.json"
        )


def test_every_schema_is_a_valid_json_schema() -> None:
    for path in sorted(SCHEMAS.glob("*.schema.json")):
        schema = json.loads(path.read_text())
        jsonschema.Draft202012Validator.check_schema(schema)
        kind = path.name.removesuffix(".schema.json")
        assert schema["properties"]["schemaVersion"] == {"const": f"gitops-gen.io/{kind}/v1"}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_json_parses_matches_its_schema_and_yaml_is_the_same_document(
    name: str, repo: Path
) -> None:
    kind = name.replace(" ", "-")
    as_json = run_cli(*SAMPLES[name], "-o", "json", repo=repo, expect=0)
    document = json.loads(as_json.stdout)
    assert document["schemaVersion"] == f"gitops-gen.io/{kind}/v1"
    schema = json.loads((SCHEMAS / f"{kind}.schema.json").read_text())
    jsonschema.validate(document, schema)

    as_yaml = run_cli(*SAMPLES[name], "-o", "yaml", repo=repo, expect=0)
    again = yaml.safe_load(as_yaml.stdout)
    # what differs between two runs of the same command is not the format's business
    for volatile in ("body", "plan", "added", "changed", "upToDate"):
        again.pop(volatile, None)
        document.pop(volatile, None)
    assert again == document


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_piped_text_does_not_depend_on_the_width(
    name: str, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_cli(*SAMPLES[name], repo=repo, expect=0)  # render writes; later runs compare alike
    monkeypatch.setenv("COLUMNS", "40")
    narrow = run_cli(*SAMPLES[name], repo=repo, expect=0)
    monkeypatch.setenv("COLUMNS", "250")
    wide = run_cli(*SAMPLES[name], repo=repo, expect=0)
    if name == "promote":  # the dry run's body names a fresh promotion id each time
        narrow_lines = [ln for ln in narrow.stdout.splitlines() if "romotion-Id" not in ln]
        wide_lines = [ln for ln in wide.stdout.splitlines() if "romotion-Id" not in ln]
        assert len(narrow_lines) == len(wide_lines)
    else:
        assert narrow.stdout == wide.stdout
    assert max(map(len, narrow.stdout.splitlines()), default=0) <= max(
        map(len, wide.stdout.splitlines()), default=0
    )


def test_piped_secrets_list_is_one_line_per_secret_at_40_columns(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    result = run_cli("secrets", "list", "dev", repo=repo, expect=0)
    lines = result.stdout.splitlines()
    # `gitops-gen secrets list dev | grep -c account-service-database` gives 1
    assert sum("account-service-database" in line for line in lines) == 1
    assert lines[0].split() == ["SECRET", "KEYS", "MISSING", "LAST", "MODIFIED"]
    listed = json.loads(run_cli("secrets", "list", "dev", "-o", "json", repo=repo, expect=0).stdout)
    for secret in listed["secrets"]:
        row = next(line for line in lines if line.startswith(secret["name"] + " "))
        assert row.split()[-1] == secret["lastModified"]
    assert "─" not in result.stdout and "│" not in result.stdout  # no box drawing in a pipe


@pytest.mark.parametrize("command", [["validate", "dev"], ["secrets", "verify", "dev"]])
def test_piped_findings_keep_each_fix_on_its_row_at_40_columns(
    command: list[str], repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (repo / "secrets" / "dev" / "account-service-database.yaml").unlink()
    monkeypatch.setenv("COLUMNS", "40")
    text = run_cli(*command, repo=repo, expect=1)
    findings = json.loads(run_cli(*command, "-o", "json", repo=repo, expect=1).stdout)["findings"]
    assert findings
    lines = text.stdout.splitlines()
    assert len(lines) == len(findings) + 1  # a header, then one line per finding
    for finding in findings:
        assert any(finding["message"] in line and finding["rule"] in line for line in lines)
    assert any("gitops-gen secrets set dev account-service-database" in ln for ln in lines)


@pytest.mark.parametrize(
    ("command", "kind", "first"),
    [
        (["validate"], "validate-rules", "POL001"),
        (["secrets", "verify"], "secrets-verify-rules", "SEC001"),
    ],
)
def test_list_rules_honours_the_format(command: list[str], kind: str, first: str) -> None:
    text = run_cli(*command, "--list-rules", expect=0)
    document = json.loads(run_cli(*command, "--list-rules", "-o", "json", expect=0).stdout)
    jsonschema.validate(document, json.loads((SCHEMAS / f"{kind}.schema.json").read_text()))
    assert document["rules"][0]["id"] == first
    assert text.stdout.splitlines() == [f"{r['id']}  {r['rule']}" for r in document["rules"]]
    as_yaml = yaml.safe_load(run_cli(*command, "--list-rules", "-o", "yaml", expect=0).stdout)
    assert as_yaml == document


def test_old_format_name_table_still_works(repo: Path) -> None:
    assert "table" in ALIASES
    result = run_cli("validate", "-o", "table", repo=repo, expect=0)
    assert "no findings" in result.stderr


def test_an_unknown_format_is_a_usage_error_listing_the_formats(repo: Path) -> None:
    result = run_cli("secrets", "list", "dev", "-o", "xml", repo=repo, expect=2)
    assert "'xml' is not one of 'text', 'json', 'yaml'" in result.stderr
    assert result.stdout == ""


def test_diff_offers_its_own_markdown_format_next_to_the_standard_ones(repo: Path) -> None:
    (repo / "environments" / "dev.yaml").write_text(
        (repo / "environments" / "dev.yaml").read_text().replace("replicas: 1", "replicas: 2", 1)
    )
    markdown = run_cli("diff", "dev", "-o", "markdown", repo=repo, expect=1)
    as_json = json.loads(run_cli("diff", "dev", "-o", "json", repo=repo, expect=1).stdout)
    assert markdown.stdout.startswith("### Rendered diff `HEAD` → `work tree`")
    assert as_json["applications"], as_json
    assert all(app["application"] in markdown.stdout for app in as_json["applications"])
