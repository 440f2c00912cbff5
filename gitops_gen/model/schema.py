"""Schemas of the files people edit: the platform catalog and one file per environment.

YAML keys are camelCase (``ingressClassName``), Python attributes snake_case. Every model is
frozen and forbids unknown keys, so a typo is an error with a suggestion, never a silent no-op.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS_NAME = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
# a Kubernetes resource quantity: 500m, 1, 0.5, 1Gi, 1G, 1e3
QUANTITY = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+|[KMGTPE]i?|[munk]|)$")
# A git repository URL Argo CD can read: HTTPS, SSH (URL or scp-like) or a local file:// path.
GIT_URL = r"^(https://|ssh://|git@|file:///)"
MUTABLE_TAGS = frozenset({"latest", "main", "master", "stable", "edge", "dev", "nightly"})


class Strict(BaseModel):
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        str_strip_whitespace=False,
    )


def _check_quantities(values: dict[str, str | int | float], where: str) -> None:
    for key, value in values.items():
        if not QUANTITY.match(str(value)):
            raise ValueError(
                f"{where}.{key}: {value!r} is not a Kubernetes quantity (e.g. 250m, 1, 512Mi)"
            )


class Resources(Strict):
    requests: dict[str, str | int | float] = Field(default_factory=dict)
    limits: dict[str, str | int | float] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _quantities(self) -> Resources:
        _check_quantities(self.requests, "requests")
        _check_quantities(self.limits, "limits")
        return self


class Hpa(Strict):
    min: int = Field(ge=1)
    max: int = Field(ge=1)
    target_cpu: int = Field(default=70, ge=1, le=100)

    @model_validator(mode="after")
    def _bounds(self) -> Hpa:
        if self.max < self.min:
            raise ValueError(f"max ({self.max}) must be >= min ({self.min})")
        return self


class Pdb(Strict):
    min_available: int | str = 1


class Ingress(Strict):
    """``host`` is the first label; the environment's domain is appended."""

    host: str = Field(pattern=DNS_LABEL)
    path: str = "/"


class TlsMount(Strict):
    secret_name: str = Field(pattern=DNS_NAME)
    mount_path: str = "/etc/aether/tls"


KEY_REF = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?/[-._a-zA-Z0-9]+$"
CHART_KEY = r"^[A-Za-z0-9_-]+$"  # the chart's pattern for backendServices / deployments keys


def chart_key(name: str) -> str:
    """The chart's camelCase key for a component name: risk-service -> risk,
    capital-allocator -> capitalAllocator (set ``chartKey`` where the chart differs)."""
    words = name.removesuffix("-service").split("-")
    return words[0] + "".join(w[:1].upper() + w[1:] for w in words[1:])


class ServiceSpec(Strict):
    image: str = Field(min_length=1)
    description: str = ""
    chart_key: str | None = Field(default=None, pattern=CHART_KEY)
    port: int = Field(default=8000, ge=1, le=65535)
    replicas: int = Field(default=1, ge=0)
    resources: Resources = Resources()
    hpa: Hpa | None = None
    pdb: Pdb | None = None
    ingress: Ingress | None = None
    # Whole Secrets projected as environment variables (envFrom), one variable per key.
    secrets: tuple[str, ...] = ()
    # Single keys as named variables: {RISK_DATABASE_URL: risk-service-database/dsn}.
    secret_env: dict[str, str] = Field(default_factory=dict)
    env: dict[str, str] = Field(default_factory=dict)
    kraken: bool = Field(default=False, description="mount the Kraken credentials")

    @field_validator("secret_env")
    @classmethod
    def _refs(cls, value: dict[str, str]) -> dict[str, str]:
        return _check_secret_refs(value)


class PipelineSpec(Strict):
    image: str = Field(min_length=1)
    description: str = ""
    chart_key: str | None = Field(default=None, pattern=CHART_KEY)
    replicas: int = Field(default=1, ge=0)
    resources: Resources = Resources()
    tls: TlsMount | None = None
    settings: bool = Field(default=False, description="mount the shared settings.yaml")
    secrets: tuple[str, ...] = ()
    secret_env: dict[str, str] = Field(default_factory=dict)
    args: tuple[str, ...] | None = None
    config: dict[str, str] = Field(default_factory=dict)

    @field_validator("secret_env")
    @classmethod
    def _refs(cls, value: dict[str, str]) -> dict[str, str]:
        return _check_secret_refs(value)


