"""Storing the scheduled audit's report in a ConfigMap ``drift-report-<env>``."""

from __future__ import annotations

from gitops_gen.drift.live import ApiRequestError, LiveCluster


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
