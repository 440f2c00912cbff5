"""Run the rendered scheduled-audit CronJob's processes for real, without a kubelet.

What a kubelet would do for one Job's Pod, and no more:

* every volume becomes a folder of the run: ``emptyDir`` empty, ``secret``/``configMap`` one file
  per key (read as the admin, as the kubelet reads them), and each container path under a
  ``mountPath`` (in ``command``, ``args`` and ``env`` values) is rewritten to that folder;
* the Pod's ServiceAccount gets a token from the TokenRequest API, written with the API server's
  CA and the namespace to a folder that ``GITOPS_GEN_SERVICE_ACCOUNT_DIR`` names (the in-cluster
  loader's override in gitops_gen/drift/live.py), next to ``KUBERNETES_SERVICE_HOST``/``_PORT``;
* ``env`` entries are set, ``valueFrom.secretKeyRef``/``configMapKeyRef`` resolved;
* the init containers run in order, then the container, as processes of this checkout's
  ``gitops-gen`` (the image's ENTRYPOINT), in a clean environment: no kubeconfig, ``HOME`` from
  the CronJob, nothing of the test's own environment but ``PATH``.

Each call is a fresh Pod (new folders, new token), so a scenario can run the job several times
against the same cluster and read the report ConfigMap in between.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from gitops_gen.drift.live import ApiRequestError
from gitops_gen.model import load_platform
from tests.drift_support import CANARY_PASSWORD, ENV, Kube, rendered_objects, sync_rendered
from tests.helpers import copy_aether, git, run_cli
from tests.testenv import gitserver
from tests.testenv.gitserver import GitHttpsServer, serve_repository

# The image's ENTRYPOINT (Dockerfile): a container without `command` runs gitops-gen ARGS.
ENTRYPOINT = ("gitops-gen",)
SERVICE_ACCOUNT_DIR_ENV = "GITOPS_GEN_SERVICE_ACCOUNT_DIR"
DEFAULT_TIMEOUT = 300.0


@dataclass(frozen=True)
class ProcessRun:
    """One container's process: what it printed and how it ended."""

    name: str
    argv: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@dataclass(frozen=True)
class JobRun:
    """One run of the CronJob's Pod.

    ``processes``: the init containers then the container, as far as they ran (a failed init
    container stops the Pod, as the kubelet does with ``restartPolicy: Never``).
    ``report``: the report ConfigMap's ``data`` after the run (None if there is none).
    ``token``: the ServiceAccount token the processes used, to prove what it may not do.
    """

    processes: tuple[ProcessRun, ...]
    report: dict[str, str] | None
    token: str
    server: str
    ca_file: Path
    folder: Path

    @property
    def checkout(self) -> ProcessRun:
        return self.processes[0]

    @property
    def audit(self) -> ProcessRun:
        assert len(self.processes) > 1, f"the init container failed:\n{self.checkout.output}"
        return self.processes[-1]

    @property
    def exit_code(self) -> int:
        """The Pod's outcome: the first failed process's code, else the container's."""
        return next((p.exit_code for p in self.processes if p.exit_code), 0)

    @property
    def output(self) -> str:
        return "".join(p.output for p in self.processes)


