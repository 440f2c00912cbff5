"""Pure parts of the schema-driven comparison: defaults, quantities, admission, orphans, masks.

The schema document is a small OpenAPI v3 document shaped like the API server's (``allOf``-wrapped
references, ``default`` next to them, ``x-kubernetes-group-version-kind``); the cluster tests run
the same rules against the real server's documents.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from gitops_gen.drift.admission import without_admission_defaults
from gitops_gen.drift.canonical import prepare_desired, strip_object
from gitops_gen.drift.compare import compare_object
from gitops_gen.drift.findings import ObjectRef
from gitops_gen.drift.mask import Masker, load_mask_key
from gitops_gen.drift.orphans import orphan_findings
from gitops_gen.drift.schema import GroupVersionSchema, KindSchema, SchemaSource
from gitops_gen.drift.serverside import project, shape, zero_storage
from gitops_gen.errors import InputError

REF = "#/components/schemas/"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"


def _ref(name: str, **extra: Any) -> dict[str, Any]:
    return {"allOf": [{"$ref": REF + name}], **extra}


SCHEMAS: dict[str, Any] = {
    "io.k8s.api.apps.v1.Deployment": {
        "x-kubernetes-group-version-kind": [
            {"group": "apps", "version": "v1", "kind": "Deployment"}
        ],
        "properties": {
            "metadata": _ref("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", default={}),
            "spec": _ref("io.k8s.api.apps.v1.DeploymentSpec", default={}),
        },
    },
    "io.k8s.api.apps.v1.DeploymentSpec": {
        "properties": {
            "paused": {"type": "boolean", "default": False},
            "replicas": {"type": "integer", "description": "Defaults to 1."},
            "revisionHistoryLimit": {"type": "integer", "format": "int32"},
            "template": _ref("io.k8s.api.core.v1.PodTemplateSpec", default={}),
        }
    },
    "io.k8s.api.core.v1.PodTemplateSpec": {
        "properties": {"spec": _ref("io.k8s.api.core.v1.PodSpec", default={})}
    },
    "io.k8s.api.core.v1.PodSpec": {
        "properties": {
            "automountServiceAccountToken": {"type": "boolean"},
            "hostNetwork": {
                "type": "boolean",
                "default": False,
                "description": "Host networking requested for this pod. Default to false.",
            },
            "containers": {
                "type": "array",
                "items": _ref("io.k8s.api.core.v1.Container", default={}),
            },
            "volumes": {"type": "array", "items": _ref("io.k8s.api.core.v1.Volume", default={})},
        }
    },
    "io.k8s.api.core.v1.Volume": {
        "properties": {
            "name": {"type": "string", "default": ""},
            "configMap": _ref("io.k8s.api.core.v1.ConfigMapVolumeSource"),
        }
    },
    "io.k8s.api.core.v1.ConfigMapVolumeSource": {
        "properties": {
            "defaultMode": {
                "type": "integer",
                "description": "Must be an octal value. Defaults to 0644. Directories within...",
            },
            "name": {"type": "string", "default": ""},
        }
    },
    "io.k8s.api.core.v1.ContainerPort": {
        "properties": {
            "containerPort": {"type": "integer", "default": 0},
            "protocol": {"type": "string", "default": "TCP", "enum": ["SCTP", "TCP", "UDP"]},
        }
    },
    "io.k8s.api.core.v1.Container": {
        "properties": {
            "name": {"type": "string", "default": ""},
            "securityContext": _ref("io.k8s.api.core.v1.SecurityContext"),
            "resources": _ref("io.k8s.api.core.v1.ResourceRequirements", default={}),
            "workingDir": {"type": "string"},
            "ports": {"type": "array", "items": _ref("io.k8s.api.core.v1.ContainerPort")},
            "imagePullPolicy": {
                "type": "string",
                "enum": ["Always", "IfNotPresent", "Never"],
                "description": "Defaults to Always if :latest tag is specified, or IfNotPresent "
                "otherwise. Cannot be updated.",
            },
            "terminationMessagePolicy": {
                "type": "string",
                "enum": ["FallbackToLogsOnError", "File"],
                "description": "Defaults to File. Cannot be updated.",
            },
            "stdinOnce": {
                "type": "string",
                "description": 'Defaults to "" for some, "x" for others.',
            },
            "tty": {"type": "boolean", "description": "Default is false."},
            "workingDirDefault": {"type": "string", "description": 'Defaults to "/".'},
        }
    },
    "io.k8s.api.core.v1.SecurityContext": {
        "properties": {
            "allowPrivilegeEscalation": {"type": "boolean"},
            "privileged": {"type": "boolean", "description": "Default is false. Note that..."},
            "procMount": {"type": "string", "description": "Defaults to Unmasked."},
        }
    },
    "io.k8s.api.core.v1.ResourceRequirements": {
        "properties": {
            "limits": {
                "type": "object",
                "additionalProperties": _ref(QUANTITY),
            }
        }
    },
    QUANTITY: {"oneOf": [{"type": "string"}, {"type": "number"}]},
    "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta": {
        "properties": {
            "labels": {
                "type": "object",
                "additionalProperties": {"type": "string", "default": ""},
            },
            "name": {"type": "string"},
        }
    },
}
DOCUMENT = {"components": {"schemas": SCHEMAS}}


def _deployment_schema() -> KindSchema:
    schema = GroupVersionSchema(DOCUMENT).kind("apps", "v1", "Deployment")
    assert schema is not None
    return schema


def _diff(desired: dict[str, Any], live: dict[str, Any], **kw: Any) -> list[tuple[str, str]]:
    prepared = prepare_desired(desired)
    ref = ObjectRef.of(prepared)
    schema = _deployment_schema()
    return [
        (d.type.value, "/".join(str(t) for t in d.tokens))
        for d in compare_object(ref, prepared, strip_object(live), lambda: schema, **kw)
    ]


def _stores_every_zero(tokens: Any) -> bool:
    """A dry run's answer as for pointer fields: the zero value would be stored."""
    return True


