"""The stand-in chart and the app-repository fixture other tests build on."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import yaml

from tests.helpers import git
from tests.testenv.apprepo import CHART_PATH, STANDIN_CHART, make_app_repo


def test_app_repo_holds_the_chart_at_its_path_and_pins_a_commit(tmp_path: Path) -> None:
    repo = make_app_repo(tmp_path / "app", tag_names=("v1.0.0",))
    assert repo.url.startswith("file://")
    assert len(repo.head) == 40
    listed = git(repo.path, "ls-tree", "-r", "--name-only", repo.head).split()
    assert f"{CHART_PATH}/values.schema.json" in listed
    assert f"{CHART_PATH}/templates/backend-deployments.yaml" in listed
    assert git(repo.path, "rev-parse", "v1.0.0^{commit}").strip() == repo.head


def test_standin_defaults_satisfy_its_schema_and_are_deployable_only_if_overridden() -> None:
    schema = json.loads((STANDIN_CHART / "values.schema.json").read_text())
    defaults = yaml.safe_load((STANDIN_CHART / "values.yaml").read_text())
    assert list(jsonschema.Draft7Validator(schema).iter_errors(defaults)) == []
    # As upstream: the defaults deploy `latest` images and placeholder Secrets.
    assert defaults["backendServices"]["risk"]["image"]["tag"] == "latest"
    assert defaults["managedSecrets"]["enabled"] is True
