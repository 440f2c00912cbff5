"""A real Argo CD (application controller + repo server) on the test control plane.

Built like the control plane (tests/testenv/gobuild.py), pinned and version-stamped:

* ``argocd`` v3.2.11 from ``github.com/argoproj/argo-cd/v3``. The wrapper module is argo-cd's own
  go.mod under another module name — all of its requires and its replace block (which pins the
  k8s.io modules) — plus a require of argo-cd itself. It builds a small ``main`` of its own
  (:data:`_ARGOCD_MAIN`) that imports only the three commands the tests run — the application
  controller, the repo server and its git askpass helper — and dispatches on argv[0] (or
  ``ARGOCD_BINARY_NAME``, how the repo server runs its askpass) as argo-cd's ``cmd/main.go``
  does; the cache holds symlinks under those names. Leaving out the CLI, the API server, Dex,
  notifications, the ApplicationSet controller and the cloud auth helpers compiles 1,693 packages
  instead of 2,228: a cold build takes 849 s instead of 2,123 s here (both at a load of 10–20; see
  docs/test-cluster.md). v3.2.12 as published does not compile
  (``controller/cache/info.go``: ``undefined: settings.ValidateExternalURL``).
* ``argocd-redis``: Argo CD's cache needs a Redis server. It is miniredis (the in-memory Redis
  server Argo CD itself runs for ``argocd --core`` and in its unit tests), at the version
  argo-cd's go.mod pins, built in the same wrapper module: no root, no system package, nothing
  more to download. A goroutine advances its clock so cache expiry works.
* ``helm`` v3.19.0 from ``helm.sh/helm/v3`` (the repo server runs it to render charts).

Start-up (:class:`ArgoCD`): the bootstrap objects in the Argo CD namespace (``argocd-cm``,
``argocd-rbac-cm``, ``argocd-cmd-params-cm``, ``argocd-secret`` with ``server.secretkey``, the
``default`` AppProject), then redis, the repo server (``--disable-tls``) and the controller
(``--repo-server-plaintext``, a short ``--app-resync``). ``ARGOCD_FAKE_IN_CLUSTER=true`` maps the
in-cluster destination ``https://kubernetes.default.svc`` to the test API server's kubeconfig.
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import secrets
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml

from tests.testenv import gobuild
from tests.testenv.component import Component
from tests.testenv.errors import ClusterError
from tests.testenv.gobuild import say
from tests.testenv.kube import HTTPStatusError, KubeCluster
from tests.testenv.process import Process, free_port, spawn, wait_http, wait_tcp

ARGO_CD_MODULE: Final = "github.com/argoproj/argo-cd/v3"
ARGO_CD_VERSION: Final = "v3.2.11"
HELM_MODULE: Final = "helm.sh/helm/v3"
HELM_VERSION: Final = "v3.19.0"
# Bump when the way these binaries are built changes (see gobuild.is_current).
ARGOCD_BUILD_RECIPE: Final = "2"

# The names the single argocd binary answers to (it dispatches on argv[0]).
COMPONENT_NAMES: Final = (
    "argocd-application-controller",
    "argocd-repo-server",
    "argocd-git-ask-pass",
    "argocd",
)
NAMESPACE: Final = "argocd"
APP_RESYNC_S: Final = 10
READY_TIMEOUT_S: Final = 90.0

# A Redis server for Argo CD's cache: miniredis, with a clock that moves (miniredis only expires
# keys when told that time passed).
_REDIS_MAIN = """\
// Command argocd-redis serves miniredis on --addr for the test environment's Argo CD.
package main

import (
\t"flag"
\t"log"
\t"os"
\t"os/signal"
\t"syscall"
\t"time"

\t"github.com/alicebob/miniredis/v2"
)

func main() {
\taddr := flag.String("addr", "127.0.0.1:6379", "listen address")
\tflag.Parse()
\tserver := miniredis.NewMiniRedis()
\tif err := server.StartAddr(*addr); err != nil {
\t\tlog.Fatal(err)
\t}
\tlog.Printf("miniredis listening on %s", server.Addr())
\tgo func() {
\t\tfor range time.Tick(time.Second) {
\t\t\tserver.FastForward(time.Second)
\t\t}
\t}()
\tstop := make(chan os.Signal, 1)
\tsignal.Notify(stop, syscall.SIGTERM, os.Interrupt)
\t<-stop
\tserver.Close()
}
"""

# The binary's main: the commands of argo-cd's cmd/main.go the tests run, dispatched the same way.
_ARGOCD_MAIN = """\
// Command argocd is Argo CD's multi-call binary, cut down to what the test environment runs.
package main

