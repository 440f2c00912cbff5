"""The one hydration engine: an Application's sources to the manifests Argo CD would apply.

It follows Argo CD's repo server (``reposerver/repository``): ``helm template CHART
--name-template <helm.releaseName or the Application's name> --namespace <helm.namespace or
the destination namespace> --kube-version V [--set…] --values F… [--values <helm.values>]
--api-versions A… --include-crds (unless skipCrds) [--skip-schema-validation] [--skip-tests]``,
with ``$ref/…`` value files read from the multi-source ref, ``ARGOCD_APP_*`` substituted in
value-file paths and parameters and set in helm's environment; directory sources read
``*.yaml|yml|json`` with ``recurse``/``include``/``exclude``. Each Application is hydrated on
its own, in parallel; one that fails is reported with its source, the rest still render.
"""

from __future__ import annotations

import fnmatch
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from gitops_gen.errors import GitopsGenError
from gitops_gen.hydrate.helm import Helm, find_helm
from gitops_gen.hydrate.objects import settle, split_manifests
from gitops_gen.hydrate.sources import Fetcher, SourceError, normalise_url
from gitops_gen.hydrate.spec import Application, Source

DEFAULT_KUBE_VERSION = "1.34.0"
# What a plain cluster of that version serves (Argo CD asks the destination cluster; offline
# we can only say what every cluster has, plus Argo CD's own group).
DEFAULT_API_VERSIONS = (
    "v1",
    "admissionregistration.k8s.io/v1",
    "apiextensions.k8s.io/v1",
    "apiregistration.k8s.io/v1",
    "apps/v1",
    "argoproj.io/v1alpha1",
    "authentication.k8s.io/v1",
    "authorization.k8s.io/v1",
    "autoscaling/v1",
    "autoscaling/v2",
    "batch/v1",
    "certificates.k8s.io/v1",
    "coordination.k8s.io/v1",
    "discovery.k8s.io/v1",
    "events.k8s.io/v1",
    "flowcontrol.apiserver.k8s.io/v1",
    "networking.k8s.io/v1",
    "node.k8s.io/v1",
    "policy/v1",
    "rbac.authorization.k8s.io/v1",
    "scheduling.k8s.io/v1",
    "storage.k8s.io/v1",
)
DEFAULT_JOBS = 4
MANIFEST_FILE = re.compile(r"^.*\.(yaml|yml|json)$")

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Settings:
    kube_version: str = DEFAULT_KUBE_VERSION
    api_versions: tuple[str, ...] = DEFAULT_API_VERSIONS
    tracking: str = "annotation"
    jobs: int = DEFAULT_JOBS


@dataclass(frozen=True)
class GitopsRepo:
    """The GitOps repository as Argo CD would read it: its URL, a revision, its files."""

    url: str
    revision: str
    files: Mapping[str, str]

    def owns(self, url: str) -> bool:
        return normalise_url(url) == normalise_url(self.url)


@dataclass(frozen=True)
class HydratedApp:
    name: str
    objects: tuple[dict[str, Any], ...] = ()
    error: str = ""  # one line: the Application, the source and what went wrong
    revisions: tuple[str, ...] = ()


