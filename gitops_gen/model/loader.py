"""Load ``environments/``: parse with line numbers, validate, cross-check, resolve.

Every problem becomes one :class:`InputError` line: ``file:line: key.path: what is wrong`` and,
for unknown names, the closest valid spelling.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from gitops_gen.errors import InputError
from gitops_gen.model import schema
from gitops_gen.model.resolved import (
    Component,
    ComponentKind,
    Dependency,
    Environment,
    Platform,
    RequiredSecret,
    Workload,
)
from gitops_gen.yamlio import KeyPath, LocatedDocument, load_located

M = TypeVar("M", bound=BaseModel)

CATALOG_FILE = "platform.yaml"
ENVIRONMENTS_DIR = "environments"


def suggest(word: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` or an empty string."""
    matches = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f"; did you mean '{matches[0]}'?" if matches else ""


def unknown_environment(name: str, platform: Platform) -> InputError:
    known = sorted(platform.environments)
    hint = suggest(name, known)
    listing = ", ".join(known) or "none"
    return InputError(
        f"unknown environment '{name}'{hint} (environments: {listing}; each is a file "
        f"{ENVIRONMENTS_DIR}/<name>.yaml)"
    )


def load_platform(root: Path) -> Platform:
    """Load and resolve the whole platform under ``root``; raises :class:`InputError`."""
    env_dir = root / ENVIRONMENTS_DIR
    if not env_dir.is_dir():
        raise InputError(
            f"{ENVIRONMENTS_DIR}/: not found in {root}; run 'gitops-gen init' to scaffold a "
            "repository or pass --repo"
        )
    catalog_doc = load_located(env_dir / CATALOG_FILE, root)
    catalog = _validate(schema.Catalog, catalog_doc, root)
    _check_catalog(catalog, catalog_doc, root)

    env_docs: dict[str, LocatedDocument] = {}
    env_files: dict[str, schema.EnvironmentFile] = {}
    for path in sorted(env_dir.glob("*.yaml")):
        if path.name == CATALOG_FILE:
            continue
        name = path.stem
        if not _is_dns_label(name):
            raise InputError(
                f"{path.relative_to(root)}: environment name '{name}' must be a DNS label "
                "(lower-case letters, digits and '-'); rename the file"
            )
        doc = load_located(path, root)
        env_docs[name] = doc
        env_files[name] = _validate(schema.EnvironmentFile, doc, root)
    if not env_files:
        raise InputError(
            f"{ENVIRONMENTS_DIR}/: no environment files; add one such as "
            f"{ENVIRONMENTS_DIR}/dev.yaml"
        )
    _check_promotion_graph(env_files, env_docs, root)

    environments = {
        name: _resolve(name, env_files[name], env_docs[name], catalog, root) for name in env_files
    }
    return Platform(root=root, catalog=catalog, environments=environments)


# --- schema validation ------------------------------------------------------------------------


def _validate(model: type[M], doc: LocatedDocument, root: Path) -> M:
    if doc.data is None:
        raise InputError(f"{doc.where((), root)}: file is empty; expected a mapping of settings")
    if not isinstance(doc.data, dict):
        raise InputError(
            f"{doc.where((), root)}: expected a mapping of settings at the top level, "
            f"found {_type_name(doc.data)}"
        )
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        # an unknown key usually explains the "missing" error next to it (a typo), so say it first
        errors.sort(key=lambda e: 0 if e["type"] == "extra_forbidden" else 1)
        first = errors[0]
        places = {
            tuple(e["loc"][:-1]) if e["type"] == "missing" else tuple(e["loc"]) for e in errors
        }
        others = len(places) - 1
        more = f" (and {others} more problem{'s' if others > 1 else ''})" if others > 0 else ""
        raise InputError(_describe(first, model, doc, root) + more) from None


