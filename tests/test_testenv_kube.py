"""Smoke tests proving the test cluster is a real Kubernetes control plane, not a stand-in."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.testenv import kube, process

pytestmark = pytest.mark.cluster


def _application(name: str, namespace: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def test_server_reports_the_pinned_version(kube_api: Any) -> None:
    info = client.VersionApi(kube_api).get_code()
    assert info.git_version == kube.KUBERNETES_VERSION
    major, minor = kube.KUBERNETES_VERSION.removeprefix("v").split(".")[:2]
    assert (info.major, info.minor) == (major, minor)


def test_deployment_comes_back_with_server_defaults(kube_api: Any, namespace: str) -> None:
    apps = client.AppsV1Api(kube_api)
    labels = {"app": "web"}
    apps.create_namespaced_deployment(
        namespace,
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
                },
            },
        },
    )
    live = apps.read_namespaced_deployment("web", namespace)
    # None of these were sent: the API server's defaulting filled them in.
    assert live.spec.replicas == 1
    assert live.spec.strategy.type == "RollingUpdate"
    assert live.spec.strategy.rolling_update.max_surge == "25%"
    assert live.spec.revision_history_limit == 10
    container = live.spec.template.spec.containers[0]
    assert container.image_pull_policy == "IfNotPresent"
    assert container.termination_message_path == "/dev/termination-log"
    assert container.termination_message_policy == "File"
    assert live.spec.template.spec.restart_policy == "Always"
    assert live.metadata.managed_fields, "server-side field ownership is recorded"


def test_argo_cd_application_schema_is_enforced(kube_api: Any, namespace: str) -> None:
    custom = client.CustomObjectsApi(kube_api)
    group, version, plural = "argoproj.io", "v1alpha1", "applications"
    good = _application(
        "good",
        namespace,
        {
            "project": "default",
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "demo"},
            "source": {"repoURL": "https://example.com/repo.git", "path": "apps"},
        },
    )
    custom.create_namespaced_custom_object(group, version, namespace, plural, good)

    bad = _application(
        "bad",
        namespace,
        {"project": "default", "destination": "in-cluster", "source": {"repoURL": 42}},
    )
    with pytest.raises(ApiException) as caught:
        custom.create_namespaced_custom_object(group, version, namespace, plural, bad)
    assert caught.value.status == 422
    assert "spec.destination" in caught.value.body
    assert "spec.source.repoURL" in caught.value.body


def test_appproject_and_sopssecret_crds_are_served(kube_api: Any, namespace: str) -> None:
    custom = client.CustomObjectsApi(kube_api)
    custom.create_namespaced_custom_object(
        "argoproj.io",
        "v1alpha1",
        namespace,
        "appprojects",
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "AppProject",
            "metadata": {"name": "aether"},
            "spec": {"sourceRepos": ["*"], "destinations": [{"server": "*", "namespace": "*"}]},
        },
    )
    sops_secret = {
        "apiVersion": "isindir.github.com/v1alpha3",
        "kind": "SopsSecret",
        "metadata": {"name": "kraken"},
        "spec": {"secretTemplates": [{"name": "kraken", "stringData": {"key": "ENC[AES256]"}}]},
        "sops": {"mac": "ENC[AES256]", "version": "3.11.0", "age": [{"recipient": "age1x"}]},
    }
    custom.create_namespaced_custom_object(
        "isindir.github.com", "v1alpha3", namespace, "sopssecrets", sops_secret
    )
    sops_secret["metadata"] = {"name": "empty"}
    sops_secret["spec"] = {"secretTemplates": []}
    with pytest.raises(ApiException) as caught:
        custom.create_namespaced_custom_object(
            "isindir.github.com", "v1alpha3", namespace, "sopssecrets", sops_secret
        )
    assert caught.value.status == 422


def test_readonly_token_is_denied_writes_by_rbac(
    kube_readonly_api: Any, kube_api: Any, namespace: str
) -> None:
    client.CoreV1Api(kube_api).create_namespaced_config_map(
        namespace, {"metadata": {"name": "visible"}, "data": {"a": "1"}}
    )
    reader = client.CoreV1Api(kube_readonly_api)
    names = [cm.metadata.name for cm in reader.list_namespaced_config_map(namespace).items]
    assert "visible" in names
    with pytest.raises(ApiException) as caught:
        reader.create_namespaced_config_map(namespace, {"metadata": {"name": "nope"}})
    assert caught.value.status == 403
    assert kube.READONLY_USER in caught.value.body


def test_controller_manager_collects_garbage(kube_api: Any, namespace: str) -> None:
    core = client.CoreV1Api(kube_api)
    owner = core.create_namespaced_config_map(namespace, {"metadata": {"name": "owner"}})
    core.create_namespaced_config_map(
        namespace,
        {
            "metadata": {
                "name": "dependent",
                "ownerReferences": [
                    {
                        "apiVersion": "v1",
                        "kind": "ConfigMap",
                        "name": "owner",
                        "uid": owner.metadata.uid,
                    }
                ],
            }
        },
    )
    core.delete_namespaced_config_map("owner", namespace, propagation_policy="Background")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            core.read_namespaced_config_map("dependent", namespace)
        except ApiException as error:
            assert error.status == 404
            return
        time.sleep(0.2)
    pytest.fail("the garbage collector did not delete the dependent within 60 s")


def test_stopping_a_cluster_leaves_no_process_or_folder(kube_cluster: Any) -> None:
    # A second, short-lived cluster (the binaries are cached by now, so this takes seconds).
    second = kube.KubeCluster(install_crds=False)
    with second:
        pids = second.pids
        workdir = second.workdir
        assert len(pids) == 3, "etcd, kube-apiserver and kube-controller-manager"
        assert process.pids_alive(pids) == pids
        assert second.request("GET", "/version")["gitVersion"] == kube.KUBERNETES_VERSION
    assert process.pids_alive(pids) == []
    assert not Path(workdir).exists()
    # The session's own cluster is untouched by the second one stopping.
    assert process.pids_alive(kube_cluster.pids) == kube_cluster.pids