import (
\t"fmt"
\t"os"
\t"path/filepath"

\t"github.com/spf13/cobra"
\t"k8s.io/klog/v2"

\tappcontroller "github.com/argoproj/argo-cd/v3/cmd/argocd-application-controller/commands"
\tgitaskpass "github.com/argoproj/argo-cd/v3/cmd/argocd-git-ask-pass/commands"
\treposerver "github.com/argoproj/argo-cd/v3/cmd/argocd-repo-server/commands"
\t"github.com/argoproj/argo-cd/v3/util/log"
)

func init() {
\tklog.SetLogger(log.NewLogrusLogger(log.NewWithCurrentConfig()))
}

func main() {
\tname := filepath.Base(os.Args[0])
\tif value := os.Getenv("ARGOCD_BINARY_NAME"); value != "" {
\t\tname = value
\t}
\tvar command *cobra.Command
\tswitch name {
\tcase "argocd-application-controller":
\t\tcommand = appcontroller.NewCommand()
\tcase "argocd-repo-server":
\t\tcommand = reposerver.NewCommand()
\tcase "argocd-git-ask-pass":
\t\tcommand = gitaskpass.NewCommand()
\t\tcommand.SilenceErrors = true
\t\tcommand.SilenceUsage = true
\tdefault:
\t\tfmt.Fprintf(os.Stderr, "%s: this test build runs only as argocd-application-controller, "+
\t\t\t"argocd-repo-server or argocd-git-ask-pass\\n", name)
\t\tos.Exit(2)
\t}
\tif err := command.Execute(); err != nil {
\t\tos.Exit(1)
\t}
}
"""

_HELM_TOOLS = """\
//go:build tools

// Package tools only records the command this wrapper builds, so `go mod tidy` keeps it.
package tools