def _describe(error: Any, model: type[BaseModel], doc: LocatedDocument, root: Path) -> str:
    loc: KeyPath = tuple(p for p in error["loc"] if isinstance(p, (str, int)))
    # pydantic adds the union member's type name to the location; it is noise to a person
    loc = tuple(p for p in loc if not (isinstance(p, str) and p[:1].isupper()))
    key_path = _key_path(loc)
    kind = error["type"]
    found = error.get("input")
    where = doc.where(loc, root)
    if kind == "extra_forbidden":
        parent = loc[:-1]
        allowed = _allowed_keys(model, parent)
        hint = suggest(str(loc[-1]), allowed)
        where_in = _key_path(parent) or "the top level"
        return f"{where}: {key_path}: unknown key '{loc[-1]}' in {where_in}{hint}"
    if kind == "missing":
        parent_where = doc.where(loc[:-1], root)
        return (
            f"{parent_where}: {key_path}: required key '{loc[-1]}' is missing; add it to "
            f"{_key_path(loc[:-1]) or 'the top level'}"
        )
    written = doc.plain.get(loc)
    if kind == "string_type" and written is not None and isinstance(found, (bool, int, float)):
        return f"{where}: {key_path}: {_misread(written, found)}"
    expected = _expected(kind, error)
    if expected:
        return f"{where}: {key_path}: expected {expected}, found {_show(found)}"
    message = str(error.get("msg", "invalid value"))
    message = message.removeprefix("Value error, ")
    if isinstance(found, (dict, list)):  # a whole-object check: the message names the field
        return f"{where}: {key_path or '(top level)'}: {message}"
    return f"{where}: {key_path or '(top level)'}: {message} (found {_show(found)})"


_EXPECTED = {
    "int_parsing": "an integer",
    "int_type": "an integer",
    "int_from_float": "an integer",
    "float_parsing": "a number",
    "float_type": "a number",
    "bool_parsing": "true or false",
    "bool_type": "true or false",
    "string_type": "a string",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "list_type": "a list",
    "tuple_type": "a list",
    "mapping_type": "a mapping",
}


def _expected(kind: str, error: Any) -> str | None:
    if kind in _EXPECTED:
        return _EXPECTED[kind]
    ctx = error.get("ctx") or {}
    if kind == "literal_error":
        return f"one of {ctx.get('expected', '?')}"
    if kind == "string_pattern_mismatch":
        return f"a value matching {ctx.get('pattern', '?')}"
    if kind in {"greater_than_equal", "greater_than"}:
        return f"a number >= {ctx.get('ge', ctx.get('gt'))}"
    if kind in {"less_than_equal", "less_than"}:
        return f"a number <= {ctx.get('le', ctx.get('lt'))}"
    if kind in {"string_too_short", "too_short"}:
        return "a non-empty value"
    return None


def _misread(written: str, value: bool | int | float) -> str:
    """An unquoted string YAML turned into something else: ``2.10`` (2.1), ``on`` (true)."""
    if isinstance(value, bool):
        reading = f"the boolean {str(value).lower()}"
    else:
        reading = f"the number {value}"
    return f'{written} is read by YAML as {reading}; quote it: "{written}"'


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _type_name(value: Any) -> str:
    return {list: "a list", str: "a string", int: "a number", float: "a number"}.get(
        type(value), type(value).__name__
    )