@dataclass
class _Pod:
    kube: Kube
    namespace: str
    folder: Path
    mounts: dict[str, Path] = field(default_factory=dict)  # volume name -> folder

    def secret(self, name: str) -> dict[str, bytes]:
        path = f"/api/v1/namespaces/{self.namespace}/secrets/{name}"
        data = self.kube.live.request("GET", path, "get").get("data") or {}
        return {k: base64.b64decode(v) for k, v in data.items()}

    def config_map(self, name: str) -> dict[str, bytes]:
        path = f"/api/v1/namespaces/{self.namespace}/configmaps/{name}"
        data = self.kube.live.request("GET", path, "get").get("data") or {}
        return {k: v.encode() for k, v in data.items()}

    def volume(self, volume: Mapping[str, Any]) -> None:
        target = self.folder / "volumes" / volume["name"]
        target.mkdir(parents=True)
        if "emptyDir" in volume:
            pass
        elif "secret" in volume or "configMap" in volume:
            source = volume.get("secret") or volume["configMap"]
            files = (
                self.secret(source["secretName"])
                if "secret" in volume
                else self.config_map(source["name"])
            )
            for key, value in files.items():
                (target / key).write_bytes(value)
                (target / key).chmod(source.get("defaultMode", 0o644) | 0o600)  # we are the owner
        else:
            raise NotImplementedError(f"volume {volume['name']}: only emptyDir, secret, configMap")
        self.mounts[volume["name"]] = target

    def paths(self, container: Mapping[str, Any]) -> list[tuple[str, Path]]:
        """(mountPath, folder), longest first, so /work/repo wins over /work."""
        pairs = [
            (m["mountPath"], self.mounts[m["name"]]) for m in container.get("volumeMounts", [])
        ]
        return sorted(pairs, key=lambda pair: -len(pair[0]))

    def env_value(self, item: Mapping[str, Any]) -> str | None:
        """The variable's value; None for an `optional` reference to what does not exist."""
        if "value" in item:
            return str(item["value"])
        source = item["valueFrom"]
        for kind, read in (("secretKeyRef", self.secret), ("configMapKeyRef", self.config_map)):
            if kind in source:
                ref = source[kind]
                try:
                    return read(ref["name"])[ref["key"]].decode()
                except (ApiRequestError, KeyError):
                    if ref.get("optional"):
                        return None
                    raise
        if source.get("fieldRef", {}).get("fieldPath") == "metadata.namespace":
            return self.namespace
        raise NotImplementedError(f"env {item['name']}: unsupported valueFrom {source}")


def _rewrite(value: str, paths: list[tuple[str, Path]]) -> str:
    for mount, folder in paths:
        if value == mount or value.startswith(mount.rstrip("/") + "/"):
            return str(folder) + value[len(mount.rstrip("/")) :]
    return value


def _gitops_gen() -> str:
    script = Path(sys.executable).parent / "gitops-gen"
    found = str(script) if script.is_file() else shutil.which("gitops-gen")
    assert found, "gitops-gen is not installed in this environment (make venv)"
    return found


def service_account_token(kube: Kube, namespace: str, name: str, *, seconds: int = 3600) -> str:
    """A token for ServiceAccount `name` from the TokenRequest API (what the kubelet projects)."""
    body = {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "spec": {"expirationSeconds": seconds},
    }
    path = f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token"
    token = kube.live.request("POST", path, "token", body=body)["status"]["token"]
    assert isinstance(token, str)
    return token


def report_config_map_name(cronjob: Mapping[str, Any]) -> str | None:
    args = _pod_spec(cronjob)["containers"][0].get("args", [])
    if "--report-config-map" in args:
        return str(args[args.index("--report-config-map") + 1])
    return None


def _pod_spec(cronjob: Mapping[str, Any]) -> dict[str, Any]:
    spec = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert isinstance(spec, dict)
    return spec