import _ "helm.sh/helm/v3/cmd/helm"
"""


# --------------------------------------------------------------------------------------------
# Builds
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArgoBinaries:
    argocd: Path  # the multi-call binary; COMPONENT_NAMES are symlinks beside it
    redis: Path
    helm: Path

    @property
    def path_dirs(self) -> list[str]:
        """Folders the repo server needs on PATH (helm, argocd-git-ask-pass)."""
        return [str(self.helm.parent), str(self.argocd.parent)]


def argocd_dir(version: str = ARGO_CD_VERSION) -> Path:
    return gobuild.cache_root() / "argocd" / version


def helm_dir(version: str = HELM_VERSION) -> Path:
    return gobuild.cache_root() / "helm" / version


def argocd_wrapper_go_mod(argo_go_mod: str, *, module: str, version: str) -> str:
    """argo-cd's go.mod as a wrapper: another module name, plus a require of argo-cd itself.

    Every require and the replace block stay as argo-cd pins them, so the build resolves the
    same dependency versions as the release.
    """
    lines = argo_go_mod.splitlines()
    out: list[str] = [f"// Throw-away module written by tests/testenv/argocd.py ({version})."]
    renamed = False
    for line in lines:
        if not renamed and re.match(r"^module\s+\S+", line):
            out.append(f"module {module}")
            renamed = True
        else:
            out.append(line)
    if not renamed:
        raise ClusterError(f"{ARGO_CD_MODULE}@{version}'s go.mod has no module line")
    out += ["", f"require {ARGO_CD_MODULE} {version}", ""]
    return "\n".join(out)


def _argocd_ldflags(version: str, source_date: str, client_go: str) -> list[str]:
    package = f"{ARGO_CD_MODULE}/common"
    return [
        f"-X {package}.version={version.removeprefix('v')}",
        f"-X {package}.buildDate={source_date}",
        f"-X {package}.gitCommit=",
        f"-X {package}.gitTag={version}",
        f"-X {package}.gitTreeState=clean",
        f"-X {package}.kubectlVersion={client_go}",
    ]


def _client_go_version(dependency: gobuild.GoMod) -> str:
    for rep in dependency.replaces:
        if rep.old == "k8s.io/client-go" and rep.new_version:
            return rep.new_version
    return "unknown"


def build_argocd(version: str, target_dir: Path) -> dict[str, float]:
    """Build argocd (+ its component symlinks) and argocd-redis `version` into `target_dir`."""
    argocd = target_dir / "argocd"
    redis = target_dir / "argocd-redis"
    if gobuild.is_current(argocd, ARGOCD_BUILD_RECIPE) and gobuild.is_current(
        redis, ARGOCD_BUILD_RECIPE
    ):
        _link_components(argocd)
        return {}
    info = gobuild.go_mod_download(ARGO_CD_MODULE, version)
    argo_go_mod = Path(info["GoMod"]).read_text()
    dependency = gobuild.parse_go_mod(argo_go_mod)
    source_date = gobuild.module_time(info)
    timings: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="gitops-gen-argocd-build-") as tmp:
        workdir = Path(tmp)
        log = target_dir / "build.log"
        log.unlink(missing_ok=True)
        (workdir / "go.mod").write_text(
            argocd_wrapper_go_mod(
                argo_go_mod, module="gitops-gen.test/argocd-build", version=version
            )
        )
        (workdir / "redis").mkdir()
        (workdir / "redis" / "main.go").write_text(_REDIS_MAIN)
        (workdir / "argocd").mkdir()
        (workdir / "argocd" / "main.go").write_text(_ARGOCD_MAIN)
        # No `go mod tidy`: it would re-resolve what argo-cd pins; -mod=mod only fills go.sum.
        if not gobuild.is_current(argocd, ARGOCD_BUILD_RECIPE):
            say(f"building argocd {version} (about 15 minutes on a cold Go build cache)…")
            timings["argocd"] = gobuild.go_build(
                workdir=workdir,
                package="./argocd",
                target=argocd,
                ldflags=_argocd_ldflags(version, source_date, _client_go_version(dependency)),
                log=log,
                recipe=ARGOCD_BUILD_RECIPE,
            )
            say(f"built argocd {version} in {timings['argocd']:.0f} s")
        timings["argocd-redis"] = gobuild.go_build(
            workdir=workdir,
            package="./redis",
            target=redis,
            ldflags=[],
            log=log,
            recipe=ARGOCD_BUILD_RECIPE,
        )
    _link_components(argocd)
    return timings


def _link_components(argocd: Path) -> None:
    for name in COMPONENT_NAMES[:-1]:
        link = argocd.with_name(name)
        if link.is_symlink() and os.readlink(link) == argocd.name:
            continue
        partial = argocd.with_name(f".{name}.partial-{os.getpid()}")
        partial.unlink(missing_ok=True)
        partial.symlink_to(argocd.name)
        partial.replace(link)


def build_helm(version: str, target_dir: Path) -> dict[str, float]:
    target = target_dir / "helm"
    if gobuild.is_current(target, ARGOCD_BUILD_RECIPE):
        return {}
    info = gobuild.go_mod_download(HELM_MODULE, version)
    dependency = gobuild.parse_go_mod(Path(info["GoMod"]).read_text())
    with tempfile.TemporaryDirectory(prefix="gitops-gen-helm-build-") as tmp:
        workdir = Path(tmp)
        log = target_dir / "build.log"
        log.unlink(missing_ok=True)
        gobuild.prepare_wrapper(
            workdir,
            module="gitops-gen.test/helm-build",
            dependency=dependency,
            require={HELM_MODULE: version},
            replace_lines=gobuild.mirrored_replaces(dependency.replaces, lambda _m: version),
            source=("tools.go", _HELM_TOOLS),
            log=log,
        )
        say(f"building helm {version} (about 4 minutes on a cold Go build cache)…")
        package = f"{HELM_MODULE}/internal/version"
        seconds = gobuild.go_build(
            workdir=workdir,
            package=f"{HELM_MODULE}/cmd/helm",
            target=target,
            ldflags=[
                f"-X {package}.version={version}",
                f"-X {package}.gitTreeState=clean",
            ],
            log=log,
            recipe=ARGOCD_BUILD_RECIPE,
        )
        say(f"built helm {version} in {seconds:.0f} s")
    return {"helm": seconds}


def ensure_binaries(
    argocd_version: str = ARGO_CD_VERSION, helm_version: str = HELM_VERSION
) -> ArgoBinaries:
    """The cached Argo CD, redis and helm binaries, building whatever is missing."""
    with gobuild.build_lock(helm_dir(helm_version)):
        build_helm(helm_version, helm_dir(helm_version))
    with gobuild.build_lock(argocd_dir(argocd_version)):
        build_argocd(argocd_version, argocd_dir(argocd_version))
    return ArgoBinaries(
        argocd=argocd_dir(argocd_version) / "argocd",
        redis=argocd_dir(argocd_version) / "argocd-redis",
        helm=helm_dir(helm_version) / "helm",
    )


# --------------------------------------------------------------------------------------------
# Bootstrap objects
# --------------------------------------------------------------------------------------------

# The test cluster has no kubelet, no workload controllers, no ingress controller and no volume
# provisioner, so these kinds never get a status and Argo CD's built-in checks would call them
# Progressing forever (and wait forever on hook Jobs). These health checks stand in for a working
# cluster: an object of these kinds that the API server accepted is Healthy. Every other kind
# keeps Argo CD's own assessment.
WORKLOAD_KINDS: Final = (
    "apps_Deployment",
    "apps_StatefulSet",
    "apps_DaemonSet",
    "apps_ReplicaSet",
    "batch_Job",
    "batch_CronJob",
    "networking.k8s.io_Ingress",
    "autoscaling_HorizontalPodAutoscaler",
    "policy_PodDisruptionBudget",
    "PersistentVolumeClaim",
)
_WORKLOAD_HEALTHY = """\
hs = {}
hs.status = "Healthy"
hs.message = "test cluster without nodes: accepted by the API server"
return hs
"""

# Argo CD does not assess an Application's health (since v1.8); app-of-apps sync waves only wait
# for a child Application when this documented customization is installed.
_APPLICATION_HEALTH = """\
hs = {}
hs.status = "Progressing"
hs.message = ""
if obj.status ~= nil then
  if obj.status.health ~= nil then
    hs.status = obj.status.health.status
    if obj.status.health.message ~= nil then
      hs.message = obj.status.health.message
    end
  end
