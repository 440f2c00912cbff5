"""Storing the scheduled audit's report in a ConfigMap ``drift-report-<env>``, and reading back
the state the previous run left there (``state.json``, see :mod:`history`)."""

from __future__ import annotations

from gitops_gen.drift.live import ApiRequestError, LiveCluster, NotServed


def store_report(cluster: LiveCluster, namespace: str, name: str, data: dict[str, str]) -> None:
    """Create the ConfigMap, or update it when it exists.

    Its Role may update only this name; create cannot be restricted by name in Kubernetes
    RBAC, so it is a separate rule (see the audit templates).
    """
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": data,
    }
    try:
        cluster.write("POST", f"/api/v1/namespaces/{namespace}/configmaps", body, name)
    except ApiRequestError as exc:
        if exc.status != 409:
            raise
        cluster.write(
            "PATCH",
            f"/api/v1/namespaces/{namespace}/configmaps/{name}",
            {"data": data},
            name,
            content_type="application/merge-patch+json",
        )


def read_report_key(cluster: LiveCluster, namespace: str, name: str, key: str) -> str | None:
    """One key of the report ConfigMap; None when the ConfigMap or the key does not exist.

    One GET of the report's own name: what the audit's Role allows (``get`` on that name only).
    """
    try:
        config_map = cluster.request(
            "GET", f"/api/v1/namespaces/{namespace}/configmaps/{name}", f"get ConfigMap {name}"
        )
    except NotServed:  # 404: the first run
        return None
    value = (config_map.get("data") or {}).get(key)
    return str(value) if value is not None else None
