"""Drift comparison cases a user meets, found by mutation testing (docs/testing.md): each one
is a false positive to avoid or a real change that must be reported, with its path."""

from __future__ import annotations

from typing import Any

from gitops_gen.drift.canonical import prepare_desired, scope_object, strip_object
from gitops_gen.drift.compare import compare_object
from gitops_gen.drift.findings import ObjectRef


def _diffs(desired: dict[str, Any], live: dict[str, Any]) -> list[tuple[str, str, Any, Any]]:
    prepared = prepare_desired(desired)
    return [
        (d.type.value, "/".join(str(t) for t in d.tokens), d.desired, d.live)
        for d in compare_object(ObjectRef.of(prepared), prepared, strip_object(live))
    ]


def _paths(desired: dict[str, Any], live: dict[str, Any]) -> list[tuple[str, str]]:
    return [(kind, path) for kind, path, _, _ in _diffs(desired, live)]


def _service(ports: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "dns", "namespace": "n"},
        "spec": {"ports": ports},
    }


def _container(**fields: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "n"},
        "spec": {"template": {"spec": {"containers": [{"name": "a", **fields}]}}},
    }


TCP = {"name": "dns-tcp", "port": 53, "protocol": "TCP"}
UDP = {"name": "dns-udp", "port": 53, "protocol": "UDP"}


def test_service_ports_match_by_port_and_protocol_in_any_order() -> None:
    assert _paths(_service([TCP, UDP]), _service([UDP, TCP])) == []
    # the same port number over another protocol is another port: its loss is reported
    assert _paths(_service([TCP, UDP]), _service([TCP])) == [("missing", "spec/ports/1")]


def test_port_without_protocol_means_tcp() -> None:
    plain = {"port": 53}
    assert _paths(_service([plain]), _service([{**TCP}])) == []
    # a port only live is an extra element of a keyed list
    assert _paths(_service([plain]), _service([UDP, TCP])) == [("extra", "spec/ports/0")]
    # UDP live is not the TCP port the manifest asks for (paired by position: a modification)
    assert _paths(_service([TCP]), _service([UDP])) == [
        ("modified", "spec/ports/0/name"),
        ("modified", "spec/ports/0/protocol"),
    ]


def test_omitted_protocol_is_tcp_so_udp_live_is_drift() -> None:
    # the manifest never says TCP, but that is what the server stores for it: UDP live differs
    assert _diffs(_service([{"port": 53}]), _service([{"port": 53, "protocol": "UDP"}])) == [
        ("modified", "spec/ports/0/protocol", "TCP", "UDP")
    ]
    # a changed port number as well: both are reported on the one element
    assert _paths(_service([{"port": 53}]), _service([{"port": 54, "protocol": "UDP"}])) == [
        ("modified", "spec/ports/0/port"),
        ("modified", "spec/ports/0/protocol"),
    ]
    desired = _container(ports=[{"containerPort": 8080, "name": "http"}])
    live = _container(ports=[{"containerPort": 8080, "name": "http", "protocol": "SCTP"}])
    assert _diffs(desired, live) == [
        ("modified", "spec/template/spec/containers/0/ports/0/protocol", "TCP", "SCTP")
    ]


def test_container_ports_match_by_container_port() -> None:
    ports = [{"containerPort": 8080, "name": "http"}, {"containerPort": 9090, "name": "metrics"}]
    desired = _container(ports=ports)
    assert _paths(desired, _container(ports=list(reversed(ports)))) == []
    live = _container(ports=[{"containerPort": 9090, "name": "metrics"}])
    assert _paths(desired, live) == [("missing", "spec/template/spec/containers/0/ports/0")]


def test_ports_without_their_key_are_positional() -> None:
    # named-only ports (no number) cannot be keyed: compared by position, never crash
    desired = _container(ports=[{"name": "http"}])
    assert _paths(desired, _container(ports=[{"name": "http"}])) == []
    assert _paths(desired, _container(ports=[{"name": "web"}])) == [
        ("modified", "spec/template/spec/containers/0/ports/0/name")
    ]


def _network_policy(ports: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "dns", "namespace": "n"},
        "spec": {"egress": [{"ports": ports}]},
    }


