"""drift --hydrate on the real API server with Argo CD absent: the workloads themselves."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import pytest

from gitops_gen.hydrate import hydrate_environment
from gitops_gen.hydrate.objects import is_hook
from gitops_gen.hydrate.sources import Fetcher
from gitops_gen.model import load_platform
from tests.drift_support import ENV, Kube, rendered_objects, retarget
from tests.helpers import run_cli
from tests.hydrate_support import Sources, aether_copy, ensure_helm, local_sources


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> Any:
    ensure_helm()
    with local_sources(tmp_path_factory.mktemp("sources")) as served:
        yield served


def _apply(kube: Kube, obj: dict[str, Any], namespace: str) -> None:
    obj = json.loads(json.dumps(obj))
    if obj["kind"] in ("ClusterRole", "ClusterRoleBinding"):
        obj["metadata"].pop("namespace", None)
    else:
        obj["metadata"].setdefault("namespace", namespace)
    kube.server_side_apply(obj)


@pytest.mark.cluster
def test_drift_hydrate_catches_a_hand_edited_image_with_argo_cd_absent(
    kubeconfig: Path, sources: Sources, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    suffix = secrets.token_hex(3)
    repo = aether_copy(tmp_path / "aether", sources)
    retarget(repo, f"hyd-{suffix}", f"hyd-argocd-{suffix}")
    platform = load_platform(repo)
    env = platform.environment(ENV)
    kube = Kube(kubeconfig)
    try:
        for ns in (env.namespace, platform.catalog.platform.argocd_namespace):
            kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        # what Argo CD would sync: the rendered objects and every Application's manifests
        # (hooks run at sync time and are deleted on success, so they are not left live)
        hydrated = hydrate_environment(platform, ENV, fetcher=Fetcher(url_map=sources.url_map()))
        assert not [h.error for h in hydrated if h.error]
        objects = rendered_objects(repo) + [
            o for h in hydrated for o in h.objects if not is_hook(o)
        ]
        for obj in sorted(objects, key=lambda o: o["kind"] != "ServiceAccount"):
            _apply(kube, obj, env.namespace)
        for secret in env.required_secrets:
            kube.server_side_apply(
                {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": {"name": secret.name, "namespace": env.namespace},
                    "stringData": {key: f"value-{key}" for key in secret.keys},
                }
            )

        def audit() -> Any:
            return run_cli(
                "drift", ENV, "--hydrate", "--kubeconfig", str(kubeconfig), "-o", "json",
                *sources.args(), repo=repo, expect=1,
            )  # fmt: skip

        # Argo CD is absent: its layer says so (no Application was ever reconciled), and that
        # is all; every workload object hydrated from the Applications matches the cluster
        clean = audit()
        assert clean.exit_code == 1, clean.output
        report = json.loads(clean.stdout)
        assert {f["rule"] for f in report["findings"]} == {"argo/not-reconciled"}
        audited = {(o["app"], o["ref"]["kind"], o["ref"]["name"]) for o in report["objects"]}
        assert (f"{ENV}-aether-platform", "Deployment", "aether-2-ui") in audited
        assert (f"{ENV}-kafka", "Service", "kafka") in audited

        deployment = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "aether-2-ui", "namespace": env.namespace},
        }
        live = kube.get(deployment)
        containers = live["spec"]["template"]["spec"]["containers"]
        kube.merge_patch(
            deployment,
            {
                "spec": {
                    "template": {
                        "spec": {
                            "containers": [
                                {**c, "image": "ghcr.io/evil/aether-2-ui:hand-edited"}
                                if c["name"] == containers[0]["name"]
                                else c
                                for c in containers
                            ]
                        }
                    }
                }
            },
        )
        drifted = audit()
        assert drifted.exit_code == 1, drifted.output
        findings = json.loads(drifted.stdout)["findings"]
        image = [f for f in findings if f["rule"] != "argo/not-reconciled"]
        assert len(image) == 1, image
        assert str(image[0]["path"]).endswith("/image")
        assert image[0]["app"] == f"{ENV}-aether-platform"
        assert image[0]["ref"]["kind"] == "Deployment"
        assert image[0]["ref"]["name"] == "aether-2-ui"
        assert image[0]["live"] == "ghcr.io/evil/aether-2-ui:hand-edited"

        # without --hydrate the same audit cannot see it (Argo CD is the only witness)
        plain = run_cli(
            "drift", ENV, "--kubeconfig", str(kubeconfig), "-o", "json", repo=repo, expect=1
        )
        rules = {f["rule"] for f in json.loads(plain.stdout)["findings"]}
        assert rules == {"argo/not-reconciled"}
    finally:
        for ns in (env.namespace, platform.catalog.platform.argocd_namespace):
            kube.delete({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        kube.close()
