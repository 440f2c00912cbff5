"""One audit: desired state against live state, into findings. No output here."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gitops_gen.drift import argo
from gitops_gen.drift.admission import without_admission_defaults
from gitops_gen.drift.canonical import Tokens, scope_object, strip_object
from gitops_gen.drift.compare import Diff, compare_object
from gitops_gen.drift.desired import DesiredObject, DesiredState
from gitops_gen.drift.findings import (
    AuditedObject,
    AuditResult,
    Finding,
    FindingType,
    ObjectRef,
    Severity,
    pointer,
)
from gitops_gen.drift.ignore import (
    SCALED_KINDS,
    IgnoreRule,
    hpa_targets,
    ignored_paths,
    is_ignored,
    rules_of_application,
)
from gitops_gen.drift.live import ApiRequestError, AuditStopped, LiveCluster, ResourceType
from gitops_gen.drift.mask import Masker, decode_secret_data, is_secret_path
from gitops_gen.drift.orphans import orphan_findings
from gitops_gen.drift.schema import KindSchema, SchemaSource
from gitops_gen.drift.secrets import secret_findings
from gitops_gen.drift.serverside import FIELD_MANAGER, project, shape, zero_storage
from gitops_gen.hydrate.audit import ignored_note

Identity = tuple[str, str, str, str]
Scope = tuple[ResourceType, str | None]
Progress = Callable[[str, int, int], None]
TRACKING_ANNOTATION = "argocd.argoproj.io/tracking-id"
INSTANCE_LABEL = "app.kubernetes.io/instance"
HPA = ("autoscaling/v2", "HorizontalPodAutoscaler")


@dataclass
class AuditOptions:
    server_side: bool = False
    concurrency: int = 8
    expected_secret_values: Mapping[str, Mapping[str, bytes]] | None = None
    resolve_revision: argo.RevisionResolver | None = None
    progress: Progress | None = None
    # drift --hydrate: differences ignoreDifferences hides are not drift, but are said here
    ignored_notes: list[str] | None = None
    # How old an Application's status.reconciledAt may be (--stale-after, drift.staleAfter);
    # None: three times the controller's resync, read from argocd-cm when allowed.
    stale_after: argo.StaleThreshold | None = None
    now: datetime | None = None  # the audit's "now" for ages (tests pin it)


@dataclass
class _Live:
    """Everything listed, by identity, and the types that could not be listed."""

    objects: dict[Identity, tuple[ObjectRef, dict[str, Any]]] = field(default_factory=dict)
    failed: dict[tuple[str, str, str], Finding] = field(default_factory=dict)  # group,kind,ns


def run_audit(
    state: DesiredState,
    cluster: LiveCluster,
    masker: Masker,
    options: AuditOptions | None = None,
) -> AuditResult:
    """Audit ``state`` against ``cluster``.

    When the server stops answering (or the deadline passes) the audit does not raise: what
    was audited is in the result, everything else is an ``error`` finding, and
    ``result.stopped`` holds the reason (the command exits 2 after printing the report).
    """
    options = options or AuditOptions()
    result = AuditResult(state.environment, mode="server-side" if options.server_side else "fast")
    desired, scopes, unserved = _resolve(state, cluster)
    result.findings.extend(unserved)
    live = _list_all(cluster, scopes, options)
    result.findings.extend(live.failed.values())

    rules = _ignore_rules(desired, live)
    stale = _stale_threshold(cluster, desired, options)
    now = options.now or datetime.now(UTC)
    scaled = hpa_targets([d.obj for d in desired]) | hpa_targets(
        o for r, o in live.objects.values() if r.kind == "HorizontalPodAutoscaler"
    )
    dry_runs = _dry_runs(cluster, desired, live, options) if options.server_side else {}
    result.warnings.extend(w for w in dry_runs.values() if isinstance(w, str))
    schemas = _Schemas(cluster, result.warnings)
    storage = _ZeroStorage(cluster, result.warnings)

    app_of: dict[Identity, str] = {}
    for index, item in enumerate(desired):
        failed = live.failed.get((item.ref.group, item.ref.kind, item.ref.namespace))
        # the repository's attribution, else Argo CD's tracking on the live object or manifest
        app = (
            item.app
            or _tracking_app(live.objects.get(item.ref.identity))
            or _tracking_app((item.ref, item.obj))
        )
        app_of[item.ref.identity] = app
        if failed is None:  # objects of a type that could not be listed were not audited
            result.objects.append(AuditedObject(item.ref, app))
            try:
                findings = _audit_object(
                    item, app, live, rules, scaled, dry_runs, masker, options, schemas, storage
                )
                findings.extend(_stale(item.ref, live, app, stale, now))
            except AuditStopped as stopped:
                findings = [_stopped_finding(item.ref, app, stopped)]
            result.findings.extend(findings)
        if options.progress:
            options.progress("compare", index + 1, len(desired))

    listed = list(live.objects.values())
    for ref, obj in listed:
        app_of.setdefault(ref.identity, _tracking_app((ref, obj)))
    orphans = orphan_findings(
        listed,
        {d.ref.identity for d in desired},
        state.environment,
        app_of,
        sources={d.app or app_of.get(d.ref.identity, "") for d in desired},
        exclude=state.not_from_source,
    )
    for finding in orphans:
        result.objects.append(AuditedObject(finding.ref, finding.app))
    result.findings.extend(orphans)

    if state.requirements:
        secrets = {
            ref.name: obj
            for ref, obj in listed
            if ref.kind == "Secret" and ref.group == "" and ref.namespace == state.namespace
        }
        listed_secrets = any(
            r.group == "" and r.kind == "Secret" and n == state.namespace for r, n in scopes
        )
        if not listed_secrets and cluster.stopped is not None:
            result.findings.append(
                _type_error(
                    ObjectRef("", "v1", "Secret", state.namespace, ""),
                    cluster.stopped.rule,
                    f"{cluster.stopped.message}; the required Secrets were not checked",
                )
            )
        elif ("", "Secret", state.namespace) not in live.failed:
            for requirement in state.requirements:
                ref = ObjectRef("", "v1", "Secret", state.namespace, requirement.name)
                result.objects.append(AuditedObject(ref, ""))
            result.findings.extend(
                secret_findings(
                    state.namespace,
                    state.requirements,
                    secrets,
                    masker,
                    expected_values=options.expected_secret_values,
                )
            )
    result.warnings.extend(options.ignored_notes or [])
    result.api_requests = cluster.requests
    result.lists = cluster.lists
    if cluster.stopped is not None:
        result.stopped = cluster.stopped.message
    return result.sorted()


def _stale_threshold(
    cluster: LiveCluster, desired: list[DesiredObject], options: AuditOptions
) -> argo.StaleThreshold | None:
    """The threshold for stale verdicts; argocd-cm is read (one GET) only when needed.

    The audit's own ServiceAccount may not read ConfigMaps in Argo CD's namespace: then, as
    when argocd-cm has no ``timeout.reconciliation``, Argo CD's default resync is assumed.
    """
    if options.stale_after is not None:
        return options.stale_after
    apps = [d.ref for d in desired if argo.is_application(d.ref)]
    if not apps:
        return None
    namespace = apps[0].namespace
    try:
        config = cluster.request(
            "GET",
            f"/api/v1/namespaces/{namespace}/configmaps/{argo.ARGOCD_CM}",
            f"read ConfigMap {namespace}/{argo.ARGOCD_CM}",
        )
    except (ApiRequestError, AuditStopped):
        config = None
    return argo.default_threshold(config)


def _stale(
    ref: ObjectRef,
    live: _Live,
    app: str,
    threshold: argo.StaleThreshold | None,
    now: datetime,
) -> list[Finding]:
    entry = live.objects.get(ref.identity)
    if threshold is None or entry is None or not argo.is_application(ref):
        return []
    finding = argo.stale_finding(ref, entry[1], app, threshold, now)
    return [finding] if finding is not None else []


class _ZeroStorage:
    """Fast mode's answer to "does the server store a false/0/\"\" there?", for fields whose
    schema has no default: one server-side-apply dry run (nothing is persisted) of the first
    object that asks, learnt per kind and field for the rest of the run. An auditor allowed to
    read only (no ``patch``) cannot dry-run: the comparison then goes by the default the field's
    description states, and a warning names the kind.
    """

    def __init__(self, cluster: LiveCluster, warnings: list[str]) -> None:
        self._cluster = cluster
        self._warnings = warnings
        self._known: dict[tuple[str, str], dict[Tokens, bool]] = {}
        self._asked: set[Identity] = set()
        self._refused: set[tuple[str, str]] = set()

    def lookup(self, item: DesiredObject) -> Callable[[Tokens], bool | None]:
        kind = (item.ref.group, item.ref.kind)

        def stored(tokens: Tokens) -> bool | None:
            known = self._known.setdefault(kind, {})
            place = shape(tokens)
            if place not in known and item.ref.identity not in self._asked:
                self._learn(item, known)
            return known.get(place)

        return stored

    def _learn(self, item: DesiredObject, known: dict[Tokens, bool]) -> None:
        self._asked.add(item.ref.identity)
        kind = (item.ref.group, item.ref.kind)
        if kind in self._refused:
            return
        resource = self._cluster.resource(item.ref.api_version, item.ref.kind)
        if resource is None:
            return
        try:
            result = self._cluster.dry_run_apply(resource, item.obj, FIELD_MANAGER)
        except ApiRequestError as exc:
            self._refused.add(kind)
            self._warnings.append(
                f'{item.ref.kind}{"." + item.ref.group if item.ref.group else ""}: a false/0/"" '
                f"field absent live could not be checked with a dry run ({exc.message}); "
                "it was decided by the default its description states, else reported "
                "(use --server-side with an identity allowed to patch for exact results)"
            )
            return
        for place, value in zero_storage(item.obj, strip_object(result)).items():
            known.setdefault(place, value)


def _stopped_finding(ref: ObjectRef, app: str, stopped: AuditStopped) -> Finding:
    return Finding(
        ref,
        FindingType.ERROR,
        "",
        None,
        None,
        Severity.HIGH,
        stopped.rule,
        app,
        f"{stopped.message}; not audited",
    )


def _type_error(ref: ObjectRef, rule: str, message: str) -> Finding:
    """An error about a whole type (no object name): it was not audited."""
    return Finding(ref, FindingType.ERROR, "", None, None, Severity.HIGH, rule, "", message)


class _Schemas:
    """Each kind's OpenAPI v3 schema, fetched when a comparison first needs it.

    A server that publishes none (or refuses it) leaves the comparison to its built-in rules,
    with one warning; a server that stops answering stops the audit.
    """

    def __init__(self, cluster: LiveCluster, warnings: list[str]) -> None:
        self._source = SchemaSource(self._fetch)
        self._cluster = cluster
        self._warnings = warnings
        self._failed = False

    def _fetch(self, url: str, what: str) -> dict[str, Any]:
        if self._failed:
            return {}
        try:
            return self._cluster.openapi(url, what)
        except AuditStopped:
            raise
        except ApiRequestError as exc:
            self._failed = True
            self._warnings.append(
                f"{exc.message}; fields compared without the server's schema "
                "(defaults and quantities by the built-in rules)"
            )
            return {}

    def lookup(self, ref: ObjectRef) -> Callable[[], KindSchema | None]:
        return lambda: self._source.kind(ref.group, ref.version, ref.kind)


def _resolve(
    state: DesiredState, cluster: LiveCluster
) -> tuple[list[DesiredObject], set[Scope], list[Finding]]:
    """Settle each desired object's type and namespace; the (type, namespace) pairs to LIST."""
    desired: list[DesiredObject] = []
    scopes: set[Scope] = set()
    findings: dict[tuple[str, str], Finding] = {}
    for item in state.objects:
        api_version, kind = str(item.obj["apiVersion"]), str(item.obj["kind"])
        ref = ObjectRef.of(item.obj)
        try:
            resource = cluster.resource(api_version, kind)
        except AuditStopped as stopped:
            findings.setdefault(
                (api_version, kind),
                _type_error(
                    ObjectRef(ref.group, ref.version, kind, "", ""),
                    stopped.rule,
                    f"{stopped.message}; objects of this kind were not audited",
                ),
            )
            continue
        if resource is None:
            findings.setdefault(
                (api_version, kind),
                _type_error(
                    ObjectRef(ref.group, ref.version, kind, "", ""),
                    "audit/kind-not-served",
                    f"the cluster does not serve {kind} in {api_version} (CRD not installed?); "
                    "objects of this kind were not audited",
                ),
            )
            continue
        obj = scope_object(item.obj, resource.namespaced, state.namespace)
        ref = ObjectRef.of(obj)
        desired.append(DesiredObject(ref, obj, item.source, item.app))
        scopes.add((resource, ref.namespace or None))
        if (ref.group, ref.kind) in SCALED_KINDS and ref.namespace:
            hpa = _served(cluster, *HPA)
            if hpa is not None:
                scopes.add((hpa, ref.namespace))
    for api_version, kind, namespace in state.orphan_scopes:
        resource = _served(cluster, api_version, kind)
        if resource is not None:
            scopes.add((resource, namespace if resource.namespaced else None))
    if state.requirements:
        secret = _served(cluster, "v1", "Secret")
        if secret is not None:
            scopes.add((secret, state.namespace))
    return desired, scopes, list(findings.values())


