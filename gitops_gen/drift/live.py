"""Live state through the kubernetes client: discovery, paginated LISTs, dry-run applies.

Only this module talks to the API server. Every request is counted. Transport failures and
HTTP errors are translated here, at the boundary, into the tool's own errors naming the
request: :class:`ClusterUnreachable`, :class:`DeadlineExceeded` and :class:`ServerFailed`
(401, 5xx) stop the audit (what was audited is reported, the rest becomes ``error`` findings,
exit 2); :class:`Forbidden`/:class:`NotServed` mean one type cannot be audited (an ``error``
finding); any other :class:`ApiRequestError` is for the caller to judge.

Once the server has failed to answer, every later request fails at once with the same error,
so an audit stops in one timeout, not one per remaining request.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import urllib3
import yaml
from kubernetes import client, config
from kubernetes.config import incluster_config
from kubernetes.config.config_exception import ConfigException

from gitops_gen.errors import ExternalToolError, InputError

PAGE_SIZE = 500
DEFAULT_TIMEOUT = 60.0  # seconds one request may take (--timeout)
CONNECT_TIMEOUT = 5.0  # at most; a loopback or LAN server accepts in milliseconds
# Where the kubelet mounts a Pod's service-account token, CA and namespace.
SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
# Names another folder holding the same three files (token, ca.crt, namespace). For running the
# scheduled audit's processes without a kubelet (tests/audit_job.py does, with a TokenRequest
# token); in a Pod it is unset. Only the in-cluster path reads it, after any kubeconfig.
SERVICE_ACCOUNT_DIR_ENV = "GITOPS_GEN_SERVICE_ACCOUNT_DIR"


class AuditStopped(ExternalToolError):
    """The audit cannot go on: the report says what was audited, an error finding the rest."""

    rule = "audit/stopped"


class ClusterUnreachable(AuditStopped):
    """The API server did not answer (down, wrong address, TLS failure, --timeout)."""

    rule = "audit/unreachable"


class DeadlineExceeded(AuditStopped):
    """The audit's --deadline passed."""

    rule = "audit/deadline"


class ServerFailed(AuditStopped):
    """The API server refused the credentials (401) or failed (5xx): nothing later will work."""

    rule = "audit/server-error"

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class ApiRequestError(ExternalToolError):
    """The API server answered with an error the audit cannot work around."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class Forbidden(ApiRequestError):
    pass


class NotServed(ApiRequestError):
    pass


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def collection_path(self, namespace: str | None) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            return f"{base}/namespaces/{quote(namespace, safe='')}/{self.plural}"
        return f"{base}/{self.plural}"

    def describe(self, namespace: str | None) -> str:
        group = f".{self.group}" if self.group else ""
        where = f" in namespace {namespace}" if self.namespaced and namespace else ""
        return f"{self.plural}{group}{where}"


def kubeconfig_file(kubeconfig: Path | None) -> Path | None:
    """--kubeconfig, then $KUBECONFIG's first file, then ~/.kube/config if it exists."""
    path = kubeconfig
    if path is None and os.environ.get("KUBECONFIG"):
        path = Path(os.environ["KUBECONFIG"].split(os.pathsep)[0])
    if path is None and (Path.home() / ".kube" / "config").is_file():
        path = Path.home() / ".kube" / "config"
    return path


def cluster_context(kubeconfig: Path | None, name: str) -> str | None:
    """The environment's context (``cluster.kubeContext``, else the cluster's name: what
    ``doctor`` checks and ``secrets keygen`` prints), if the kubeconfig has it. Without it the
    current context is used, which may be any cluster: auditing prod against staging's API
    server would report nonsense as prod's drift."""
    path = kubeconfig_file(kubeconfig)
    if path is None or not path.is_file():
        return None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None  # load_configuration says what is wrong with the file
    contexts = data.get("contexts") if isinstance(data, dict) else None
    names = {c.get("name") for c in contexts or [] if isinstance(c, dict)}
    return name if name in names else None


