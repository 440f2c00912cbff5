"""A real Prometheus Pushgateway on loopback, for ``drift --pushgateway``.

Built like the control plane (tests/testenv/gobuild.py): ``github.com/prometheus/pushgateway``
at a pinned version through a throw-away wrapper module, version-stamped the way its own release
build (``.promu.yml``) stamps it, cached under ``~/.cache/gitops-gen/pushgateway/<version>/``.
Fully cold (empty Go module and build caches) it took 2 min 39 s here, 39 s when the Go caches
already held its dependencies; warm, a fraction of a second.

:class:`Pushgateway` starts it on a free port with no persistence (each start is empty) and
reads back what was pushed through its JSON API (``GET /api/v1/metrics``).
"""

from __future__ import annotations

import json
import tempfile
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from tests.testenv import gobuild
from tests.testenv.component import Component
from tests.testenv.errors import ClusterError
from tests.testenv.gobuild import say
from tests.testenv.process import Process, free_port, spawn, wait_http

PUSHGATEWAY_MODULE: Final = "github.com/prometheus/pushgateway"
PUSHGATEWAY_VERSION: Final = "v1.11.1"
# Bump when the way the binary is built changes (see gobuild.is_current).
BUILD_RECIPE: Final = "1"
READY_TIMEOUT_S: Final = 30.0

# Only records the command this wrapper builds, so `go mod tidy` keeps its requirements.
_TOOLS = """\
//go:build tools

// Package tools only records the command this wrapper builds, so `go mod tidy` keeps it.
package tools

import _ "github.com/prometheus/pushgateway"
"""


def pushgateway_dir(version: str = PUSHGATEWAY_VERSION) -> Path:
    return gobuild.cache_root() / "pushgateway" / version


def build_pushgateway(version: str, target_dir: Path) -> dict[str, float]:
    """Build the pushgateway `version` into `target_dir` unless it is cached already."""
    target = target_dir / "pushgateway"
    if gobuild.is_current(target, BUILD_RECIPE):
        return {}
    info = gobuild.go_mod_download(PUSHGATEWAY_MODULE, version)
    dependency = gobuild.parse_go_mod(Path(info["GoMod"]).read_text())
    with tempfile.TemporaryDirectory(prefix="gitops-gen-pushgateway-build-") as tmp:
        workdir = Path(tmp)
        log = target_dir / "build.log"
        log.unlink(missing_ok=True)
        gobuild.prepare_wrapper(
            workdir,
            module="gitops-gen.test/pushgateway-build",
            dependency=dependency,
            require={PUSHGATEWAY_MODULE: version},
            replace_lines=gobuild.mirrored_replaces(dependency.replaces, lambda _m: version),
            source=("tools.go", _TOOLS),
            log=log,
        )
        say(f"building pushgateway {version} (up to 3 minutes on cold Go caches)…")
        package = "github.com/prometheus/common/version"
        seconds = gobuild.go_build(
            workdir=workdir,
            package=PUSHGATEWAY_MODULE,
            target=target,
            ldflags=[
                f"-X {package}.Version={version.removeprefix('v')}",
                f"-X {package}.Revision={info.get('Origin', {}).get('Hash', '')}",
                f"-X {package}.Branch=HEAD",
                f"-X {package}.BuildUser=gitops-gen-testenv",
                f"-X {package}.BuildDate={gobuild.module_time(info)}",
            ],
            log=log,
            recipe=BUILD_RECIPE,
        )
        say(f"built pushgateway {version} in {seconds:.0f} s")
    return {"pushgateway": seconds}


def ensure_binary(version: str = PUSHGATEWAY_VERSION) -> Path:
    """The cached pushgateway binary, building it if missing."""
    with gobuild.build_lock(pushgateway_dir(version)):
        build_pushgateway(version, pushgateway_dir(version))
    return pushgateway_dir(version) / "pushgateway"


@dataclass(eq=False)
class Pushgateway(Component):
    """A Pushgateway at ``url`` (``http://127.0.0.1:<port>``) while started.

    >>> with Pushgateway(tmp_path / "pgw") as gateway:
    ...     gateway.groups()
    """

    workdir: Path
    version: str = PUSHGATEWAY_VERSION

    url: str = field(init=False, default="")
    _process: Process | None = field(init=False, default=None)

    def start(self) -> None:
        binary = ensure_binary(self.version)
        self.workdir.mkdir(parents=True, exist_ok=True)
        port = free_port()
        self._process = spawn(
            "pushgateway",
            [
                str(binary),
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=info",
                # PUT /api/v1/admin/wipe: tests empty it between them.
                "--web.enable-admin-api",
                # No --persistence.file: every start begins empty.
            ],
            log_dir=self.workdir,
        )
        self.url = f"http://127.0.0.1:{port}"
        try:
            wait_http(f"{self.url}/-/ready", self._process, timeout=READY_TIMEOUT_S)
        except ClusterError:
            self.stop()
            raise

    def stop(self) -> None:
        if self._process is not None:
            self._process.stop()
            self._process = None

    @property
    def pids(self) -> list[int]:
        return [self._process.pid] if self._process is not None else []

    def groups(self) -> list[dict[str, Any]]:
        """Every pushed group, as ``GET /api/v1/metrics`` returns them (its ``data`` list)."""
        with urllib.request.urlopen(f"{self.url}/api/v1/metrics", timeout=10) as response:  # noqa: S310
            document = json.loads(response.read())
        if document.get("status") != "success":
            raise ClusterError(f"pushgateway {self.url}/api/v1/metrics answered {document}")
        data: list[dict[str, Any]] = document.get("data") or []
        return data

    def samples(self) -> list[tuple[str, dict[str, str], float]]:
        """Every pushed series as (metric name, labels, value), from :meth:`groups`."""
        found: list[tuple[str, dict[str, str], float]] = []
        for group in self.groups():
            for name, family in group.items():
                if name == "labels" or not isinstance(family, dict):
                    continue
                for metric in family.get("metrics") or []:
                    found.append((name, dict(metric["labels"]), float(metric["value"])))
        return found

    def clear(self) -> None:
        """Delete every group (the admin API's wipe)."""
        request = urllib.request.Request(f"{self.url}/api/v1/admin/wipe", method="PUT")  # noqa: S310
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            if response.status not in (200, 202):
                raise ClusterError(f"pushgateway wipe answered HTTP {response.status}")

    def exposition(self) -> str:
        """``GET /metrics``: everything pushed, as Prometheus would scrape it."""
        with urllib.request.urlopen(f"{self.url}/metrics", timeout=10) as response:  # noqa: S310
            text: str = response.read().decode()
        return text