def test_network_policy_port_without_protocol_is_tcp_in_a_positional_list() -> None:
    # a portless element (all UDP ports) makes the list positional: the omitted protocol of
    # the other element still means TCP (no schema here: the built-in default of ports)
    desired = _network_policy([{"port": 53}, {"protocol": "UDP"}])
    clean = _network_policy([{"port": 53, "protocol": "TCP"}, {"protocol": "UDP"}])
    assert _paths(desired, clean) == []
    live = _network_policy([{"port": 53, "protocol": "SCTP"}, {"protocol": "UDP"}])
    assert _diffs(desired, live) == [("modified", "spec/egress/0/ports/0/protocol", "TCP", "SCTP")]
    # a field named protocol elsewhere has no such default
    other = _network_policy([{"port": 53, "protocol": "TCP"}])
    other["spec"]["egress"][0]["protocol"] = "UDP"
    assert _paths(_network_policy([{"port": 53}]), other) == []


def _statefulset(*claims: tuple[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "db", "namespace": "n"},
        "spec": {
            "volumeClaimTemplates": [
                {"metadata": {"name": name}, "spec": {"resources": {"requests": {"storage": s}}}}
                for name, s in claims
            ]
        },
    }


def test_volume_claim_templates_match_by_name() -> None:
    desired = _statefulset(("data", "1Gi"), ("wal", "2Gi"))
    assert _paths(desired, _statefulset(("wal", "2Gi"), ("data", "1024Mi"))) == []
    assert _paths(desired, _statefulset(("wal", "2Gi"), ("data", "5Gi"))) == [
        ("modified", "spec/volumeClaimTemplates/1/spec/resources/requests/storage")
    ]


def test_a_finding_carries_both_values() -> None:
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "n"}}
    assert _diffs({**config, "data": {"mode": "fast"}}, {**config, "data": {"mode": "slow"}}) == [
        ("modified", "data/mode", "fast", "slow")
    ]


def test_a_removed_finalizer_is_missing() -> None:
    desired = _container()
    desired["metadata"]["finalizers"] = ["keep", "audit"]
    live = _container()
    live["metadata"]["finalizers"] = ["keep", "other"]
    assert _diffs(desired, live) == [("missing", "metadata/finalizers", ["audit"], None)]


def test_a_list_replaced_by_another_type_is_modified() -> None:
    desired = _container(args=["--fast"])
    assert _diffs(desired, _container(args="--fast")) == [
        ("modified", "spec/template/spec/containers/0/args", ["--fast"], "--fast")
    ]
    # an empty list asked for, something else live: still a change
    assert _paths(_container(args=[]), _container(args="x")) == [
        ("modified", "spec/template/spec/containers/0/args")
    ]


def test_a_keyed_list_replaced_by_a_scalar_is_modified() -> None:
    desired = _container(env=[{"name": "A", "value": "1"}])
    assert _paths(desired, _container(env="A=1")) == [
        ("modified", "spec/template/spec/containers/0/env")
    ]


def test_zero_and_empty_string_are_absent_in_core_objects_only() -> None:
    # the server drops omitempty zero values of built-in kinds: not drift
    assert _paths(_container(tty=False, workingDir=""), _container()) == []
    deployment = _container()
    deployment["spec"]["minReadySeconds"] = 0
    assert _paths(deployment, _container()) == []
    # a non-zero value the server does not have is missing
    deployment["spec"]["minReadySeconds"] = 5
    assert _paths(deployment, _container()) == [("missing", "spec/minReadySeconds")]
    # a custom resource keeps its zero values: one gone live is reported
    custom = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w", "namespace": "n"},
        "spec": {"replicas": 0, "enabled": False, "label": ""},
    }
    live = {**custom, "spec": {}}
    assert _paths(custom, live) == [("missing", "spec/enabled"), ("missing", "spec/replicas")]


def test_quantities_compare_by_value_only_in_resource_fields() -> None:
    desired = _container(resources={"limits": {"memory": "1Gi"}})
    assert _paths(desired, _container(resources={"limits": {"memory": "1024Mi"}})) == []
    volume = {"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}}
    pod = _container()
    pod["spec"]["template"]["spec"]["volumes"] = [volume]
    live = _container()
    live["spec"]["template"]["spec"]["volumes"] = [{**volume, "emptyDir": {"sizeLimit": "1024Mi"}}]
    assert _paths(pod, live) == []
    # a name that looks like a quantity is still a string
    assert _paths(_container(image="1Gi"), _container(image="1024Mi")) == [
        ("modified", "spec/template/spec/containers/0/image")
    ]


def test_scope_object_keeps_an_explicit_namespace() -> None:
    assert scope_object({"metadata": {"name": "c", "namespace": "own"}}, True, "n")["metadata"] == {
        "name": "c",
        "namespace": "own",
    }
    assert scope_object({"kind": "ConfigMap"}, True, "n")["metadata"] == {"namespace": "n"}
    assert scope_object({"kind": "Namespace"}, False, "n")["metadata"] == {}


def test_findings_carry_what_each_side_holds() -> None:
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "n"}}
    desired = {**config, "data": {"a": "1", "b": "2"}}
    assert _diffs(desired, {**config, "data": {"a": "1", "c": "3"}}) == [
        ("missing", "data/b", "2", None),
        ("extra", "data/c", None, "3"),
    ]
    # a mapping replaced by a scalar live
    deployment = _container(resources={"limits": {"cpu": "1"}})
    assert _diffs(deployment, _container(resources="none")) == [
        ("modified", "spec/template/spec/containers/0/resources", {"limits": {"cpu": "1"}}, "none")
    ]
    # an empty mapping asked for, a scalar live: still a change
    assert _paths(_container(resources={}), _container(resources="none")) == [
        ("modified", "spec/template/spec/containers/0/resources")
    ]