def _served(cluster: LiveCluster, api_version: str, kind: str) -> ResourceType | None:
    """A type looked at besides the desired ones; one the server cannot tell about is skipped
    (the audit has stopped: the desired objects' error findings say so)."""
    try:
        return cluster.resource(api_version, kind)
    except AuditStopped:
        return None


def _list_all(cluster: LiveCluster, scopes: set[Scope], options: AuditOptions) -> _Live:
    live = _Live()
    ordered = sorted(scopes, key=lambda s: (s[0].group, s[0].kind, s[1] or ""))

    def one(scope: Scope) -> tuple[Scope, list[dict[str, Any]] | ApiRequestError | AuditStopped]:
        try:
            return scope, cluster.list(*scope)
        except AuditStopped as stopped:
            return scope, stopped
        except ApiRequestError as exc:
            return scope, exc

    workers = max(1, min(options.concurrency, len(ordered) or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for done, (scope, outcome) in enumerate(pool.map(one, ordered), start=1):
            resource, namespace = scope
            if isinstance(outcome, AuditStopped):
                live.failed[(resource.group, resource.kind, namespace or "")] = _type_error(
                    ObjectRef(resource.group, resource.version, resource.kind, namespace or "", ""),
                    outcome.rule,
                    f"{outcome.message}; objects of this type were not audited",
                )
            elif isinstance(outcome, ApiRequestError):
                rule = "audit/forbidden" if outcome.status == 403 else "audit/list-failed"
                live.failed[(resource.group, resource.kind, namespace or "")] = Finding(
                    ObjectRef(resource.group, resource.version, resource.kind, namespace or "", ""),
                    FindingType.ERROR,
                    "",
                    None,
                    None,
                    Severity.HIGH,
                    rule,
                    "",
                    f"{outcome.message}; objects of this type were not audited",
                )
            else:
                for obj in outcome:
                    ref = ObjectRef.of(obj)
                    live.objects[ref.identity] = (ref, obj)
            if options.progress:
                options.progress("list", done, len(ordered))
    return live


def _tracking_app(entry: tuple[ObjectRef, dict[str, Any]] | None) -> str:
    """The Application an object belongs to, from Argo CD's tracking annotation or label."""
    if entry is None:
        return ""
    metadata = entry[1].get("metadata") or {}
    tracking = (metadata.get("annotations") or {}).get(TRACKING_ANNOTATION)
    if tracking:
        return str(tracking).split(":", 1)[0]
    return str((metadata.get("labels") or {}).get(INSTANCE_LABEL, ""))


def _ignore_rules(desired: list[DesiredObject], live: _Live) -> dict[str, list[IgnoreRule]]:
    """Each Application's ignoreDifferences; the repository's version wins over the live one."""
    rules: dict[str, list[IgnoreRule]] = {}
    for ref, obj in live.objects.values():
        if argo.is_application(ref):
            rules[ref.name] = rules_of_application(obj)
    for item in desired:
        if argo.is_application(item.ref):
            rules[item.ref.name] = rules_of_application(item.obj)
    return rules


DryRun = dict[str, Any] | str | AuditStopped


def _dry_runs(
    cluster: LiveCluster, desired: list[DesiredObject], live: _Live, options: AuditOptions
) -> dict[Identity, DryRun]:
    """Dry-run results by object; a refused dry run is a warning and a canonical compare
    (e.g. a changed Service port makes the merged port list invalid)."""
    present = [d for d in desired if d.ref.identity in live.objects]

    def one(item: DesiredObject) -> tuple[Identity, DryRun]:
        resource = cluster.resource(item.ref.api_version, item.ref.kind)
        assert resource is not None  # resolved before
        try:
            return item.ref.identity, cluster.dry_run_apply(resource, item.obj, FIELD_MANAGER)
        except AuditStopped as stopped:
            return item.ref.identity, stopped
        except ApiRequestError as exc:
            return item.ref.identity, (
                f"{item.ref.display()}: {exc.message}; compared without the server's defaults"
            )

    out: dict[Identity, DryRun] = {}
    with ThreadPoolExecutor(max_workers=max(1, options.concurrency)) as pool:
        for done, (identity, outcome) in enumerate(pool.map(one, present), start=1):
            out[identity] = outcome
            if options.progress:
                options.progress("dry-run", done, len(present))
    return out


def _audit_object(
    item: DesiredObject,
    app: str,
    live: _Live,
    rules: dict[str, list[IgnoreRule]],
    scaled: set[Identity],
    dry_runs: Mapping[Identity, DryRun],
    masker: Masker,
    options: AuditOptions,
    schemas: _Schemas,
    storage: _ZeroStorage,
) -> list[Finding]:
    ref = item.ref
    entry = live.objects.get(ref.identity)
    if entry is None:
        return [
            Finding(
                ref,
                FindingType.MISSING,
                "",
                None,
                None,
                Severity.HIGH,
                "drift/object-missing",
                app,
                "not found in the cluster",
            )
        ]
    live_obj = entry[1]
    desired_obj = item.obj
    dry_run = dry_runs.get(ref.identity)
    if isinstance(dry_run, AuditStopped):
        raise dry_run
    if isinstance(dry_run, dict):
        desired_obj = project(strip_object(dry_run), desired_obj)
    stripped = without_admission_defaults(ref, desired_obj, strip_object(live_obj))
    app_rules = [r for name in {app, item.app} if name for r in rules.get(name, [])]
    ignored = ignored_paths(
        ref, desired_obj, live_obj, app_rules, hpa_scaled=ref.identity in scaled
    )
    diffs = compare_object(
        ref,
        desired_obj,
        stripped,
        schemas.lookup(ref),
        projected=isinstance(dry_run, dict),
        zero_stored=storage.lookup(item),
    )
    findings = [
        _finding(ref, diff, app, masker) for diff in diffs if not is_ignored(diff.tokens, ignored)
    ]
    if options.ignored_notes is not None:
        options.ignored_notes.extend(
            ignored_note(ref, pointer(diff.tokens), app)
            for diff in diffs
            if is_ignored(diff.tokens, ignored)
        )
    if argo.is_application(ref):
        findings.extend(
            argo.status_findings(ref, desired_obj, live_obj, app, options.resolve_revision)
        )
    return findings


def _finding(ref: ObjectRef, diff: Diff, app: str, masker: Masker) -> Finding:
    rule, severity = argo.classify(ref, diff.tokens, diff.type)
    desired, live = diff.desired, diff.live
    if is_secret_path(ref.group, ref.kind, diff.tokens):
        desired = _mask(ref, diff.tokens, desired, masker)
        live = _mask(ref, diff.tokens, live, masker)
    return Finding(ref, diff.type, pointer(diff.tokens), desired, live, severity, rule, app)


def _mask(ref: ObjectRef, tokens: Tokens, value: Any, masker: Masker) -> Any:
    """Secret data is compared by its bytes, so it is masked by its bytes (data is base64)."""
    if value is None:
        return None
    if ref.kind == "Secret" and tokens and tokens[0] == "data":
        if len(tokens) == 1 and isinstance(value, dict):
            return {k: masker.mask_bytes(decode_secret_data(v)) for k, v in value.items()}
        if len(tokens) == 2 and not isinstance(value, dict | list):
            return masker.mask_bytes(decode_secret_data(value))
    return masker.mask_value(value)
