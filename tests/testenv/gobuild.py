"""Pinned Go programs built from the Go module proxy and cached under ~/.cache/gitops-gen.

The test environment's servers (kube-apiserver, etcd, Argo CD, helm) are not packaged for this
machine, so — like controller-runtime's envtest — they are compiled from their published Go
modules through a throw-away *wrapper module*, stamped with their version, and cached per version
under ``$XDG_CACHE_HOME/gitops-gen`` (``~/.cache`` by default). A warm machine never rebuilds.

Why a wrapper module: ``go install module@version`` ignores the module's ``replace`` directives,
and many of these modules need them (Kubernetes and etcd point sibling modules at folders inside
their repository, Argo CD pins k8s.io/* versions). Replace directives only apply in the main
module, so the wrapper restates them.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from tests.testenv.errors import ClusterError
from tests.testenv.process import tail

_GO_FALLBACK: Final = Path("/usr/local/go/bin/go")


def say(message: str) -> None:
    # Progress goes to stderr so `run` can keep stdout for the lines a shell evaluates.
    print(f"[testenv] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# Go tooling
# --------------------------------------------------------------------------------------------


def find_go() -> str:
    """The go command: PATH first, then the machine's standard install location."""
    found = shutil.which("go")
    if found:
        return found
    if _GO_FALLBACK.is_file() and os.access(_GO_FALLBACK, os.X_OK):
        return str(_GO_FALLBACK)
    raise ClusterError(
        "the Go toolchain is needed to build the test environment and was not found "
        f"(looked on PATH and at {_GO_FALLBACK})"
    )


def go_env(*, module_mode: bool) -> dict[str, str]:
    env = dict(os.environ)
    # Keep whatever GOFLAGS the machine sets (e.g. -buildvcs=false) but own the -mod choice:
    # the wrapper module starts without a go.sum, so the go command must be allowed to write it.
    flags = [f for f in env.get("GOFLAGS", "").split() if not f.startswith("-mod=")]
    if module_mode:
        flags.append("-mod=mod")
    env["GOFLAGS"] = " ".join(flags)
    env["GO111MODULE"] = "on"
    # A go.work somewhere above the temp folder must not pull the wrapper into a workspace.
    env["GOWORK"] = "off"
    # Static binaries: no C toolchain needed and nothing depends on the host's libc.
    env["CGO_ENABLED"] = "0"
    return env


def run_logged(argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], log: Path) -> None:
    """Run a build step with its output in `log`; on failure the error carries the log's tail."""
    with log.open("ab") as out:
        out.write(f"$ {' '.join(argv)}\n".encode())
        out.flush()
        result = subprocess.run(
            list(argv), cwd=cwd, env=dict(env), stdout=out, stderr=subprocess.STDOUT, check=False
        )
    if result.returncode != 0:
        raise ClusterError(
            f"{' '.join(argv[:3])} … failed with exit code {result.returncode}; "
            f"last lines of {log}:\n{tail(log)}"
        )


