"""drift's report in every format the CLI promises, against the real test cluster: ``-o json``
matches docs/cli/schemas/drift.schema.json, ``-o yaml`` is the same document, ``-o openmetrics``
counts the same findings, and the piped text table does not depend on the terminal width."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.drift_support import Kube, write_manifests
from tests.helpers import PROJECT_ROOT, Result, run_cli
from tests.metrics_support import expected_findings, from_openmetrics, series

pytestmark = pytest.mark.cluster


def _objects(namespace: str) -> list[dict[str, object]]:
    def config_map(name: str, mode: str) -> dict[str, object]:
        return {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace},
            "data": {"mode": mode},
        }

    return [config_map("present", "desired"), config_map("never-created-anywhere", "x")]


def test_drift_report_formats(
    kubeconfig: Path, namespace: str, repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    objects = _objects(namespace)
    kube = Kube(kubeconfig)
    try:
        live = json.loads(json.dumps(objects[0]))
        live["data"] = {"mode": "changed-by-hand"}
        kube.client_side_apply(live)  # as kubectl apply would, then changed by hand
    finally:
        kube.close()
    manifests = write_manifests(tmp_path / "m", objects)

    def drift(*args: str) -> Result:  # exit 1: drift found
        return run_cli(
            "drift",
            "dev",
            "--manifests",
            str(manifests),
            "-n",
            namespace,
            "--kubeconfig",
            str(kubeconfig),
            *args,
            repo=repo,
            expect=1,
        )

    as_json = drift("-o", "json")
    document = json.loads(as_json.stdout)
    schema = json.loads((PROJECT_ROOT / "docs/cli/schemas/drift.schema.json").read_text())
    jsonschema.validate(document, schema)
    assert document["schemaVersion"] == "gitops-gen.io/drift/v1"
    assert {f["ref"]["name"] for f in document["findings"]} == {
        "present",
        "never-created-anywhere",
    }

    as_yaml = drift("-o", "yaml")
    assert yaml.safe_load(as_yaml.stdout) == document

    # -o openmetrics: the same findings, counted (tests/test_drift_metrics.py has the rest)
    as_metrics = drift("-o", "openmetrics")
    assert as_metrics.stdout.endswith("# EOF\n")
    assert series(from_openmetrics(as_metrics.stdout), "gitops_gen_drift_findings") == (
        expected_findings(document)
    )

    monkeypatch.setenv("COLUMNS", "40")
    narrow = drift()
    monkeypatch.setenv("COLUMNS", "250")
    wide = drift()
    assert narrow.stdout == wide.stdout
    rows = [ln for ln in narrow.stdout.splitlines() if "never-created-anywhere" in ln]
    assert len(rows) == 1 and rows[0].split()[1] == "missing"


def test_the_context_named_after_the_cluster_is_audited_not_the_current_one(
    kubeconfig: Path, namespace: str, repo: Path, tmp_path: Path
) -> None:
    """doctor asks for a context named after each environment's cluster; with one, 'drift dev'
    audits that cluster even when the current context points at another (it once audited
    whatever the current context was: prod's audit against staging's API server)."""
    config = yaml.safe_load(kubeconfig.read_text())
    (admin,) = [c for c in config["contexts"] if c["name"] == "admin"]
    with socket.socket() as elsewhere:  # bound, never listening: a cluster that refuses
        elsewhere.bind(("127.0.0.1", 0))
        config["clusters"].append(
            {
                "name": "elsewhere",
                "cluster": {
                    "server": f"https://127.0.0.1:{elsewhere.getsockname()[1]}",
                    "insecure-skip-tls-verify": True,
                },
            }
        )
        config["contexts"] = [
            {"name": "staging-eu1", "context": {"cluster": "elsewhere", "user": "admin"}},
            {"name": "dev-eu1", "context": admin["context"]},
        ]
        config["current-context"] = "staging-eu1"
        named = tmp_path / "kubeconfig"
        named.write_text(yaml.safe_dump(config))
        manifests = write_manifests(tmp_path / "m", _objects(namespace)[:1])
        kube = Kube(kubeconfig)
        try:
            kube.client_side_apply(_objects(namespace)[0])
        finally:
            kube.close()
        audit = ("drift", "dev", "--manifests", str(manifests), "-n", namespace)
        result = run_cli(*audit, "--kubeconfig", str(named), repo=repo, expect=0)
        assert result.stdout == "drift dev: no drift in 1 objects\n"
        # an explicit --context still wins
        refused = run_cli(
            *audit, "--kubeconfig", str(named), "--context", "staging-eu1", repo=repo, expect=2
        )
        assert "cannot reach the API server at https://127.0.0.1:" in refused.stderr