def run_audit_job(
    kubeconfig: Path,
    cronjob: Mapping[str, Any],
    workdir: Path,
    *,
    namespace: str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> JobRun:
    """Run `cronjob`'s Pod (init containers, then the container) as processes, as its
    ServiceAccount; the kubelet's reads (Secrets for volumes and env, the token) use the admin
    context of `kubeconfig`.

    `namespace`: the Pod's (default: the CronJob's own ``metadata.namespace``). `env`: extra
    variables for every process, set last (e.g. ``GIT_SSL_CAINFO``, notification URLs of test
    receivers). Returns every process's output and exit code and the report ConfigMap's data.
    """
    config = yaml.safe_load(kubeconfig.read_text())
    cluster = config["clusters"][0]["cluster"]
    server = str(cluster["server"])
    ca_pem = Path(cluster["certificate-authority"]).read_bytes()
    pod_spec = copy.deepcopy(_pod_spec(cronjob))
    ns = namespace or cronjob["metadata"]["namespace"]
    workdir.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="pod-", dir=workdir))
    kube = Kube(kubeconfig)
    try:
        pod = _Pod(kube, ns, folder)
        for volume in pod_spec.get("volumes", []):
            pod.volume(volume)
        token = service_account_token(kube, ns, pod_spec.get("serviceAccountName", "default"))
        account = folder / "serviceaccount"
        account.mkdir(mode=0o700)
        (account / "token").write_text(token)
        (account / "ca.crt").write_bytes(ca_pem)
        (account / "namespace").write_text(ns)
        address = urlsplit(server)
        base_env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "KUBERNETES_SERVICE_HOST": str(address.hostname),
            "KUBERNETES_SERVICE_PORT": str(address.port or 443),
            SERVICE_ACCOUNT_DIR_ENV: str(account),
        }
        root = folder / "root"  # the image's working folder (no WORKDIR: /)
        root.mkdir()
        runs: list[ProcessRun] = []
        containers = [*pod_spec.get("initContainers", []), *pod_spec["containers"]]
        for container in containers:
            paths = pod.paths(container)
            argv = [*(container.get("command") or ENTRYPOINT), *container.get("args", [])]
            argv = [_rewrite(arg, paths) for arg in argv]
            if argv[0] == "gitops-gen":
                argv[0] = _gitops_gen()
            process_env = dict(base_env)
            for item in container.get("env", []):
                value = pod.env_value(item)
                if value is not None:
                    process_env[item["name"]] = _rewrite(value, paths)
            process_env.update(env or {})
            done = subprocess.run(
                argv,
                cwd=root,
                env=process_env,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
            runs.append(
                ProcessRun(
                    container["name"], tuple(argv), done.returncode, done.stdout, done.stderr
                )
            )
            if done.returncode != 0 and container in pod_spec.get("initContainers", []):
                break
        report = None
        name = report_config_map_name(cronjob)
        if name:
            path = f"/api/v1/namespaces/{ns}/configmaps/{name}"
            try:
                report = kube.live.request("GET", path, "get").get("data") or {}
            except ApiRequestError as error:  # only "not found" is an answer here
                if error.status != 404:
                    raise
        return JobRun(
            tuple(runs), report, token, server, folder / "serviceaccount" / "ca.crt", folder
        )
    finally:
        kube.close()


# -- a scheduled environment to run the job against ---------------------------------------

USER = "audit-bot"  # the clone's basic-auth user
SECRET = "gitops-repo"  # drift.repoCredentials' Secret in the environment's namespace


@dataclass
class Scheduled:
    """ENV rendered from a private repository and synced: what `scheduled_environment` yields.

    ``kube``: admin access; ``repo``: the working copy whose pushes the job clones (commit,
    then ``push()``); ``cronjob``: the rendered CronJob the job runs.
    """

    kube: Kube
    kubeconfig: Path
    repo: Path
    namespace: str
    cronjob: dict[str, Any]
    server: GitHttpsServer
    workdir: Path

    @property
    def url(self) -> str:
        return f"{self.server.base_url}aether.git"

    def run(self, **env: str) -> JobRun:
        """One scheduled run (a fresh Pod); `env`: extra variables for its processes."""
        return run_audit_job(self.kubeconfig, self.cronjob, self.workdir, env=env)

    def push(self) -> str:
        """Push the working copy's main (after a commit) to the served repository: the next
        run clones it. The live objects and `cronjob` are not re-synced."""
        return gitserver.push(self.repo)

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


@contextlib.contextmanager
def scheduled_environment(
    kubeconfig: Path,
    folder: Path,
    *,
    token: str,
    edit: Callable[[Path], None] | None = None,
) -> Iterator[Scheduled]:
    """ENV (dev) rendered with a private gitopsRepo (HTTPS with basic auth `USER`/`token` and a
    CA of its own) and ``drift.repoCredentials`` naming `SECRET`, synced into a namespace of
    its own as Argo CD would, with its required Secrets and the credentials Secret. `edit`
    changes the repository (e.g. ``drift.notify``) before it is rendered and committed.
    Everything is deleted afterwards."""
    namespace = f"audit-{secrets.token_hex(3)}"
    argocd = f"{namespace}-argocd"
    repos = folder / "repos"
    repos.mkdir()
    with GitHttpsServer(repos, folder / "tls", USER, token) as server:
        repo = copy_aether(folder / "aether")
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
        if edit is not None:
            edit(repo)
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
                        "password": token,
                        "ca.crt": server.ca_file.read_text(),
                    },
                }
            )
            rendered = next((repo / "clusters").glob(f"*/audit/{ENV}/cronjob.yaml"))
            cronjob = yaml.safe_load(rendered.read_text())
            cronjob["metadata"].setdefault("namespace", namespace)
            yield Scheduled(kube, kubeconfig, repo, namespace, cronjob, server, folder / "jobs")
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
