"""A Helm chart repository on loopback HTTP, serving the stand-in charts of tests/fixtures/charts.

A Helm repository is static files: ``index.yaml`` listing every chart version with its URL and
the SHA-256 digest of its package, and one ``<name>-<version>.tgz`` per version. Packages are
written here the way ``helm package`` writes them (a gzipped tar whose top folder is the chart's
name), deterministically: fixed mtimes, sorted entries, no owner names. A chart can be published
under several versions (``Chart.yaml``'s ``version`` is rewritten), so one fixture folder serves
every version the environments pin.

``stop()`` closes the port: an unreachable chart repository is exactly that.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import io
import tarfile
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml

from tests.testenv.component import Component

FIXTURE_CHARTS: Final = Path(__file__).resolve().parent.parent / "fixtures" / "charts"
# The stand-in dependency charts and the versions the environments (and promotions) pin.
STANDIN_VERSIONS: Final[Mapping[str, tuple[str, ...]]] = {
    "postgresql": ("16.4.0",),
    "redis": ("20.6.2",),
    "kafka": ("31.0.0", "31.1.0"),
    "nats": ("1.2.8",),
    "sops-secrets-operator": ("0.24.1",),
}
_EPOCH: Final = 1_700_000_000  # fixed mtime inside packages: same chart, same digest
_CREATED: Final = "2025-10-13T12:00:00Z"


def package_chart(chart_dir: Path, version: str | None = None) -> tuple[dict[str, Any], bytes]:
    """(Chart.yaml as a dict, the .tgz bytes) for `chart_dir`, optionally as `version`."""
    meta = yaml.safe_load((chart_dir / "Chart.yaml").read_text())
    if version is not None:
        meta = {**meta, "version": version}
    name = meta["name"]
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(p for p in chart_dir.rglob("*") if p.is_file()):
            rel = path.relative_to(chart_dir).as_posix()
            if rel == "Chart.yaml":
                data = yaml.safe_dump(meta, sort_keys=False).encode()
            else:
                data = path.read_bytes()
            info = tarfile.TarInfo(f"{name}/{rel}")
            info.size = len(data)
            info.mtime = _EPOCH
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return meta, gzip.compress(raw.getvalue(), mtime=_EPOCH)


def build_repository(
    target: Path,
    charts: Iterable[tuple[Path, Sequence[str]]],
    *,
    base_url: str = "",
) -> Path:
    """Write ``index.yaml`` and the packages into `target`; returns the index path.

    Package URLs are relative (``name-version.tgz``) unless `base_url` is given: Helm and
    Argo CD resolve them against the repository URL.
    """
    target.mkdir(parents=True, exist_ok=True)
    entries: dict[str, list[dict[str, Any]]] = {}
    for chart_dir, versions in charts:
        for version in versions:
            meta, tgz = package_chart(chart_dir, version)
            file_name = f"{meta['name']}-{meta['version']}.tgz"
            (target / file_name).write_bytes(tgz)
            entry = {
                **meta,
                "urls": [f"{base_url}{file_name}"],
                "digest": hashlib.sha256(tgz).hexdigest(),
                "created": _CREATED,
            }
            entries.setdefault(meta["name"], []).append(entry)
    index = {"apiVersion": "v1", "entries": entries, "generated": _CREATED}
    path = target / "index.yaml"
    path.write_text(yaml.safe_dump(index, sort_keys=True))
    return path


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        # Requests are counted, not printed: test output stays readable.
        self.server.requests.append(self.path)  # type: ignore[attr-defined]


@dataclass(eq=False)
class ChartRepo(Component):
    """The stand-in charts served at ``url`` (``http://127.0.0.1:<port>/``) while started.

    >>> with ChartRepo(tmp_path / "charts") as repo:
    ...     repo.url
    """

    root: Path
    charts: Mapping[str, Sequence[str]] = field(default_factory=lambda: dict(STANDIN_VERSIONS))
    charts_dir: Path = FIXTURE_CHARTS

    url: str = field(init=False, default="")
    requests: list[str] = field(init=False, default_factory=list)
    _server: http.server.ThreadingHTTPServer | None = field(init=False, default=None)
    _thread: threading.Thread | None = field(init=False, default=None)

    def start(self, port: int = 0) -> None:
        """Build the repository (once) and serve it; `port` 0 picks a free one."""
        if not (self.root / "index.yaml").is_file():
            build_repository(
                self.root,
                ((self.charts_dir / name, versions) for name, versions in self.charts.items()),
            )
        root = str(self.root)

        class Handler(_QuietHandler):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, directory=root, **kwargs)

        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        server.requests = self.requests  # type: ignore[attr-defined]
        server.daemon_threads = True
        self._server = server
        self.url = f"http://127.0.0.1:{server.server_address[1]}/"
        self._thread = threading.Thread(target=server.serve_forever, name="chartrepo", daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1].rstrip("/"))

    def stop(self) -> None:
        """Close the port (an unreachable repository); start(port=self.port) serves it again."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None