@dataclass
class Hydrator:
    """Hydrates Applications against one GitOps repository revision."""

    repo: GitopsRepo
    fetcher: Fetcher = field(default_factory=Fetcher)
    settings: Settings = field(default_factory=Settings)
    helm: Helm | None = None

    def hydrate(
        self, apps: Sequence[Application], progress: Progress | None = None
    ) -> list[HydratedApp]:
        """Every Application, in parallel (bounded); results in the order given."""
        if not apps:
            return []
        workers = max(1, min(self.settings.jobs, len(apps)))
        out: list[HydratedApp] = []
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for done, result in enumerate(pool.map(self.hydrate_one, apps), start=1):
                out.append(result)
                if progress:
                    progress(done, len(apps))
        return out

    def hydrate_one(self, app: Application) -> HydratedApp:
        source = app.sources[0]
        try:
            refs = {f"${s.ref}": s for s in app.sources if s.ref}
            objects: list[dict[str, Any]] = []
            revisions: list[str] = []
            with tempfile.TemporaryDirectory(prefix="gitops-gen-hydrate-") as tmp:
                for source in app.sources:
                    if source.ref and not (source.path or source.chart):
                        continue  # a values-only source
                    rendered, revision = self._source(app, source, refs, Path(tmp))
                    objects.extend(rendered)
                    revisions.append(revision)
            settled = settle(objects, app.name, app.namespace, self.settings.tracking)
            return HydratedApp(app.name, tuple(settled), "", tuple(revisions))
        except GitopsGenError as exc:
            return HydratedApp(app.name, error=f"{app.name}: source {source.describe()}: {exc}")
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" (line {mark.line + 1})" if mark is not None else ""
            return HydratedApp(
                app.name,
                error=f"{app.name}: source {source.describe()}: output is not valid YAML{where}",
            )

    # --- one source -----------------------------------------------------------------------

    def _source(
        self, app: Application, source: Source, refs: Mapping[str, Source], tmp: Path
    ) -> tuple[list[dict[str, Any]], str]:
        if source.chart:
            chart = self.fetcher.chart(source.repo_url, source.chart, source.target_revision)
            env = self._env(app, source, source.target_revision)
            return self._helm(app, source, chart, None, refs, tmp, env), source.target_revision
        root, revision = self._tree(source, tmp)
        env = self._env(app, source, revision)
        path = _inside(root, source.path, source)
        if source.helm is not None or (path / "Chart.yaml").is_file():
            return self._helm(app, source, path, root, refs, tmp, env), revision
        return _directory(path, source), revision

    def _tree(self, source: Source, tmp: Path) -> tuple[Path, str]:
        """The source's repository on disk, and the revision Argo CD would report."""
        if self.repo.owns(source.repo_url):
            root = tmp / "gitops"
            if not root.is_dir():
                _materialise(self.repo.files, root)
            return root, self.repo.revision
        return self.fetcher.git_checkout(source.repo_url, source.target_revision)

    def _helm(
        self,
        app: Application,
        source: Source,
        chart: Path,
        root: Path | None,
        refs: Mapping[str, Source],
        tmp: Path,
        env: dict[str, str],
    ) -> list[dict[str, Any]]:
        helm = self.helm or find_helm()
        self.fetcher.helm = helm
        spec = source.helm
        # a private copy: helm may write Chart.lock or charts/ next to the chart
        work = tmp / f"chart-{len(list(tmp.iterdir()))}"
        shutil.copytree(chart, work, symlinks=False)
        namespace = (spec.namespace if spec else "") or app.namespace
        release = (spec.release_name if spec else "") or app.name
        kube = (spec.kube_version if spec else "") or self.settings.kube_version
        api = (
            spec.api_versions if spec and spec.api_versions else ()
        ) or self.settings.api_versions
        args = ["template", str(work), "--name-template", release]
        if namespace:
            args += ["--namespace", namespace]
        if kube:
            args += ["--kube-version", kube]
        if spec is not None:
            for name, value, force in spec.parameters:
                flag = "--set-string" if force else "--set"
                args += [flag, f"{name}={_clean_set(_envsubst(value, env))}"]
            for name, path in spec.file_parameters:
                args += [
                    "--set-file",
                    f"{name}={self._value_file(path, source, root, refs, tmp, env)}",
                ]
            for value_file in spec.value_files:
                resolved = self._value_file(value_file, source, root, refs, tmp, env)
                if resolved is None:
                    if spec.ignore_missing_value_files:
                        continue
                    raise SourceError(f"values file {value_file} not found")
                args += ["--values", resolved]
            if spec.values.strip():
                extra = tmp / f"values-{len(list(tmp.iterdir()))}.yaml"
                extra.write_text(spec.values, encoding="utf-8")
                args += ["--values", str(extra)]
        for version in api:
            args += ["--api-versions", version]
        if not (spec and spec.skip_crds):
            args.append("--include-crds")
        if spec and spec.skip_schema_validation:
            args.append("--skip-schema-validation")
        if spec and spec.skip_tests:
            args.append("--skip-tests")
        if _missing_dependencies(work):
            helm.run(["dependency", "build", str(work), "--skip-refresh"], env=env)
        out = helm.run(args, env=env)
        return split_manifests(out)

    def _value_file(
        self,
        value_file: str,
        source: Source,
        root: Path | None,
        refs: Mapping[str, Source],
        tmp: Path,
        env: dict[str, str],
    ) -> str | None:
        name = _envsubst(value_file, env)
        if name.startswith("$"):
            ref, _, rest = name.partition("/")
            if ref not in refs:
                raise SourceError(f"values file {value_file}: no source has ref '{ref[1:]}'")
            ref_source = refs[ref]
            if self.repo.owns(ref_source.repo_url):
                text = self.repo.files.get(_clean(rest))
                if text is None:
                    return None
                target = tmp / "refs" / ref[1:] / _clean(rest)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
                return str(target)
            ref_root, _ = self.fetcher.git_checkout(ref_source.repo_url, ref_source.target_revision)
            path = _inside(ref_root, rest, ref_source)
            return str(path) if path.is_file() else None
        if "://" in name:
            raise SourceError(f"values file {value_file}: remote values files are not supported")
        if root is None:
            return None  # a chart-repository source has no tree of its own to read from
        path = _inside(root, str(PurePosixPath(source.path) / name), source)
        return str(path) if path.is_file() else None

    def _env(self, app: Application, source: Source, revision: str) -> dict[str, str]:
        return {
            "ARGOCD_APP_NAME": app.name,
            "ARGOCD_APP_NAMESPACE": app.namespace,
            "ARGOCD_APP_PROJECT_NAME": app.project,
            "ARGOCD_APP_REVISION": revision,
            "ARGOCD_APP_REVISION_SHORT": revision[:7],
            "ARGOCD_APP_REVISION_SHORT_8": revision[:8],
            "ARGOCD_APP_SOURCE_REPO_URL": source.repo_url,
            "ARGOCD_APP_SOURCE_PATH": source.path,
            "ARGOCD_APP_SOURCE_TARGET_REVISION": source.target_revision,
            "KUBE_VERSION": self.settings.kube_version,
            "KUBE_API_VERSIONS": ",".join(self.settings.api_versions),
        }


