"""The scheduled audit, run for real: the rendered CronJob's init container clones the private
GitOps repository over HTTPS with the Secret it references, and its container audits the
environment as the rendered ServiceAccount (a TokenRequest token, in-cluster configuration)
and writes its report ConfigMap. No kubelet: tests/audit_job.py runs the processes."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gitops_gen.drift.live import ApiRequestError, LiveCluster
from gitops_gen.model import load_platform
from tests.audit_job import SECRET, USER, JobRun, Scheduled, scheduled_environment
from tests.drift_support import CANARY_PASSWORD, ENV

pytestmark = pytest.mark.cluster

TOKEN = "canary-job-token-71c2e9d4"  # the clone token: in no output, log or report


@pytest.fixture
def scheduled(kubeconfig: Path, tmp_path: Path) -> Iterator[Scheduled]:
    with scheduled_environment(kubeconfig, tmp_path, token=TOKEN) as environment:
        yield environment


def _as_job(run: JobRun) -> LiveCluster:
    """An API client with the job's own token and CA: the same identity, from outside."""
    from kubernetes import client

    configuration = client.Configuration()
    configuration.host = run.server
    configuration.ssl_ca_cert = str(run.ca_file)
    configuration.api_key = {"authorization": run.token}
    configuration.api_key_prefix = {"authorization": "Bearer"}
    return LiveCluster(configuration)


def _refused(live: LiveCluster, method: str, path: str, body: Any, content: str | None) -> int:
    try:
        live.request(method, path, "write", body=body, content_type=content)
    except ApiRequestError as error:
        return error.status
    return 200


def test_the_job_clones_with_the_secret_audits_and_writes_only_its_report(
    scheduled: Scheduled,
) -> None:
    run = scheduled.run()
    assert run.checkout.exit_code == 0, run.output
    assert run.audit.exit_code == 0, run.output  # --fail-on never: drift is reported, not failed
    assert run.audit.stdout.startswith(f"## Drift report: `{ENV}`\n\nNo drift"), run.output
    # the clone authenticated with the referenced Secret (basic auth, verified TLS)
    assert {r.user for r in scheduled.server.requests if r.status == 200} == {USER}
    assert not re.search(r"\b403\b|forbidden", run.output, re.I), run.output
    assert run.report is not None
    stored = json.loads(run.report["report.json"])
    assert stored["summary"]["findings"] == 0
    assert not [f for f in stored["findings"] if f["type"] == "error"]
    # the token appears in no log and no report; nor do the required Secrets' values
    everything = run.output + json.dumps(run.report)
    assert TOKEN not in everything and CANARY_PASSWORD not in everything
    # the Pod's checkout holds no credentials either
    checkout = next(run.folder.glob("volumes/work/repo/.git/config"))
    assert TOKEN not in checkout.read_text()

    # the same token may write its own report and nothing else
    job, ns = _as_job(run), scheduled.namespace
    try:
        own = f"/api/v1/namespaces/{ns}/configmaps/drift-report-{ENV}"
        merge = "application/merge-patch+json"
        patch = {"metadata": {"labels": {"probe": "1"}}}
        assert _refused(job, "PATCH", own, patch, merge) == 200
        other_cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}
        writes = [
            ("PATCH", f"/api/v1/namespaces/{ns}/secrets/{SECRET}", patch, merge),
            ("POST", f"/api/v1/namespaces/{ns}/secrets", {**other_cm, "kind": "Secret"}, None),
            ("DELETE", own, None, None),
            ("PATCH", f"/apis/batch/v1/namespaces/{ns}/cronjobs/gitops-gen-drift", patch, merge),
            (
                "PATCH",
                f"/apis/rbac.authorization.k8s.io/v1/clusterroles/gitops-gen-drift-{ENV}",
                patch,
                merge,
            ),
        ]
        for method, path, body, content in writes:
            assert _refused(job, method, path, body, content) == 403, (method, path)
        # RBAC cannot limit `create` by name; a created ConfigMap still cannot be changed
        assert _refused(job, "POST", f"/api/v1/namespaces/{ns}/configmaps", other_cm, None) == 200
        other = f"/api/v1/namespaces/{ns}/configmaps/x"
        assert _refused(job, "PATCH", other, patch, merge) == 403
        assert _refused(job, "DELETE", other, None, None) == 403
    finally:
        job.close()

    # the next run updates the same report: drift found (a required key removed), no 403
    secret = load_platform(scheduled.repo).environment(ENV).required_secrets[0]
    scheduled.kube.json_patch(
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": secret.name, "namespace": ns}},
        [{"op": "remove", "path": f"/data/{secret.keys[0]}"}],
    )
    drifted = scheduled.run()
    assert drifted.exit_code == 0, drifted.output
    assert not re.search(r"\b403\b|forbidden", drifted.output, re.I), drifted.output
    assert drifted.report is not None
    findings = json.loads(drifted.report["report.json"])["findings"]
    assert [(f["ref"]["name"], f["rule"]) for f in findings] == [
        (secret.name, "secrets/key-missing")
    ]
    assert TOKEN not in drifted.output + json.dumps(drifted.report)

    # without the override the in-cluster loader reads the kubelet's fixed folder: none here
    unmounted = scheduled.run(GITOPS_GEN_SERVICE_ACCOUNT_DIR="")
    assert unmounted.audit.exit_code == 2
    assert unmounted.audit.stderr.strip().splitlines()[-1] == (
        "error: in-cluster configuration: Service token file does not exist."
    ), unmounted.output
    # a token the API server does not accept (expired, its ServiceAccount deleted): one line
    revoked = run.folder.parent / "revoked"
    revoked.mkdir()
    (revoked / "token").write_text("not-a-valid-token")
    (revoked / "ca.crt").write_bytes(run.ca_file.read_bytes())
    rejected = scheduled.run(GITOPS_GEN_SERVICE_ACCOUNT_DIR=str(revoked))
    assert rejected.audit.exit_code == 2
    assert "HTTP 401" in rejected.audit.stderr and "service-account token" in rejected.audit.stderr
    assert "Traceback" not in rejected.output


def test_a_wrong_token_stops_the_job_with_one_line_and_no_token(scheduled: Scheduled) -> None:
    wrong = "canary-revoked-token-3b5a"
    scheduled.set_token(wrong)
    run = scheduled.run()
    assert len(run.processes) == 1 and run.exit_code == 2  # the audit never starts
    lines = run.checkout.stderr.strip().splitlines()
    assert len(lines) == 1, run.output
    url = f"{scheduled.server.base_url}aether.git"
    assert f"clone of {url}" in lines[0] and f"Secret {SECRET}" in lines[0], lines[0]
    assert "HTTP 401" in lines[0]
    assert wrong not in run.output and TOKEN not in run.output
    # the report of an earlier run (none here) is untouched
    assert run.report is None
