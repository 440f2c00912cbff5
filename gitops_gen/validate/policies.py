"""The platform's policies. Each has an id, a one-line rule, and a check over the model and
the rendered objects of one environment."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from gitops_gen.model import ComponentKind, Environment, Platform
from gitops_gen.model.schema import MUTABLE_TAGS
from gitops_gen.render.plan import LABEL_COMPONENT, project_name
from gitops_gen.validate.argo import WAVE_ANNOTATION
from gitops_gen.validate.findings import Finding

Rendered = dict[str, Any]  # path -> parsed document


@dataclass(frozen=True)
class Policy:
    id: str
    rule: str
    check: Callable[[Platform, Environment, Rendered], list[Finding]]


def _where(platform: Platform, env: Environment) -> str:
    try:
        return env.source.relative_to(platform.root).as_posix()
    except ValueError:
        return str(env.source)


def pinned_images(platform: Platform, env: Environment, rendered: Rendered) -> list[Finding]:
    if env.tier == "dev":
        return []
    findings = []
    for workload in env.workloads:
        tag = workload.tag
        if workload.digest:
            continue
        if not tag or tag.lower() in MUTABLE_TAGS:
            section = {ComponentKind.SERVICE: "services.", ComponentKind.PIPELINE: "pipelines."}
            key = section.get(workload.kind, "") + workload.name + ".tag"
            findings.append(
                Finding(
                    env.name,
                    "POL001",
                    _where(platform, env),
                    f"{key}: image {workload.image}:{tag or '(none)'} is not pinned; "
                    f"{env.tier} needs an immutable version tag or a digest",
                )
            )
    return findings


def insecure_defaults(platform: Platform, env: Environment, rendered: Rendered) -> list[Finding]:
    if env.tier == "dev" or not env.allow_insecure_defaults:
        return []
    return [
        Finding(
            env.name,
            "POL002",
            _where(platform, env),
            "runtimeSafety.allowInsecureDefaults is true: services would accept on-disk "
            f"fallbacks; it must be false outside dev ({env.name} is {env.tier})",
        )
    ]


def tls_issuer(platform: Platform, env: Environment, rendered: Rendered) -> list[Finding]:
    if platform.catalog.globals.tls.issuer.strip():
        return []
    return [
        Finding(
            env.name,
            "POL003",
            "environments/platform.yaml",
            "globals.tls.issuer is empty: ingresses would get no certificate; set a "
            "cert-manager issuer such as letsencrypt-production",
        )
    ]


def _walk(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*path, str(key)), value
            yield from _walk(value, (*path, str(key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, (*path, str(index)))


def _values_docs(rendered: Rendered) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, doc in rendered.items():
        if "/values/" in path and isinstance(doc, dict):
            yield path, doc


def ingress_hosts(platform: Platform, env: Environment, rendered: Rendered) -> list[Finding]:
    findings = []
    seen: dict[str, str] = {}
    for path, doc in _values_docs(rendered):
        for key_path, value in _walk(doc):
            if len(key_path) < 2 or key_path[-2:] != ("ingress", "host"):
                continue
            host = str(value)
            where = f"{path}: {'.'.join(key_path)}"
            if host != env.domain and not host.endswith("." + env.domain):
                findings.append(
                    Finding(
                        env.name,
                        "POL004",
                        where,
                        f"ingress host {host} is not under the environment's domain {env.domain}",
                    )
                )
            if host in seen and seen[host] != where:
                findings.append(
                    Finding(
                        env.name,
                        "POL004",
                        where,
                        f"ingress host {host} is also used by {seen[host]}; hosts must be unique",
                    )
                )
            seen.setdefault(host, where)
    return findings


def _referenced_secrets(doc: Any) -> Iterator[tuple[tuple[str, ...], str]]:
    """Secret names in the chart's values shapes: envFrom/secretRef, env/secretKeyRef, volume
    secrets, and the chart's own *Secret / secretName keys."""
    for key_path, value in _walk(doc):
        if not isinstance(value, str):
            continue
        last = key_path[-1]
        parent = key_path[-2] if len(key_path) > 1 else ""
        if (
            (last == "name" and parent in {"secretRef", "secretKeyRef"})
            or last in {"secretName", "databaseSecretName", "objectStoreSecret"}
            or last.endswith("Secret")
            or (last == "name" and parent.endswith("Secret"))
        ):
            yield key_path, value