def _key_path(loc: KeyPath) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _allowed_keys(model: type[BaseModel], loc: KeyPath) -> list[str]:
    """The keys a mapping at ``loc`` accepts, found by walking the schema's type annotations."""
    annotation: Any = model
    for part in loc:
        annotation = _unwrap(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = next(
                (f for n, f in annotation.model_fields.items() if (f.alias or n) == part), None
            )
            if field is None:
                return []
            annotation = field.annotation
            continue
        args = typing.get_args(annotation)
        origin = typing.get_origin(annotation)
        if origin is dict and len(args) == 2:
            annotation = args[1]
        elif origin in (tuple, list) and args:
            annotation = args[0]
        else:
            return []
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [f.alias or n for n, f in annotation.model_fields.items()]
    return []


def _unwrap(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(members) == 1:
            return members[0]
    return annotation


def _is_dns_label(name: str) -> bool:
    import re

    return re.match(schema.DNS_LABEL, name) is not None and len(name) <= 63


# --- cross-checks -----------------------------------------------------------------------------


def _check_catalog(catalog: schema.Catalog, doc: LocatedDocument, root: Path) -> None:
    seen: dict[str, str] = {}
    sections: list[tuple[str, Iterable[str]]] = [
        ("dependencies", catalog.dependencies),
        ("services", catalog.services),
        ("pipelines", catalog.pipelines),
    ]
    singletons = [
        ("feast", catalog.feast),
        ("ui", catalog.ui),
        ("bootstrap", catalog.bootstrap),
    ]
    sections.extend((name, [name]) for name, value in singletons if value is not None)
    reserved = {"platform", "secrets", "root"}
    for section, names in sections:
        for name in names:
            if not _is_dns_label(name):
                raise InputError(
                    f"{doc.where((section, name), root)}: {section}.{name}: component names must "
                    "be DNS labels (lower-case letters, digits, '-')"
                )
            if name in reserved and section not in {"feast", "ui", "bootstrap"}:
                raise InputError(
                    f"{doc.where((section, name), root)}: {section}.{name}: '{name}' is reserved; "
                    "choose another component name"
                )
            if name in seen:
                raise InputError(
                    f"{doc.where((section, name), root)}: {section}.{name}: duplicate component "
                    f"name, already defined in {seen[name]}; component names must be unique"
                )
            seen[name] = section
    if catalog.ui is not None:
        api = catalog.ui.api_service
        service = catalog.services.get(api)
        if service is None:
            raise InputError(
                f"{doc.where(('ui', 'apiService'), root)}: ui.apiService: unknown service "
                f"'{api}'{suggest(api, catalog.services)}"
            )
        if service.ingress is None:
            raise InputError(
                f"{doc.where(('ui', 'apiService'), root)}: ui.apiService: service '{api}' has no "
                "ingress, so the UI cannot reach it; add services." + api + ".ingress"
            )
    if catalog.feast is not None and catalog.feast.redis_dependency not in catalog.dependencies:
        dep = catalog.feast.redis_dependency
        raise InputError(
            f"{doc.where(('feast', 'redisDependency'), root)}: feast.redisDependency: unknown "
            f"dependency '{dep}'{suggest(dep, catalog.dependencies)}"
        )


def _check_promotion_graph(
    files: dict[str, schema.EnvironmentFile], docs: dict[str, LocatedDocument], root: Path
) -> None:
    for name, env in files.items():
        source = env.promoted_from
        if source is None:
            continue
        where = docs[name].where(("promotedFrom",), root)
        if source == name:
            raise InputError(f"{where}: promotedFrom: '{name}' cannot be promoted from itself")
        if source not in files:
            raise InputError(
                f"{where}: promotedFrom: unknown environment '{source}'{suggest(source, files)} "
                f"(environments: {', '.join(sorted(files))})"
            )
    for start in sorted(files):
        chain = [start]
        current = files[start].promoted_from
        while current is not None:
            if current in chain:
                cycle = " -> ".join([*chain[chain.index(current) :], current])
                where = docs[start].where(("promotedFrom",), root)
                raise InputError(
                    f"{where}: promotedFrom: promotion order forms a cycle ({cycle}); one "
                    "environment must be the start of the chain (no promotedFrom)"
                )
            chain.append(current)
            current = files[current].promoted_from


def _check_repo_credentials(env: schema.EnvironmentFile, url: str, where: Any) -> None:
    """The scheduled audit clones platform.gitopsRepo with drift.repoCredentials: the URL's
    scheme must be the credentials' type (caught here, not at the job's first run)."""
    credentials = env.drift.repo_credentials
    if credentials is None:
        return
    is_https = url.startswith(("https://", "http://"))
    is_ssh = url.startswith("ssh://") or re.match(r"^[\w.-]+@[\w.-]+:", url) is not None
    if credentials.type == "https" and not is_https:
        other = " or type ssh" if is_ssh else ""
        raise InputError(
            f"{where('drift', 'repoCredentials', 'type')}: drift.repoCredentials.type https "
            f"needs an https:// platform.gitopsRepo, not {url}; use an https URL{other}"
        )
    if credentials.type == "ssh" and not is_ssh:
        other = " or type https" if is_https else ""
        raise InputError(
            f"{where('drift', 'repoCredentials', 'type')}: drift.repoCredentials.type ssh "
            f"needs an ssh:// or git@host:path platform.gitopsRepo, not {url}; use an SSH "
            f"URL{other}"
        )


def _resolve(
    name: str,
    env: schema.EnvironmentFile,
    doc: LocatedDocument,
    catalog: schema.Catalog,
    root: Path,
) -> Environment:
    def where(*loc: str | int) -> str:
        return doc.where(tuple(loc), root)

    _check_pins(env.services, catalog.services, "services", where)
    _check_pins(env.pipelines, catalog.pipelines, "pipelines", where)
    _check_pins(env.dependencies, catalog.dependencies, "dependencies", where)
    for single in ("feast", "ui", "bootstrap"):
        if getattr(env, single) is not None and getattr(catalog, single) is None:
            raise InputError(
                f"{where(single)}: {single}: not defined in the platform catalog "
                f"({ENVIRONMENTS_DIR}/{CATALOG_FILE}); remove it or add it there"
            )

    _check_repo_credentials(env, catalog.platform.gitops_repo, where)

    component_names = {"platform", *catalog.dependencies, *catalog.services, *catalog.pipelines}
    component_names.update(
        n for n in ("feast", "ui", "bootstrap") if getattr(catalog, n) is not None
    )
    for held in env.holds:
        if held not in component_names:
            raise InputError(
                f"{where('holds', held)}: holds.{held}: unknown component "
                f"'{held}'{suggest(held, component_names)}"
            )

    dependencies: list[Dependency] = []
    for dep_name, dep in catalog.dependencies.items():
        pin = env.dependencies.get(dep_name)
        if pin is None:
            raise InputError(
                f"{where('dependencies')}: dependencies.{dep_name}: no chart version pinned for "
                f"'{dep_name}'; add 'dependencies: {{{dep_name}: {{chart: X.Y.Z}}}}'"
            )
        dependencies.append(
            Dependency(
                name=dep_name,
                spec=dep,
                chart_version=pin.chart,
                namespace=dep.namespace or env.namespace,
                values=_deep_merge(dep.values, pin.values),
            )
        )

    workloads: list[Workload] = []
    for svc_name, svc in catalog.services.items():
        workloads.append(
            _workload(svc_name, ComponentKind.SERVICE, svc, env.services.get(svc_name), env, where)
        )
    for pl_name, pl in catalog.pipelines.items():
        workloads.append(
            _workload(pl_name, ComponentKind.PIPELINE, pl, env.pipelines.get(pl_name), env, where)
        )
    for single, kind in (
        ("feast", ComponentKind.FEAST),
        ("ui", ComponentKind.UI),
        ("bootstrap", ComponentKind.BOOTSTRAP),
    ):
        spec = getattr(catalog, single)
        if spec is not None:
            workloads.append(_workload(single, kind, spec, getattr(env, single), env, where))

    components: list[Component] = [
        Component(
            name=d.name,
            kind=ComponentKind.DEPENDENCY,
            chart=d.chart_version,
            held=env.holds.get(d.name),
        )
        for d in dependencies
    ]
    components.append(
        Component(
            name="platform",
            kind=ComponentKind.PLATFORM,
            revision=env.platform.revision,
            held=env.holds.get("platform"),
        )
    )
    components.extend(
        Component(
            name=w.name,
            kind=w.kind,
            image=w.image,
            tag=w.tag,
            digest=w.digest,
            held=env.holds.get(w.name),
        )
        for w in workloads
    )

    insecure = catalog.globals.runtime_safety.allow_insecure_defaults
    if env.runtime_safety is not None:
        insecure = env.runtime_safety.allow_insecure_defaults
    return Environment(
        name=name,
        tier=env.tier,
        source=doc.path,
        cluster_name=env.cluster.name,
        cluster_server=env.cluster.server,
        namespace=env.namespace,
        domain=env.domain,
        promoted_from=env.promoted_from,
        protected=env.protected if env.protected is not None else env.tier == "prod",
        sync=env.sync,
        platform_revision=env.platform.revision,
        holds=dict(env.holds),
        allow_insecure_defaults=insecure,
        drift=env.drift,
        dependencies=tuple(dependencies),
        workloads=tuple(workloads),
        required_secrets=_required_secrets(catalog),
        components=tuple(components),
        kube_context=env.cluster.kube_context or env.cluster.name,
        pins=_pins(env),
        runtime_safety_pinned=env.runtime_safety is not None,
    )


def _pins(env: schema.EnvironmentFile) -> dict[str, dict[str, bool]]:
    pins: dict[str, schema.ImagePin | None] = {**env.services, **env.pipelines}
    pins.update({n: getattr(env, n) for n in ("feast", "ui", "bootstrap")})
    return {
        name: {
            "replicas": pin.replicas is not None,
            "hpa": pin.hpa is not None,
            "resources": pin.resources is not None,
        }
        for name, pin in pins.items()
        if pin is not None
    }


def _check_pins(pins: dict[str, Any], known: dict[str, Any], section: str, where: Any) -> None:
    for pinned in pins:
        if pinned not in known:
            raise InputError(
                f"{where(section, pinned)}: {section}.{pinned}: not in the platform catalog"
                f"{suggest(pinned, known)} (known: {', '.join(sorted(known)) or 'none'})"
            )


def _workload(
    name: str,
    kind: ComponentKind,
    spec: Any,
    pin: schema.ImagePin | None,
    env: schema.EnvironmentFile,
    where: Any,
) -> Workload:
    section = {
        ComponentKind.SERVICE: ("services", name),
        ComponentKind.PIPELINE: ("pipelines", name),
    }.get(kind, (name,))
    label = ".".join(section)
    if pin is None or (pin.tag is None and pin.digest is None):
        raise InputError(
            f"{where(*section) if pin else where()}: {label}: no image tag for '{name}' in this "
            f"environment; add '{label}: {{tag: \"X.Y.Z\"}}' (or a digest)"
        )
    ingress = getattr(spec, "ingress", None)
    host = f"{ingress.host}.{env.domain}" if ingress is not None else None
    return Workload(
        name=name,
        kind=kind,
        image=spec.image,
        tag=pin.tag,
        digest=pin.digest,
        replicas=pin.replicas if pin.replicas is not None else getattr(spec, "replicas", 1),
        hpa=pin.hpa if pin.hpa is not None else getattr(spec, "hpa", None),
        resources=pin.resources
        if pin.resources is not None
        else getattr(spec, "resources", schema.Resources()),
        enabled=pin.enabled,
        host=host,
        secrets=_secrets_of(spec),
        spec=spec,
    )


def _secrets_of(spec: Any) -> tuple[str, ...]:
    """Every Secret a workload's catalog entry wires in (envFrom, single keys, jobs, Feast)."""
    names: list[str] = list(getattr(spec, "secrets", ()))
    names.extend(ref.split("/", 1)[0] for ref in getattr(spec, "secret_env", {}).values())
    if isinstance(spec, schema.BootstrapSpec):
        names.extend(n for job in spec.jobs.values() if job.enabled for n in job.secrets)
    if isinstance(spec, schema.FeastSpec):
        names.extend((spec.offline_store_secret, spec.backup.secret))
    if isinstance(spec, schema.PipelineSpec) and spec.tls is not None:
        names.append(spec.tls.secret_name)
    return tuple(dict.fromkeys(names))


def _required_secrets(catalog: schema.Catalog) -> tuple[RequiredSecret, ...]:
    out: list[RequiredSecret] = []
    kraken = catalog.globals.kraken_secrets
    for name, secret in catalog.secrets.items():
        if secret.per_kraken_account:
            if not kraken.enabled:
                continue
            base = name.removesuffix("-*").removesuffix("*").rstrip("-")
            out.extend(
                RequiredSecret(
                    name=f"{base}-{account}",
                    keys=secret.keys,
                    purpose=secret.purpose,
                    catalog_name=name,
                )
                for account in kraken.accounts
            )
        else:
            out.append(
                RequiredSecret(
                    name=name, keys=secret.keys, purpose=secret.purpose, catalog_name=name
                )
            )
    return tuple(sorted(out, key=lambda s: s.name))


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged
