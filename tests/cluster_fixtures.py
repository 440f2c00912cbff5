"""Pytest fixtures for the real test cluster (tests/testenv/), loaded as a plugin.

* ``kube_cluster`` (session): one etcd + kube-apiserver + kube-controller-manager per session
  (under pytest-xdist, per worker: `make test` runs one worker per core), started lazily by the
  first test that asks for it, stopped at the end of the session.
* ``kubeconfig`` (session): path of the admin kubeconfig (context ``readonly`` is the read-only
  user).
* ``kube_api`` (session): a ``kubernetes.client.ApiClient`` logged in as admin.
* ``kube_readonly_api`` (session): the same for the read-only user (RBAC ``view``).
* ``namespace`` (function): a fresh namespace for one test, deleted afterwards.
* ``pushgateway`` (session): a real Prometheus Pushgateway (tests/testenv/pushgateway.py);
  tests clear the groups they push.

Tests that use any of them are marked ``cluster`` automatically, so ``-m "not cluster"``
deselects them; marking them explicitly is still the house style.

Failure policy: with ``CI=true`` a cluster that cannot be built or started is an error in every
test that needs it — never a skip. Locally the cluster is built on first use as well; only a
machine without any Go toolchain skips those tests, with the reason shown.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from tests.testenv import argocd, gobuild, kube, process
from tests.testenv import pushgateway as gateway
from tests.testenv.errors import ClusterError

CLUSTER_FIXTURES = frozenset(
    {"kube_cluster", "kubeconfig", "kube_api", "kube_readonly_api", "namespace", "pushgateway"}
)

# Every pid a session cluster ever started; checked once the session is torn down.
_SESSION_PIDS: list[int] = []


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if CLUSTER_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.cluster)


# A build failure found while preparing the session, re-raised by the fixture in each test.
_BUILD_ERROR: list[BaseException] = []


def pytest_collection_finish(session: pytest.Session) -> None:
    """Build missing binaries once the selected tests are known, before any test runs.

    A cold build takes minutes; done here it is not charged to the first cluster test's timeout.
    Nothing is built when no selected test needs the cluster. (`make test` has normally built
    them already, so this is a quick check.)
    """
    if session.config.option.collectonly or not any(
        item.get_closest_marker("cluster") for item in session.items
    ):
        return
    if not _in_ci():
        try:
            gobuild.find_go()
        except ClusterError:
            return  # the fixture skips, with the reason
    capture = session.config.pluginmanager.getplugin("capturemanager")
    # Show the build's progress lines as they come: a silent ten-minute pause looks like a hang.
    uncaptured = capture.global_and_fixture_disabled() if capture else contextlib.nullcontext()
    try:
        with uncaptured:
            kube.ensure_binaries()
            if any(item.get_closest_marker("argocd") for item in session.items):
                argocd.ensure_binaries()
            if any("pushgateway" in getattr(item, "fixturenames", ()) for item in session.items):
                gateway.ensure_binary()
    except ClusterError as error:
        _BUILD_ERROR.append(error)


def _raise_keyboard_interrupt(signum: int, frame: FrameType | None) -> None:
    # Pytest tears session fixtures down on KeyboardInterrupt but dies outright on SIGTERM;
    # turning one into the other lets the cluster fixture stop its processes.
    raise KeyboardInterrupt


@pytest.fixture(scope="session")
def kube_cluster() -> Iterator[kube.KubeCluster]:
    if not _in_ci():
        try:
            gobuild.find_go()
        except ClusterError as error:
            pytest.skip(f"no test cluster on this machine: {error}")
    previous = signal.getsignal(signal.SIGTERM)
    if previous in (signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    if _BUILD_ERROR:
        raise _BUILD_ERROR[0]
    cluster = kube.KubeCluster()
    # Any failure here (build, start, CRDs) propagates: pytest reports an error for every test
    # that needs the cluster, and caches it so the start is not retried per test.
    cluster.start()
    _SESSION_PIDS.extend(cluster.pids)
    try:
        yield cluster
    finally:
        cluster.stop()
        if previous in (signal.SIG_DFL, None):
            signal.signal(signal.SIGTERM, signal.SIG_DFL)


@pytest.fixture(scope="session")
def kubeconfig(kube_cluster: kube.KubeCluster) -> Path:
    return kube_cluster.kubeconfig


def _api_client(kubeconfig: Path, context: str) -> Any:
    # Imported here: tests that never touch the cluster should not pay for the client.
    from kubernetes import client, config

    configuration = client.Configuration()
    config.load_kube_config(  # type: ignore[no-untyped-call]
        config_file=str(kubeconfig), context=context, client_configuration=configuration
    )
    return client.ApiClient(configuration)


@pytest.fixture(scope="session")
def kube_api(kubeconfig: Path) -> Iterator[Any]:
    """``kubernetes.client.ApiClient`` as the admin (system:masters)."""
    api = _api_client(kubeconfig, "admin")
    try:
        yield api
    finally:
        api.close()


@pytest.fixture(scope="session")
def kube_readonly_api(kubeconfig: Path) -> Iterator[Any]:
    """``kubernetes.client.ApiClient`` as a user bound to the built-in ``view`` ClusterRole."""
    api = _api_client(kubeconfig, "readonly")
    try:
        yield api
    finally:
        api.close()


@pytest.fixture(scope="session")
def pushgateway_server(
    kube_cluster: kube.KubeCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[gateway.Pushgateway]:
    # Depends on kube_cluster for its build and skip policy (and every user audits a cluster).
    if _BUILD_ERROR:
        raise _BUILD_ERROR[0]
    server = gateway.Pushgateway(tmp_path_factory.mktemp("pushgateway"))
    server.start()
    _SESSION_PIDS.extend(server.pids)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pushgateway(
    pushgateway_server: gateway.Pushgateway,
) -> Iterator[gateway.Pushgateway]:
    """The session's Pushgateway, emptied before and after each test that uses it."""
    pushgateway_server.clear()
    yield pushgateway_server
    pushgateway_server.clear()