def _deployment(pod: dict[str, Any], container: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "n", "labels": {"tier": ""}},
        "spec": {
            "template": {"spec": {**pod, "containers": [{"name": "web", **container}]}},
            **spec,
        },
    }


def test_field_info_follows_references_and_reads_defaults() -> None:
    schema = _deployment_schema()
    pod = ("spec", "template", "spec")
    assert schema.field((*pod, "hostNetwork")).default is False
    assert schema.field((*pod, "hostNetwork")).has_default
    assert not schema.field((*pod, "automountServiceAccountToken")).has_default
    container = (*pod, "containers", 3)
    escalation = schema.field((*container, "securityContext", "allowPrivilegeEscalation"))
    assert escalation.known and not escalation.has_default
    assert schema.field((*container, "resources", "limits", "cpu")).quantity
    assert not schema.field((*container, "name")).quantity
    label = schema.field(("metadata", "labels", "tier"))
    assert label.map_entry and not label.has_default
    assert not schema.field(("spec", "nonsense")).known


def _no_question(tokens: Any) -> bool:
    raise AssertionError(f"asked about {tokens}")


def test_removed_false_is_drift_unless_the_default_is_false() -> None:
    desired = _deployment(
        {"automountServiceAccountToken": False, "hostNetwork": False},
        {"securityContext": {"allowPrivilegeEscalation": False}, "workingDir": ""},
        paused=False,
        revisionHistoryLimit=0,
    )
    # the live object as the server stores it: non-pointer zero values are not stored
    live = copy.deepcopy(desired)
    pod = live["spec"]["template"]["spec"]
    del pod["hostNetwork"]
    del live["spec"]["paused"]
    # the schema's default (false) decides: no dry run is asked about these
    assert _diff(desired, live, zero_stored=_no_question) == []
    # someone removed the pointer fields (and the empty label)
    del pod["automountServiceAccountToken"]
    del pod["containers"][0]["securityContext"]["allowPrivilegeEscalation"]
    del pod["containers"][0]["workingDir"]
    del live["spec"]["revisionHistoryLimit"]
    del live["metadata"]["labels"]["tier"]
    assert sorted(_diff(desired, live, zero_stored=_stores_every_zero)) == [
        ("missing", "metadata/labels/tier"),
        ("missing", "spec/revisionHistoryLimit"),
        ("missing", "spec/template/spec/automountServiceAccountToken"),
        ("missing", "spec/template/spec/containers/0/securityContext/allowPrivilegeEscalation"),
        ("missing", "spec/template/spec/containers/0/workingDir"),
    ]


