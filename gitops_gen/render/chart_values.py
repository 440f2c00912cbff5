"""The platform chart's values: environments/ mapped onto the keys the chart really reads.

The chart is ``deploy/helm/aether-platform`` of the application repository; its
``values.schema.json`` and the ``.Values`` paths of its templates define the interface (README:
"The chart mapping"). Besides the values, :func:`platform_values` returns where each values key
comes from in environments/, so ``validate`` can point a finding at a file and line.

Quirks of the chart (upstream 1ef53dd3) this mapping works around:

- Helm replaces lists and merges maps, so every list is rendered whole (``env``, ``envFrom``,
  HPA ``metrics``), never left to merge with the chart's defaults.
- ``managedSecrets.enabled`` is read as ``enabled | default true``: ``false`` does not switch
  the chart's placeholder Secrets off. ``managedSecrets.secrets: null`` (Helm deletes a key set
  to null) does.
- A PDB's ``maxUnavailable`` wins over ``minAvailable``, so the chart's default is deleted (null).
- Templates read ``hpa.enabled``, ``pdb.enabled``, ``ingress.enabled`` and ``service.port`` of
  every backend: each is rendered, or a backend the chart does not know would fail to render.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from gitops_gen.model import ComponentKind, Environment, Platform
from gitops_gen.model.resolved import Dependency, Workload
from gitops_gen.model.schema import Resources, chart_key

CATALOG = "catalog"
ENV = "env"

ValuesPath = tuple[str, ...]


@dataclass(frozen=True)
class Origin:
    """Where a values key comes from: the catalog or the environment file, and the key path."""

    source: str  # CATALOG or ENV
    key_path: tuple[str | int, ...]


@dataclass
class ChartValues:
    values: dict[str, Any]
    origins: dict[ValuesPath, Origin] = field(default_factory=dict)

    def origin_of(self, path: ValuesPath) -> Origin | None:
        """The origin of ``path`` or of its closest ancestor that has one."""
        probe = tuple(path)
        while probe:
            if probe in self.origins:
                return self.origins[probe]
            probe = probe[:-1]
        return None


_TOKEN = re.compile(r"\$\{([a-z0-9-]+)(\.host|\.port)?\}")


def substitute(text: str, dependencies: tuple[Dependency, ...]) -> str:
    """``${kafka}`` -> host:port of the dependency, ``${kafka.host}`` / ``${kafka.port}``."""
    by_name = {d.name: d for d in dependencies}

    def one(match: re.Match[str]) -> str:
        dep = by_name.get(match.group(1))
        if dep is None:
            return match.group(0)  # left as written; validate's schema check cannot see it
        part = match.group(2)
        if part == ".host":
            return dep.dns_name
        if part == ".port":
            return str(dep.spec.port)
        return f"{dep.dns_name}:{dep.spec.port}"

    return _TOKEN.sub(one, text)


def chart_image_tag(workload: Workload) -> str:
    """The chart builds ``repository:tag``; a digest rides in the tag (``tag@sha256:…``), which
    the kubelet pulls by digest."""
    if workload.digest:
        return f"{workload.tag or 'latest'}@{workload.digest}"
    return workload.tag or ""


def _resources(resources: Resources) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if resources.requests:
        out["requests"] = {k: str(v) for k, v in resources.requests.items()}
    if resources.limits:
        out["limits"] = {k: str(v) for k, v in resources.limits.items()}
    return out


def _secret_env(mapping: dict[str, str]) -> list[dict[str, Any]]:
    out = []
    for var, ref in mapping.items():
        secret, key = ref.split("/", 1)
        out.append({"name": var, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}})
    return out


def _plain_env(mapping: dict[str, str]) -> list[dict[str, Any]]:
    return [{"name": k, "value": str(v)} for k, v in mapping.items()]


def _dependency(env: Environment, name: str | None) -> Dependency | None:
    return next((d for d in env.dependencies if d.name == name), None)


def _pinned(env: Environment, workload: Workload, field_name: str) -> bool:
    """True when the environment file sets ``field_name`` for the workload (else the catalog)."""
    return env.pins.get(workload.name, {}).get(field_name, False)


def platform_values(platform: Platform, env: Environment) -> ChartValues:
    catalog = platform.catalog
    out = ChartValues(values={})
    origins = out.origins
    values = out.values

    def origin(path: ValuesPath, source: str, *key_path: str | int) -> None:
        origins[path] = Origin(source, tuple(key_path))

    g = catalog.globals
    kraken = g.kraken_secrets
    global_values: dict[str, Any] = {
        "ingressClassName": g.ingress_class_name,
        "tls": {"issuer": g.tls.issuer},
        "krakenSecrets": {
            "enabled": kraken.enabled,
            "basePath": kraken.base_path,
            "checksum": kraken.checksum,
            "accounts": [
                {
                    "name": account,
                    "envVar": f"AETHER_{re.sub(r'[^A-Z0-9]', '_', account.upper())}"
                    "_KRAKEN_SECRET_PATH",
                    "mountSubPath": account,
                    "secretName": f"kraken-keys-{account}",
                }
                for account in kraken.accounts
            ],
        },
    }
    origin(("global",), CATALOG, "globals")
    origin(("global", "krakenSecrets"), CATALOG, "globals", "krakenSecrets")
    if g.account_allowlists is not None:
        allow = g.account_allowlists
        global_values["accountAllowlists"] = {
            "admin": {"secretName": allow.secret, "secretKey": allow.admin_key},
            "director": {"secretName": allow.secret, "secretKey": allow.director_key},
        }
        origin(("global", "accountAllowlists"), CATALOG, "globals", "accountAllowlists")
    if g.release_manifest is not None:
        rm = g.release_manifest
        global_values["releaseManifest"] = {
            "enabled": True,
            "databaseSecretName": rm.secret,
            "databaseSecretKey": rm.key,
            "sslmode": rm.sslmode,
        }
        origin(("global", "releaseManifest"), CATALOG, "globals", "releaseManifest")
    session = _dependency(env, g.session_redis)
    if session is not None:
        global_values["sessionStore"] = {
            "redisUrl": f"redis://{session.dns_name}:{session.spec.port}/0"
        }
        origin(("global", "sessionStore"), CATALOG, "globals", "sessionRedis")
    values["global"] = global_values

    # The schema accepts only false (or "0"/"false"); true is rendered so validate rejects it.
    values["runtimeSafety"] = {"_ALLOW_INSECURE_DEFAULTS": env.allow_insecure_defaults}
    origin(("runtimeSafety",), CATALOG, "globals", "runtimeSafety")
    if env.runtime_safety_pinned:
        origin(("runtimeSafety",), ENV, "runtimeSafety")

    # The data plane is installed separately (dependencies/); the chart's bundled copy stays off.
    values["dependencies"] = {
        name: {"enabled": False} for name in ("postgresql", "redis", "kafka", "nats")
    }
    origin(("dependencies",), CATALOG, "dependencies")
    # Secrets come from sops (secrets/); `secrets: null` deletes the chart's placeholders.
    values["managedSecrets"] = {"enabled": False, "secrets": None}
    origin(("managedSecrets",), CATALOG, "secrets")

    accounts = g.service_accounts
    names = [n for n in (accounts.backend, accounts.pipelines) if n]
    bootstrap_spec = catalog.bootstrap
    if bootstrap_spec is not None:
        names.append(bootstrap_spec.service_account)
    values["serviceAccounts"] = {"enabled": True, "names": sorted(set(names))}
    origin(("serviceAccounts",), CATALOG, "globals", "serviceAccounts")

    backends: dict[str, Any] = {}
    for key in catalog.chart.disabled_backends:
        backends[key] = {"enabled": False}
        index = catalog.chart.disabled_backends.index(key)
        origin(("backendServices", key), CATALOG, "chart", "disabledBackends", index)
    for w in env.workloads_of(ComponentKind.SERVICE):
        key = w.spec.chart_key or chart_key(w.name)
        backends[key] = _backend(w, accounts.backend)
        base: ValuesPath = ("backendServices", key)
        origin(base, CATALOG, "services", w.name)
        origin((*base, "enabled"), ENV, "services", w.name)
        origin((*base, "image", "tag"), ENV, "services", w.name, "tag")
        if _pinned(env, w, "replicas"):
            origin((*base, "replicaCount"), ENV, "services", w.name, "replicas")
        if _pinned(env, w, "hpa"):
            origin((*base, "hpa"), ENV, "services", w.name, "hpa")
        if _pinned(env, w, "resources"):
            origin((*base, "resources"), ENV, "services", w.name, "resources")
    values["backendServices"] = backends

    pipelines: dict[str, Any] = {}
    for w in env.workloads_of(ComponentKind.PIPELINE):
        key = w.spec.chart_key or chart_key(w.name)
        pipelines[key] = _pipeline(w, accounts.pipelines, env)
        pbase: ValuesPath = ("dataPipelines", "deployments", key)
        origin(pbase, CATALOG, "pipelines", w.name)
        origin((*pbase, "image", "tag"), ENV, "pipelines", w.name, "tag")
        if _pinned(env, w, "replicas"):
            origin((*pbase, "replicaCount"), ENV, "pipelines", w.name, "replicas")
    data_pipelines: dict[str, Any] = {"deployments": pipelines}
    if catalog.chart.pipeline_settings is not None:
        data_pipelines["sharedConfig"] = {
            "fastapi-settings": {
                "name": "fastapi-config",
                "data": {
                    "settings.yaml": substitute(catalog.chart.pipeline_settings, env.dependencies)
                },
            }
        }
        origin(("dataPipelines", "sharedConfig"), CATALOG, "chart", "pipelineSettings")
    values["dataPipelines"] = data_pipelines

    feast = env.workload("feast")
    bootstrap = env.workload("bootstrap")
    if feast is not None and catalog.feast is not None:
        values["feast"] = _feast(feast, env, bootstrap)
        origin(("feast",), CATALOG, "feast")
        origin(("feast", "image", "tag"), ENV, "feast", "tag")
        origin(("feast", "backup", "image", "tag"), ENV, "bootstrap", "tag")
        origin(("feast", "registry"), CATALOG, "feast", "registry")
        origin(("feast", "backup"), CATALOG, "feast", "backup")
        origin(("feast", "redis"), CATALOG, "feast", "redisDependency")
        origin(("feast", "offlineStoreSecret"), CATALOG, "feast", "offlineStoreSecret")
    else:
        values["feast"] = {"enabled": False}

    ui = env.workload("ui")
    if ui is not None and catalog.ui is not None:
        values["ui"] = _ui(ui, platform, env)
        origin(("ui",), CATALOG, "ui")
        origin(("ui", "image", "tag"), ENV, "ui", "tag")
        if _pinned(env, ui, "replicas"):
            origin(("ui", "replicaCount"), ENV, "ui", "replicas")
    else:
        values["ui"] = {"enabled": False}

    if bootstrap is not None and bootstrap_spec is not None:
        values["bootstrap"] = _bootstrap(bootstrap)
        origin(("bootstrap",), CATALOG, "bootstrap")
        origin(("bootstrap", "image", "tag"), ENV, "bootstrap", "tag")
    return out


def _image(w: Workload) -> dict[str, str]:
    return {"repository": w.image, "tag": chart_image_tag(w)}


def _backend(w: Workload, service_account: str | None) -> dict[str, Any]:
    spec = w.spec
    backend: dict[str, Any] = {
        "enabled": w.enabled,
        "nameOverride": w.name,
        "image": _image(w),
        "replicaCount": w.replicas,
        "containerPort": spec.port,
        "usesKrakenSecrets": spec.kraken,
        "envFrom": [{"secretRef": {"name": s}} for s in spec.secrets],
        "env": [*_secret_env(spec.secret_env), *_plain_env(spec.env)],
        "resources": _resources(w.resources),
        "service": {"port": 80, "targetPort": "http"},
    }
    if service_account:
        backend["serviceAccountName"] = service_account
    if w.hpa is not None:
        backend["hpa"] = {
            "enabled": True,
            "minReplicas": w.hpa.min,
            "maxReplicas": w.hpa.max,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": w.hpa.target_cpu},
                    },
                }
            ],
        }
    else:
        backend["hpa"] = {"enabled": False}
    if spec.pdb is not None:
        backend["pdb"] = {
            "enabled": True,
            "minAvailable": spec.pdb.min_available,
            "maxUnavailable": None,
        }
    else:
        backend["pdb"] = {"enabled": False}
    if w.host:
        backend["ingress"] = {"enabled": True, "host": w.host, "tlsSecret": f"{w.name}-tls"}
    else:
        backend["ingress"] = {"enabled": False}
    return backend


def _pipeline(w: Workload, service_account: str | None, env: Environment) -> dict[str, Any]:
    spec = w.spec
    env_list = [*_secret_env(spec.secret_env), *_plain_env(spec.config)]
    mounts: list[dict[str, Any]] = []
    volumes: list[dict[str, Any]] = []
    if spec.settings:
        env_list.insert(0, {"name": "SETTINGS_FILE", "value": "/etc/aether/settings.yaml"})
        mounts.append({"name": "config", "mountPath": "/etc/aether", "readOnly": True})
        volumes.append({"name": "config", "configMap": {"name": "fastapi-config"}})
    if spec.tls is not None:
        mounts.append({"name": "tls", "mountPath": spec.tls.mount_path, "readOnly": True})
        volumes.append({"name": "tls", "secret": {"secretName": spec.tls.secret_name}})
    pipeline: dict[str, Any] = {
        "enabled": w.enabled,
        "nameOverride": w.name,
        "image": _image(w),
        "replicaCount": w.replicas,
        "resources": _resources(w.resources),
        "envFrom": [{"secretRef": {"name": s}} for s in spec.secrets],
        "env": env_list,
        "volumeMounts": mounts,
        "volumes": volumes,
    }
    if service_account:
        pipeline["serviceAccountName"] = service_account
    if spec.args is not None:
        pipeline["args"] = [substitute(a, env.dependencies) for a in spec.args]
    return pipeline


def _feast(feast: Workload, env: Environment, bootstrap: Workload | None) -> dict[str, Any]:
    spec = feast.spec
    redis = _dependency(env, spec.redis_dependency)
    backup_tag = chart_image_tag(bootstrap) if bootstrap is not None else ""
    out: dict[str, Any] = {
        "enabled": feast.enabled,
        "image": _image(feast),
        "replicaCount": feast.replicas,
        "resources": _resources(feast.resources),
        "registry": {"size": spec.registry.size},
        "offlineStoreSecret": spec.offline_store_secret,
        "service": {"grpcPort": spec.port},
        "backup": {
            "schedule": spec.backup.schedule,
            "objectStoreSecret": spec.backup.secret,
            "image": {"repository": spec.backup.image, "tag": backup_tag},
        },
    }
    if redis is not None:
        out["redis"] = {"host": redis.dns_name, "port": redis.spec.port}
    # The chart reads feast.config.name with no default map (a nil pointer without it), and its
    # built-in feature_store.yaml points the online store at `redis:6379`.
    out["config"] = {"name": "feast-config", "featureStore": _feature_store(env, redis)}
    return out


def _feature_store(env: Environment, redis: Dependency | None) -> str:
    online = f"{redis.dns_name}:{redis.spec.port}" if redis is not None else "redis:6379"
    offline = _dependency(env, "timescaledb")
    host = offline.dns_name if offline is not None else "timescaledb"
    return (
        "project: kraken-risk\n"
        "registry: sqlite:////data/registry.db\n"
        "provider: kubernetes\n"
        "online_store:\n"
        "  type: redis\n"
        f"  connection_string: {online}\n"
        "offline_store:\n"
        "  type: postgres\n"
        f"  host: ${{FEAST_OFFLINE_HOST:-{host}}}\n"
        "  port: ${FEAST_OFFLINE_PORT:-5432}\n"
        "  database: ${FEAST_OFFLINE_DB:-marketdata}\n"
        "  db_schema: ${FEAST_OFFLINE_SCHEMA:-feast}\n"
        "  user: ${FEAST_OFFLINE_USER}\n"
        "  password: ${FEAST_OFFLINE_PASSWORD}\n"
    )


def _ui(ui: Workload, platform: Platform, env: Environment) -> dict[str, Any]:
    spec = ui.spec
    api = env.workload(spec.api_service)
    api_base = f"https://{api.host}" if api is not None and api.host else ""
    return {
        "enabled": ui.enabled,
        "nameOverride": ui.name if ui.name != "ui" else "aether-2-ui",
        "image": _image(ui),
        "replicaCount": ui.replicas,
        "containerPort": spec.port,
        "resources": _resources(ui.resources),
        # Compiled assets call the environment's risk API through its public ingress.
        "env": [
            {"name": "NEXT_PUBLIC_API_BASE_URL", "value": api_base},
            {"name": "VITE_API_BASE_URL", "value": api_base},
        ],
        "service": {"port": 80, "targetPort": "http"},
        "ingress": {"enabled": True, "host": ui.host, "tlsSecret": f"{ui.name}-tls"},
    }


def _bootstrap(bootstrap: Workload) -> dict[str, Any]:
    spec = bootstrap.spec
    out: dict[str, Any] = {
        "enabled": bootstrap.enabled,
        "actor": spec.actor,
        "image": _image(bootstrap),
        "workingDir": spec.working_dir,
        "serviceAccountName": spec.service_account,
    }
    config = spec.jobs.get("config")
    accounts = spec.jobs.get("accounts")
    migrations = spec.jobs.get("migrations")
    # A job the catalog leaves out is switched off (the chart's default is on).
    out["config"] = {"enabled": bool(config and config.enabled)}
    if config and config.database_secret:
        out["config"]["databaseSecret"] = {"name": config.database_secret, "dsnKey": "dsn"}
    out["accounts"] = {"enabled": bool(accounts and accounts.enabled)}
    if accounts and accounts.database_secret:
        out["accounts"]["databaseSecret"] = {"name": accounts.database_secret, "dsnKey": "dsn"}
    out["migrations"] = {"enabled": bool(migrations and migrations.enabled)}
    if migrations and migrations.risk_database_secret:
        out["migrations"]["riskDatabaseSecret"] = {
            "name": migrations.risk_database_secret,
            "dsnKey": "dsn",
        }
    if migrations and migrations.release_manifest_secret:
        out["migrations"]["releaseManifestSecret"] = {
            "name": migrations.release_manifest_secret,
            "dsnKey": "dsn",
        }
    return out
