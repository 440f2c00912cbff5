"""`validate` across environments: the copy-and-forget mistakes no single file shows."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.helpers import copy_aether, invoke_cli, run_cli, tree_digest
from tests.promote_helpers import set_in_file


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return copy_aether(tmp_path / "aether")


def _findings(repo: Path, *envs: str) -> list[dict[str, str]]:
    result = invoke_cli("validate", *envs, "-o", "json", repo=repo)
    assert result.exit_code in (0, 1), result.output
    return [f for f in json.loads(result.stdout)["findings"] if f["rule"].startswith("XENV")]


def _copy_staging_as_qa(repo: Path) -> Path:
    qa = repo / "environments/qa.yaml"
    shutil.copy(repo / "environments/staging.yaml", qa)
    shutil.copytree(repo / "secrets/staging", repo / "secrets/qa")  # secrets are not the point
    return qa


def test_the_aether_environments_are_clean_across_environments(repo: Path) -> None:
    assert _findings(repo) == []


def test_a_copied_file_with_the_same_cluster_and_domain(repo: Path) -> None:
    _copy_staging_as_qa(repo)
    found = _findings(repo, "qa")
    rules = sorted({f["rule"] for f in found})
    assert rules == ["XENV001", "XENV002"]
    (place,) = [f for f in found if f["rule"] == "XENV001"]
    assert place == {
        "environment": "qa",
        "rule": "XENV001",
        "location": "environments/qa.yaml",
        "message": (
            "qa and staging both deploy into namespace aether on "
            "https://staging-eu1.k8s.example.com: the same releases would overwrite each other; "
            "give qa its own cluster: (name and server) or namespace:"
        ),
        "severity": "error",
    }
    host = next(f for f in found if f["rule"] == "XENV002")
    assert host["message"].startswith("host ") and "is also served by staging/" in host["message"]
    assert host["message"].endswith("give qa its own domain:")
    # the staging side is reported too when staging is validated
    assert {f["rule"] for f in _findings(repo, "staging")} == {"XENV001", "XENV002"}
    # nothing is rendered or written by validate
    assert not (repo / "clusters").exists()


def test_one_cluster_name_for_two_servers(repo: Path) -> None:
    qa = _copy_staging_as_qa(repo)
    set_in_file(qa, "server: https://staging-eu1.k8s.example.com", "server: https://qa.example.com")
    set_in_file(qa, "domain: staging.", "domain: qa.")
    found = _findings(repo, "qa")
    assert [f["rule"] for f in found] == ["XENV003"]
    assert found[0]["message"] == (
        "cluster name staging-eu1 is used for two API servers (qa on https://qa.example.com; "
        "staging on https://staging-eu1.k8s.example.com); both would get the one root "
        "Application staging-eu1-root: give each cluster its own name"
    )


def test_a_distinct_copy_is_clean(repo: Path) -> None:
    qa = _copy_staging_as_qa(repo)
    set_in_file(
        qa, "name: staging-eu1, server: https://staging-eu1", "name: qa-eu1, server: https://qa-eu1"
    )
    set_in_file(qa, "domain: staging.", "domain: qa.")
    assert _findings(repo, "qa") == []


def test_an_environment_without_its_secrets_is_a_finding(repo: Path) -> None:
    qa = _copy_staging_as_qa(repo)
    shutil.rmtree(repo / "secrets/qa")
    set_in_file(
        qa, "name: staging-eu1, server: https://staging-eu1", "name: qa-eu1, server: https://qa-eu1"
    )
    set_in_file(qa, "domain: staging.", "domain: qa.")
    result = run_cli("validate", "qa", "-o", "json", repo=repo, expect=1)
    (finding,) = json.loads(result.stdout)["findings"]
    assert finding["rule"] == "XENV004" and finding["location"] == "secrets/qa/"
    assert finding["message"].startswith("qa has none of its ")
    assert "while dev, prod, staging keep theirs here" in finding["message"]


def test_render_refuses_environments_that_would_overwrite_each_other(repo: Path) -> None:
    run_cli("render", repo=repo, expect=0)
    before = tree_digest(repo / "clusters")
    _copy_staging_as_qa(repo)
    result = run_cli("render", repo=repo, expect=2)
    assert result.stderr == (
        "error: environments/qa.yaml: XENV001 qa and staging both deploy into namespace aether "
        "on https://staging-eu1.k8s.example.com: the same releases would overwrite each other; "
        "give qa its own cluster: (name and server) or namespace: (1 more; 'gitops-gen "
        "validate' lists them)\n"
    )
    # --check and a render of qa alone refuse the same way; dev, not involved, still renders
    assert run_cli("render", "qa", "--check", repo=repo, expect=2).stderr.startswith(
        "error: environments/qa.yaml: XENV001 "
    )
    assert tree_digest(repo / "clusters") == before
    run_cli("render", "dev", repo=repo, expect=0)
    assert tree_digest(repo / "clusters") == before


def test_render_refuses_one_cluster_name_for_two_servers(repo: Path) -> None:
    qa = _copy_staging_as_qa(repo)
    set_in_file(qa, "server: https://staging-eu1.k8s.example.com", "server: https://qa.example.com")
    set_in_file(qa, "domain: staging.", "domain: qa.")
    result = run_cli("render", "qa", repo=repo, expect=2)
    assert result.stderr.startswith(
        "error: environments/qa.yaml: XENV003 cluster name staging-eu1 is used for two API servers"
    ), result.stderr
    assert not (repo / "clusters").exists()
