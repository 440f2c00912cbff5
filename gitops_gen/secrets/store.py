"""Where an environment's encrypted secrets live and what a secrets file looks like.

``secrets/<env>/<secret>.yaml`` is one sops-secrets-operator ``SopsSecret`` per required secret:
names and key names in the clear, only ``data``/``stringData`` values encrypted. Next to them,
``SHA256SUMS`` holds the digest of every file as gitops-gen last wrote it: with no key at all,
any byte changed outside gitops-gen (a flipped ciphertext, a bad merge) shows.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from gitops_gen.secrets.atomic import is_temporary
from gitops_gen.secrets.config import SECRETS_DIR
from gitops_gen.yamlio import dump, load_fast

API_VERSION = "isindir.github.com/v1alpha3"
KIND = "SopsSecret"
SUMS_FILE = "SHA256SUMS"


def env_dir(root: Path, env: str) -> Path:
    return root / SECRETS_DIR / env


def secret_path(root: Path, env: str, name: str) -> Path:
    return env_dir(root, env) / f"{name}.yaml"


def rel(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def secret_files(root: Path, env: str) -> list[Path]:
    """The environment's secrets files, sorted; temporary and hidden files are not secrets."""
    folder = env_dir(root, env)
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.glob("*.yaml")
        if p.is_file() and not p.name.startswith(".") and not is_temporary(p)
    )


def has_secrets(root: Path, env: str) -> bool:
    return bool(secret_files(root, env))


def plaintext_document(name: str, labels: Mapping[str, str], values: Mapping[str, str]) -> bytes:
    """The SopsSecret for ``name`` before encryption (held in memory only, fed to sops' stdin)."""
    document = {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": name, "labels": dict(labels)},
        "spec": {"secretTemplates": [{"name": name, "stringData": dict(values)}]},
    }
    return dump(document).encode("utf-8")


def template_index(data: Any, name: str) -> int | None:
    """The position of the secretTemplate named ``name`` (sops set/unset address it by index)."""
    templates = ((data or {}).get("spec") or {}).get("secretTemplates")
    if not isinstance(templates, list):
        return None
    for index, template in enumerate(templates):
        if isinstance(template, dict) and template.get("name") == name:
            return index
    return None


def value_index(template: int, key: str) -> str:
    """A sops tree path (JSON-quoted keys, so dots and quotes in key names are safe)."""
    return f'["spec"]["secretTemplates"][{template}]["stringData"][{json.dumps(key)}]'


def string_data_index(template: int) -> str:
    """The sops tree path of a template's whole ``stringData`` mapping."""
    return f'["spec"]["secretTemplates"][{template}]["stringData"]'


@dataclass(frozen=True)
class SecretFile:
    """What can be read from an encrypted secrets file without any key."""

    path: Path
    rel: str  # where the file lives (or will live), repository-relative
    raw: bytes
    data: Any  # parsed YAML; None when it does not parse
    parse_error: str | None

    @property
    def stem(self) -> str:
        return Path(self.rel).stem

    @property
    def name(self) -> str:
        return Path(self.rel).name

    @property
    def metadata(self) -> dict[str, Any]:
        sops = self.data.get("sops") if isinstance(self.data, dict) else None
        return sops if isinstance(sops, dict) else {}

    @property
    def recipients(self) -> frozenset[str]:
        entries = self.metadata.get("age") or []
        return frozenset(
            str(e["recipient"]) for e in entries if isinstance(e, dict) and e.get("recipient")
        )

    @property
    def last_modified(self) -> str:
        return str(self.metadata.get("lastmodified") or "")

    def key_names(self) -> tuple[str, ...]:
        """Key names of the template named after the file (stringData and data)."""
        index = template_index(self.data if isinstance(self.data, dict) else None, self.stem)
        if index is None:
            return ()
        template = self.data["spec"]["secretTemplates"][index]
        names: list[str] = []
        for section in ("stringData", "data"):
            values = template.get(section)
            if isinstance(values, dict):
                names.extend(str(k) for k in values)
        return tuple(sorted(set(names)))


def read_secret_file(root: Path, path: Path, as_rel: str | None = None) -> SecretFile:
    """Parse ``path``; ``as_rel`` names where it will live when ``path`` is a staged copy."""
    return parse_secret_file(path, as_rel or rel(root, path), path.read_bytes())


def parse_secret_file(path: Path, where: str, raw: bytes) -> SecretFile:
    try:
        data = load_fast(raw.decode("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" (line {mark.line + 1})" if mark is not None else ""
        return SecretFile(path, where, raw, None, f"not valid YAML{line}")
    return SecretFile(path, where, raw, data, None)


# --- SHA256SUMS -------------------------------------------------------------------------------


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_sums(root: Path, env: str) -> dict[str, str]:
    path = env_dir(root, env) / SUMS_FILE
    if not path.is_file():
        return {}
    sums: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split(maxsplit=1)
        if len(parts) == 2:
            sums[parts[1].lstrip("*")] = parts[0]
    return sums


def sums_text(root: Path, env: str, changed: Mapping[str, bytes | None]) -> bytes:
    """SHA256SUMS (``sha256sum -c`` format) after ``changed`` (file name -> new bytes, or None
    for a removed file) is applied. Every other file keeps its *recorded* digest: writing one
    secret must never bless a file that was changed outside gitops-gen."""
    present = {p.name for p in secret_files(root, env)}
    entries = {name: value for name, value in read_sums(root, env).items() if name in present}
    for name, data in changed.items():
        if data is None:
            entries.pop(name, None)
        else:
            entries[name] = digest(data)
    return "".join(f"{entries[n]}  {n}\n" for n in sorted(entries)).encode("utf-8")
