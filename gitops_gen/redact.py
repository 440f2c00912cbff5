"""Keeping credentials out of what is printed: one place for both kinds of hiding."""

from __future__ import annotations

import re
from collections.abc import Iterable

# ``scheme://user:token@host``: the part before ``@`` is a credential wherever a URL appears.
URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s]+@", re.IGNORECASE)


def url_credentials(text: str, replacement: str = "***@") -> str:
    """Every ``user:token@`` in ``text`` replaced (by ``***@``, or dropped with ``""``)."""
    return URL_CREDENTIALS.sub(lambda m: m.group("scheme") + replacement, text)


def values(text: str, secrets: Iterable[str]) -> str:
    """Every occurrence of each secret value in ``text`` replaced by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