def go_mod_download(module: str, version: str) -> dict[str, Any]:
    """`go mod download -json module@version`: the module's extracted folder and go.mod path."""
    go = find_go()
    # Run outside any module so the project's own files cannot influence resolution.
    result = subprocess.run(
        [go, "mod", "download", "-json", f"{module}@{version}"],
        cwd=tempfile.gettempdir(),
        env=go_env(module_mode=False),
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        info: dict[str, Any] = json.loads(result.stdout)
    except json.JSONDecodeError:
        info = {}
    error = info.get("Error") or (result.stderr.strip() if result.returncode else "")
    if error or not info.get("Dir"):
        raise ClusterError(f"go mod download {module}@{version} failed: {error or result.stderr}")
    return info


# --------------------------------------------------------------------------------------------
# go.mod reading and wrapper modules
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Replace:
    """One replace directive of a go.mod: ``old [old_version] => new [new_version]``."""

    old: str
    old_version: str | None
    new: str
    new_version: str | None

    @property
    def is_local(self) -> bool:
        # A folder target (./x, ../x, /x) means "inside the same repository": useless to a
        # module consumer, which is exactly what the wrapper module has to fix.
        return self.new.startswith(("./", "../", "/")) or self.new in {".", ".."}


def _strip_comment(line: str) -> str:
    return line.split("//", 1)[0].strip()


@dataclass(frozen=True)
class GoMod:
    """What a wrapper module needs from a dependency's go.mod."""

    go: str | None
    godebug: tuple[str, ...]
    replaces: tuple[Replace, ...]


def parse_go_mod(text: str) -> GoMod:
    """The ``go``, ``godebug`` and ``replace`` directives of a go.mod (block and one-line forms)."""
    go_version: str | None = None
    godebug: list[str] = []
    replaces: list[Replace] = []
    block: str | None = None
    for raw in text.splitlines():
        line = _strip_comment(raw)
        if not line:
            continue
        if block is not None:
            if line == ")":
                block = None
            elif block == "replace":
                replaces.append(_parse_replace(line))
            elif block == "godebug":
                godebug.append(line)
            continue
        keyword, _, rest = line.partition(" ")
        rest = rest.strip()
        if keyword in {
            "replace",
            "godebug",
            "require",
            "exclude",
            "retract",
            "tool",
            "ignore",
        } and (rest == "("):
            block = keyword
        elif keyword == "go" and go_version is None:
            go_version = rest
        elif keyword == "godebug":
            godebug.append(rest)
        elif keyword == "replace":
            replaces.append(_parse_replace(rest))
    return GoMod(go=go_version, godebug=tuple(godebug), replaces=tuple(replaces))


def _parse_replace(spec: str) -> Replace:
    left, sep, right = spec.partition("=>")
    if not sep:
        raise ClusterError(f"cannot parse go.mod replace directive: {spec!r}")
    old = left.split()
    new = right.split()
    if not 1 <= len(old) <= 2 or not 1 <= len(new) <= 2:
        raise ClusterError(f"cannot parse go.mod replace directive: {spec!r}")
    return Replace(
        old=old[0],
        old_version=old[1] if len(old) == 2 else None,
        new=new[0],
        new_version=new[1] if len(new) == 2 else None,
    )


def mirrored_replaces(
    replaces: Sequence[Replace], local_version: Callable[[str], str]
) -> list[str]:
    """Replace lines for a wrapper module.

    Replace directives only apply in the main module, so the wrapper must restate them: folder
    targets become the published module at `local_version(module)`, module targets are copied.
    """
    lines: list[str] = []
    for rep in replaces:
        old = f"{rep.old} {rep.old_version}" if rep.old_version else rep.old
        if rep.is_local:
            lines.append(f"{old} => {rep.old} {local_version(rep.old)}")
        else:
            new = f"{rep.new} {rep.new_version}" if rep.new_version else rep.new
            lines.append(f"{old} => {new}")
    return lines


def wrapper_go_mod(
    *,
    module: str,
    dependency: GoMod,
    require: Mapping[str, str],
    replace_lines: Sequence[str],
) -> str:
    # The dependency's own go and godebug lines: they set the language version and the runtime
    # defaults (GODEBUG) of the binary, and only the main module's count.
    lines = [
        "// Throw-away module written by tests/testenv/gobuild.py to build one pinned release.",
        f"module {module}",
        "",
        f"go {dependency.go or '1.26'}",
        *(f"godebug {setting}" for setting in dependency.godebug),
        "",
        "require (",
        *(f"\t{path} {version}" for path, version in require.items()),
        ")",
    ]
    if replace_lines:
        lines += ["", "replace (", *(f"\t{line}" for line in replace_lines), ")"]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# Binary cache and builds
# --------------------------------------------------------------------------------------------


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gitops-gen"


@contextlib.contextmanager
def build_lock(directory: Path) -> Iterator[None]:
    # Two pytest runs (or `make cluster` beside `make test`) must not build the same thing twice
    # or see a half-renamed cache: one builds, the other waits and then finds the binaries.
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / ".build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def recipe_stamp(binary: Path) -> Path:
    return binary.with_name(f".{binary.name}.recipe")


def is_current(binary: Path, recipe: str) -> bool:
    """`binary` is cached and was built by build recipe `recipe`.

    Each component keeps a recipe number and bumps it when the way it is built changes (flags,
    wrapper module), so binaries made the old way are rebuilt instead of silently reused.
    """
    stamp = recipe_stamp(binary)
    return (
        binary.is_file()
        and os.access(binary, os.X_OK)
        and stamp.is_file()
        and stamp.read_text().strip() == recipe
    )


def go_build(
    *,
    workdir: Path,
    package: str,
    target: Path,
    ldflags: Sequence[str],
    log: Path,
    recipe: str,
) -> float:
    """Build one command into `target` atomically (temp file in the same folder, then rename)."""
    go = find_go()
    env = go_env(module_mode=True)
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    started = time.monotonic()
    try:
        run_logged(
            [
                go,
                "build",
                "-trimpath",
                "-ldflags",
                " ".join(["-s", "-w", *ldflags]),
                "-o",
                str(partial),
                package,
            ],
            cwd=workdir,
            env=env,
            log=log,
        )
        partial.chmod(0o755)
        partial.replace(target)
        recipe_stamp(target).write_text(recipe + "\n")
    finally:
        partial.unlink(missing_ok=True)
    return time.monotonic() - started


def prepare_wrapper(
    workdir: Path,
    *,
    module: str,
    dependency: GoMod,
    require: Mapping[str, str],
    replace_lines: Sequence[str],
    source: tuple[str, str],
    log: Path,
) -> None:
    (workdir / "go.mod").write_text(
        wrapper_go_mod(
            module=module, dependency=dependency, require=require, replace_lines=replace_lines
        )
    )
    file_name, text = source
    (workdir / file_name).write_text(text)
    # tidy writes go.sum (and the indirect requirements) for exactly the imported packages.
    run_logged([find_go(), "mod", "tidy"], cwd=workdir, env=go_env(module_mode=True), log=log)


def module_time(info: Mapping[str, Any]) -> str:
    """The release time the module proxy records for a version (its .info file)."""
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        when = json.loads(Path(info["Info"]).read_text())["Time"]
        if isinstance(when, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", when):
            return when
    return "1970-01-01T00:00:00Z"