def secret_references(platform: Platform, env: Environment, rendered: Rendered) -> list[Finding]:
    known = {s.name for s in env.required_secrets}
    # TLS Secrets of ingresses are minted by cert-manager, not kept in secrets/.
    findings = []
    for path, doc in _values_docs(rendered):
        if not path.endswith(f"/{platform.name}-platform.yaml"):
            continue  # the dependencies' values name their own Secrets (checked by their charts)
        for key_path, name in _referenced_secrets(doc):
            if key_path[-1] == "tlsSecret":
                continue
            if name not in known:
                findings.append(
                    Finding(
                        env.name,
                        "POL005",
                        f"{path}: {'.'.join(key_path)}",
                        f"secret {name} is referenced but not in the secrets catalog "
                        "(environments/platform.yaml: secrets); add it there or fix "
                        "the reference",
                    )
                )
    return findings


def _applications(rendered: Rendered) -> list[tuple[str, dict[str, Any]]]:
    return [
        (path, doc)
        for path, doc in rendered.items()
        if isinstance(doc, dict) and doc.get("kind") == "Application" and "/apps/" in path
    ]


def sync_order(platform: Platform, env: Environment, rendered: Rendered) -> list[Finding]:
    dependencies = {d.name for d in env.dependencies}
    stages: dict[str, list[tuple[int, str]]] = {"secrets": [], "dependencies": [], "platform": []}
    for path, doc in _applications(rendered):
        labels = (doc.get("metadata") or {}).get("labels") or {}
        component = labels.get(LABEL_COMPONENT, "")
        wave_text = ((doc.get("metadata") or {}).get("annotations") or {}).get(WAVE_ANNOTATION, "0")
        try:
            wave = int(wave_text)
        except ValueError:
            continue  # ARGO003 reports it
        if component in dependencies:
            stages["dependencies"].append((wave, path))
        elif component in stages:
            stages[component].append((wave, path))
    # Secrets first: the dependencies' credentials are pinned to sops-managed Secrets.
    order = ["secrets", "dependencies", "platform"]
    findings = []
    for earlier_index, earlier in enumerate(order):
        for later in order[earlier_index + 1 :]:
            for wave_a, path_a in stages[earlier]:
                for wave_b, path_b in stages[later]:
                    if wave_a >= wave_b:
                        findings.append(
                            Finding(
                                env.name,
                                "POL006",
                                path_b,
                                f"{later} syncs in wave {wave_b}, not after {earlier} "
                                f"({path_a}, wave {wave_a}); the install order is "
                                "secrets, dependencies, platform (with the UI)",
                            )
                        )
    return findings


def project_destinations(platform: Platform, env: Environment, rendered: Rendered) -> list[Finding]:
    own = {"server": env.cluster_server, "namespace": env.namespace}
    expected_project = project_name(platform, env)
    findings = []
    for path, doc in rendered.items():
        if not isinstance(doc, dict):
            continue
        spec = doc.get("spec") or {}
        if doc.get("kind") == "AppProject":
            for destination in spec.get("destinations") or []:
                admitted = {k: destination.get(k) for k in ("server", "namespace")}
                if admitted != own:
                    findings.append(
                        Finding(
                            env.name,
                            "POL007",
                            path,
                            f"AppProject admits {admitted}, but {env.name} may only deploy "
                            f"to {own}",
                        )
                    )
        elif doc.get("kind") == "Application" and "/apps/" in path:
            if spec.get("project") != expected_project:
                findings.append(
                    Finding(
                        env.name,
                        "POL007",
                        path,
                        f"Application uses project {spec.get('project')!r}; expected "
                        f"{expected_project!r}",
                    )
                )
            destination = spec.get("destination") or {}
            if destination.get("server") != env.cluster_server:
                findings.append(
                    Finding(
                        env.name,
                        "POL007",
                        path,
                        f"Application deploys to {destination.get('server')}, outside "
                        f"{env.name}'s cluster {env.cluster_server}",
                    )
                )
    return findings


POLICIES: tuple[Policy, ...] = (
    Policy(
        "POL001", "staging and prod images are pinned (no latest, no missing tag)", pinned_images
    ),
    Policy(
        "POL002", "runtimeSafety._ALLOW_INSECURE_DEFAULTS is false outside dev", insecure_defaults
    ),
    Policy("POL003", "a TLS issuer is set", tls_issuer),
    Policy("POL004", "ingress hosts are unique and under the environment's domain", ingress_hosts),
    Policy(
        "POL005",
        "every secret referenced in values exists in the secrets catalog",
        secret_references,
    ),
    Policy(
        "POL006",
        "secrets sync before the dependencies, dependencies before the platform",
        sync_order,
    ),
    Policy(
        "POL007",
        "each AppProject admits only its own environment's destination",
        project_destinations,
    ),
)
