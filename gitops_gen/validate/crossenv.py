"""Checks across environments: mistakes no single environment file shows.

Copying ``staging.yaml`` to ``qa.yaml`` and forgetting to change ``cluster:`` validates clean
file by file, yet both environments then deploy the same releases into the same namespace and
overwrite each other. These rules compare the environments with each other.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from gitops_gen.model import Environment, Platform
from gitops_gen.render.plan import application_specs
from gitops_gen.validate.findings import Finding
from gitops_gen.validate.secrets import has_setup

RULES: dict[str, str] = {
    "XENV001": "no two environments deploy into the same cluster and namespace",
    "XENV002": "no host is served by two environments",
    "XENV003": "no two Argo CD Applications (root or child) share a name; one cluster name "
    "is one API server",
    "XENV004": "when secrets are kept in this repository, every environment has its own",
}


def _where(env: Environment, platform: Platform) -> str:
    return env.source.relative_to(platform.root).as_posix()


def check_environments(platform: Platform, selected: Iterable[str]) -> list[Finding]:
    """Cross-environment findings, reported on the selected environments."""
    names = set(selected)
    envs = sorted(platform.environments.values(), key=lambda e: e.name)
    findings: list[Finding] = []
    findings += _same_place(platform, envs, names)
    findings += _same_host(platform, envs, names)
    findings += _application_names(platform, envs, names)
    findings += _missing_secrets(platform, envs, names)
    return findings


def collisions(platform: Platform, selected: Iterable[str]) -> list[Finding]:
    """XENV001 and XENV003 on the selected environments: objects that would overwrite each
    other, for which render cannot write a correct tree."""
    names = set(selected)
    envs = sorted(platform.environments.values(), key=lambda e: e.name)
    return _same_place(platform, envs, names) + _application_names(platform, envs, names)


def _same_place(platform: Platform, envs: list[Environment], names: set[str]) -> list[Finding]:
    by_place: dict[tuple[str, str], list[Environment]] = defaultdict(list)
    for env in envs:
        by_place[(env.cluster_server, env.namespace)].append(env)
    out = []
    for (server, namespace), group in by_place.items():
        if len(group) < 2:
            continue
        for env in group:
            if env.name not in names:
                continue
            others = ", ".join(e.name for e in group if e is not env)
            out.append(
                Finding(
                    env.name,
                    "XENV001",
                    _where(env, platform),
                    f"{env.name} and {others} both deploy into namespace {namespace} on "
                    f"{server}: the same releases would overwrite each other; give {env.name} "
                    "its own cluster: (name and server) or namespace:",
                )
            )
    return out


def _same_host(platform: Platform, envs: list[Environment], names: set[str]) -> list[Finding]:
    served: dict[str, list[tuple[Environment, str]]] = defaultdict(list)
    for env in envs:
        for workload in env.workloads:
            if workload.enabled and workload.host:
                served[workload.host].append((env, workload.name))
    out = []
    for host, users in sorted(served.items()):
        envs_of_host = {e.name for e, _ in users}
        if len(envs_of_host) < 2:
            continue
        for env, component in users:
            if env.name not in names:
                continue
            others = ", ".join(sorted(f"{e.name}/{n}" for e, n in users if e is not env))
            out.append(
                Finding(
                    env.name,
                    "XENV002",
                    _where(env, platform),
                    f"host {host} of {component} is also served by {others}; give {env.name} "
                    "its own domain:",
                )
            )
    return out


def _application_names(
    platform: Platform, envs: list[Environment], names: set[str]
) -> list[Finding]:
    out = []
    servers: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for env in envs:
        servers[env.cluster_name][env.cluster_server].append(env.name)
    for cluster, by_server in sorted(servers.items()):
        if len(by_server) < 2:
            continue
        described = "; ".join(
            f"{', '.join(sorted(e))} on {s}" for s, e in sorted(by_server.items())
        )
        for env_names in by_server.values():
            for name in env_names:
                if name in names:
                    env = platform.environments[name]
                    out.append(
                        Finding(
                            name,
                            "XENV003",
                            _where(env, platform),
                            f"cluster name {cluster} is used for two API servers ({described}); "
                            f"both would get the one root Application {cluster}-root: give each "
                            "cluster its own name",
                        )
                    )
    owners: dict[str, list[str]] = defaultdict(list)
    for cluster in sorted(servers):
        owners[f"{cluster}-root"].append(f"the root of cluster {cluster}")
    for env in envs:
        for app in application_specs(platform, env):
            owners[app.name].append(f"{env.name}/{app.component}")
    for app_name, users in sorted(owners.items()):
        if len(users) < 2:
            continue
        for env in envs:
            if env.name in names and any(u.startswith(f"{env.name}/") for u in users):
                out.append(
                    Finding(
                        env.name,
                        "XENV003",
                        _where(env, platform),
                        f"Application name {app_name} is used by {', '.join(users)}; Argo CD "
                        "keeps one object per name, so one would replace the other",
                    )
                )
    return out


def _missing_secrets(platform: Platform, envs: list[Environment], names: set[str]) -> list[Finding]:
    managed = [e.name for e in envs if has_setup(platform, e.name)]
    if not managed:
        return []  # this repository does not hold secrets at all: they come from elsewhere
    out = []
    for env in envs:
        if env.name not in names or env.name in managed or not env.required_secrets:
            continue
        secrets = env.required_secrets
        out.append(
            Finding(
                env.name,
                "XENV004",
                f"secrets/{env.name}/",
                f"{env.name} has none of its {len(secrets)} required secrets "
                f"({', '.join(s.name for s in secrets)}) while {', '.join(managed)} keep theirs "
                f"here; run 'gitops-gen secrets keygen {env.name}', then 'gitops-gen secrets set "
                f"{env.name} SECRET KEY' for each",
            )
        )
    return out
