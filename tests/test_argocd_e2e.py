"""End to end on a real Argo CD v3.2.11: the rendered repository syncs, and drift agrees.

One world per module (tests/argocd_e2e_support.py): a control plane, Argo CD, and the local
GitOps, app and chart repositories. The tests run in file order and build on each other's
state, as a user's day would: sync, audit, promote, turn auto-sync off and drift, lose the chart
repository.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.argocd_e2e_support import NAMESPACES, PLATFORM_TAG, World, patch, world
from tests.helpers import git, invoke_cli, run_cli
from tests.testenv import gitserver

pytestmark = [pytest.mark.cluster, pytest.mark.argocd, pytest.mark.slow]


@pytest.fixture(scope="module")
def e2e(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with pytest.MonkeyPatch.context() as env:
        # Module scope runs before the per-test isolation: give git an identity of its own.
        for name, value in {
            "GIT_AUTHOR_NAME": "E2E Author",
            "GIT_AUTHOR_EMAIL": "e2e@example.com",
            "GIT_COMMITTER_NAME": "E2E Committer",
            "GIT_COMMITTER_EMAIL": "e2e@example.com",
            "GIT_CONFIG_NOSYSTEM": "1",
        }.items():
            env.setenv(name, value)
        env.delenv("KUBECONFIG", raising=False)
        with world(tmp_path_factory.mktemp("argocd-e2e")) as w:
            w.apply_root("dev")
            w.apply_root("staging")
            yield w


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _rules(findings: list[dict[str, Any]]) -> list[str]:
    return sorted(f"{f['rule']} {f['ref']['kind']} {f['ref']['name']}" for f in findings)


def test_every_dev_application_syncs_with_waves_in_order(e2e: World) -> None:
    e2e.wait_synced("dev")
    waves = e2e.waves("dev")
    apps = {name: e2e.argo.application(name) or {} for name in waves}
    for earlier, early_wave in waves.items():
        history = (apps[earlier].get("status") or {}).get("history") or []
        assert history, f"{earlier} was never deployed:\n{e2e.describe()}"
        # The root moves on once a wave is Healthy, which can be before its hooks finish (the
        # platform's bootstrap Jobs): "in order" means no later wave exists before an earlier
        # wave's first sync started.
        deployed = _time(history[0]["deployStartedAt"])
        for later, late_wave in waves.items():
            if late_wave > early_wave:
                created = _time(apps[later]["metadata"]["creationTimestamp"])
                assert created >= deployed, (
                    f"{later} (wave {late_wave}) was created at {created}, before {earlier} "
                    f"(wave {early_wave}) started deploying at {deployed}"
                )


def test_drift_on_the_synced_state_is_clean(e2e: World) -> None:
    e2e.wait_synced("dev")
    # No sops-secrets-operator runs in the test cluster: the test creates the Secrets it would.
    e2e.play_operator("dev")
    code, findings, output = e2e.drift("dev")
    assert (code, _rules(findings)) == (0, []), output


def test_hydration_agrees_with_what_argo_cd_applied(e2e: World, tmp_path: Path) -> None:
    """Every dev Application hydrated offline (gitops-gen hydrate) against what the real Argo CD
    applied: the same objects as its status lists, and the same fields after canonicalisation
    (drift --hydrate audits each hydrated object against the live one and finds nothing)."""
    e2e.wait_synced("dev")
    e2e.play_operator("dev")
    out = tmp_path / "hydrated"
    run_cli("hydrate", "dev", "-o", str(out), repo=e2e.work, expect=0)
    attributed: set[tuple[str, str, str]] = set()
    for name in e2e.app_names("dev"):
        resources = (e2e.argo.application(name) or {}).get("status", {}).get("resources") or []
        applied = sorted(
            f"{r.get('group', '')}/{r['kind']} {r.get('namespace', '')}/{r['name']}"
            for r in resources
        )
        ours = []
        for file in sorted((out / name).glob("*.yaml")):
            obj = yaml.safe_load(file.read_text())
            annotations = obj["metadata"].get("annotations") or {}
            if "helm.sh/hook" in annotations or "argocd.argoproj.io/hook" in annotations:
                continue  # hooks run at sync time; Argo CD does not list them as resources
            group = obj["apiVersion"].rpartition("/")[0]
            namespace = obj["metadata"].get("namespace", "")
            ours.append(f"{group}/{obj['kind']} {namespace}/{obj['metadata']['name']}")
            attributed.add((name, obj["kind"], obj["metadata"]["name"]))
        assert sorted(ours) == applied, name
    result = run_cli(
        "drift", "dev", "--hydrate", "--kubeconfig", str(e2e.cluster.kubeconfig), "-o", "json",
        repo=e2e.work, expect=0,
    )  # fmt: skip
    report = json.loads(result.stdout)
    assert report["findings"] == []
    audited = {(o["app"], o["ref"]["kind"], o["ref"]["name"]) for o in report["objects"]}
    assert attributed <= audited


def test_tags_branches_and_shas_are_never_behind(e2e: World) -> None:
    """dev pins the platform by tag, staging by commit SHA, the GitOps repo is a branch."""
    e2e.wait_synced("staging")
    e2e.play_operator("staging")
    platform = e2e.status("dev-aether-platform")["sync"]
    # Argo CD records the commit the tag resolved to; drift must not compare it with the tag.
    assert platform["revisions"][0] == e2e.app.head
    assert platform["comparedTo"]["sources"][0]["targetRevision"] == PLATFORM_TAG
    assert e2e.status("staging-aether-platform")["sync"]["revisions"][0] == e2e.app.head
    for env in ("dev", "staging"):
        code, findings, output = e2e.drift(env)
        assert [f for f in findings if f["rule"] == "argo/revision-behind"] == [], output
        assert code == 0, output


def test_promotion_synced_by_argo_cd_has_no_revision_finding(e2e: World) -> None:
    run_cli("promote", "dev", "staging", "-o", "json", repo=e2e.work, expect=0)
    branch = next(
        line.split()[-1]
        for line in git(e2e.work, "branch", "--list", "promote/*").splitlines()
        if line.strip()
    )
    git(e2e.work, "merge", "-q", "--no-edit", branch)
    pushed = gitserver.push(e2e.work)
    e2e.refresh_all()

    def promoted() -> bool:
        sync = e2e.status("staging-aether-platform").get("sync") or {}
        compared = (sync.get("comparedTo") or {}).get("sources") or [{}]
        return compared[0].get("targetRevision") == PLATFORM_TAG and e2e.synced(
            e2e.app_names("staging")
        )

    e2e.wait("staging synced at the promoted revision", promoted)
    e2e.wait_compared("staging", pushed)
    root = e2e.status("staging-eu1-root")["sync"]
    assert root["revision"] == pushed
    code, findings, output = e2e.drift("staging")
    assert [f for f in findings if f["rule"].startswith("argo/revision")] == [], output
    assert code == 0, output


def test_injected_drift_is_reported_once_and_argo_cd_agrees(e2e: World) -> None:
    e2e.wait_synced("dev")
    e2e.play_operator("dev")
    pushed = e2e.edit(
        "environments/dev.yaml",
        lambda text: text.replace(
            "sync: {automated: true, prune: true, selfHeal: true}",
            "sync: {automated: false, prune: true, selfHeal: true}",
        ),
        "dev: auto-sync off",
    )
    # The root's rendered syncPolicy changed too (no automated sync in this cluster any more):
    # apply it by hand, as for any root change, and sync it once by hand.
    e2e.apply_root("dev")
    e2e.argo.refresh("dev-eu1-root")
    e2e.wait(
        "the root to compare the pushed commit",
        lambda: (e2e.status("dev-eu1-root").get("sync") or {}).get("revision") == pushed,
    )
    e2e.sync_to("dev-eu1-root", pushed)

    def manual() -> bool:
        # Every one of them: the root applies them wave by wave, and an Application still
        # automated would self-heal what the test injects.
        for name in e2e.app_names("dev"):
            app = e2e.argo.application(name) or {}
            if "automated" in ((app.get("spec") or {}).get("syncPolicy") or {}):
                return False
        return True

    e2e.wait("dev Applications without automated sync", manual)
    e2e.wait_compared("dev", pushed)
    namespace = NAMESPACES["dev"]
    # Objects render writes (the audit's CronJob) get a finding of their own; objects of a chart
    # (a ConfigMap, a Service) are seen through Argo CD's status: its out-of-sync finding.
    patch(
        e2e,
        f"/apis/batch/v1/namespaces/{namespace}/cronjobs/gitops-gen-drift",
        {"spec": {"schedule": "*/5 * * * *"}},
    )
    patch(
        e2e,
        f"/api/v1/namespaces/{namespace}/configmaps/redis-standin",
        {"data": {"architecture": "replication"}},
    )
    patch(
        e2e,
        f"/api/v1/namespaces/{namespace}/services/kafka",
        {"spec": {"ports": [{"name": "main", "port": 9093, "targetPort": 9092}]}},
    )
    injected = {
        ("CronJob", "gitops-gen-drift"): "dev-drift-audit",
        ("ConfigMap", "redis-standin"): "dev-redis",
        ("Service", "kafka"): "dev-kafka",
    }
    apps = set(injected.values())
    for app in apps:
        e2e.argo.refresh(app)

    def out_of_sync() -> set[tuple[str, str]]:
        seen = set()
        for app in apps:
            for resource in e2e.status(app).get("resources") or []:
                if resource.get("status") == "OutOfSync":
                    seen.add((resource["kind"], resource["name"]))
        return seen

    e2e.wait(
        "Argo CD marking the injected resources OutOfSync", lambda: set(injected) <= out_of_sync()
    )
    assert out_of_sync() == set(injected), e2e.describe(sorted(apps))
    code, findings, output = e2e.drift("dev")
    assert code == 1, output
    direct = [f for f in findings if (f["ref"]["kind"], f["ref"]["name"]) in injected]
    assert [(f["ref"]["name"], f["rule"]) for f in direct] == [
        ("gitops-gen-drift", "drift/field-modified")
    ], output
    assert direct[0]["live"] == "*/5 * * * *", output
    listed = {
        f["ref"]["name"]: f["live"]["resources"]
        for f in findings
        if f["rule"] == "argo/out-of-sync"
    }
    assert listed == {
        "dev-drift-audit": [f"CronJob.batch {namespace}/gitops-gen-drift"],
        "dev-redis": [f"ConfigMap {namespace}/redis-standin"],
        "dev-kafka": [f"Service {namespace}/kafka"],
    }, output
    assert len(findings) == len(direct) + len(listed), output


def test_unreachable_chart_repository_is_a_comparison_error(e2e: World) -> None:
    port = e2e.charts.port
    e2e.charts.stop()
    try:
        e2e.argo.refresh("dev-nats", hard=True)

        def failing() -> bool:
            conditions = e2e.status("dev-nats").get("conditions") or []
            return any(c.get("type") == "ComparisonError" for c in conditions)

        e2e.wait("dev-nats to report a ComparisonError", failing)
        (condition,) = [
            c for c in e2e.status("dev-nats")["conditions"] if c["type"] == "ComparisonError"
        ]
        code, findings, output = e2e.drift("dev")
        errors = [f for f in findings if f["rule"] == "argo/comparison-error"]
        assert [f["ref"]["name"] for f in errors if f["ref"]["name"] == "dev-nats"], output
        (nats,) = [f for f in errors if f["ref"]["name"] == "dev-nats"]
        assert condition["message"] in nats["message"], output
        assert str(port) in nats["message"], output
        assert code == 1, output
    finally:
        e2e.charts.start(port=port)


def test_environment_copy_is_what_validate_accepts(e2e: World, tmp_path: Path) -> None:
    run_cli("validate", "dev", "staging", repo=e2e.work, expect=0)


def test_a_stopped_controller_makes_every_verdict_stale(e2e: World) -> None:
    """Argo CD's Synced means nothing while its controller is down: drift says so. Last in the
    module: the controller is not started again."""
    apps = e2e.app_names("dev")
    e2e.argo.stop_controller()
    stopped = time.monotonic()
    time.sleep(25)
    # No refresh happened since: every reconciledAt is older than the time waited.
    frozen = {name: e2e.status(name) for name in apps}
    assert all(status.get("reconciledAt") for status in frozen.values())
    assert any((s.get("sync") or {}).get("status") == "Synced" for s in frozen.values())
    result = invoke_cli(
        "drift",
        "dev",
        "--kubeconfig",
        str(e2e.cluster.kubeconfig),
        "-o",
        "json",
        "--stale-after",
        "20s",
        repo=e2e.work,
    )
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    stale = {f["ref"]["name"]: f for f in report["findings"] if f["rule"] == "argo/stale-verdict"}
    assert set(apps) <= set(stale), result.output  # (and the root Application)
    for name in apps:
        assert stale[name]["live"] == frozen[name]["reconciledAt"]
        assert "more than the 20s allowed (--stale-after)" in stale[name]["message"]
    assert time.monotonic() - stopped >= 25