end
return hs
"""


def _labels(name: str) -> dict[str, str]:
    # The settings manager only watches objects labelled part-of: argocd.
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "argocd"}


def bootstrap_objects(namespace: str, version: str = ARGO_CD_VERSION) -> list[dict[str, Any]]:
    """What an Argo CD install creates before its components start, for `namespace`."""
    info = gobuild.go_mod_download(ARGO_CD_MODULE, version)
    argocd_cm = yaml.safe_load(
        (Path(info["Dir"]) / "manifests" / "base" / "config" / "argocd-cm.yaml").read_text()
    )
    data: dict[str, str] = dict(argocd_cm.get("data") or {})
    data["resource.customizations.health.argoproj.io_Application"] = _APPLICATION_HEALTH
    for kind in WORKLOAD_KINDS:
        data[f"resource.customizations.health.{kind}"] = _WORKLOAD_HEALTHY
    # Repositories need no registration: public (credential-less) URLs work as they are.
    data["timeout.reconciliation"] = f"{APP_RESYNC_S}s"
    meta = {"namespace": namespace}
    secret_key = base64.b64encode(secrets.token_bytes(32)).decode()
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {**meta, "name": "argocd-cm", "labels": _labels("argocd-cm")},
            "data": data,
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {**meta, "name": "argocd-rbac-cm", "labels": _labels("argocd-rbac-cm")},
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                **meta,
                "name": "argocd-cmd-params-cm",
                "labels": _labels("argocd-cmd-params-cm"),
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "Opaque",
            "metadata": {**meta, "name": "argocd-secret", "labels": _labels("argocd-secret")},
            "data": {"server.secretkey": base64.b64encode(secret_key.encode()).decode()},
        },
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "AppProject",
            "metadata": {**meta, "name": "default"},
            "spec": {
                "sourceRepos": ["*"],
                "destinations": [{"namespace": "*", "server": "*"}],
                "clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
            },
        },
    ]


def _collection_path(obj: Mapping[str, Any]) -> str:
    namespace = obj["metadata"]["namespace"]
    if obj["apiVersion"] == "v1":
        plural = {"ConfigMap": "configmaps", "Secret": "secrets"}[obj["kind"]]
        return f"/api/v1/namespaces/{namespace}/{plural}"
    return f"/apis/argoproj.io/v1alpha1/namespaces/{namespace}/appprojects"


# --------------------------------------------------------------------------------------------
# The running Argo CD
# --------------------------------------------------------------------------------------------


@dataclass(eq=False)
class ArgoCD(Component):
    """Redis + repo server + application controller against `cluster`, as a context manager.

    >>> with KubeCluster(argo_cd_crd_version=ARGO_CD_VERSION) as cluster, ArgoCD(cluster):
    ...     ...  # apply Applications to the `argocd` namespace and watch them sync
    """

    cluster: KubeCluster
    namespace: str = NAMESPACE
    app_resync_s: int = APP_RESYNC_S
    ready_timeout: float = READY_TIMEOUT_S
    extra_env: Mapping[str, str] = field(default_factory=dict)

    workdir: Path = field(init=False)
    repo_server: str = field(init=False, default="")
    redis: str = field(init=False, default="")
    started_in: float = field(init=False, default=0.0)
    _processes: list[Process] = field(init=False, default_factory=list)
    _stopped: bool = field(init=False, default=False)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self._processes]

    @property
    def logs(self) -> dict[str, Path]:
        return {p.name: p.log for p in self._processes}

    def start(self) -> None:
        binaries = ensure_binaries()
        started = time.monotonic()
        # Inside the cluster's folder: swept with it if this process is killed outright.
        self.workdir = Path(tempfile.mkdtemp(prefix="argocd-", dir=self.cluster.workdir))
        try:
            self._bootstrap()
            env = self._environment(binaries)
            redis_port = free_port()
            self.redis = f"127.0.0.1:{redis_port}"
            redis = self._spawn("argocd-redis", [str(binaries.redis), f"--addr={self.redis}"], env)
            wait_tcp("127.0.0.1", redis_port, redis, timeout=30.0)
            self._start_repo_server(binaries, env)
            self._start_controller(binaries, env)
        except BaseException:
            self.stop()
            raise
        self.started_in = time.monotonic() - started

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        for process in reversed(self._processes):
            process.stop()
        if hasattr(self, "workdir"):
            shutil.rmtree(self.workdir, ignore_errors=True)

    def stop_controller(self) -> None:
        """Stop the application controller alone, as when it crashes: every Application keeps
        its last status (Synced, Healthy) and its ``reconciledAt`` stops moving."""
        for process in self._processes:
            if process.name == "argocd-application-controller":
                process.stop()

    def _spawn(self, name: str, argv: Sequence[str], env: Mapping[str, str]) -> Process:
        process = spawn(name, argv, log_dir=self.workdir, env=env)
        self._processes.append(process)
        return process

    def _bootstrap(self) -> None:
        namespace = {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": self.namespace},
        }
        self.cluster.create("/api/v1/namespaces", namespace, exist_ok=True)
        for obj in bootstrap_objects(self.namespace):
            try:
                self.cluster.create(_collection_path(obj), obj)
            except HTTPStatusError as error:
                if error.status != 409:
                    raise
                # A second Argo CD on the same cluster keeps the first one's settings.

    def _environment(self, binaries: ArgoBinaries) -> dict[str, str]:
        home = self.workdir / "home"
        tmp = self.workdir / "tmp"
        for folder in (home, tmp, self.workdir / "tls", self.workdir / "ssh", self.workdir / "gpg"):
            folder.mkdir(parents=True, exist_ok=True)
        env = {
            "PATH": os.pathsep.join([*binaries.path_dirs, os.environ.get("PATH", "/usr/bin:/bin")]),
            "HOME": str(home),
            "TMPDIR": str(tmp),
            "KUBECONFIG": str(self.cluster.kubeconfig),
            "ARGOCD_FAKE_IN_CLUSTER": "true",
            "ARGOCD_GPG_ENABLED": "false",
            "ARGOCD_GNUPGHOME": str(self.workdir / "gpg"),
            "ARGOCD_TLS_DATA_PATH": str(self.workdir / "tls"),
            "ARGOCD_SSH_DATA_PATH": str(self.workdir / "ssh"),
            "ARGOCD_ASK_PASS_SOCK": str(self.workdir / "askpass.sock"),
            "ARGOCD_APP_CONF_PATH": str(self.workdir / "conf"),
            "ARGOCD_PLUGINSOCKFILEPATH": str(self.workdir / "plugins"),
            # No git configuration of the developer's machine leaks into the repo server.
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
        }
        # The caller's git settings that make file:// work in a sandbox are kept.
        for name in ("GIT_ALLOW_PROTOCOL",):
            if name in os.environ:
                env[name] = os.environ[name]
        env.update(self.extra_env)
        return env

    def _start_repo_server(self, binaries: ArgoBinaries, env: Mapping[str, str]) -> None:
        port = free_port()
        metrics = free_port()
        self.repo_server = f"127.0.0.1:{port}"
        process = self._spawn(
            "argocd-repo-server",
            [
                str(binaries.argocd.with_name("argocd-repo-server")),
                "--address=127.0.0.1",
                f"--port={port}",
                "--metrics-address=127.0.0.1",
                f"--metrics-port={metrics}",
                "--disable-tls",
                f"--redis={self.redis}",
                "--logformat=text",
                "--loglevel=info",
            ],
            env,
        )
        wait_http(
            f"http://127.0.0.1:{metrics}/healthz?full=true",
            process,
            timeout=self.ready_timeout,
        )

    def _start_controller(self, binaries: ArgoBinaries, env: Mapping[str, str]) -> None:
        metrics = free_port()
        process = self._spawn(
            "argocd-application-controller",
            [
                str(binaries.argocd.with_name("argocd-application-controller")),
                f"--kubeconfig={self.cluster.kubeconfig}",
                f"--namespace={self.namespace}",
                f"--repo-server={self.repo_server}",
                "--repo-server-plaintext",
                f"--redis={self.redis}",
                f"--app-resync={self.app_resync_s}",
                # A failed comparison shows at once instead of after the default 3-minute grace.
                "--repo-error-grace-period-seconds=0",
                f"--metrics-port={metrics}",
                "--status-processors=4",
                "--operation-processors=4",
                # The first self-heal happens at once; waits between retries stay short.
                "--self-heal-timeout-seconds=0",
                "--self-heal-backoff-timeout-seconds=1",
                "--self-heal-backoff-cap-seconds=5",
                "--logformat=text",
                "--loglevel=info",
            ],
            env,
        )
        wait_http(f"http://127.0.0.1:{metrics}/healthz", process, timeout=self.ready_timeout)

    # -- helpers for tests ------------------------------------------------------------------

    def log_tails(self, lines: int = 30) -> str:
        """The last lines of every component's log, for a failure message."""
        from tests.testenv.process import tail

        return "\n".join(f"--- {name} ---\n{tail(path, lines)}" for name, path in self.logs.items())

    def application(self, name: str) -> dict[str, Any] | None:
        path = f"/apis/argoproj.io/v1alpha1/namespaces/{self.namespace}/applications/{name}"
        try:
            return self.cluster.request("GET", path)
        except HTTPStatusError as error:
            if error.status == 404:
                return None
            raise

    def applications(self) -> list[dict[str, Any]]:
        path = f"/apis/argoproj.io/v1alpha1/namespaces/{self.namespace}/applications"
        items: list[dict[str, Any]] = self.cluster.request("GET", path).get("items") or []
        return items

    def refresh(self, name: str, *, hard: bool = False) -> None:
        """Ask the controller to compare `name` again now (the UI's Refresh button)."""
        path = f"/apis/argoproj.io/v1alpha1/namespaces/{self.namespace}/applications/{name}"
        patch = {
            "metadata": {
                "annotations": {"argocd.argoproj.io/refresh": "hard" if hard else "normal"}
            }
        }
        with contextlib.suppress(HTTPStatusError):
            self.cluster.request_patch(path, patch)

    def sync(self, name: str) -> None:
        """Start a sync of `name` now, as the UI's Sync button does (an `operation`)."""
        path = f"/apis/argoproj.io/v1alpha1/namespaces/{self.namespace}/applications/{name}"
        operation = {
            "initiatedBy": {"username": "gitops-gen-tests"},
            "sync": {"syncStrategy": {"hook": {}}},
        }
        self.cluster.request_patch(path, {"operation": operation})
