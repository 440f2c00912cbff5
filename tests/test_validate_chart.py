"""validate checks the platform values against the chart at the pinned revision: the chart's
schema over the merged values, keys no template reads, and an unreachable chart."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from gitops_gen.chart.fetch import repo_cache_dir
from tests.helpers import invoke_cli, run_cli
from tests.testenv.apprepo import STANDIN_CHART, UPSTREAM_COMMIT, make_app_repo


def _pin(
    repo: Path, url: str, revision: str, envs: tuple[str, ...] = ("dev", "staging", "prod")
) -> None:
    catalog = repo / "environments/platform.yaml"
    text = catalog.read_text()
    catalog.write_text(text.replace("https://github.com/CMS-InfoSec/Aether_2.git", url))
    for env in envs:
        path = repo / f"environments/{env}.yaml"
        path.write_text(path.read_text().replace(UPSTREAM_COMMIT, revision))


def _validate(repo: Path, *envs: str) -> tuple[int, list[dict[str, str]]]:
    result = invoke_cli("validate", *envs, "-o", "json", repo=repo)
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)["findings"]


def test_values_pass_the_chart_at_the_pinned_commit_then_validate_runs_offline(
    aether: Path, tmp_path: Path
) -> None:
    app = make_app_repo(tmp_path / "app")
    _pin(aether, app.url, app.head)
    result = run_cli("validate", repo=aether, expect=0)
    assert "validated dev, prod, staging: no findings" in result.stderr
    assert (repo_cache_dir(app.url) / app.head / "deploy/helm/aether-platform/Chart.yaml").is_file()
    shutil.rmtree(app.path)  # the app repository is gone: the commit is read from the cache
    assert _validate(aether) == (0, [])


def test_a_branch_revision_is_resolved_by_the_app_repository(aether: Path, tmp_path: Path) -> None:
    app = make_app_repo(tmp_path / "app")
    _pin(aether, app.url, "main")
    assert _validate(aether, "dev") == (0, [])
    # Offline, the branch falls back to the commit it resolved to last time, which is cached.
    shutil.rmtree(app.path)
    assert _validate(aether, "dev") == (0, [])


def test_a_value_the_schema_rejects_is_an_error_at_its_line(aether: Path, tmp_path: Path) -> None:
    app = make_app_repo(tmp_path / "app")
    _pin(aether, app.url, app.head)
    dev = aether / "environments/dev.yaml"
    dev.write_text(
        dev.read_text().replace("drift:", "runtimeSafety: {allowInsecureDefaults: true}\ndrift:")
    )
    code, findings = _validate(aether, "dev")
    assert code == 1
    assert findings == [
        {
            "environment": "dev",
            "rule": "CHART001",
            "location": "environments/dev.yaml:7",
            "message": "runtimeSafety._ALLOW_INSECURE_DEFAULTS: true is not allowed (False was "
            "expected; or True is not of type 'string'; or True is not one of ['0', 'false', "
            f"'False']): the chart's values.schema.json at {app.head[:12]} rejects it, so Helm "
            "(and Argo CD) cannot render the platform; change it to what the schema allows",
            "severity": "error",
        }
    ]


def test_a_key_no_template_reads_is_an_error_at_its_line(aether: Path, tmp_path: Path) -> None:
    # A chart revision whose Feast template no longer reads feast.registry.size.
    chart = tmp_path / "chart"
    shutil.copytree(STANDIN_CHART, chart)
    feast = chart / "templates/feast.yaml"
    text = feast.read_text()
    old = '{{ $f.registry.size | default "5Gi" }}'
    assert old in text
    feast.write_text(text.replace(old, "5Gi"))
    app = make_app_repo(tmp_path / "app", chart_src=chart)
    _pin(aether, app.url, app.head, envs=("prod",))
    code, findings = _validate(aether, "prod")
    assert code == 1
    line = (aether / "environments/platform.yaml").read_text().splitlines().index(
        "  registry: {size: 5Gi}"
    ) + 1
    assert findings == [
        {
            "environment": "prod",
            "rule": "CHART002",
            "location": f"environments/platform.yaml:{line}",
            "message": f"feast.registry.size: no template of the chart at {app.head[:12]} reads "
            "this key, so it has no effect; remove it or use the key the chart reads",
            "severity": "error",
        }
    ]
    result = run_cli("validate", "prod", repo=aether, expect=1)  # the table a person reads
    header, row = result.stdout.splitlines()[:2]
    assert header.split() == ["ENVIRONMENT", "SEVERITY", "RULE", "LOCATION", "MESSAGE"]
    assert row.split()[:4] == ["prod", "error", "CHART002", f"environments/platform.yaml:{line}"]


def test_an_unreachable_chart_is_a_warning_never_a_silent_pass(
    aether: Path, tmp_path: Path
) -> None:
    missing = (tmp_path / "no-such-repo").as_uri()
    _pin(aether, missing, UPSTREAM_COMMIT)
    code, findings = _validate(aether, "staging")
    assert code == 0  # a warning does not fail the run, but it is reported
    assert len(findings) == 1
    finding = findings[0]
    assert (finding["rule"], finding["severity"]) == ("CHART003", "warning")
    assert finding["location"] == "environments/staging.yaml:10"
    assert finding["message"].startswith(
        f"chart deploy/helm/aether-platform at {UPSTREAM_COMMIT} could not be fetched from "
        f"{missing} ("
    )
    assert finding["message"].endswith(
        "and is not cached: the values were NOT checked against it; fix platform.revision / "
        "platform.appRepo or the network"
    )
    table = run_cli("validate", "staging", repo=aether, expect=0).stdout
    assert table.splitlines()[1].split()[:3] == ["staging", "warning", "CHART003"]