def _check_secret_refs(value: dict[str, str]) -> dict[str, str]:
    for var, ref in value.items():
        if not re.match(KEY_REF, ref):
            raise ValueError(f"{var}: {ref!r} must be '<secret>/<key>', e.g. account-db/dsn")
    return value


class FeastRegistry(Strict):
    size: str = "5Gi"


class FeastBackup(Strict):
    """The backup CronJob; its image is the application's ops runtime, at the bootstrap tag."""

    schedule: str = "0 3 * * *"
    secret: str
    image: str = Field(min_length=1)


class FeastSpec(Strict):
    image: str = Field(min_length=1)
    port: int = Field(default=6566, ge=1, le=65535)
    replicas: int = Field(default=1, ge=0)
    resources: Resources = Resources()
    registry: FeastRegistry = FeastRegistry()
    backup: FeastBackup
    redis_dependency: str = "redis"
    offline_store_secret: str


class UiSpec(Strict):
    image: str = Field(min_length=1)
    replicas: int = Field(default=1, ge=0)
    port: int = Field(default=3000, ge=1, le=65535)
    resources: Resources = Resources()
    ingress: Ingress
    api_service: str = Field(description="the service whose ingress the UI calls")


class BootstrapJob(Strict):
    """A post-install hook job of the chart; the secrets it reads by role."""

    enabled: bool = True
    database_secret: str | None = None  # config, accounts
    risk_database_secret: str | None = None  # migrations
    release_manifest_secret: str | None = None  # migrations

    @property
    def secrets(self) -> tuple[str, ...]:
        names = (self.database_secret, self.risk_database_secret, self.release_manifest_secret)
        return tuple(n for n in names if n)


class BootstrapSpec(Strict):
    image: str = Field(min_length=1)
    service_account: str = "aether-bootstrap"
    working_dir: str = "/app"
    actor: str = Field(default="gitops-gen", min_length=1, description="MIGRATION_ACTOR")
    jobs: dict[Literal["config", "accounts", "migrations"], BootstrapJob]


class DependencySpec(Strict):
    repo_url: str = Field(alias="repoURL", pattern=r"^(https?|oci)://")
    chart: str = Field(min_length=1)
    host: str = Field(pattern=DNS_LABEL, description="service name other workloads connect to")
    port: int = Field(ge=1, le=65535)
    namespace: str | None = Field(default=None, pattern=DNS_LABEL)
    values: dict[str, Any] = Field(default_factory=dict)


class SecretSpec(Strict):
    keys: tuple[str, ...] = Field(min_length=1)
    purpose: str = ""
    per_kraken_account: bool = False


class Tls(Strict):
    issuer: str = "letsencrypt-production"


class KrakenSecrets(Strict):
    enabled: bool = True
    accounts: tuple[str, ...] = ()
    checksum: str = ""
    base_path: str = "/var/run/secrets/kraken"


class AccountAllowlists(Strict):
    """The Secret holding the admin and director allow-lists, projected into every backend."""

    secret: str
    admin_key: str = "admins"
    director_key: str = "directors"


class ReleaseManifest(Strict):
    """The release-manifest database every backend records releases in."""

    secret: str
    key: str = "dsn"
    sslmode: str = "require"


class ServiceAccounts(Strict):
    """Service accounts the chart creates and binds: backends, pipelines, bootstrap jobs (the
    chart has no service-account setting for Feast or the UI)."""

    backend: str | None = None
    pipelines: str | None = None
    bootstrap: str | None = None


class RuntimeSafety(Strict):
    allow_insecure_defaults: bool = False


class Globals(Strict):
    ingress_class_name: str = "nginx"
    tls: Tls = Tls()
    kraken_secrets: KrakenSecrets = KrakenSecrets()
    runtime_safety: RuntimeSafety = RuntimeSafety()
    service_accounts: ServiceAccounts = ServiceAccounts()
    account_allowlists: AccountAllowlists | None = None
    release_manifest: ReleaseManifest | None = None
    session_redis: str | None = Field(default=None, description="dependency of the sessions")


