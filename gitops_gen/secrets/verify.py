"""``secrets verify``: is every secrets file really encrypted, for the right recipients, complete?

Needs no key. ``sops filestatus`` is not enough (it only looks for the metadata), so the check is
ours: complete sops metadata, no ``mac_only_encrypted``, every leaf under the encrypted paths an
``ENC[...]`` value, recipients equal to the ``.sops.yaml`` rule's, the file's digest equal to the
one in SHA256SUMS, and every required secret present with every required key. With a key,
``decrypt_check`` also has sops prove each file's MAC.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gitops_gen.model import Environment, Platform
from gitops_gen.secrets.config import ENCRYPTED_REGEX, SECRETS_DIR, SopsConfig, load_config
from gitops_gen.secrets.keys import Identity
from gitops_gen.secrets.sops import CONFIG_FILE, Sops, SopsError
from gitops_gen.secrets.store import (
    API_VERSION,
    KIND,
    SUMS_FILE,
    SecretFile,
    digest,
    read_secret_file,
    read_sums,
    secret_files,
)
from gitops_gen.validate.findings import Finding, Severity

ENC_VALUE = re.compile(
    r"^ENC\[AES256_GCM,data:(?P<data>[A-Za-z0-9+/=]*),iv:(?P<iv>[A-Za-z0-9+/=]+),"
    r"tag:(?P<tag>[A-Za-z0-9+/=]+),type:(?P<type>str|int|float|bool|bytes|comment)\]$"
)

RULES: dict[str, str] = {
    "SEC001": "a secrets file is a sops-encrypted YAML mapping",
    "SEC002": "sops metadata is complete (mac, lastmodified, version, at least one recipient)",
    "SEC003": "the MAC covers every value (no mac_only_encrypted)",
    "SEC004": "every value under data/stringData is encrypted (ENC[...])",
    "SEC005": "recipients match the .sops.yaml creation rule for the file's path",
    "SEC006": "every required secret of the catalog has a file",
    "SEC007": "every required key is present (and only known keys)",
    "SEC008": "a secrets file is a SopsSecret named after its file",
    "SEC009": "the file is byte-identical to its SHA256SUMS entry (changed only by gitops-gen)",
    "SEC010": "with a key: the file decrypts and its MAC matches",
    "SEC011": "no age private key is committed outside the example-only folder",
    "SEC012": "every secrets file belongs to a secret in the catalog",
}


def _finding(env: str, rule: str, where: str, message: str, warn: bool = False) -> Finding:
    return Finding(env, rule, where, message, Severity.WARNING if warn else Severity.ERROR)


def is_encrypted_value(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    match = ENC_VALUE.match(value)
    if match is None:
        return False
    try:
        iv = base64.b64decode(match["iv"], validate=True)
        tag = base64.b64decode(match["tag"], validate=True)
        base64.b64decode(match["data"], validate=True)
    except (binascii.Error, ValueError):
        return False
    return len(iv) == 32 and len(tag) == 16


def _leaves(
    node: Any, path: tuple[str, ...], covered: bool, pattern: re.Pattern[str]
) -> Iterator[tuple[tuple[str, ...], Any, bool]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(
                value, (*path, str(key)), covered or bool(pattern.search(str(key))), pattern
            )
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _leaves(value, (*path, f"[{index}]"), covered, pattern)
    else:
        yield path, node, covered


def _dotted(path: tuple[str, ...]) -> str:
    return ".".join(path).replace(".[", "[")


def check_file(
    env: str, file: SecretFile, config: SopsConfig | None, sums: dict[str, str]
) -> list[Finding]:
    """Structural findings for one file (no key needed)."""
    where = file.rel
    if file.parse_error is not None:
        return [_finding(env, "SEC001", where, f"{file.parse_error}; restore it from git")]
    data = file.data
    if not isinstance(data, dict) or not isinstance(data.get("sops"), dict):
        return [
            _finding(
                env,
                "SEC001",
                where,
                "not encrypted with sops (no sops metadata); never commit plaintext: remove "
                "the file, then set its values with 'gitops-gen secrets set'",
            )
        ]
    findings: list[Finding] = []
    meta = data["sops"]
    missing = [k for k in ("mac", "lastmodified", "version") if not meta.get(k)]
    if not file.recipients and not any(meta.get(k) for k in ("pgp", "kms", "gcp_kms", "azure_kv")):
        missing.append("recipients")
    if meta.get("mac") and not is_encrypted_value(meta.get("mac")):
        missing.append("a well-formed mac")
    if missing:
        findings.append(
            _finding(
                env, "SEC002", where, f"sops metadata incomplete: missing {', '.join(missing)}"
            )
        )
    if meta.get("mac_only_encrypted"):
        findings.append(
            _finding(
                env,
                "SEC003",
                where,
                "mac_only_encrypted is set: the MAC does not cover the readable fields, so names "
                "could be swapped undetected; re-create the file with gitops-gen",
            )
        )
    regex = meta.get("encrypted_regex")
    if regex != ENCRYPTED_REGEX:
        findings.append(
            _finding(
                env,
                "SEC004",
                where,
                f"encrypted_regex is {regex!r}, expected {ENCRYPTED_REGEX!r} (only data and "
                "stringData encrypted)",
            )
        )
    pattern = re.compile(ENCRYPTED_REGEX)
    body = {k: v for k, v in data.items() if k != "sops"}
    for path, value, covered in _leaves(body, (), False, pattern):
        if covered and not is_encrypted_value(value):
            # never quote the value: it is plaintext that must not spread further
            findings.append(
                _finding(env, "SEC004", f"{where}: {_dotted(path)}", "value is not encrypted")
            )
    findings.extend(_check_shape(env, file))
    findings.extend(_check_recipients(env, file, config))
    recorded = sums.get(file.name)
    if recorded is None:
        findings.append(
            _finding(
                env,
                "SEC009",
                where,
                f"no entry in {SUMS_FILE}: written outside gitops-gen; after 'secrets verify "
                "--decrypt-check --reseal' proves it, the entry is added",
            )
        )
    elif recorded != digest(file.raw):
        findings.append(
            _finding(
                env,
                "SEC009",
                where,
                f"differs from its {SUMS_FILE} entry: changed outside gitops-gen or corrupted; "
                "restore it from git, or prove it with 'secrets verify --decrypt-check --reseal'",
            )
        )
    return findings


def _check_shape(env: str, file: SecretFile) -> list[Finding]:
    data = file.data
    problems = []
    if data.get("apiVersion") != API_VERSION or data.get("kind") != KIND:
        problems.append(f"expected apiVersion {API_VERSION}, kind {KIND}")
    name = (
        (data.get("metadata") or {}).get("name") if isinstance(data.get("metadata"), dict) else None
    )
    if name != file.stem:
        problems.append(f"metadata.name is {name!r}, expected {file.stem!r} (the file name)")
    templates = (
        (data.get("spec") or {}).get("secretTemplates")
        if isinstance(data.get("spec"), dict)
        else None
    )
    if not isinstance(templates, list) or not any(
        isinstance(t, dict) and t.get("name") == file.stem for t in templates
    ):
        problems.append(f"spec.secretTemplates has no template named {file.stem!r}")
    return [_finding(env, "SEC008", file.rel, "; ".join(problems))] if problems else []


def _check_recipients(env: str, file: SecretFile, config: SopsConfig | None) -> list[Finding]:
    if config is None:
        return [
            _finding(env, "SEC005", file.rel, f"no {CONFIG_FILE}: recipients cannot be checked")
        ]
    rule = config.rule_for(file.rel)
    if rule is None:
        return [
            _finding(
                env,
                "SEC005",
                file.rel,
                f"no creation rule in {CONFIG_FILE} matches this path; run 'gitops-gen secrets "
                f"keygen {env}'",
            )
        ]
    if rule.recipients == file.recipients:
        return []
    parts = []
    if missing := sorted(rule.recipients - file.recipients):
        parts.append(f"not encrypted for {', '.join(missing)}")
    if extra := sorted(file.recipients - rule.recipients):
        parts.append(f"still encrypted for {', '.join(extra)}")
    return [
        _finding(
            env,
            "SEC005",
            file.rel,
            f"recipients differ from the rule at {rule.location}: {'; '.join(parts)}; run "
            f"'gitops-gen secrets rotate {env}'",
        )
    ]


def verify_environment(
    platform: Platform, env: Environment, identity: Identity | None = None
) -> list[Finding]:
    """Every finding for one environment; with an ``identity`` each MAC is proven by sops too."""
    root = platform.root
    config = load_config(root)
    sums = read_sums(root, env.name)
    files = {p.stem: read_secret_file(root, p) for p in secret_files(root, env.name)}
    findings: list[Finding] = []
    required = {s.name: s for s in env.required_secrets}
    for name, secret in required.items():
        file = files.get(name)
        if file is None:
            findings.append(
                _finding(
                    env.name,
                    "SEC006",
                    f"secrets/{env.name}/{name}.yaml",
                    f"required secret {name} is missing; set its keys ({', '.join(secret.keys)}) "
                    f"with 'gitops-gen secrets set {env.name} {name} KEY'",
                )
            )
            continue
        present = set(file.key_names())
        if absent := [k for k in secret.keys if k not in present]:
            findings.append(
                _finding(
                    env.name, "SEC007", file.rel, f"required keys missing: {', '.join(absent)}"
                )
            )
        if unknown := sorted(present - set(secret.keys)):
            findings.append(
                _finding(
                    env.name,
                    "SEC007",
                    file.rel,
                    f"keys not required by the catalog: {', '.join(unknown)}",
                    warn=True,
                )
            )
    for name, file in files.items():
        if name not in required:
            findings.append(
                _finding(
                    env.name,
                    "SEC012",
                    file.rel,
                    f"{name} is not a secret of the catalog (environments/platform.yaml: "
                    "secrets); remove the file or add the secret there",
                )
            )
        findings.extend(check_file(env.name, file, config, sums))
    if identity is not None:
        sops = Sops.for_repo(root, identity.path)
        for file in files.values():
            if not identity.can_decrypt(file.recipients):
                findings.append(
                    _finding(
                        env.name,
                        "SEC010",
                        file.rel,
                        f"not proven: the identity {identity.path} is not one of its recipients",
                    )
                )
                continue
            try:
                sops.check_mac(file.path)
            except SopsError as exc:
                findings.append(_finding(env.name, "SEC010", file.rel, exc.message))
    return sorted(set(findings))


def verify_platform(
    platform: Platform, environments: list[str] | None = None, identity: Identity | None = None
) -> list[Finding]:
    names = environments or sorted(platform.environments)
    findings: list[Finding] = []
    for name in names:
        findings.extend(verify_environment(platform, platform.environment(name), identity))
    return sorted(set(findings))


def has_setup(platform: Platform, env: str) -> bool:
    """Whether ``env`` manages its secrets here: a secrets folder or a creation rule for it."""
    root: Path = platform.root
    if (root / SECRETS_DIR / env).is_dir():
        return True
    config = load_config(root)
    return config is not None and config.env_rule(env) is not None
