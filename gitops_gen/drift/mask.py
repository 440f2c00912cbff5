"""Masking secret values: equal values give equal masks, nothing about the value leaks.

The mask is an HMAC-SHA256 under a key, truncated to a fixed width: without the key a mask
cannot be brute-forced back to a short password, and its width says nothing about the value's
length. By default the key is drawn fresh for every run, so two runs give unrelated masks (a
mask copied from one report proves nothing in another); ``--mask-key-file`` keeps the key
between runs, so scheduled reports can be compared. Masks are only ever written into the report.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from pathlib import Path
from typing import Any

from gitops_gen.errors import InputError

MASK_WIDTH = 16  # hex characters of the HMAC kept
SECRET_KINDS = frozenset({("", "Secret"), ("isindir.github.com", "SopsSecret")})
SECRET_FIELDS = ("data", "stringData")
MIN_KEY_BYTES = 32  # as much as the HMAC's own output: no weaker than a fresh key


def load_mask_key(path: Path) -> bytes:
    """The bytes of a mask key file (``head -c 32 /dev/urandom``, ``openssl rand -hex 32``)."""
    try:
        key = path.read_bytes().strip()
    except FileNotFoundError:
        raise InputError(
            f"--mask-key-file {path}: no such file; create one with `openssl rand -hex 32 > {path}`"
        ) from None
    except OSError as exc:
        raise InputError(f"--mask-key-file {path}: unreadable ({exc.strerror})") from None
    if len(key) < MIN_KEY_BYTES:
        raise InputError(
            f"--mask-key-file {path}: holds {len(key)} bytes, at least {MIN_KEY_BYTES} needed; "
            f"create one with `openssl rand -hex 32 > {path}`"
        )
    return key


class Masker:
    def __init__(self, key: bytes | None = None) -> None:
        self._key = key if key is not None else secrets.token_bytes(32)

    def mask_bytes(self, value: bytes) -> str:
        digest = hmac.new(self._key, value, hashlib.sha256).hexdigest()
        return f"<secret:{digest[:MASK_WIDTH]}>"

    def mask_value(self, value: Any) -> Any:
        """Mask every leaf of ``value`` (a whole ``data`` map, one key, a list of templates)."""
        if isinstance(value, dict):
            return {k: self.mask_value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.mask_value(v) for v in value]
        if value is None:
            return None
        return self.mask_bytes(str(value).encode())


def is_secret_path(group: str, kind: str, tokens: tuple[str | int, ...]) -> bool:
    """Is this field of this kind a secret value (or a map/list holding them)?"""
    if (group, kind) not in SECRET_KINDS:
        return False
    if not tokens:
        return True  # the whole object: never print it
    if kind == "Secret":
        return tokens[0] in SECRET_FIELDS
    # SopsSecret: spec.secretTemplates[*].data/stringData hold the (encrypted) values
    return tokens[0] in ("spec", "sops") or tokens[0] in SECRET_FIELDS


def decode_secret_data(value: Any) -> bytes:
    """A Secret ``data`` value as bytes; undecodable text is kept as it is (and so differs)."""
    text = str(value)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return text.encode()