def test_quantities_only_where_the_schema_says_so() -> None:
    desired = _deployment({}, {"resources": {"limits": {"cpu": 0.5}}, "name": "web"})
    live = copy.deepcopy(desired)
    live["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"] = "500m"
    assert _diff(desired, live) == []
    desired["spec"]["template"]["spec"]["containers"][0]["workingDir"] = "0.5"
    live["spec"]["template"]["spec"]["containers"][0]["workingDir"] = "500m"
    assert _diff(desired, live) == [("modified", "spec/template/spec/containers/0/workingDir")]


def test_projected_dry_run_keeps_only_what_the_server_stores() -> None:
    desired = _deployment(
        {"hostNetwork": False, "automountServiceAccountToken": False},
        {"securityContext": {"allowPrivilegeEscalation": False}},
    )
    # the dry run's result: hostNetwork (not stored) is gone, the pointers are there
    result = copy.deepcopy(desired)
    del result["spec"]["template"]["spec"]["hostNetwork"]
    projected = project(result, desired)
    assert "hostNetwork" not in projected["spec"]["template"]["spec"]
    live = copy.deepcopy(result)
    del live["spec"]["template"]["spec"]["automountServiceAccountToken"]
    prepared = prepare_desired(projected)
    diffs = compare_object(ObjectRef.of(prepared), prepared, live, projected=True)
    assert [("/".join(map(str, d.tokens)), d.type.value) for d in diffs] == [
        ("spec/template/spec/automountServiceAccountToken", "missing")
    ]


def test_config_map_empty_value_key_is_data() -> None:
    desired: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "n"},
        "data": {"EMPTY": "", "mode": "fast"},
    }
    live = copy.deepcopy(desired)
    del live["data"]["EMPTY"]
    prepared = prepare_desired(desired)
    diffs = compare_object(ObjectRef.of(prepared), prepared, live)
    assert [("/".join(map(str, d.tokens)), d.type.value) for d in diffs] == [
        ("data/EMPTY", "missing")
    ]


def test_schema_source_fetches_the_index_once_and_each_document_once() -> None:
    calls: list[str] = []
    documents: dict[str, dict[str, Any]] = {
        "/openapi/v3": {
            "paths": {
                "apis/apps/v1": {"serverRelativeURL": "/openapi/v3/apis/apps/v1?hash=AB"},
                "api/v1": {"serverRelativeURL": "/openapi/v3/api/v1?hash=CD"},
            }
        },
        "/openapi/v3/apis/apps/v1?hash=AB": DOCUMENT,
        "/openapi/v3/api/v1?hash=CD": {"components": {"schemas": {}}},
    }

    def fetch(url: str, what: str) -> dict[str, Any]:
        calls.append(url)
        return documents[url]

    source = SchemaSource(fetch)
    assert source.kind("apps", "v1", "Deployment") is not None
    assert source.kind("apps", "v1", "Deployment") is not None
    assert source.kind("", "v1", "ConfigMap") is None
    assert source.kind("argoproj.io", "v1alpha1", "Application") is None  # not published
    assert calls == [
        "/openapi/v3",
        "/openapi/v3/apis/apps/v1?hash=AB",
        "/openapi/v3/api/v1?hash=CD",
    ]


def _pod(**spec: Any) -> dict[str, Any]:
    container = {"name": "t", "image": "i", "volumeMounts": [{"name": "d", "mountPath": "/d"}]}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "test", "namespace": "n"},
        "spec": {"containers": [container], "volumes": [{"name": "d", "emptyDir": {}}], **spec},
    }