class ChartSettings(Strict):
    """How the platform chart is driven beyond the components (see README: the chart mapping)."""

    # The chart's own default backends this platform does not run: switched off, or they would
    # deploy from the chart's defaults (`latest` images).
    disabled_backends: tuple[str, ...] = ()
    # settings.yaml of the pipelines' shared ConfigMap; ${dep} is host:port, ${dep.host} the host.
    pipeline_settings: str | None = None


class PlatformInfo(Strict):
    name: str = Field(pattern=DNS_LABEL)
    # Argo CD accepts file:// too (a repository on its repo server's disk; also what the
    # end-to-end tests serve).
    gitops_repo: str = Field(pattern=GIT_URL)
    gitops_revision: str = "main"
    app_repo: str = Field(pattern=GIT_URL)
    chart_path: str = "deploy/helm/aether-platform"
    argocd_namespace: str = Field(default="argocd", pattern=DNS_LABEL)
    chart_repos: tuple[str, ...] = ()
    # Where the sops-secrets-operator chart comes from (a mirror, or a local chart repository);
    # the chart version stays the one this tool is built for.
    secrets_operator_repo: str | None = Field(default=None, pattern=r"^(https?|oci)://")


class Catalog(Strict):
    """``environments/platform.yaml``: everything the environments share."""

    platform: PlatformInfo
    globals: Globals = Globals()
    chart: ChartSettings = ChartSettings()
    dependencies: dict[str, DependencySpec] = Field(default_factory=dict)
    services: dict[str, ServiceSpec] = Field(default_factory=dict)
    pipelines: dict[str, PipelineSpec] = Field(default_factory=dict)
    feast: FeastSpec | None = None
    ui: UiSpec | None = None
    bootstrap: BootstrapSpec | None = None
    secrets: dict[str, SecretSpec] = Field(default_factory=dict)


# --- one file per environment -------------------------------------------------------------


class ClusterRef(Strict):
    name: str = Field(pattern=DNS_LABEL)
    server: str = Field(pattern=r"^https://")
    # the kubeconfig context of this cluster (default: its name); printed by `secrets keygen`
    kube_context: str | None = Field(default=None, min_length=1, pattern=r"^\S+$")


class SyncPolicy(Strict):
    automated: bool = True
    prune: bool = True
    self_heal: bool = True


class PlatformPin(Strict):
    revision: str = Field(min_length=1)