def _clean(rel: str) -> str:
    return PurePosixPath(rel.lstrip("/")).as_posix()


def _inside(root: Path, rel: str, source: Source) -> Path:
    """``root/rel``, refusing paths that climb out of the repository (as Argo CD does)."""
    path = (root / _clean(rel or ".")).resolve()
    if path != root.resolve() and root.resolve() not in path.parents:
        raise SourceError(f"path {rel} leaves the repository {source.repo_url}")
    return path


def _materialise(files: Mapping[str, str], root: Path) -> None:
    for rel, text in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


_VAR = re.compile(r"\$(\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)\}|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))")


def _envsubst(text: str, env: Mapping[str, str]) -> str:
    """Argo CD's Envsubst: known ``$VAR``/``${VAR}`` replaced; unknown ones left as written."""

    def one(match: re.Match[str]) -> str:
        name = match.group("braced") or match.group("plain")
        return env.get(name, match.group(0))

    return _VAR.sub(one, text)


def _clean_set(value: str) -> str:
    """helm --set splits on commas; Argo CD escapes them unless the value is a {list}."""
    if value.startswith("{") and value.endswith("}"):
        return value
    return re.sub(r"(?<!\\),", r"\\,", value)


def _missing_dependencies(chart: Path) -> bool:
    try:
        meta = yaml.safe_load((chart / "Chart.yaml").read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return False
    deps = meta.get("dependencies") or []
    if not deps:
        return False
    vendored = chart / "charts"
    names = {p.name for p in vendored.iterdir()} if vendored.is_dir() else set()
    return any(
        not any(n == d.get("name") or n.startswith(f"{d.get('name')}-") for n in names)
        for d in deps
    )


def _directory(path: Path, source: Source) -> list[dict[str, Any]]:
    if not path.is_dir():
        raise SourceError(f"path {source.path} is not a folder")
    spec = source.directory
    recurse = spec.recurse if spec else False
    include = _patterns(spec.include if spec else "")
    exclude = _patterns(spec.exclude if spec else "")
    found = sorted(path.rglob("*") if recurse else path.glob("*"))
    objects: list[dict[str, Any]] = []
    for file in found:
        if not file.is_file() or not MANIFEST_FILE.match(file.name):
            continue
        rel = file.relative_to(path).as_posix()
        if include and not any(fnmatch.fnmatchcase(rel, p) for p in include):
            continue
        if exclude and any(fnmatch.fnmatchcase(rel, p) for p in exclude):
            continue
        objects.extend(split_manifests(file.read_text(encoding="utf-8")))
    return objects


def _patterns(text: str) -> list[str]:
    """Argo CD's include/exclude: a glob, with ``{a,b}`` alternatives."""
    text = text.strip()
    if not text:
        return []
    if text.startswith("{") and text.endswith("}"):
        return [p.strip() for p in text[1:-1].split(",") if p.strip()]
    return [text]


def helm_available() -> bool:
    try:
        find_helm()
    except GitopsGenError:
        return False
    return True


__all__ = [
    "DEFAULT_API_VERSIONS",
    "DEFAULT_KUBE_VERSION",
    "GitopsRepo",
    "HydratedApp",
    "Hydrator",
    "Settings",
    "helm_available",
]
