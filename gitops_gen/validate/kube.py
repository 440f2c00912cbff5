"""Core Kubernetes objects against the schemas kubernetes-validate bundles."""

from __future__ import annotations

from typing import Any

import kubernetes_validate

from gitops_gen.validate.findings import Finding

KUBERNETES_VERSION = "1.34"  # the oldest minor the platform targets; schemas are per version


def is_core_object(doc: dict[str, Any]) -> bool:
    """Built-in API groups: no dot in the group, or a *.k8s.io group."""
    api_version = str(doc.get("apiVersion", ""))
    group = api_version.rpartition("/")[0]
    return "." not in group or group.endswith(".k8s.io")


def validate_core(env: str, path: str, doc: dict[str, Any]) -> list[Finding]:
    where = f"{path} ({doc.get('kind', '?')}/{(doc.get('metadata') or {}).get('name', '?')})"
    try:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        pointer = "/".join(str(p) for p in exc.absolute_path)
        at = f" at /{pointer}" if pointer else ""
        first_line = str(exc.message).splitlines()[0]
        return [Finding(env, "K8S001", where, f"schema violation{at}: {first_line}")]
    except kubernetes_validate.SchemaNotFoundError:
        return [
            Finding(
                env,
                "K8S002",
                where,
                f"no Kubernetes {KUBERNETES_VERSION} schema for {doc.get('apiVersion')}/"
                f"{doc.get('kind')}; use a supported apiVersion",
            )
        ]
    except kubernetes_validate.InvalidSchemaError as exc:
        return [Finding(env, "K8S003", where, f"invalid schema: {exc}")]
    return []