def _namespace_name(test_name: str) -> str:
    slug = re.sub(r"[^a-z0-9-]+", "-", test_name.lower()).strip("-")[:40].strip("-")
    return f"t-{slug}-{secrets.token_hex(3)}"


@pytest.fixture
def namespace(request: pytest.FixtureRequest, kube_api: Any) -> Iterator[str]:
    """A namespace of this test's own, deleted (in the background) when the test ends."""
    from kubernetes import client

    core = client.CoreV1Api(kube_api)
    name = _namespace_name(request.node.name)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    # kube-controller-manager adds the `default` ServiceAccount shortly after; Pods cannot be
    # admitted without it, so wait (briefly) for tests that create Pods.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        accounts = core.list_namespaced_service_account(
            name, field_selector="metadata.name=default"
        )
        if accounts.items:
            break
        time.sleep(0.05)
    try:
        yield name
    finally:
        # Deletion finishes asynchronously (the namespace controller empties it); no test waits.
        core.delete_namespace(name, propagation_policy="Background")


# What each pytest-xdist worker found still running at its end, gathered by the controller.
_WORKER_SURVIVORS: list[int] = []


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """On the xdist controller: collect what a worker reported in its `workeroutput`."""
    _WORKER_SURVIVORS.extend(getattr(node, "workeroutput", {}).get("cluster_survivors", []))


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """After session fixtures are torn down: fail the run if a cluster process survived.

    An xdist worker's own exit status is not the run's, so a worker hands what it found (and
    killed) to the controller, which fails the run for it.
    """
    survivors = process.pids_alive(_SESSION_PIDS)
    for pid in survivors:
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["cluster_survivors"] = survivors
        return
    survivors = survivors + _WORKER_SURVIVORS
    if not survivors:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    message = f"test-cluster processes still running after the session: {survivors} (killed)"
    if reporter is not None:
        reporter.write_line(message, red=True)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
