"""Masking secret values: equal values give equal masks, nothing about the value leaks.

The mask is an HMAC-SHA256 under a key drawn fresh for every run, truncated to a fixed width:
without the key a mask cannot be brute-forced back to a short password, its width says nothing
about the value's length, and two runs give unrelated masks (so a mask copied from one report
proves nothing in another). Masks are only ever written into the report.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from typing import Any

MASK_WIDTH = 16  # hex characters of the HMAC kept
SECRET_KINDS = frozenset({("", "Secret"), ("isindir.github.com", "SopsSecret")})
SECRET_FIELDS = ("data", "stringData")


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
