"""An audit that cannot finish still prints its report: server refused, silent, gone, too slow.

The servers here are real sockets on loopback: one refusing connections, one accepting and never
answering (what a hung API server or a black-holed route looks like); the mid-run cases use the
real API server of the test cluster.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.drift_support import ENV, Kube, fixture_objects, write_manifests
from tests.helpers import Result, copy_aether, invoke_cli, run_cli

FORMATS = ("text", "json", "markdown", "junit")
MARKERS = {
    "text": f"drift {ENV}: ",
    "json": '"schemaVersion": "gitops-gen.io/drift/v1"',
    "markdown": f"## Drift report: `{ENV}`",
    "junit": "<testsuites>",
}


def _kubeconfig(tmp_path: Path, server: str) -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "c", "cluster": {"server": server, "insecure-skip-tls-verify": True}}
        ],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "x",
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections and never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()


@pytest.fixture
def refused_server() -> Iterator[str]:
    # Bound but never listening: every connection is refused, and while the port is held no
    # other server can take it.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"https://127.0.0.1:{sock.getsockname()[1]}"


def _json_part(stdout: str) -> dict[str, Any]:
    start = stdout.index('{\n  "schemaVersion"')
    document, _ = json.JSONDecoder().raw_decode(stdout[start:])
    assert isinstance(document, dict)
    return document


def _all_formats(*args: str, repo: Path) -> Result:
    # every caller checks the exit code through _assert_partial_report or by itself
    return invoke_cli("drift", ENV, *[a for f in FORMATS for a in ("-o", f)], *args, repo=repo)


def _assert_partial_report(result: Result, rule: str) -> dict[str, Any]:
    assert result.exit_code == 2, result.output
    for fmt in FORMATS:
        assert MARKERS[fmt] in result.stdout, (fmt, result.stdout)
    assert "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    report = _json_part(result.stdout)
    errors = [f for f in report["findings"] if f["type"] == "error"]
    assert errors and {f["rule"] for f in errors} == {rule}, errors
    assert report["stopped"] in result.stderr
    return report


def test_unreachable_server_prints_the_report_with_errors(
    aether: Path, tmp_path: Path, refused_server: str
) -> None:
    result = _all_formats("--kubeconfig", str(_kubeconfig(tmp_path, refused_server)), repo=aether)
    report = _assert_partial_report(result, "audit/unreachable")
    assert result.stderr.startswith(f"error: cannot reach the API server at {refused_server}")
    assert "connection refused" in result.stderr
    # nothing could be audited: one error per kind the environment renders, nothing else
    assert report["summary"]["objects"] == 0
    kinds = {f["ref"]["kind"] for f in report["findings"]}
    assert {"Application", "AppProject", "CronJob", "ClusterRole"} <= kinds
    assert all(f["type"] == "error" for f in report["findings"])


def test_timeout_per_request(aether: Path, tmp_path: Path, silent_server: str) -> None:
    started = time.monotonic()
    result = _all_formats(
        "--kubeconfig", str(_kubeconfig(tmp_path, silent_server)), "--timeout", "0.5", repo=aether
    )
    elapsed = time.monotonic() - started
    _assert_partial_report(result, "audit/unreachable")
    assert "no answer within --timeout 0.5 s" in result.stderr, result.stderr
    # the first unanswered request stops the audit: not one timeout per remaining request
    assert elapsed < 10, elapsed


def test_deadline_for_the_whole_audit(aether: Path, tmp_path: Path, silent_server: str) -> None:
    started = time.monotonic()
    result = _all_formats(
        "--kubeconfig",
        str(_kubeconfig(tmp_path, silent_server)),
        "--timeout",
        "30",
        "--deadline",
        "1",
        repo=aether,
    )
    elapsed = time.monotonic() - started
    _assert_partial_report(result, "audit/deadline")
    assert "the audit's --deadline of 1 s passed" in result.stderr, result.stderr
    assert elapsed < 10, elapsed


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--timeout", "0", "--timeout"),
        ("--deadline", "-1", "--deadline"),
        ("--timeout", "soon", "--timeout"),
    ],
)
def test_bad_limits_are_usage_errors(aether: Path, option: str, value: str, message: str) -> None:
    result = run_cli("drift", ENV, option, value, repo=aether, expect=2)
    assert message in result.stderr and "Traceback" not in result.output


@pytest.mark.cluster
def test_api_server_gone_mid_audit_prints_what_was_audited(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gitops_gen.drift import live
    from tests.testenv.kube import KubeCluster

    repo = copy_aether(tmp_path / "repo")
    objects = [
        o for o in fixture_objects("default") if o["kind"] in ("ConfigMap", "Service", "Deployment")
    ]
    manifests = write_manifests(tmp_path / "m", objects)
    with KubeCluster(controller_manager=False, install_crds=False) as cluster:
        kube = Kube(cluster.kubeconfig)
        for obj in objects:
            kube.client_side_apply(obj)
        kube.close()
        original = live.LiveCluster.list

        def list_then_stop(self: live.LiveCluster, resource: Any, namespace: Any) -> Any:
            items = original(self, resource, namespace)
            cluster.stop()  # the first LIST (ConfigMaps) succeeded; the server is gone after it
            return items

        monkeypatch.setattr(live.LiveCluster, "list", list_then_stop)
        result = _all_formats(
            "--manifests",
            str(manifests),
            "-n",
            "default",
            "--concurrency",
            "1",
            "--kubeconfig",
            str(cluster.kubeconfig),
            repo=repo,
        )
        server = cluster.server
    report = _assert_partial_report(result, "audit/unreachable")
    assert result.stderr.startswith(f"error: cannot reach the API server at {server}")
    # the ConfigMap was listed and compared (clean); the other types are one error each
    assert [o["ref"]["kind"] for o in report["objects"]] == ["ConfigMap"]
    assert sorted(f["ref"]["kind"] for f in report["findings"]) == [
        "Deployment",
        "HorizontalPodAutoscaler",
        "Service",
    ]
    assert "<error" in result.stdout  # the JUnit testcases of what was not audited


@pytest.mark.cluster
def test_deadline_mid_audit_on_the_real_server(
    kubeconfig: Path, namespace: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gitops_gen.drift import live

    repo = copy_aether(tmp_path / "repo")
    objects = [
        o for o in fixture_objects(namespace) if o["kind"] in ("ConfigMap", "Service", "Deployment")
    ]
    kube = Kube(kubeconfig)
    for obj in objects:
        kube.client_side_apply(obj)
    kube.close()
    manifests = write_manifests(tmp_path / "m", objects)
    original = live.LiveCluster.list

    def slow_list(self: live.LiveCluster, resource: Any, namespace: Any) -> Any:
        items = original(self, resource, namespace)
        time.sleep(4.5)  # a slow server: the deadline passes during the first LIST's answer
        return items

    monkeypatch.setattr(live.LiveCluster, "list", slow_list)
    result = _all_formats(
        "--manifests",
        str(manifests),
        "-n",
        namespace,
        "--concurrency",
        "1",
        "--deadline",
        "4",
        "--kubeconfig",
        str(kubeconfig),
        repo=repo,
    )
    report = _assert_partial_report(result, "audit/deadline")
    assert [o["ref"]["kind"] for o in report["objects"]] == ["ConfigMap"]
    assert result.stderr.startswith("error: the audit's --deadline of 4 s passed")
