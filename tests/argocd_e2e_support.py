"""The end-to-end world: a test copy of the platform synced by a real Argo CD.

Everything an Application references is served locally: the GitOps repository over file://
(tests/testenv/gitserver.py), the app repository with the stand-in platform chart
(tests/testenv/apprepo.py), and a Helm repository with the stand-in dependency charts
(tests/testenv/chartrepo.py). The copy points at them with an ordinary environment edit, which
`validate` accepts. dev and staging share the one test cluster (namespaces aether and
aether-staging) and its Argo CD.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.helpers import copy_aether, git, invoke_cli, run_cli
from tests.testenv import gitserver
from tests.testenv.apprepo import AppRepo, make_app_repo
from tests.testenv.argocd import ARGO_CD_VERSION, ArgoCD
from tests.testenv.chartrepo import ChartRepo
from tests.testenv.kube import HTTPStatusError, KubeCluster

IN_CLUSTER = "https://kubernetes.default.svc"
PLATFORM_TAG = "v2.15.0-rc.1"
NAMESPACES = {"dev": "aether", "staging": "aether-staging"}
CLUSTERS = {"dev": "dev-eu1", "staging": "staging-eu1"}
# Generous but bounded: a loaded 2-core machine syncs a wave in seconds, all of dev in about a
# minute; these limits only decide how long a real failure takes to be reported.
SYNC_TIMEOUT_S = 600.0
CHANGE_TIMEOUT_S = 240.0
APPS = "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications"


@dataclass
class World:
    cluster: KubeCluster
    argo: ArgoCD
    charts: ChartRepo
    app: AppRepo
    work: Path  # the GitOps checkout (the platform copy) whose origin is `remote`
    remote: gitserver.GitRemote

    # -- the repository ---------------------------------------------------------------------

    def edit(self, path: str, change: Callable[[str], str], message: str) -> str:
        """Edit a file of the checkout, re-render, commit and push; the pushed commit."""
        file = self.work / path
        file.write_text(change(file.read_text()))
        run_cli("render", repo=self.work, expect=0)
        git(self.work, "add", "-A")
        git(self.work, "commit", "-q", "-m", message)
        return gitserver.push(self.work)

    def app_names(self, env: str) -> list[str]:
        folder = self.work / "clusters" / CLUSTERS[env] / "apps" / env
        names = []
        for file in sorted(folder.glob("*.yaml")):
            doc = yaml.safe_load(file.read_text())
            if doc.get("kind") == "Application":
                names.append(doc["metadata"]["name"])
        return names

    def waves(self, env: str) -> dict[str, int]:
        folder = self.work / "clusters" / CLUSTERS[env] / "apps" / env
        out = {}
        for file in sorted(folder.glob("*.yaml")):
            doc = yaml.safe_load(file.read_text())
            if doc.get("kind") == "Application":
                annotations = doc["metadata"].get("annotations") or {}
                out[doc["metadata"]["name"]] = int(
                    annotations.get("argocd.argoproj.io/sync-wave", "0")
                )
        return out

    # -- Argo CD ----------------------------------------------------------------------------

    def apply_root(self, env: str) -> None:
        """`kubectl apply -f clusters/<cluster>/root.yaml`: the root is not synced from Git, so
        a change to it is applied by hand (create, or replace the spec)."""
        root = yaml.safe_load((self.work / "clusters" / CLUSTERS[env] / "root.yaml").read_text())
        live = self.argo.application(root["metadata"]["name"])
        if live is None:
            self.cluster.create(APPS, root)
            return
        # The controller writes the root's status all the time: a PUT on a stale
        # resourceVersion is refused with 409, so read it again and retry, as kubectl does.
        for _attempt in range(10):
            live["spec"] = root["spec"]
            try:
                self.cluster.request("PUT", f"{APPS}/{root['metadata']['name']}", live)
                return
            except HTTPStatusError as error:
                if error.status != 409:
                    raise
            time.sleep(0.5)
            live = self.argo.application(root["metadata"]["name"]) or live
        raise AssertionError(f"{root['metadata']['name']}: every PUT conflicted")

    def sync_to(self, name: str, revision: str) -> None:
        """Sync `name` by hand until a sync of `revision` has succeeded.

        A sync asked for while the controller runs another operation (an auto-sync that began
        before the root's new policy was applied) is lost: the controller clears `operation`
        when the running one completes. So ask again whenever none is running.
        """

        def synced_to_revision() -> bool:
            app = self.argo.application(name) or {}
            state = (app.get("status") or {}).get("operationState") or {}
            result = state.get("syncResult") or {}
            if state.get("phase") == "Succeeded" and revision in (
                result.get("revision"),
                *(result.get("revisions") or []),
            ):
                return True
            if app.get("operation") is None and state.get("phase") not in (
                "Running",
                "Terminating",
            ):
                self.argo.sync(name)
            return False

        self.wait(f"{name} synced by hand to {revision[:12]}", synced_to_revision)

    def refresh_all(self, *, hard: bool = False) -> None:
        for app in self.argo.applications():
            self.argo.refresh(app["metadata"]["name"], hard=hard)

    def describe(self, names: list[str] | None = None) -> str:
        """One line per Application (sync, health, operation, conditions) + the logs' tails."""
        lines = []
        for app in sorted(self.argo.applications(), key=lambda a: a["metadata"]["name"]):
            name = app["metadata"]["name"]
            if names is not None and name not in names:
                continue
            status = app.get("status") or {}
            conditions = "; ".join(
                f"{c.get('type')}: {c.get('message', '')[:300]}"
                for c in status.get("conditions") or []
            )
            operation = (status.get("operationState") or {}).get("phase", "-")
            message = (status.get("operationState") or {}).get("message", "")[:200]
            lines.append(
                f"{name}: sync={(status.get('sync') or {}).get('status')} "
                f"health={(status.get('health') or {}).get('status')} "
                f"operation={operation} {message} {conditions}"
            )
        return "\n".join(lines) + "\n" + self.argo.log_tails(15)

    def wait(self, what: str, check: Callable[[], bool], timeout: float = CHANGE_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            time.sleep(2)
        raise AssertionError(
            f"timed out after {timeout:.0f} s waiting for {what}:\n{self.describe()}"
        )

    def status(self, name: str) -> dict[str, Any]:
        app = self.argo.application(name) or {}
        status: dict[str, Any] = app.get("status") or {}
        return status

    def synced(self, names: list[str]) -> bool:
        for name in names:
            status = self.status(name)
            if (status.get("sync") or {}).get("status") != "Synced":
                return False
            if (status.get("health") or {}).get("status") != "Healthy":
                return False
            if (status.get("operationState") or {}).get("phase") not in (None, "Succeeded"):
                return False
        return True

    def compared(self, name: str) -> str | None:
        """The GitOps repository commit Argo CD last compared `name` against."""
        sync = self.status(name).get("sync") or {}
        if sync.get("revisions"):
            return str(sync["revisions"][-1])  # the `ref: values` source comes last
        return sync.get("revision")

    def wait_compared(self, env: str, commit: str) -> None:
        """Until Argo CD compared every Application of `env` against `commit`: it caches a
        branch's resolution for minutes, so a hard refresh asks again."""
        names = self.app_names(env)
        for name in names:
            self.argo.refresh(name, hard=True)
        self.wait(
            f"every {env} Application compared against {commit[:12]}",
            lambda: all(self.compared(name) == commit for name in names),
        )

    def wait_synced(self, env: str, timeout: float = SYNC_TIMEOUT_S) -> None:
        names = self.app_names(env)
        self.wait(
            f"every {env} Application Synced and Healthy", lambda: self.synced(names), timeout
        )

    # -- the operator's part ----------------------------------------------------------------

    def play_operator(self, env: str) -> None:
        """Create each SopsSecret's Secret with the same key names (no operator runs here)."""
        namespace = NAMESPACES[env]
        sops = self.cluster.request(
            "GET", f"/apis/isindir.github.com/v1alpha3/namespaces/{namespace}/sopssecrets"
        )
        for item in sops.get("items") or []:
            for template in item["spec"]["secretTemplates"]:
                keys = {**(template.get("data") or {}), **(template.get("stringData") or {})}
                secret = {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": {"name": template["name"], "namespace": namespace},
                    "type": template.get("type", "Opaque"),
                    "data": {key: base64.b64encode(b"test").decode() for key in keys},
                }
                self.cluster.create(
                    f"/api/v1/namespaces/{namespace}/secrets", secret, exist_ok=True
                )

    # -- drift ------------------------------------------------------------------------------

    def drift(self, env: str) -> tuple[int, list[dict[str, Any]], str]:
        # the callers assert the exit code, which they compare with Argo CD's own verdict
        result = invoke_cli(
            "drift", env, "--kubeconfig", str(self.cluster.kubeconfig), "-o", "json", repo=self.work
        )
        try:
            findings: list[dict[str, Any]] = json.loads(result.stdout)["findings"]
        except (json.JSONDecodeError, KeyError):
            raise AssertionError(f"drift {env} printed no JSON report:\n{result.output}") from None
        return result.exit_code, findings, result.output


def _point_at_local_services(text: str, world_urls: dict[str, str]) -> str:
    text = re.sub(r"(?m)^  gitopsRepo: .*$", f"  gitopsRepo: {world_urls['gitops']}", text)
    text = re.sub(
        r"(?m)^  appRepo: .*$",
        f"  appRepo: {world_urls['app']}\n  secretsOperatorRepo: {world_urls['charts']}",
        text,
    )
    # Every dependency chart comes from the local Helm repository.
    return re.sub(r"(?m)^(    repoURL: )https?://\S+$", rf"\g<1>{world_urls['charts']}", text)


def _environment(text: str, env: str, revision: str) -> str:
    text = re.sub(
        r"(?m)^cluster: \{name: ([a-z0-9-]+), server: \S+\}",
        rf"cluster: {{name: \1, server: {IN_CLUSTER}}}",
        text,
    )
    text = re.sub(r"(?m)^namespace: .*$", f"namespace: {NAMESPACES[env]}", text)
    return re.sub(
        r"(?m)^platform: \{revision: [^}]+\}", f"platform: {{revision: {revision}}}", text
    )


@contextlib.contextmanager
def world(base: Path) -> Iterator[World]:
    with contextlib.ExitStack() as stack:
        charts = stack.enter_context(ChartRepo(base / "charts"))
        app = make_app_repo(base / "app", tag_names=[PLATFORM_TAG])
        work = copy_aether(base / "gitops")
        bare = base / "gitops.git"
        urls = {"gitops": bare.resolve().as_uri(), "app": app.url, "charts": charts.url}
        platform = work / "environments" / "platform.yaml"
        platform.write_text(_point_at_local_services(platform.read_text(), urls))
        # dev pins the app repository by tag, staging by commit SHA; the GitOps repo is a branch.
        for env, revision in (("dev", PLATFORM_TAG), ("staging", app.head)):
            file = work / "environments" / f"{env}.yaml"
            file.write_text(_environment(file.read_text(), env, revision))
        run_cli("validate", "dev", "staging", repo=work, expect=0)
        run_cli("render", repo=work, expect=0)
        git(work, "add", "-A")
        git(work, "commit", "-q", "-m", "test copy: local repositories, in-cluster destination")
        remote = gitserver.serve_repository(work, bare)
        cluster = stack.enter_context(KubeCluster(argo_cd_crd_version=ARGO_CD_VERSION))
        argo = stack.enter_context(ArgoCD(cluster))
        yield World(cluster, argo, charts, app, work, remote)


def patch(world: World, path: str, body: dict[str, Any]) -> None:
    try:
        world.cluster.request_patch(path, body)
    except HTTPStatusError as error:
        raise AssertionError(f"PATCH {path} failed: {error}") from None