def test_list_findings_carry_the_elements() -> None:
    env = [{"name": "A", "value": "1"}]
    desired = _container(env=env)
    assert _diffs(desired, _container(env=[])) == [
        ("missing", "spec/template/spec/containers/0/env/0", env[0], None)
    ]
    extra = {"name": "B", "value": "2"}
    assert _diffs(desired, _container(env=[*env, extra])) == [
        ("extra", "spec/template/spec/containers/0/env/1", None, extra)
    ]
    assert _diffs(_container(args=["a"]), _container(args=["a", "b"])) == [
        ("modified", "spec/template/spec/containers/0/args", ["a"], ["a", "b"])
    ]


def test_secret_and_binary_keys_are_exact_but_not_elsewhere() -> None:
    meta = {"name": "s", "namespace": "n"}
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": meta}
    assert _paths(
        {**secret, "data": {"a": "eA=="}}, {**secret, "data": {"a": "eA==", "b": "eQ=="}}
    ) == [("extra", "data/b")]
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta}
    assert _paths(
        {**config, "binaryData": {"a": "eA=="}},
        {**config, "binaryData": {"a": "eA==", "b": "eQ=="}},
    ) == [("extra", "binaryData/b")]
    # elsewhere, keys only live are defaults, not drift
    assert _paths({**config, "metadata": meta}, {**config, "metadata": {**meta, "uidx": "1"}}) == []
    custom = {"apiVersion": "example.com/v1", "kind": "Secret", "metadata": meta}
    assert _paths({**custom, "data": {"a": "x"}}, {**custom, "data": {"a": "x", "b": "y"}}) == []


def test_an_application_spec_is_exact_at_any_depth() -> None:
    app: dict[str, Any] = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "a", "namespace": "argocd"},
        "spec": {"project": "p", "source": {"repoURL": "r", "helm": {"valueFiles": ["v"]}}},
    }
    live = {
        **app,
        "spec": {
            "project": "p",
            "source": {"repoURL": "r", "helm": {"valueFiles": ["v"], "parameters": [{"n": 1}]}},
        },
    }
    assert _paths(app, live) == [("extra", "spec/source/helm/parameters")]
    # outside spec, live-only keys are fine
    labelled = {**app, "metadata": {**app["metadata"], "labels": {"x": "y"}}}
    assert _paths(app, labelled) == []


def test_a_multi_source_application_is_exact_in_each_source() -> None:
    # what render writes: the chart, and this repository as `$values`
    chart: dict[str, Any] = {
        "repoURL": "c",
        "chart": "kafka",
        "helm": {"valueFiles": ["$values/v.yaml"]},
    }
    values = {"repoURL": "g", "targetRevision": "main", "ref": "values"}
    app = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "a", "namespace": "argocd"},
        "spec": {"project": "p", "sources": [chart, values]},
    }
    assert _paths(app, app) == []
    # a Helm parameter set in the UI on the chart's source is an override
    overridden = {**chart, "helm": {**chart["helm"], "parameters": [{"name": "replicas"}]}}
    live = {**app, "spec": {"project": "p", "sources": [overridden, values]}}
    assert _paths(app, live) == [("extra", "spec/sources/0/helm/parameters")]


def test_the_api_version_read_is_not_drift() -> None:
    hpa = {"kind": "ConfigMap", "metadata": {"name": "c", "namespace": "n"}, "data": {"a": "1"}}
    assert _paths({**hpa, "apiVersion": "v1"}, {**hpa, "apiVersion": "v1beta1"}) == []
