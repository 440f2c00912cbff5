"""Where an Application's sources come from, and the cache that keeps them.

* the GitOps repository itself (``$values`` refs, directory sources): the files as rendered,
  in memory, so a preview hydrates exactly what would be committed;
* other git repositories (the app repository's chart too, for validate): each commit fetched
  shallow into a bare repository in the cache and exported once; a branch or tag resolves by the
  remote, or offline to the commit it resolved to last time;
* Helm chart repositories over HTTP: ``index.yaml`` read, the archive checked against its
  digest and unpacked once per (repository, name, version);
* OCI registries: ``helm pull`` into the same cache (not exercised by the tests).

The cache is ``$GITOPS_GEN_CHART_CACHE``, else ``$XDG_CACHE_HOME/gitops-gen/charts``. Entries
are written to a temporary name and renamed into place, so parallel runs never see half an entry.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from gitops_gen.cache import charts_cache
from gitops_gen.errors import ExternalToolError
from gitops_gen.hydrate.helm import Helm
from gitops_gen.redact import url_credentials

HTTP_TIMEOUT = 20
GIT_TIMEOUT = 120
_SHA_RE = re.compile(r"^[0-9a-f]{40}$")


class SourceError(ExternalToolError):
    """A source could not be fetched: unreachable, unknown version, bad archive."""


def _key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def normalise_url(url: str) -> str:
    return url.strip().rstrip("/").removesuffix(".git").lower()


def redact(text: str) -> str:
    """``https://user:token@host`` → ``https://***@host``: credentials never reach a message."""
    return url_credentials(text)


def repo_cache_dir(url: str, cache: Path | None = None) -> Path:
    """The cache folder of one git repository; each exported commit is a subfolder."""
    return (cache or charts_cache()) / "git" / _key(normalise_url(url))