def load_configuration(kubeconfig: Path | None, context: str | None) -> client.Configuration:
    """--kubeconfig, then $KUBECONFIG / ~/.kube/config, then the in-cluster service account."""
    configuration = client.Configuration()
    path = kubeconfig_file(kubeconfig)
    try:
        if path is not None:
            if not path.is_file():
                raise InputError(f"kubeconfig {path}: no such file; pass --kubeconfig PATH")
            config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=str(path), context=context, client_configuration=configuration
            )
        elif os.environ.get("KUBERNETES_SERVICE_HOST"):
            _load_in_cluster(configuration)
        else:
            raise InputError(
                "no kubeconfig: pass --kubeconfig PATH, set KUBECONFIG, or run inside a cluster"
            )
    except ConfigException as exc:
        where = f"kubeconfig {path}" if path is not None else "in-cluster configuration"
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{where}: {first}") from None
    except (OSError, ValueError, TypeError) as exc:
        where = f"kubeconfig {path}" if path is not None else "in-cluster configuration"
        raise InputError(f"{where}: unreadable ({exc})") from None
    # Fail fast when the server goes away: one retry, no long backoff.
    configuration.retries = 1
    return configuration


def _load_in_cluster(configuration: client.Configuration) -> None:
    """What ``config.load_incluster_config`` does, from $GITOPS_GEN_SERVICE_ACCOUNT_DIR if set."""
    folder = Path(os.environ.get(SERVICE_ACCOUNT_DIR_ENV) or SERVICE_ACCOUNT_DIR)
    loader = incluster_config.InClusterConfigLoader(  # type: ignore[no-untyped-call]
        token_filename=str(folder / "token"),
        cert_filename=str(folder / "ca.crt"),
        try_refresh_token=True,
    )
    loader.load_and_set(configuration)  # type: ignore[no-untyped-call]


