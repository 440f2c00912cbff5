"""age identities (x25519, through pyrage): generate, find, load with a permission check.

A private key never enters the repository (the one exception is the documented example-only dev
key, see :data:`EXAMPLE_KEYS_DIR`), never appears on argv, and is handed to sops as a file path.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyrage

from gitops_gen.errors import InputError
from gitops_gen.secrets.atomic import write_new

IDENTITY_ENVS = ("GITOPS_GEN_AGE_KEY_FILE", "SOPS_AGE_KEY_FILE")
# The only place a private key may be committed: throw-away keys of the embedded example.
EXAMPLE_KEYS_DIR = "examples/keys/"
# bech32 upper case: what `age-keygen` writes and pyrage reads
PRIVATE_KEY = re.compile(r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}")
RECIPIENT = re.compile(r"^age1[qpzry9x8gf2tvdw0s3jn54khce6mua7l]{58}$")


@dataclass(frozen=True)
class Identity:
    """An age identity file and the recipients (public keys) of the identities in it."""

    path: Path
    recipients: frozenset[str]

    def can_decrypt(self, recipients: frozenset[str] | set[str]) -> bool:
        return bool(self.recipients & set(recipients))


def resolve_identity(option: Path | None) -> Identity | None:
    """``--identity``, else $GITOPS_GEN_AGE_KEY_FILE, else $SOPS_AGE_KEY_FILE; None when unset."""
    if option is not None:
        return load_identity(option, "--identity")
    for name in IDENTITY_ENVS:
        value = os.environ.get(name)
        if value:
            return load_identity(Path(value), f"${name}")
    return None


def require_identity(option: Path | None, why: str) -> Identity:
    identity = resolve_identity(option)
    if identity is None:
        raise InputError(
            f"no age identity given, and {why} needs one; pass --identity PATH or set "
            f"${IDENTITY_ENVS[0]}"
        )
    return identity


def load_identity(path: Path, source: str) -> Identity:
    """Read an identity file; refuse it when group or others can read it."""
    shown = f"{source} {path}"
    path = path.expanduser()
    try:
        info = path.stat()
    except FileNotFoundError:
        raise InputError(f"{shown}: identity file not found") from None
    except OSError as exc:
        raise InputError(f"{shown}: cannot read the identity file ({exc.strerror})") from None
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{shown}: not a regular file; pass an age identity file")
    if info.st_mode & 0o077:
        raise InputError(
            f"{shown}: readable by group or others (mode {stat.S_IMODE(info.st_mode):04o}); "
            f"run 'chmod 600 {path}'"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise InputError(f"{shown}: cannot read the identity file ({reason})") from None
    recipients: set[str] = set()
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            recipients.add(str(pyrage.x25519.Identity.from_str(line).to_public()))
        except Exception:  # pyrage raises its own IdentityError or ValueError
            # never quote the line: it may be (part of) a private key
            raise InputError(
                f"{shown}: not an age identity file (a line is not an AGE-SECRET-KEY-1...)"
            ) from None
    if not recipients:
        raise InputError(f"{shown}: no age identity in the file")
    return Identity(path=path.resolve(), recipients=frozenset(recipients))


def default_identity_path(platform: str, env: str) -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "gitops-gen" / "age" / f"{platform}-{env}.agekey"


def identity_or_default(option: Path | None, platform: str, env: str) -> Path | None:
    """``--identity`` as given; without it and without either variable, the identity that
    ``keygen`` and ``env add`` write for ENV by default, if it exists (``doctor`` counts it too),
    so the ``secrets set`` lines ``env add`` prints work one after another."""
    if option is not None or any(os.environ.get(name) for name in IDENTITY_ENVS):
        return option
    default = default_identity_path(platform, env)
    return default if default.is_file() else None


def check_identity_target(out: Path, root: Path) -> Path:
    """Where keygen may write: outside the repository, not an existing file."""
    target = out.expanduser().absolute()
    resolved_parent = target.parent.resolve()
    if resolved_parent == root or root in resolved_parent.parents:
        raise InputError(
            f"--out {out}: inside the repository; a private key must never be committed; "
            "choose a path outside it (default: ~/.config/gitops-gen/age/)"
        )
    if target.exists() or target.is_symlink():
        raise InputError(f"--out {out}: already exists; refusing to overwrite an identity")
    return resolved_parent / target.name


def generate_identity(target: Path, comment: str) -> str:
    """Write a new identity (mode 0600, exclusive create); returns its recipient."""
    identity = pyrage.x25519.Identity.generate()
    recipient = str(identity.to_public())
    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    text = f"# {comment}\n# created: {created}\n# public key: {recipient}\n{identity}\n"
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_new(target, text.encode("utf-8"), 0o600)
    return recipient


def check_recipient(value: str) -> str:
    if not RECIPIENT.match(value):
        raise InputError(f"{value}: not an age recipient (age1 followed by 58 characters)")
    return value
