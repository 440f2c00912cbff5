"""The repository's secret values for ``gitops-gen drift ENV --decrypt``.

Each required secret that has a file in ``secrets/<env>/`` is decrypted once, through a pipe into
memory (:meth:`Sops.decrypt`); nothing is written, and no value enters a message. Values come
back as the bytes the sops-secrets-operator would put in the Secret's ``data``: ``stringData``
as UTF-8, ``data`` base64-decoded, so the drift side compares them with the live Secret's decoded
data (it reduces both sides to masks at once, see :mod:`gitops_gen.drift.secrets`).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from gitops_gen.errors import InputError
from gitops_gen.model import Platform
from gitops_gen.secrets import signals
from gitops_gen.secrets.ops import _decrypting_identity
from gitops_gen.secrets.sops import Sops
from gitops_gen.secrets.store import rel, secret_path, template_index

WHY = "drift --decrypt"


def value_source(platform: Platform, identity: Path | None = None) -> RepositoryValues:
    """The hook ``gitops-gen drift --decrypt`` calls (``gitops_gen.drift.secrets.ValueSource``)."""
    return RepositoryValues(platform, identity)


@dataclass(frozen=True)
class RepositoryValues:
    platform: Platform
    identity_option: Path | None = None

    def values(self, environment: str) -> Mapping[str, Mapping[str, bytes]]:
        """Secret name -> key -> value bytes, for the environment's required secrets.

        SIGTERM and SIGHUP unwind like Ctrl-C while sops runs (exit 128 + signal number), so
        sops' private folders are removed; the plaintext itself only ever is in memory.
        """
        with signals.cleanup_on_signals():
            return self._values(environment)

    def _values(self, environment: str) -> Mapping[str, Mapping[str, bytes]]:
        root = self.platform.root
        env = self.platform.environment(environment)
        files = {
            s.name: path
            for s in env.required_secrets
            if (path := secret_path(root, env.name, s.name)).is_file()
        }
        if not files:
            raise InputError(
                f"--decrypt: {env.name} has no secrets files under secrets/{env.name}/, so there "
                "are no values to compare; run without --decrypt to check key names only"
            )
        # Every file's recipients are checked before any is decrypted: a wrong key fails with
        # one message naming the first file it cannot open, before sops runs at all.
        identities = [
            _decrypting_identity(self.identity_option, root, p, WHY) for p in files.values()
        ]
        sops = Sops.for_repo(root, identities[0].path)
        names = sorted(files)
        # sops runs are independent processes: a few at once (as the secrets commands do)
        workers = max(1, min(4, len(names), os.cpu_count() or 1))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            decoded = list(pool.map(lambda n: _decode(sops, root, files[n], n), names))
        return dict(zip(names, decoded, strict=True))


def _decode(sops: Sops, root: Path, path: Path, name: str) -> dict[str, bytes]:
    shown = rel(root, path)
    try:
        document = yaml.safe_load(sops.decrypt(path))
    except yaml.YAMLError:
        # a YAML error quotes the text around the problem: here, plaintext; never show it
        raise InputError(
            f"{shown}: sops' decrypted output is not YAML; run 'gitops-gen secrets verify ENV "
            "--decrypt-check' on the file"
        ) from None
    index = template_index(document if isinstance(document, dict) else None, name)
    if index is None:
        raise InputError(
            f"{shown}: no secretTemplate named {name}; run 'gitops-gen secrets verify' and "
            "restore the file from git"
        )
    template = document["spec"]["secretTemplates"][index]
    values: dict[str, bytes] = {}
    data = template.get("data")
    if isinstance(data, dict):
        for key, value in data.items():
            try:
                values[str(key)] = base64.b64decode(_text(value), validate=True)
            except (binascii.Error, ValueError):
                # the key is named, never the value
                raise InputError(
                    f"{shown}: data key '{key}' of {name} is not base64; fix it with "
                    f"'gitops-gen secrets edit'"
                ) from None
    string_data = template.get("stringData")
    if isinstance(string_data, dict):
        # as in the API server: a stringData key wins over the same key in data
        values.update({str(k): _text(v).encode("utf-8") for k, v in string_data.items()})
    return values


def _text(value: Any) -> str:
    """A YAML scalar as the operator's string map holds it (``true``, not Python's ``True``)."""
    return value if isinstance(value, str) else json.dumps(value)
