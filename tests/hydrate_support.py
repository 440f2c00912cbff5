"""Test support for hydration: helm from the test cache, tiny dependency charts served over
loopback HTTP, and a copy of the Aether repository whose sources point at them.

The dependency charts here are deliberately tiny (one workload, one Service), made in a temp
folder per session; they stand in for bitnami/postgresql, redis, kafka, nats and the
sops-secrets-operator chart only by name and version. The platform chart is the shared
stand-in (tests/fixtures/charts/aether-platform) in a local git repository.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from gitops_gen.hydrate.helm import HELM_ENV, HELM_VERSION, find_helm
from tests.testenv.apprepo import STANDIN_CHART, AppRepo, make_app_repo

HELM_CACHE = Path.home() / ".cache" / "gitops-gen" / "helm" / HELM_VERSION
PLATFORM_TAGS = ("v2.15.0-rc.1", "v2.14.0", "v2.13.2")
CHART_REPOS = (
    "https://charts.bitnami.com/bitnami",
    "https://nats-io.github.io/k8s/helm/charts/",
    "https://isindir.github.io/sops-secrets-operator/",
)
APP_REPO_URL = "https://git.example.com/aether/aether-2.git"


def ensure_helm() -> Path:
    """helm v3.19.0 in the cache, built from the Go module proxy on first use (minutes)."""
    binary = HELM_CACHE / "helm"
    if not binary.is_file():
        HELM_CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["go", "install", f"helm.sh/helm/v3/cmd/helm@{HELM_VERSION}"],
            env={**os.environ, "GOBIN": str(HELM_CACHE), "CGO_ENABLED": "0"},
            check=True,
            timeout=1800,
        )
    os.environ[HELM_ENV] = str(binary)
    find_helm.cache_clear()
    return binary


WORKLOAD = """\
apiVersion: apps/v1
kind: {kind}
metadata:
  name: {{{{ .Values.fullnameOverride | default .Release.Name }}}}
  labels: {{app.kubernetes.io/name: {name}, helm.sh/chart: {name}-{version}}}
spec:
  replicas: {{{{ .Values.replicaCount | default 1 }}}}
{service_name}  selector:
    matchLabels: {{app.kubernetes.io/name: {name}}}
  template:
    metadata:
      labels: {{app.kubernetes.io/name: {name}}}
    spec:
      containers:
        - name: {name}
          image: "docker.io/bitnami/{name}:{image_tag}"
          ports: [{{name: main, containerPort: {port}}}]
"""
SERVICE = """\
apiVersion: v1
kind: Service
metadata:
  name: {{{{ .Values.fullnameOverride | default .Release.Name }}}}
spec:
  selector: {{app.kubernetes.io/name: {name}}}
  ports: [{{name: main, port: {port}, targetPort: main}}]
"""
PDB = """\
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{{{ .Values.fullnameOverride | default .Release.Name }}}}
spec:
  maxUnavailable: 1
  selector:
    matchLabels: {{app.kubernetes.io/name: {name}}}
"""


@dataclass(frozen=True)
class TinyChart:
    name: str
    version: str
    kind: str = "Deployment"
    image_tag: str = "1.0.0"
    port: int = 8080
    pdb: bool = False


TINY_CHARTS = (
    TinyChart("postgresql", "16.4.0", "StatefulSet", "16.4.0", 5432),
    TinyChart("redis", "20.6.2", "StatefulSet", "7.4.1", 6379),
    TinyChart("kafka", "31.0.0", "StatefulSet", "3.8.0", 9092),
    # the bump: a newer image and a PodDisruptionBudget the old chart did not have
    TinyChart("kafka", "31.1.0", "StatefulSet", "3.9.0", 9092, pdb=True),
    TinyChart("nats", "1.2.8", "StatefulSet", "2.10.22", 4222),
    TinyChart("sops-secrets-operator", "0.24.1", "Deployment", "0.18.1", 8080),
)


def build_chart_repo(root: Path, helm: Path) -> Path:
    """Package the tiny charts into ``root/repo`` with an index.yaml, as a chart repo holds."""
    repo = root / "repo"
    repo.mkdir(parents=True)
    for chart in TINY_CHARTS:
        src = root / "src" / f"{chart.name}-{chart.version}"
        (src / "templates").mkdir(parents=True)
        (src / "Chart.yaml").write_text(
            f"apiVersion: v2\nname: {chart.name}\nversion: {chart.version}\n", encoding="utf-8"
        )
        (src / "values.yaml").write_text("replicaCount: 1\n", encoding="utf-8")
        service_name = f"  serviceName: {chart.name}\n" if chart.kind == "StatefulSet" else ""
        fields = dict(
            kind=chart.kind,
            name=chart.name,
            version=chart.version,
            image_tag=chart.image_tag,
            port=chart.port,
            service_name=service_name,
        )
        templates = src / "templates"
        (templates / "workload.yaml").write_text(WORKLOAD.format(**fields), encoding="utf-8")
        (templates / "service.yaml").write_text(SERVICE.format(**fields), encoding="utf-8")
        if chart.pdb:
            (templates / "pdb.yaml").write_text(PDB.format(**fields), encoding="utf-8")
        subprocess.run(
            [str(helm), "package", str(src), "--destination", str(repo)],
            check=True,
            capture_output=True,
        )
    subprocess.run([str(helm), "repo", "index", str(repo)], check=True, capture_output=True)
    return repo


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        return None


@contextlib.contextmanager
def serve(folder: Path) -> Iterator[str]:
    """``folder`` over HTTP on a free loopback port; yields the base URL."""
    handler = functools.partial(_Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@dataclass(frozen=True)
class Sources:
    chart_url: str
    app_repo: AppRepo

    def args(self) -> list[str]:
        """--source-map options pointing every source of the Aether repo at the local ones."""
        out: list[str] = []
        for url in CHART_REPOS:
            out += ["--source-map", f"{url}={self.chart_url}"]
        out += ["--source-map", f"{APP_REPO_URL}={self.app_repo.url}"]
        return out

    def url_map(self) -> dict[str, str]:
        pairs = self.args()[1::2]
        return dict(p.split("=", 1) for p in pairs)  # type: ignore[misc]


def make_sources(root: Path, chart_url: str, *, schema: bool = False) -> Sources:
    """The app repository with the stand-in platform chart. Without ``schema`` its
    values.schema.json is left out: the values render writes today do not meet it yet
    (hydration reports exactly that, as Argo CD would), and these tests are about hydration."""
    chart = STANDIN_CHART
    if not schema:
        chart = root / "chart-without-schema"
        shutil.copytree(STANDIN_CHART, chart)
        (chart / "values.schema.json").unlink()
    app_repo = make_app_repo(root / "aether-2", chart_src=chart, tag_names=PLATFORM_TAGS)
    return Sources(chart_url, app_repo)
