"""Command line of the test environment.

python -m tests.testenv build   # build and cache the binaries only
python -m tests.testenv run     # start a cluster, print `export KUBECONFIG=…`, wait for Ctrl-C
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import time
from collections.abc import Sequence
from types import FrameType
from typing import TextIO

from tests.testenv import argocd, kube
from tests.testenv.errors import ClusterError
from tests.testenv.gobuild import say


def _raise_keyboard_interrupt(signum: int, frame: FrameType | None) -> None:
    # SIGTERM takes the same clean path as Ctrl-C: the context managers stop every process.
    raise KeyboardInterrupt


def _build(args: argparse.Namespace) -> None:
    versions = kube.Versions(kubernetes=args.kubernetes_version, etcd=args.etcd_version)
    binaries = kube.ensure_binaries(versions)
    # Fetch the CRD module now too, so the test run itself needs no download.
    kube.argo_cd_crds()
    say(f"binaries ready: {binaries.kube_apiserver.parent}, {binaries.etcd.parent}")
    if args.argocd:
        argo = argocd.ensure_binaries()
        say(f"Argo CD {argocd.ARGO_CD_VERSION} ready: {argo.argocd.parent}, {argo.helm.parent}")


def _run(args: argparse.Namespace, out: TextIO) -> int:
    previous = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    try:
        versions = kube.Versions(kubernetes=args.kubernetes_version, etcd=args.etcd_version)
        crds = argocd.ARGO_CD_VERSION if args.argocd else kube.ARGO_CD_VERSION
        with contextlib.ExitStack() as stack:
            cluster = stack.enter_context(
                kube.KubeCluster(versions=versions, argo_cd_crd_version=crds)
            )
            say(
                f"/readyz after {cluster.ready_in:.1f} s, CRDs and controllers after "
                f"{cluster.started_in:.1f} s: {cluster.server} (Ctrl-C stops it)"
            )
            if args.argocd:
                argo = stack.enter_context(argocd.ArgoCD(cluster))
                say(
                    f"Argo CD {argocd.ARGO_CD_VERSION} ready after {argo.started_in:.1f} s: "
                    f"Applications go to namespace {argo.namespace} "
                    f"(kubectl -n {argo.namespace} get applications); repo server "
                    f"{argo.repo_server}, logs in {argo.workdir}"
                )
            print(f"export KUBECONFIG={cluster.kubeconfig}", file=out, flush=True)
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        say("stopped")
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.testenv", description="The test environment: build or run it."
    )
    parser.add_argument("command", choices=["build", "run"])
    parser.add_argument("--kubernetes-version", default=kube.KUBERNETES_VERSION)
    parser.add_argument("--etcd-version", default=kube.ETCD_VERSION)
    parser.add_argument(
        "--argocd",
        action="store_true",
        help=f"also build (and with `run`, start) Argo CD {argocd.ARGO_CD_VERSION}",
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            _build(args)
            return 0
        return _run(args, sys.stdout)
    except ClusterError as error:
        print(f"testenv: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