@dataclass
class Fetcher:
    """Fetches and caches chart and git sources; safe to share between threads."""

    cache: Path = field(default_factory=charts_cache)
    # repository URL as written in an Application -> where to really fetch it from
    url_map: Mapping[str, str] = field(default_factory=dict)
    helm: Helm | None = None
    _locks: dict[str, threading.Lock] = field(default_factory=dict)
    _guard: threading.Lock = field(default_factory=threading.Lock)
    _resolved: dict[tuple[str, str], str] = field(default_factory=dict)
    fetched: list[str] = field(default_factory=list)  # what was not in the cache (for reports)

    def real_url(self, url: str) -> str:
        wanted = normalise_url(url)
        for written, real in self.url_map.items():
            if normalise_url(written) == wanted:
                return real
        return url

    def _lock(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    # --- git ----------------------------------------------------------------------------

    def git_checkout(self, url: str, revision: str) -> tuple[Path, str]:
        """The tree of ``url`` at ``revision`` on disk, and the commit it resolved to."""
        real = self.real_url(url)
        base = repo_cache_dir(url, self.cache)
        with self._lock(str(base)):
            commit = self._resolve(base, real, url, revision)
            tree = base / commit
            if not tree.is_dir():
                bare = base / "repo.git"
                if not bare.is_dir():
                    self._git("init", "--bare", "-q", str(bare), what=url)
                if not self._has_commit(bare, commit):
                    # Shallow: a chart needs one commit, not the app repository's history.
                    self._git(
                        "-C", str(bare), "fetch", "-q", "--depth", "1", "--no-tags", real,
                        f"+{commit}:refs/gitops-gen/{commit}",
                        what=url,
                    )  # fmt: skip
                    self.fetched.append(f"{url}@{commit[:12]}")
                archive = subprocess.run(
                    ["git", "-C", str(bare), "archive", "--format=tar", commit],
                    capture_output=True,
                    timeout=GIT_TIMEOUT,
                    check=False,
                )
                if archive.returncode != 0:
                    raise SourceError(f"{redact(url)}: cannot export commit {commit[:12]}")
                _unpack_into(tree, io.BytesIO(archive.stdout))
        return tree, commit

    def _resolve(self, base: Path, real: str, url: str, revision: str) -> str:
        if _SHA_RE.match(revision):
            return revision
        memo = (url, revision)
        if memo in self._resolved:
            return self._resolved[memo]
        wanted = revision if revision not in ("", "HEAD") else "HEAD"
        remembered = base / "refs" / _key(wanted)
        try:
            out = self._git("ls-remote", real, wanted, f"refs/tags/{wanted}",
                            f"refs/heads/{wanted}", what=url)  # fmt: skip
        except SourceError:
            # Offline: the commit this name resolved to last time, if that commit is cached.
            last = remembered.read_text().strip() if remembered.is_file() else ""
            if _SHA_RE.match(last) and (base / last).is_dir():
                self._resolved[memo] = last
                return last
            raise
        refs = dict(
            (line.split("\t")[1], line.split("\t")[0]) for line in out.splitlines() if "\t" in line
        )
        for name in (f"refs/tags/{wanted}^{{}}", f"refs/tags/{wanted}", f"refs/heads/{wanted}",
                     wanted):  # fmt: skip
            if name in refs:
                self._resolved[memo] = refs[name]
                remembered.parent.mkdir(parents=True, exist_ok=True)
                remembered.write_text(refs[name] + "\n")
                return refs[name]
        raise SourceError(f"{redact(url)}: no branch or tag '{revision}'")

    def _has_commit(self, bare: Path, commit: str) -> bool:
        done = subprocess.run(
            ["git", "-C", str(bare), "cat-file", "-e", f"{commit}^{{commit}}"],
            capture_output=True,
            check=False,
        )
        return done.returncode == 0

    def _git(self, *args: str, what: str) -> str:
        env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true"}
        verb = args[2] if args[0] == "-C" else args[0]
        what = redact(what)
        try:
            done = subprocess.run(
                ["git", *args],
                capture_output=True,
                text=True,
                timeout=GIT_TIMEOUT,
                env=env,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise SourceError(f"{what}: git {verb} timed out after {GIT_TIMEOUT} s") from None
        except FileNotFoundError:
            raise SourceError(f"{what}: git is not installed") from None
        if done.returncode != 0:
            lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
            reason = redact(lines[-1].strip().removeprefix("fatal: ")) if lines else ""
            raise SourceError(f"{what}: git {verb} failed: {reason[:300] or done.returncode}")
        return done.stdout

    # --- Helm chart repositories ----------------------------------------------------------

    def chart(self, repo_url: str, name: str, version: str) -> Path:
        """The unpacked chart ``name`` ``version`` from ``repo_url`` (HTTP or OCI)."""
        real = self.real_url(repo_url)
        entry = self.cache / "helm" / _key(normalise_url(repo_url)) / name / version
        with self._lock(str(entry)):
            chart_dir = entry / name
            if (chart_dir / "Chart.yaml").is_file():
                return chart_dir
            if _is_oci(real):
                data = self._oci_pull(real, name, version)
            else:
                data = self._http_chart(real, repo_url, name, version)
            self.fetched.append(f"{repo_url} {name}-{version}")
            _unpack_into(entry, io.BytesIO(data))
            if not (chart_dir / "Chart.yaml").is_file():
                shutil.rmtree(entry, ignore_errors=True)
                raise SourceError(
                    f"{repo_url}: {name}-{version} archive holds no {name}/Chart.yaml"
                )
            return chart_dir

    def _http_chart(self, real: str, written: str, name: str, version: str) -> bytes:
        index_url = real.rstrip("/") + "/index.yaml"
        try:
            index = yaml.safe_load(_http_get(index_url)) or {}
        except yaml.YAMLError:
            raise SourceError(f"{written}: index.yaml is not valid YAML") from None
        entries = (index.get("entries") or {}).get(name) or []
        match = next((e for e in entries if str(e.get("version")) == version), None)
        if match is None:
            known = ", ".join(sorted(str(e.get("version")) for e in entries)[-5:]) or "none"
            raise SourceError(
                f"{written}: chart {name} has no version {version} (latest known: {known})"
            )
        urls = match.get("urls") or []
        if not urls:
            raise SourceError(f"{written}: chart {name}-{version} lists no download URL")
        url = urllib.parse.urljoin(real.rstrip("/") + "/", str(urls[0]))
        data = _http_get(url)
        digest = match.get("digest")
        if digest and hashlib.sha256(data).hexdigest() != str(digest):
            raise SourceError(f"{written}: {name}-{version} does not match its index digest")
        return data

    def _oci_pull(self, real: str, name: str, version: str) -> bytes:
        if self.helm is None:  # pragma: no cover - the engine always passes helm
            raise SourceError(f"{real}: OCI charts need helm")
        ref = real if real.startswith("oci://") else f"oci://{real}"
        with tempfile.TemporaryDirectory(prefix="gitops-gen-oci-") as tmp:
            self.helm.run(["pull", f"{ref.rstrip('/')}/{name}", "--version", version,
                           "--destination", tmp])  # fmt: skip
            archives = list(Path(tmp).glob("*.tgz"))
            if not archives:
                raise SourceError(f"{real}: helm pull wrote no archive for {name}-{version}")
            return archives[0].read_bytes()


def _is_oci(url: str) -> bool:
    return url.startswith("oci://") or "://" not in url


def _http_get(url: str) -> bytes:
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme not in ("http", "https", "file"):
        raise SourceError(f"{url}: unsupported URL scheme '{parsed.scheme}'")
    try:
        with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT) as response:  # noqa: S310
            data: bytes = response.read()
            return data
    except urllib.error.HTTPError as exc:
        raise SourceError(f"{url}: HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SourceError(f"{url}: unreachable ({reason})") from None


def _unpack_into(target: Path, stream: io.BytesIO) -> None:
    """Unpack a tar (optionally gzipped) into ``target`` atomically (temp dir + rename)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        with tarfile.open(fileobj=stream, mode="r:*") as archive:
            archive.extractall(tmp, filter="data")
        try:
            tmp.rename(target)
        except OSError:
            if not target.is_dir():  # someone else won the race: theirs is as good
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
