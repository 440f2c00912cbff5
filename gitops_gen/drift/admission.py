"""What admission plugins add to a bare Pod when it is created: not drift.

A Pod's spec is written once, at creation, and the API server's default admission plugins
extend it there. Templates (a Deployment's, a Job's) are not admitted, only the Pods made from
them, so only bare Pods (``helm template`` output holds them as test hooks) need this:

* ``ServiceAccount``: a projected volume ``kube-api-access-<suffix>`` (token, ``kube-root-ca.crt``,
  namespace) and its read-only mount at ``/var/run/secrets/kubernetes.io/serviceaccount`` in
  every container and init container; ``serviceAccountName``/``serviceAccount`` (``default``);
* ``DefaultTolerationSeconds``: tolerations of ``node.kubernetes.io/not-ready`` and
  ``node.kubernetes.io/unreachable`` (``NoExecute``, 300 s), unless the Pod tolerates them;
* ``Priority`` (``priority``, ``preemptionPolicy``) and ``LimitRanger`` (container
  ``resources`` from a LimitRange) add fields the manifest does not set, which are never drift.

The first two add list elements, which would otherwise be ``extra``; they are removed from the
live Pod before comparing, when the manifest does not name them itself.
"""

from __future__ import annotations

import copy
from typing import Any

from gitops_gen.drift.findings import ObjectRef

TOKEN_VOLUME_PREFIX = "kube-api-access-"  # noqa: S105 (a volume name, not a secret)
TOKEN_MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"  # noqa: S105 (a path)
DEFAULT_TOLERATION_KEYS = ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable")
CONTAINER_LISTS = ("initContainers", "containers")


def is_bare_pod(ref: ObjectRef) -> bool:
    return ref.group == "" and ref.kind == "Pod"


def without_admission_defaults(
    ref: ObjectRef, desired: dict[str, Any], live: dict[str, Any]
) -> dict[str, Any]:
    """``live`` without what admission added to a bare Pod (``live`` itself when not a Pod)."""
    if not is_bare_pod(ref):
        return live
    spec, want = live.get("spec"), desired.get("spec")
    if not isinstance(spec, dict) or not isinstance(want, dict):
        return live
    out = copy.copy(live)
    spec = out["spec"] = copy.copy(spec)
    wanted_volumes = {v.get("name") for v in want.get("volumes") or [] if isinstance(v, dict)}
    token_volumes = {
        v.get("name")
        for v in spec.get("volumes") or []
        if isinstance(v, dict)
        and str(v.get("name", "")).startswith(TOKEN_VOLUME_PREFIX)
        and "projected" in v
        and v.get("name") not in wanted_volumes
    }
    if token_volumes:
        spec["volumes"] = [v for v in spec["volumes"] if v.get("name") not in token_volumes]
        for field in CONTAINER_LISTS:
            if isinstance(spec.get(field), list):
                spec[field] = [_without_mounts(c, token_volumes) for c in spec[field]]
    wanted_keys = {t.get("key") for t in want.get("tolerations") or [] if isinstance(t, dict)}
    if isinstance(spec.get("tolerations"), list):
        kept = [t for t in spec["tolerations"] if not _default_toleration(t, wanted_keys)]
        if kept:
            spec["tolerations"] = kept
        else:
            spec.pop("tolerations")
    return out


def _without_mounts(container: Any, volumes: set[Any]) -> Any:
    if not isinstance(container, dict) or not isinstance(container.get("volumeMounts"), list):
        return container
    out = dict(container)
    out["volumeMounts"] = [
        m
        for m in container["volumeMounts"]
        if not (
            isinstance(m, dict)
            and m.get("name") in volumes
            and m.get("mountPath") == TOKEN_MOUNT_PATH
        )
    ]
    if not out["volumeMounts"]:
        out.pop("volumeMounts")
    return out


def _default_toleration(toleration: Any, wanted_keys: set[Any]) -> bool:
    return (
        isinstance(toleration, dict)
        and toleration.get("key") in DEFAULT_TOLERATION_KEYS
        and toleration.get("key") not in wanted_keys
        and toleration.get("effect") == "NoExecute"
        and toleration.get("operator") == "Exists"
        and toleration.get("tolerationSeconds") == 300
    )