def _admitted(pod: dict[str, Any]) -> dict[str, Any]:
    """What the ServiceAccount and DefaultTolerationSeconds plugins make of a Pod."""
    live = copy.deepcopy(pod)
    spec = live["spec"]
    spec["volumes"] = [
        *spec.get("volumes", []),
        {"name": "kube-api-access-x7k2q", "projected": {"sources": [], "defaultMode": 420}},
    ]
    for container in spec["containers"]:
        container.setdefault("volumeMounts", []).append(
            {
                "name": "kube-api-access-x7k2q",
                "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                "readOnly": True,
            }
        )
    spec["tolerations"] = [
        *spec.get("tolerations", []),
        *(
            {"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
            for key in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable")
        ),
    ]
    spec["serviceAccountName"] = "default"
    return live


def _pod_diff(desired: dict[str, Any], live: dict[str, Any]) -> list[tuple[str, str]]:
    prepared = prepare_desired(desired)
    ref = ObjectRef.of(prepared)
    cleaned = without_admission_defaults(ref, prepared, strip_object(live))
    return [
        (d.type.value, "/".join(str(t) for t in d.tokens))
        for d in compare_object(ref, prepared, cleaned)
    ]


def test_admission_defaults_of_bare_pods_are_not_drift() -> None:
    pod = _pod(
        tolerations=[
            {"key": "dedicated", "operator": "Equal", "value": "x", "effect": "NoSchedule"}
        ]
    )
    assert _pod_diff(pod, _admitted(pod)) == []
    plain = _pod()
    assert _pod_diff(plain, _admitted(plain)) == []


def test_admission_model_leaves_real_changes_alone() -> None:
    pod = _pod(tolerations=[{"key": "a", "operator": "Exists"}])
    live = _admitted(pod)
    live["spec"]["tolerations"].append({"key": "x", "operator": "Exists"})  # added later
    live["spec"]["containers"][0]["image"] = "evil"
    assert sorted(_pod_diff(pod, live)) == [
        ("modified", "spec/containers/0/image"),
        ("modified", "spec/tolerations"),
    ]


def test_admission_model_is_only_for_pods() -> None:
    deployment = _deployment({}, {})
    ref = ObjectRef.of(deployment)
    assert without_admission_defaults(ref, deployment, deployment) is deployment


def _tracked(kind: str, name: str) -> tuple[ObjectRef, Any]:
    labels = {"app.kubernetes.io/managed-by": "gitops-gen", "gitops-gen.io/environment": "dev"}
    ref = ObjectRef("rbac.authorization.k8s.io", "v1", kind, "", name)
    return ref, {"metadata": {"name": name, "labels": labels}}


def test_orphans_are_scoped_to_the_source() -> None:
    ours = _tracked("ClusterRole", "reports-reader")
    other_app = _tracked("ClusterRole", "web-reader")
    auditor = _tracked("ClusterRole", "gitops-gen-drift-dev")
    listed = [ours, other_app, auditor]
    app_of = {ours[0].identity: "dev-reports", other_app[0].identity: "dev-web"}
    asked: list[bool] = []

    def rendered() -> set[tuple[str, str, str, str]]:
        asked.append(True)
        return {auditor[0].identity}

    findings = orphan_findings(
        listed, set(), "dev", app_of, sources={"dev-reports", ""}, exclude=rendered
    )
    assert [f.ref.name for f in findings] == ["reports-reader"]
    assert asked == [True]
    # nothing to exclude when there is no candidate: render is not run
    asked.clear()
    assert orphan_findings([other_app], set(), "dev", app_of, sources={"x"}, exclude=rendered) == []
    assert asked == []


def test_mask_key_file_gives_the_same_masks_in_every_run(tmp_path: Path) -> None:
    key = tmp_path / "mask.key"
    key.write_text("0" * 63 + "1\n")
    first, second = Masker(load_mask_key(key)), Masker(load_mask_key(key))
    assert first.mask_bytes(b"hunter2") == second.mask_bytes(b"hunter2")
    assert Masker().mask_bytes(b"hunter2") != Masker().mask_bytes(b"hunter2")


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "no such file"), (b"short\n", "holds 5 bytes, at least 32 needed")],
)
def test_bad_mask_key_file(tmp_path: Path, content: bytes | None, message: str) -> None:
    key = tmp_path / "mask.key"
    if content is not None:
        key.write_bytes(content)
    with pytest.raises(InputError) as error:
        load_mask_key(key)
    assert message in str(error.value) and str(key) in str(error.value)
    assert "openssl rand -hex 32" in str(error.value)


