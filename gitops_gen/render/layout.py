"""Where rendered files live under ``clusters/``; every path is computed here and nowhere else.

One Argo CD instance per cluster reads ``clusters/<cluster>/apps/`` through the root
app-of-apps; each environment owns ``apps/<env>/``, ``values/<env>/`` and ``secrets/<env>/``
of its cluster, so rendering one environment never touches another's files.
"""

from __future__ import annotations

CLUSTERS_DIR = "clusters"


def cluster_dir(cluster: str) -> str:
    return f"{CLUSTERS_DIR}/{cluster}"


def root_app_file(cluster: str) -> str:
    return f"{cluster_dir(cluster)}/root.yaml"


def apps_root(cluster: str) -> str:
    return f"{cluster_dir(cluster)}/apps"


def apps_dir(cluster: str, env: str) -> str:
    return f"{apps_root(cluster)}/{env}"


def values_dir(cluster: str, env: str) -> str:
    return f"{cluster_dir(cluster)}/values/{env}"


def secrets_dir(cluster: str, env: str) -> str:
    return f"{cluster_dir(cluster)}/secrets/{env}"


def audit_dir(cluster: str, env: str) -> str:
    return f"{cluster_dir(cluster)}/audit/{env}"


def owned_prefixes(cluster: str, env: str) -> tuple[str, ...]:
    """Folders whose whole content belongs to one environment (trailing '/')."""
    return (
        apps_dir(cluster, env) + "/",
        values_dir(cluster, env) + "/",
        secrets_dir(cluster, env) + "/",
        audit_dir(cluster, env) + "/",
    )