class ImagePin(Strict):
    """Per-environment settings of a workload; ``tag`` (or ``digest``) is what promotions move."""

    tag: str | None = None
    digest: str | None = Field(default=None, pattern=r"^sha256:[0-9a-f]{64}$")
    replicas: int | None = Field(default=None, ge=0)
    hpa: Hpa | None = None
    resources: Resources | None = None
    enabled: bool = True

    @field_validator("tag")
    @classmethod
    def _non_empty_tag(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("image tag is empty; set a version such as '2.14.0'")
        return value


class DependencyPin(Strict):
    chart: str = Field(min_length=1, description="the pinned chart version")
    values: dict[str, Any] = Field(default_factory=dict)


# A duration as the scheduled audit's settings write it: 90s, 15m, 24h, 7d, 1h30m.
DURATION = r"^([0-9]+[smhd])+$"
# a key of a Secret or ConfigMap (the characters Kubernetes allows in data keys)
CONFIG_KEY = r"^[-._a-zA-Z0-9]+$"


class SecretKeyRef(Strict):
    """One key of a Secret in the environment's namespace: the repository holds the name only."""

    secret: str = Field(pattern=DNS_NAME)
    key: str = Field(pattern=CONFIG_KEY)


class RepoCredentials(Strict):
    """How the scheduled audit authenticates its clone of the GitOps repository.

    ``https``: the Secret's keys ``username`` and ``password`` (a token), optionally ``ca.crt``
    (the CA of a forge with a private certificate);
    ``ssh``: ``sshPrivateKey`` and ``known_hosts`` (host keys are checked strictly).
    Mounted into the CronJob's init container only (gitops_gen/drift/clone.py reads them).
    """

    type: Literal["https", "ssh"]
    secret: str = Field(pattern=DNS_NAME)


class NotifyTarget(Strict):
    """Where the scheduled audit's report goes. Credentials are Secret references, never values.

    ``webhook`` (generic JSON) and ``slack`` (an incoming webhook) post to the URL held in ``url``;
    ``github`` and ``gitlab`` keep one issue per environment in ``project``, with ``token``.
    """

    name: str = Field(pattern=DNS_LABEL)
    type: Literal["webhook", "slack", "github", "gitlab"]
    url: SecretKeyRef | None = None
    project: str | None = Field(default=None, pattern=r"^[\w.-]+(/[\w.-]+)+$")
    api_url: str | None = Field(default=None, pattern=r"^https?://")
    token: SecretKeyRef | None = None

    @model_validator(mode="after")
    def _fields_of_type(self) -> NotifyTarget:
        if self.type in ("webhook", "slack"):
            if self.url is None:
                raise ValueError(f"{self.type} target {self.name!r} needs url: {{secret, key}}")
            if self.project or self.token:
                raise ValueError(
                    f"{self.type} target {self.name!r} takes url only, not project/token"
                )
        else:
            if not self.project or self.token is None:
                raise ValueError(
                    f"{self.type} target {self.name!r} needs project (owner/repo) and "
                    "token: {secret, key}"
                )
            if self.url is not None:
                raise ValueError(f"{self.type} target {self.name!r} takes project/token, not url")
        return self


class Notify(Strict):
    targets: list[NotifyTarget] = Field(min_length=1)
    # Notifications go out when findings change, and again after this long while drift persists.
    remind_every: str = Field(default="24h", pattern=DURATION)
    # Where people read the report (the Argo CD UI, a dashboard), linked from webhook and Slack
    # messages; default: the environment's issue, when a github/gitlab target keeps one.
    link: str | None = Field(default=None, pattern=r"^https?://")

    @field_validator("targets")
    @classmethod
    def _unique_names(cls, targets: list[NotifyTarget]) -> list[NotifyTarget]:
        names = [target.name for target in targets]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"notify target names must be unique: {', '.join(duplicates)}")
        return targets


class DriftSchedule(Strict):
    schedule: str = "*/30 * * * *"
    enabled: bool = True
    report_config_map: bool = True
    repo_credentials: RepoCredentials | None = None
    notify: Notify | None = None
    pushgateway: str | None = Field(default=None, pattern=r"^https?://")
    # An Application whose status.reconciledAt is older than this is a stale verdict; unset means
    # three times the application controller's resync period.
    stale_after: str | None = Field(default=None, pattern=DURATION)

    @model_validator(mode="after")
    def _notify_needs_its_state(self) -> DriftSchedule:
        # what was notified, and when, is kept in the report ConfigMap: without it every run
        # would notify again
        if self.notify is not None and not self.report_config_map:
            raise ValueError("drift.notify needs drift.reportConfigMap: true (it keeps the state)")
        return self


class EnvironmentFile(Strict):
    """``environments/<name>.yaml``: what differs in one environment."""

    tier: Literal["dev", "staging", "prod"]
    cluster: ClusterRef
    namespace: str = Field(pattern=DNS_LABEL)
    domain: str = Field(pattern=DNS_NAME)
    promoted_from: str | None = None
    protected: bool | None = None
    sync: SyncPolicy = SyncPolicy()
    platform: PlatformPin
    dependencies: dict[str, DependencyPin] = Field(default_factory=dict)
    services: dict[str, ImagePin] = Field(default_factory=dict)
    pipelines: dict[str, ImagePin] = Field(default_factory=dict)
    feast: ImagePin | None = None
    ui: ImagePin | None = None
    bootstrap: ImagePin | None = None
    holds: dict[str, str] = Field(default_factory=dict)
    runtime_safety: RuntimeSafety | None = None
    drift: DriftSchedule = DriftSchedule()