class LiveCluster:
    """A thin JSON client over ``kubernetes.client.ApiClient`` that counts its requests.

    ``timeout``: seconds each request may take; ``deadline``: seconds the whole session may
    take from now (None: no limit).
    """

    def __init__(
        self,
        configuration: client.Configuration,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        deadline: float | None = None,
    ) -> None:
        self._api = client.ApiClient(configuration)
        self.server = str(configuration.host)
        self._lock = threading.Lock()
        self.requests = 0
        self.lists = 0
        self._discovery: dict[str, dict[str, ResourceType]] = {}
        self.timeout = timeout
        self.deadline = deadline
        self._ends_at = time.monotonic() + deadline if deadline is not None else None
        self.stopped: AuditStopped | None = None

    def _stop(self, error: AuditStopped) -> AuditStopped:
        with self._lock:
            if self.stopped is None:
                self.stopped = error
            return error

    def _timeouts(self, what: str) -> tuple[float, float]:
        """(connect, read) timeouts of the next request: --timeout, cut to the deadline."""
        if self.stopped is not None:
            raise self.stopped
        read = self.timeout
        if self._ends_at is not None:
            remaining = self._ends_at - time.monotonic()
            if remaining <= 0:
                raise self._stop(self._deadline_error(what))
            read = min(read, remaining)
        return min(CONNECT_TIMEOUT, read), read

    def _deadline_error(self, what: str) -> DeadlineExceeded:
        return DeadlineExceeded(
            f"the audit's --deadline of {self.deadline:g} s passed ({what} not done)"
        )

    def close(self) -> None:
        self._api.close()  # type: ignore[no-untyped-call]

    def __enter__(self) -> LiveCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- requests ------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        what: str,
        *,
        query: list[tuple[str, str]] | None = None,
        body: Any = None,
        content_type: str | None = None,
    ) -> dict[str, Any]:
        headers = {"Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        method_, url, header_params, body_, post = self._api.param_serialize(
            method,
            path,
            query_params=query or [],
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        timeouts = self._timeouts(what)
        with self._lock:
            self.requests += 1
        try:
            response = self._api.call_api(
                method_, url, header_params, body_, post, _request_timeout=timeouts
            )
            payload = response.read()  # type: ignore[no-untyped-call]
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise self._stop(
                self._transport_error(what, getattr(exc, "reason", None) or exc)
            ) from None
        except client.ApiException as exc:  # raised by the client for some transport states
            raise self._stop(self._transport_error(what, exc.reason)) from None
        status = int(response.status)
        if 200 <= status < 300:
            result: dict[str, Any] = json.loads(payload) if payload else {}
            return result
        message = _status_message(payload) or str(response.reason)
        text = f"{what}: HTTP {status} from the API server: {message}"
        if status == 401:
            raise self._stop(
                ServerFailed(
                    f"{text}; the credentials (the kubeconfig's user, or in a cluster the "
                    "service-account token) are not accepted",
                    status,
                )
            )
        if status >= 500:
            raise self._stop(ServerFailed(text, status))
        if status == 403:
            raise Forbidden(text, status)
        if status == 404:
            raise NotServed(text, status)
        raise ApiRequestError(text, status)

    def _transport_error(self, what: str, reason: object) -> AuditStopped:
        if self._ends_at is not None and time.monotonic() >= self._ends_at:
            return self._deadline_error(what)
        text = _short(reason)
        if text == "timed out":
            text = f"no answer within --timeout {self.timeout:g} s"
        return ClusterUnreachable(f"cannot reach the API server at {self.server} ({what}): {text}")

    # -- discovery -----------------------------------------------------------------------

    def resources(self, api_version: str) -> dict[str, ResourceType]:
        """kind -> resource of one group/version (one request, cached)."""
        if api_version in self._discovery:
            return self._discovery[api_version]
        group, _, version = api_version.rpartition("/")
        path = f"/apis/{group}/{version}" if group else f"/api/{version}"
        try:
            document = self.request("GET", path, f"discovery of {api_version}")
        except NotServed:
            self._discovery[api_version] = {}
            return {}
        found: dict[str, ResourceType] = {}
        for resource in document.get("resources") or []:
            if "/" in resource.get("name", ""):
                continue  # subresources (status, scale)
            found[resource["kind"]] = ResourceType(
                group, version, resource["kind"], resource["name"], bool(resource["namespaced"])
            )
        self._discovery[api_version] = found
        return found

    def resource(self, api_version: str, kind: str) -> ResourceType | None:
        return self.resources(api_version).get(kind)

    # -- reads ---------------------------------------------------------------------------

    def list(self, resource: ResourceType, namespace: str | None) -> list[dict[str, Any]]:
        """Every object of one type in one namespace (or cluster-wide): one paginated LIST."""
        with self._lock:
            self.lists += 1
        items: list[dict[str, Any]] = []
        token = ""
        while True:
            query = [("limit", str(PAGE_SIZE))]
            if token:
                query.append(("continue", token))
            page = self.request(
                "GET",
                resource.collection_path(namespace),
                f"list {resource.describe(namespace)}",
                query=query,
            )
            kind = resource.kind
            for item in page.get("items") or []:
                # LIST items carry no apiVersion/kind of their own.
                item.setdefault("apiVersion", resource.api_version)
                item.setdefault("kind", kind)
                items.append(item)
            token = (page.get("metadata") or {}).get("continue") or ""
            if not token:
                return items

    def openapi(self, url: str, what: str) -> dict[str, Any]:
        """One OpenAPI v3 document (``url`` as the index gives it, with its ``?hash=``)."""
        path, _, query = url.partition("?")
        params = [tuple(p.split("=", 1)) for p in query.split("&") if "=" in p]
        return self.request("GET", path, what, query=[(k, v) for k, v in params])

    def write(
        self,
        method: str,
        path: str,
        body: dict[str, Any],
        name: str,
        *,
        content_type: str = "application/json",
    ) -> dict[str, Any]:
        return self.request(
            method, path, f"{method} ConfigMap {name}", body=body, content_type=content_type
        )

    def dry_run_apply(
        self, resource: ResourceType, obj: dict[str, Any], field_manager: str
    ) -> dict[str, Any]:
        """What the object would be after a server-side apply (nothing is persisted)."""
        metadata = obj.get("metadata") or {}
        namespace = metadata.get("namespace") if resource.namespaced else None
        path = f"{resource.collection_path(namespace)}/{quote(str(metadata.get('name')), safe='')}"
        return self.request(
            "PATCH",
            path,
            f"server-side dry-run apply of {resource.kind} {metadata.get('name')}",
            query=[("dryRun", "All"), ("fieldManager", field_manager), ("force", "true")],
            body=obj,
            content_type="application/apply-patch+yaml",
        )


def _status_message(payload: bytes) -> str:
    try:
        document = json.loads(payload)
    except (ValueError, TypeError):
        return ""
    return str(document.get("message", "")) if isinstance(document, dict) else ""


def _short(reason: object) -> str:
    text = str(reason)
    # urllib3 wraps the real cause: "<urllib3.connection...>: Failed to establish a new
    # connection: [Errno 111] Connection refused" - keep the part a person can act on.
    if "Connection refused" in text:
        return "connection refused"
    if "timed out" in text.lower():
        return "timed out"
    return text.rsplit(": ", 1)[-1] if ": " in text else text
