"""A real Kubernetes control plane for the test suite, built from the Go module proxy.

No Docker engine exists on the machines this project runs on, so — like controller-runtime's
envtest — the suite builds the real binaries itself (tests/testenv/gobuild.py) and runs them as
plain processes:

* ``kube-apiserver`` and ``kube-controller-manager`` are compiled from ``k8s.io/kubernetes``
  through a throw-away wrapper module. Kubernetes' own go.mod points every ``k8s.io/<staging>``
  module at a folder inside its repository (``./staging/src/...``), which a module consumer cannot
  use, so the wrapper mirrors each of those replace directives onto the published ``v0.Y.Z``
  module. The list is read from the pinned version's go.mod, because it changes between releases.
* ``etcd`` is compiled the same way from ``go.etcd.io/etcd/server/v3`` (its go.mod also replaces
  sibling modules with relative folders).
* CRDs the tests need are installed at start: Argo CD's ``Application``/``AppProject`` read from
  the argo-cd Go module's ``manifests/crds/`` (downloaded, never built) and the
  sops-secrets-operator ``SopsSecret`` (see :func:`sopssecret_crd` for why it is defined here).

Command line: ``python -m tests.testenv build|run`` (see tests/testenv/__main__.py).
"""

from __future__ import annotations

import atexit
import json
import os
import re
import secrets
import shutil
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml

from tests.testenv import gobuild
from tests.testenv.component import Component
from tests.testenv.errors import ClusterError
from tests.testenv.gobuild import say
from tests.testenv.process import Process, free_port, pid_alive, spawn, tail, wait_http

# The pinned versions. Kubernetes v1.37.2 matches the `kubernetes` Python client (37.x) the
# project uses, and its go.mod asks for Go 1.26, which this machine has. Kubernetes 1.37 ships
# with etcd 3.7.0 (build/dependencies.yaml); v3.7.3 is the newest 3.7 patch served.
KUBERNETES_VERSION: Final = "v1.37.2"
ETCD_VERSION: Final = "v3.7.3"
# Only the CRD YAML files are read from this module. v3.6.x's go.mod requires Go 1.27, which
# makes `go mod download` refuse to extract it with Go 1.26, so the newest 3.5 patch is used.
ARGO_CD_MODULE: Final = "github.com/argoproj/argo-cd/v3"
ARGO_CD_VERSION: Final = "v3.5.7"
ARGO_CD_CRD_FILES: Final = ("application-crd.yaml", "appproject-crd.yaml")

KUBERNETES_MODULE: Final = "k8s.io/kubernetes"
ETCD_SERVER_MODULE: Final = "go.etcd.io/etcd/server/v3"

READY_TIMEOUT_S: Final = 60.0
ADMIN_USER: Final = "gitops-gen-admin"
READONLY_USER: Final = "gitops-gen-readonly"

# kube-controller-manager runs only what the tests rely on: garbage collection (ownerReferences),
# namespace deletion, each namespace's `default` ServiceAccount, and the aggregated ClusterRoles
# (admin/edit/view are empty until this controller fills them in). Workload controllers are left
# out: their Pods could never run here (no scheduler, no kubelet).
DEFAULT_CONTROLLERS: Final = (
    "garbage-collector-controller",
    "namespace-controller",
    "serviceaccount-controller",
    "clusterrole-aggregation-controller",
)


def staging_version(kubernetes_version: str) -> str:
    """k8s.io/kubernetes vX.Y.Z publishes its staging modules as v0.Y.Z."""
    match = re.fullmatch(r"v1\.(\d+)\.(\d+)", kubernetes_version)
    if not match:
        raise ClusterError(f"expected a release like v1.37.2, got {kubernetes_version!r}")
    return f"v0.{match.group(1)}.{match.group(2)}"


@dataclass(frozen=True)
class Binaries:
    kube_apiserver: Path
    kube_controller_manager: Path
    etcd: Path


@dataclass(frozen=True)
class Versions:
    kubernetes: str = KUBERNETES_VERSION
    etcd: str = ETCD_VERSION

    def kube_dir(self) -> Path:
        return gobuild.cache_root() / "k8s" / self.kubernetes

    def etcd_dir(self) -> Path:
        return gobuild.cache_root() / "etcd" / self.etcd

    def binaries(self) -> Binaries:
        return Binaries(
            kube_apiserver=self.kube_dir() / "kube-apiserver",
            kube_controller_manager=self.kube_dir() / "kube-controller-manager",
            etcd=self.etcd_dir() / "etcd",
        )


# Bump when the way these binaries are built changes (see gobuild.is_current).
KUBE_BUILD_RECIPE: Final = "2"


def _kube_ldflags(version: str, source_date: str) -> list[str]:
    match = re.fullmatch(r"v(\d+)\.(\d+)\.\d+", version)
    if not match:
        raise ClusterError(f"expected a release like v1.37.2, got {version!r}")
    values = {
        "gitVersion": version,
        "gitMajor": match.group(1),
        "gitMinor": match.group(2),
        "gitTreeState": "clean",
        # The module proxy serves no commit hash; an empty one beats the "$Format:%H$"
        # placeholder. The build date is the release's own time, so rebuilds are identical.
        "gitCommit": "",
        "buildDate": source_date,
    }
    # Both packages carry a copy of the version; the server reports component-base's and the
    # client-go twin ends up in user agents, so both must tell the truth.
    return [
        f"-X {package}.{key}={value}"
        for package in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version")
        for key, value in values.items()
    ]


_KUBE_TOOLS = """\
//go:build tools

// Package tools only records the commands this wrapper builds, so `go mod tidy` keeps
// every module they need; a main package cannot be imported, hence the build tag.
package tools

import (
\t_ "k8s.io/kubernetes/cmd/kube-apiserver"
\t_ "k8s.io/kubernetes/cmd/kube-controller-manager"
)
"""

_ETCD_MAIN = """\
// Command etcd is the etcd server, built from the server module's own entry point.
package main

import (
\t"os"

\t"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
\tetcdmain.Main(os.Args)
}
"""


def build_kubernetes(version: str, target_dir: Path) -> dict[str, float]:
    """Build kube-apiserver and kube-controller-manager `version` into `target_dir`."""
    wanted = {
        name: target_dir / name
        for name in ("kube-apiserver", "kube-controller-manager")
        if not gobuild.is_current(target_dir / name, KUBE_BUILD_RECIPE)
    }
    if not wanted:
        return {}
    timings: dict[str, float] = {}
    info = gobuild.go_mod_download(KUBERNETES_MODULE, version)
    dependency = gobuild.parse_go_mod(Path(info["GoMod"]).read_text())
    replaces = dependency.replaces
    published = staging_version(version)
    source_date = gobuild.module_time(info)
    replace_lines = gobuild.mirrored_replaces(replaces, lambda _module: published)
    if not any(r.is_local and r.old.startswith("k8s.io/") for r in replaces):
        raise ClusterError(f"{KUBERNETES_MODULE}@{version}'s go.mod names no staging modules")
    with tempfile.TemporaryDirectory(prefix="gitops-gen-k8s-build-") as tmp:
        workdir = Path(tmp)
        log = target_dir / "build.log"
        log.unlink(missing_ok=True)
        say(f"preparing the build module for {KUBERNETES_MODULE} {version}")
        gobuild.prepare_wrapper(
            workdir,
            module="gitops-gen.test/kube-build",
            dependency=dependency,
            require={KUBERNETES_MODULE: version},
            replace_lines=replace_lines,
            source=("tools.go", _KUBE_TOOLS),
            log=log,
        )
        for name, target in wanted.items():
            say(f"building {name} {version} (several minutes on a cold Go build cache)…")
            seconds = gobuild.go_build(
                workdir=workdir,
                package=f"{KUBERNETES_MODULE}/cmd/{name}",
                target=target,
                ldflags=_kube_ldflags(version, source_date),
                log=log,
                recipe=KUBE_BUILD_RECIPE,
            )
            timings[name] = seconds
            say(f"built {name} {version} in {seconds:.0f} s")
    return timings


def build_etcd(version: str, target_dir: Path) -> dict[str, float]:
    target = target_dir / "etcd"
    if gobuild.is_current(target, KUBE_BUILD_RECIPE):
        return {}
    info = gobuild.go_mod_download(ETCD_SERVER_MODULE, version)
    dependency = gobuild.parse_go_mod(Path(info["GoMod"]).read_text())
    # etcd releases all of its modules (api, client/pkg, client/v3, pkg, …) with one version.
    replace_lines = gobuild.mirrored_replaces(dependency.replaces, lambda _module: version)
    with tempfile.TemporaryDirectory(prefix="gitops-gen-etcd-build-") as tmp:
        workdir = Path(tmp)
        log = target_dir / "build.log"
        log.unlink(missing_ok=True)
        gobuild.prepare_wrapper(
            workdir,
            module="gitops-gen.test/etcd-build",
            dependency=dependency,
            require={ETCD_SERVER_MODULE: version},
            replace_lines=replace_lines,
            source=("main.go", _ETCD_MAIN),
            log=log,
        )
        say(f"building etcd {version} (about a minute on a cold Go build cache)…")
        seconds = gobuild.go_build(
            workdir=workdir,
            package=".",
            target=target,
            ldflags=[f"-X go.etcd.io/etcd/api/v3/version.GitSHA=module-{version}"],
            log=log,
            recipe=KUBE_BUILD_RECIPE,
        )
        say(f"built etcd {version} in {seconds:.0f} s")
    return {"etcd": seconds}


def ensure_binaries(versions: Versions | None = None) -> Binaries:
    """The cached binaries for `versions`, building whatever is missing."""
    versions = versions or Versions()
    with gobuild.build_lock(versions.etcd_dir()):
        build_etcd(versions.etcd, versions.etcd_dir())
    with gobuild.build_lock(versions.kube_dir()):
        build_kubernetes(versions.kubernetes, versions.kube_dir())
    return versions.binaries()


# --------------------------------------------------------------------------------------------
# CRDs
# --------------------------------------------------------------------------------------------


def argo_cd_crds(version: str = ARGO_CD_VERSION) -> list[dict[str, Any]]:
    """Argo CD's Application and AppProject CRDs, read from the argo-cd Go module."""
    info = gobuild.go_mod_download(ARGO_CD_MODULE, version)
    crd_dir = Path(info["Dir"]) / "manifests" / "crds"
    crds: list[dict[str, Any]] = []
    for name in ARGO_CD_CRD_FILES:
        path = crd_dir / name
        if not path.is_file():
            raise ClusterError(f"{path} is missing from {ARGO_CD_MODULE}@{version}")
        doc = yaml.safe_load(path.read_text())
        if not isinstance(doc, dict) or doc.get("kind") != "CustomResourceDefinition":
            raise ClusterError(f"{path} is not a CustomResourceDefinition")
        crds.append(doc)
    return crds


def sopssecret_crd() -> dict[str, Any]:
    """The sops-secrets-operator SopsSecret CRD (isindir.github.com/v1alpha3).

    The operator's repository is not served by the Go module proxy this project can reach (the
    proxy answers 403 both for its version list and for a commit), so its generated
    CRD file cannot be read at test time. This is our own structural definition of the same API,
    written from the operator's v1alpha3 Go types: the fields gitops-gen renders are typed and
    validated (secretTemplates with a required name and string maps), the ``sops`` metadata block
    is kept as given, and ``status`` is a subresource, as in the operator.
    """
    string_map: dict[str, Any] = {"type": "object", "additionalProperties": {"type": "string"}}
    template = {
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": {"type": "string"},
            "annotations": string_map,
            "labels": string_map,
            "type": {"type": "string"},
            "data": string_map,
            "stringData": string_map,
        },
    }
    schema = {
        "type": "object",
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": {
                "type": "object",
                "required": ["secretTemplates"],
                "properties": {
                    "secretTemplates": {"type": "array", "minItems": 1, "items": template},
                    "suspend": {"type": "boolean"},
                },
            },
            "sops": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            "status": {"type": "object", "properties": {"message": {"type": "string"}}},
        },
    }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "sopssecrets.isindir.github.com"},
        "spec": {
            "group": "isindir.github.com",
            "names": {
                "kind": "SopsSecret",
                "listKind": "SopsSecretList",
                "plural": "sopssecrets",
                "singular": "sopssecret",
                "shortNames": ["sops"],
            },
            "scope": "Namespaced",
            "versions": [
                {
                    "name": "v1alpha3",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": schema},
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": [
                        {"name": "Status", "type": "string", "jsonPath": ".status.message"}
                    ],
                }
            ],
        },
    }


# --------------------------------------------------------------------------------------------
# The cluster
# --------------------------------------------------------------------------------------------

WORKDIR_PREFIX: Final = "gitops-gen-kube-"
OWNER_FILE: Final = "owner.pid"


def _sweep_stale_workdirs() -> None:
    """Remove folders of clusters whose Python process was killed outright (kill -9, OOM).

    Their servers died with them (PDEATHSIG) but nothing was left to delete the folder.
    """
    for folder in Path(tempfile.gettempdir()).glob(f"{WORKDIR_PREFIX}*"):
        try:
            owner = int((folder / OWNER_FILE).read_text().strip())
        except (OSError, ValueError):
            continue
        if not pid_alive(owner):
            shutil.rmtree(folder, ignore_errors=True)


# Every cluster that is running, so an interpreter exit that skips the context managers (an
# uncaught exception in a thread, sys.exit in a hook) still stops them.
_LIVE: set[KubeCluster] = set()
_LIVE_LOCK = threading.Lock()


def _stop_all_live() -> None:
    with _LIVE_LOCK:
        live = list(_LIVE)
    for cluster in live:
        cluster.stop()


atexit.register(_stop_all_live)


@dataclass(eq=False)  # identity semantics: each instance owns its own processes
class KubeCluster(Component):
    """etcd + kube-apiserver (+ kube-controller-manager) on loopback, as a context manager.

    >>> with KubeCluster() as cluster:
    ...     print(cluster.kubeconfig)
    """

    versions: Versions = field(default_factory=Versions)
    controller_manager: bool = True
    controllers: tuple[str, ...] = DEFAULT_CONTROLLERS
    install_crds: bool = True
    # The Argo CD release whose Application/AppProject CRDs are installed (tests/testenv/argocd.py
    # passes the release it runs).
    argo_cd_crd_version: str = ARGO_CD_VERSION
    ready_timeout: float = READY_TIMEOUT_S

    workdir: Path = field(init=False)
    server: str = field(init=False, default="")
    admin_token: str = field(init=False, default="")
    readonly_token: str = field(init=False, default="")
    # Seconds from start() (binaries cached) to /readyz, and to fully prepared (CRDs, KCM).
    ready_in: float = field(init=False, default=0.0)
    started_in: float = field(init=False, default=0.0)
    _processes: list[Process] = field(init=False, default_factory=list)
    _apiserver: Process = field(init=False)
    _stopped: bool = field(init=False, default=False)

    # -- paths ------------------------------------------------------------------------------

    @property
    def kubeconfig(self) -> Path:
        return self.workdir / "kubeconfig.yaml"

    @property
    def ca_file(self) -> Path:
        # kube-apiserver writes a self-signed CA + serving certificate here at start.
        return self.workdir / "certs" / "apiserver.crt"

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self._processes]

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        binaries = ensure_binaries(self.versions)
        # CRDs are fetched before any process starts so a missing module fails fast and cheap.
        crds = (
            [*argo_cd_crds(self.argo_cd_crd_version), sopssecret_crd()] if self.install_crds else []
        )
        started = time.monotonic()
        _sweep_stale_workdirs()
        self.workdir = Path(tempfile.mkdtemp(prefix=WORKDIR_PREFIX))
        (self.workdir / OWNER_FILE).write_text(f"{os.getpid()}\n")
        with _LIVE_LOCK:
            _LIVE.add(self)
        try:
            self._write_credentials()
            etcd_url = self._start_etcd(binaries.etcd)
            self._start_apiserver(binaries.kube_apiserver, etcd_url)
            self._wait_ready()
            self.ready_in = time.monotonic() - started
            self._write_kubeconfig()
            self._grant_readonly()
            wait_for_controller_manager: Callable[[], None] | None = None
            if self.controller_manager:
                wait_for_controller_manager = self._start_controller_manager(
                    binaries.kube_controller_manager
                )
            for crd in crds:
                self.create(
                    "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd, exist_ok=True
                )
            for crd in crds:
                self._wait_established(crd["metadata"]["name"])
            if wait_for_controller_manager is not None:
                wait_for_controller_manager()
        except BaseException:
            self.stop()
            raise
        self.started_in = time.monotonic() - started

    def stop(self) -> None:
        """Stop every process this cluster started (newest first) and remove its folder."""
        if self._stopped:
            return
        self._stopped = True
        for process in reversed(self._processes):
            process.stop()
        with _LIVE_LOCK:
            _LIVE.discard(self)
        if hasattr(self, "workdir"):
            shutil.rmtree(self.workdir, ignore_errors=True)

    # -- process start-up -------------------------------------------------------------------

    def _spawn(self, name: str, argv: Sequence[str]) -> Process:
        process = spawn(name, argv, log_dir=self.workdir)
        self._processes.append(process)
        return process

    def _write_credentials(self) -> None:
        self.admin_token = secrets.token_hex(24)
        self.readonly_token = secrets.token_hex(24)
        # Static token file: token,user,uid,"groups". system:masters bypasses RBAC entirely.
        (self.workdir / "tokens.csv").write_text(
            f'{self.admin_token},{ADMIN_USER},uid-admin,"system:masters"\n'
            f"{self.readonly_token},{READONLY_USER},uid-readonly\n"
        )
        (self.workdir / "tokens.csv").chmod(0o600)
        # Service-account signing keys are generated per cluster, never stored in the repo.
        # EC P-256 rather than RSA: generating it takes milliseconds.
        key = self.workdir / "sa.key"
        subprocess.run(
            [
                "openssl",
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
                str(key),
            ],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            ["openssl", "pkey", "-in", str(key), "-pubout", "-out", str(self.workdir / "sa.pub")],
            check=True,
            capture_output=True,
        )

    def _start_etcd(self, binary: Path) -> str:
        client_url = f"http://127.0.0.1:{free_port()}"
        peer_url = f"http://127.0.0.1:{free_port()}"
        process = self._spawn(
            "etcd",
            [
                str(binary),
                "--name=default",
                f"--data-dir={self.workdir / 'etcd'}",
                f"--listen-client-urls={client_url}",
                f"--advertise-client-urls={client_url}",
                f"--listen-peer-urls={peer_url}",
                f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=default={peer_url}",
                "--initial-cluster-state=new",
                # Throw-away data: durability costs time and buys nothing here.
                "--unsafe-no-fsync=true",
                "--log-level=warn",
            ],
        )
        wait_http(f"{client_url}/health", process, timeout=30.0, context=None)
        return client_url

    def _start_apiserver(self, binary: Path, etcd_url: str) -> None:
        port = free_port()
        self.server = f"https://127.0.0.1:{port}"
        self._apiserver = self._spawn(
            "kube-apiserver",
            [
                str(binary),
                f"--etcd-servers={etcd_url}",
                "--advertise-address=127.0.0.1",
                "--bind-address=127.0.0.1",
                f"--secure-port={port}",
                f"--cert-dir={self.workdir / 'certs'}",
                f"--token-auth-file={self.workdir / 'tokens.csv'}",
                "--authorization-mode=RBAC",
                "--anonymous-auth=false",
                f"--service-account-key-file={self.workdir / 'sa.pub'}",
                f"--service-account-signing-key-file={self.workdir / 'sa.key'}",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                # /16: room for the drift benchmark's Services (2,000 at 20,000 objects)
                "--service-cluster-ip-range=10.0.0.0/16",
                "--allow-privileged=true",
                # No kubelets, so nothing to wait for or reconcile endpoints with.
                "--endpoint-reconciler-type=none",
                "--enable-priority-and-fairness=false",
                "--v=1",
            ],
        )

    def _start_controller_manager(self, binary: Path) -> Callable[[], None]:
        """Start kube-controller-manager; returns a function that waits for its /healthz."""
        port = free_port()
        # Its kubeconfig is the admin's: system:masters, so no per-controller RBAC is needed.
        process = self._spawn(
            "kube-controller-manager",
            [
                str(binary),
                f"--kubeconfig={self.kubeconfig}",
                f"--authentication-kubeconfig={self.kubeconfig}",
                f"--authorization-kubeconfig={self.kubeconfig}",
                # The API server has no front-proxy CA to publish, so don't look for one.
                "--authentication-skip-lookup=true",
                f"--controllers={','.join(self.controllers)}",
                "--leader-elect=false",
                "--bind-address=127.0.0.1",
                f"--secure-port={port}",
                f"--cert-dir={self.workdir / 'kcm-certs'}",
                f"--service-account-private-key-file={self.workdir / 'sa.key'}",
                "--v=1",
            ],
        )

        def wait() -> None:
            # Its serving certificate is self-signed on the spot; this is a liveness probe of a
            # process we started on loopback, not a trust decision.
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            wait_http(f"https://127.0.0.1:{port}/healthz", process, timeout=30.0, context=context)

        return wait

    # -- readiness --------------------------------------------------------------------------

    def _ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.ready_timeout
        # The serving certificate appears a moment after start; until then nothing can answer.
        while not self.ca_file.exists():
            if self._apiserver.popen.poll() is not None or time.monotonic() > deadline:
                raise ClusterError(
                    f"kube-apiserver wrote no serving certificate (exit code "
                    f"{self._apiserver.popen.poll()}); last lines of kube-apiserver.log:\n"
                    f"{tail(self._apiserver.log)}"
                )
            time.sleep(0.1)
        wait_http(
            f"{self.server}/readyz",
            self._apiserver,
            timeout=max(1.0, deadline - time.monotonic()),
            context=self._ssl_context(),
            headers={"Authorization": f"Bearer {self.admin_token}"},
            reported_timeout=self.ready_timeout,
        )

    def _wait_established(self, crd_name: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        path = f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{crd_name}"
        while time.monotonic() < deadline:
            status = self.request("GET", path).get("status") or {}
            conditions = status.get("conditions") or []
            if any(
                c.get("type") == "Established" and c.get("status") == "True" for c in conditions
            ):
                return
            time.sleep(0.1)
        raise ClusterError(f"CRD {crd_name} was not Established within {timeout:.0f} s")

    # -- configuration ----------------------------------------------------------------------

    def _write_kubeconfig(self) -> None:
        def user(name: str, token: str) -> dict[str, Any]:
            return {"name": name, "user": {"token": token}}

        def context(name: str, user_name: str) -> dict[str, Any]:
            return {"name": name, "context": {"cluster": "gitops-gen-test", "user": user_name}}

        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "gitops-gen-test",
                    "cluster": {
                        "server": self.server,
                        "certificate-authority": str(self.ca_file),
                    },
                }
            ],
            "users": [user("admin", self.admin_token), user("readonly", self.readonly_token)],
            "contexts": [context("admin", "admin"), context("readonly", "readonly")],
            "current-context": "admin",
        }
        self.kubeconfig.write_text(yaml.safe_dump(config, sort_keys=False))
        self.kubeconfig.chmod(0o600)

    def _grant_readonly(self) -> None:
        # The built-in `view` ClusterRole: get/list/watch on most resources, no Secrets, no writes.
        binding = {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "gitops-gen-readonly-view"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "view",
            },
            "subjects": [
                {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": READONLY_USER}
            ],
        }
        self.create("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", binding)

    # -- a minimal REST client for set-up (tests use the kubernetes package) ----------------

    def request(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        token: str | None = None,
        content_type: str = "application/json",
    ) -> dict[str, Any]:
        """One JSON request as the admin (or `token`); raises ClusterError on HTTP errors."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 - the URL is our own loopback server
            f"{self.server}{path}",
            data=data,
            method=method,
            headers={
                "Authorization": f"Bearer {token or self.admin_token}",
                "Content-Type": content_type,
                "Accept": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30, context=self._ssl_context()) as resp:  # noqa: S310
                payload = resp.read()
        except urllib.error.HTTPError as error:
            raise HTTPStatusError(method, path, error.code, error.read()) from None
        result: dict[str, Any] = json.loads(payload) if payload else {}
        return result

    def request_patch(self, path: str, patch: Mapping[str, Any]) -> dict[str, Any]:
        """A JSON merge patch (RFC 7386) as the admin."""
        return self.request("PATCH", path, patch, content_type="application/merge-patch+json")

    def create(self, path: str, body: Mapping[str, Any], *, exist_ok: bool = False) -> None:
        # A plain POST, not client-side apply: Argo CD's CRDs are larger than the 256 KiB
        # last-applied-configuration annotation allows.
        try:
            self.request("POST", path, body)
        except HTTPStatusError as error:
            if not (exist_ok and error.status == 409):
                raise


class HTTPStatusError(ClusterError):
    def __init__(self, method: str, path: str, status: int, body: bytes) -> None:
        self.status = status
        self.body = body.decode(errors="replace")
        super().__init__(f"{method} {path}: HTTP {status}: {self.body[:2000]}")
