"""The scheduled audit, run for real: the rendered CronJob's init container clones the private
GitOps repository over HTTPS with the Secret it references, and its container audits the
environment as the rendered ServiceAccount (a TokenRequest token, in-cluster configuration)
and writes its report ConfigMap. No kubelet: tests/audit_job.py runs the processes."""

from __future__ import annotations

import contextlib
import json
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops_gen.drift.live import ApiRequestError, LiveCluster
from tests.audit_job import JobRun, run_audit_job
from tests.drift_support import CANARY_PASSWORD, ENV, Kube, rendered_objects, sync_rendered
from tests.helpers import copy_aether, git, run_cli
from tests.testenv.gitserver import GitHttpsServer, serve_repository

pytestmark = pytest.mark.cluster

USER = "audit-bot"
TOKEN = "canary-job-token-71c2e9d4"  # the clone token: in no output, log or report
SECRET = "gitops-repo"


@dataclass
class Scheduled:
    kube: Kube
    kubeconfig: Path
    repo: Path
    namespace: str
    cronjob: dict[str, Any]
    server: GitHttpsServer
    workdir: Path

    def run(self, **env: str) -> JobRun:
        return run_audit_job(self.kubeconfig, self.cronjob, self.workdir, env=env)

    def set_token(self, token: str) -> None:
        path = f"/api/v1/namespaces/{self.namespace}/secrets/{SECRET}"
        self.kube.live.request(
            "PATCH",
            path,
            "patch",
            body={"stringData": {"password": token}},
            content_type="application/merge-patch+json",
        )


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert re.search(old, text, flags=re.M), (path, old)
    path.write_text(re.sub(old, new, text, count=1, flags=re.M))


@pytest.fixture
def scheduled(kubeconfig: Path, tmp_path: Path) -> Iterator[Scheduled]:
    """dev rendered with a private gitopsRepo (HTTPS, basic auth, its own CA) and
    drift.repoCredentials, synced into its own namespace, with the credentials Secret."""
    namespace = f"audit-{secrets.token_hex(3)}"
    argocd = f"{namespace}-argocd"
    repos = tmp_path / "repos"
    repos.mkdir()
    with GitHttpsServer(repos, tmp_path / "tls", USER, TOKEN) as server:
        repo = copy_aether(tmp_path / "aether")
        url = f"{server.base_url}aether.git"
        environments = repo / "environments"
        platform = environments / "platform.yaml"
        _edit(platform, r"^  gitopsRepo: .*$", f"  gitopsRepo: {url}")
        _edit(platform, r"^  argocdNamespace: .*$", f"  argocdNamespace: {argocd}")
        _edit(environments / f"{ENV}.yaml", r"^namespace: aether$", f"namespace: {namespace}")
        _edit(
            environments / f"{ENV}.yaml",
            r"^drift: \{",
            f"drift: {{repoCredentials: {{type: https, secret: {SECRET}}}, ",
        )
        run_cli("render", repo=repo, expect=0)
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "private repository, rendered")
        head = serve_repository(repo, repos / "aether.git").head()

        kube = Kube(kubeconfig)
        try:
            for ns in (namespace, argocd):
                kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
            objects = rendered_objects(repo)
            sync_rendered(kube, objects, namespace, "server")
            for app in (o for o in objects if o["kind"] == "Application"):
                _record_gitops_sha(kube, app, url, head)
            from gitops_gen.model import load_platform

            for secret in load_platform(repo).environment(ENV).required_secrets:
                kube.create(
                    {
                        "apiVersion": "v1",
                        "kind": "Secret",
                        "metadata": {"name": secret.name, "namespace": namespace},
                        "stringData": {key: f"{CANARY_PASSWORD}-{key}" for key in secret.keys},
                    }
                )
            kube.create(
                {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": {"name": SECRET, "namespace": namespace},
                    "stringData": {
                        "username": USER,
                        "password": TOKEN,
                        "ca.crt": server.ca_file.read_text(),
                    },
                }
            )
            rendered = next((repo / "clusters").glob(f"*/audit/{ENV}/cronjob.yaml"))
            cronjob = yaml.safe_load(rendered.read_text())
            cronjob["metadata"].setdefault("namespace", namespace)
            yield Scheduled(kube, kubeconfig, repo, namespace, cronjob, server, tmp_path / "jobs")
        finally:
            with contextlib.suppress(Exception):  # best-effort clean-up
                for kind in ("ClusterRoleBinding", "ClusterRole"):
                    kube.delete(
                        {
                            "apiVersion": "rbac.authorization.k8s.io/v1",
                            "kind": kind,
                            "metadata": {"name": f"gitops-gen-drift-{ENV}"},
                        }
                    )
            for ns in (namespace, argocd):
                with contextlib.suppress(Exception):
                    kube.delete({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
            kube.close()


def _record_gitops_sha(kube: Kube, app: dict[str, Any], url: str, sha: str) -> None:
    """Argo CD records the commit it resolved a branch of a git source to, not the branch."""
    live = kube.get(app)
    sync = live["status"]["sync"]
    sources = live["spec"].get("sources") or [live["spec"]["source"]]
    resolved = [sha if s["repoURL"] == url else s["targetRevision"] for s in sources]
    if "revisions" in sync:
        sync["revisions"] = resolved
    else:
        sync["revision"] = resolved[0]
    kube.put(live)


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

    # without the override the in-cluster loader reads the kubelet's fixed folder: none here
    unmounted = scheduled.run(GITOPS_GEN_SERVICE_ACCOUNT_DIR="")
    assert unmounted.audit.exit_code == 2
    assert unmounted.audit.stderr.strip().splitlines()[-1] == (
        "error: in-cluster configuration: Service token file does not exist."
    ), unmounted.output


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
