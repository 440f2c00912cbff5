"""The go.mod handling behind the test cluster's wrapper modules (no Go, no cluster needed)."""

from __future__ import annotations

import pytest

from tests.testenv import gobuild, kube
from tests.testenv.errors import ClusterError

GO_MOD = """\
// a comment
module k8s.io/kubernetes

go 1.26.0

godebug default=go1.26

require (
\tk8s.io/api v0.0.0
\tk8s.io/utils v0.0.0-20260626114624-be93311217bd // indirect
)

replace (
\tk8s.io/api => ./staging/src/k8s.io/api
\tk8s.io/client-go => ./staging/src/k8s.io/client-go // staging
\texample.com/old v1.0.0 => example.com/new v1.2.3
)

replace go.etcd.io/etcd/api/v3 => ../api
"""


def test_parse_go_mod_reads_go_godebug_and_both_replace_forms() -> None:
    parsed = gobuild.parse_go_mod(GO_MOD)
    assert parsed.go == "1.26.0"
    assert parsed.godebug == ("default=go1.26",)
    assert [r.old for r in parsed.replaces] == [
        "k8s.io/api",
        "k8s.io/client-go",
        "example.com/old",
        "go.etcd.io/etcd/api/v3",
    ]
    assert [r.is_local for r in parsed.replaces] == [True, True, False, True]


def test_local_replaces_become_published_modules_and_others_are_copied() -> None:
    parsed = gobuild.parse_go_mod(GO_MOD)
    lines = gobuild.mirrored_replaces(parsed.replaces, lambda module: "v0.37.2")
    assert lines == [
        "k8s.io/api => k8s.io/api v0.37.2",
        "k8s.io/client-go => k8s.io/client-go v0.37.2",
        "example.com/old v1.0.0 => example.com/new v1.2.3",
        "go.etcd.io/etcd/api/v3 => go.etcd.io/etcd/api/v3 v0.37.2",
    ]


def test_staging_version_follows_the_release() -> None:
    assert kube.staging_version("v1.37.2") == "v0.37.2"
    with pytest.raises(ClusterError):
        kube.staging_version("v1.37.2-rc.0")


def test_wrapper_go_mod_restates_the_dependencys_directives() -> None:
    parsed = gobuild.parse_go_mod(GO_MOD)
    text = gobuild.wrapper_go_mod(
        module="gitops-gen.test/x",
        dependency=parsed,
        require={"k8s.io/kubernetes": "v1.37.2"},
        replace_lines=["k8s.io/api => k8s.io/api v0.37.2"],
    )
    assert "go 1.26.0\ngodebug default=go1.26\n" in text
    assert "\tk8s.io/kubernetes v1.37.2\n" in text
    assert "\tk8s.io/api => k8s.io/api v0.37.2\n" in text


def test_argocd_wrapper_keeps_argo_cds_requires_and_replaces() -> None:
    from tests.testenv.argocd import argocd_wrapper_go_mod

    text = argocd_wrapper_go_mod(
        "module github.com/argoproj/argo-cd/v3\n\ngo 1.25.5\n\nrequire (\n\tk8s.io/api v0.34.0\n)\n"
        "\nreplace k8s.io/api => k8s.io/api v0.34.0\n",
        module="gitops-gen.test/argocd-build",
        version="v3.2.11",
    )
    assert "module gitops-gen.test/argocd-build\n" in text
    assert "module github.com/argoproj/argo-cd/v3" not in text
    assert "\tk8s.io/api v0.34.0\n" in text
    assert "replace k8s.io/api => k8s.io/api v0.34.0" in text
    assert text.rstrip().endswith("require github.com/argoproj/argo-cd/v3 v3.2.11")
    parsed = gobuild.parse_go_mod(text)
    assert [r.old for r in parsed.replaces] == ["k8s.io/api"]