def test_zero_storage_learnt_from_a_dry_run() -> None:
    desired = _deployment(
        {"hostNetwork": False, "automountServiceAccountToken": False},
        {"securityContext": {"allowPrivilegeEscalation": False}, "stdin": False},
    )
    # what the server returns: the pointers are stored, the non-pointer zero values are not
    result = copy.deepcopy(desired)
    pod = result["spec"]["template"]["spec"]
    del pod["hostNetwork"]
    del pod["containers"][0]["stdin"]
    pod["containers"][0]["terminationMessagePath"] = "/dev/termination-log"
    learnt = zero_storage(desired, result)
    template = ("spec", "template", "spec")
    assert learnt == {
        ("metadata", "labels", "tier"): True,
        (*template, "hostNetwork"): False,
        (*template, "automountServiceAccountToken"): True,
        (*template, "containers", 0, "securityContext", "allowPrivilegeEscalation"): True,
        (*template, "containers", 0, "stdin"): False,
    }
    # and the comparison uses it where the schema has no default
    live = copy.deepcopy(result)
    del live["spec"]["template"]["spec"]["automountServiceAccountToken"]
    prepared = prepare_desired(desired)
    diffs = compare_object(
        ObjectRef.of(prepared),
        prepared,
        live,
        zero_stored=lambda tokens: learnt.get(shape(tokens)),
    )
    assert [("/".join(map(str, d.tokens)), d.type.value) for d in diffs] == [
        ("spec/template/spec/automountServiceAccountToken", "missing")
    ]


def test_field_info_says_what_an_omitted_field_means() -> None:
    schema = _deployment_schema()
    container = ("spec", "template", "spec", "containers", 0)

    def omitted(*tokens: str | int) -> Any:
        info = schema.field(tokens)
        return info.omitted_default if info.has_omitted_default else "none"

    assert omitted(*container, "ports", 0, "protocol") == "TCP"  # the schema's default
    assert omitted(*container, "terminationMessagePolicy") == "File"  # stated, one of the enum
    assert omitted(*container, "tty") is False
    assert omitted(*container, "securityContext", "privileged") is False
    assert omitted(*container, "workingDirDefault") == "/"  # quoted
    assert omitted("spec", "template", "spec", "volumes", 0, "configMap", "defaultMode") == 0o644
    assert omitted("spec", "replicas") == 1
    # what none of them means: a Go zero value published as default, a conditional default,
    # a default per case, a word that is not one of the field's values
    assert omitted(*container, "name") == "none"
    assert omitted(*container, "ports", 0, "containerPort") == "none"
    assert omitted(*container, "imagePullPolicy") == "none"
    assert omitted(*container, "stdinOnce") == "none"
    assert omitted(*container, "securityContext", "procMount") == "none"


def test_an_omitted_field_in_a_list_element_or_pod_template_is_its_default() -> None:
    desired = _deployment(
        {"volumes": [{"name": "config", "configMap": {"name": "settings"}}]},
        {"image": "web:1.0.0", "ports": [{"containerPort": 8080}], "securityContext": {}},
    )
    live = copy.deepcopy(desired)
    pod = live["spec"]["template"]["spec"]
    container = pod["containers"][0]
    # what the server fills in, and what it may hold without the manifest saying otherwise
    container.update(terminationMessagePolicy="File", imagePullPolicy="IfNotPresent")
    container["ports"][0]["protocol"] = "TCP"
    container["securityContext"]["privileged"] = False
    pod["volumes"][0]["configMap"]["defaultMode"] = 420
    # outside lists and pod templates a live-only field is free (an autoscaler's replicas)
    live["spec"]["replicas"] = 5
    assert _diff(desired, live) == []
    container.update(terminationMessagePolicy="FallbackToLogsOnError", imagePullPolicy="Never")
    container["ports"][0]["protocol"] = "UDP"
    container["securityContext"]["privileged"] = True
    pod["volumes"][0]["configMap"]["defaultMode"] = 0o777
    pod["hostNetwork"] = True
    prepared = prepare_desired(desired)
    schema = _deployment_schema()
    diffs = compare_object(ObjectRef.of(prepared), prepared, strip_object(live), lambda: schema)
    # the default is what the repository asks for; a conditional default is not judged
    assert sorted(
        (d.type.value, "/".join(map(str, d.tokens)), d.desired, d.live) for d in diffs
    ) == [
        ("modified", "spec/template/spec/containers/0/ports/0/protocol", "TCP", "UDP"),
        ("modified", "spec/template/spec/containers/0/securityContext/privileged", False, True),
        (
            "modified",
            "spec/template/spec/containers/0/terminationMessagePolicy",
            "File",
            "FallbackToLogsOnError",
        ),
        ("modified", "spec/template/spec/hostNetwork", False, True),
        ("modified", "spec/template/spec/volumes/0/configMap/defaultMode", 420, 511),
    ]
