"""Keyless structural checks of one secrets file: the part of ``verify`` render also needs.

Returns plain :class:`Problem` records (rule, where, what); :mod:`gitops_gen.validate.secrets`
turns them into validation findings. Never quotes a value: a plaintext leaf must not spread.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from gitops_gen.secrets.config import ENCRYPTED_REGEX, SopsConfig
from gitops_gen.secrets.sops import CONFIG_FILE
from gitops_gen.secrets.store import API_VERSION, KIND, SUMS_FILE, SecretFile, digest

# Problems that make a file unfit to leave the repository at all (plaintext could be exposed).
UNSAFE = frozenset({"SEC001", "SEC002", "SEC003", "SEC004"})


@dataclass(frozen=True, order=True)
class Problem:
    rule: str
    location: str
    message: str
    warning: bool = False


ENC_VALUE = re.compile(
    r"^ENC\[AES256_GCM,data:(?P<data>[A-Za-z0-9+/=]*),iv:(?P<iv>[A-Za-z0-9+/=]+),"
    r"tag:(?P<tag>[A-Za-z0-9+/=]+),type:(?P<type>str|int|float|bool|bytes|comment)\]$"
)


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
    file: SecretFile,
    config: SopsConfig | None,
    sums: dict[str, str],
    restore: Callable[[SecretFile], str] | None = None,
) -> list[Problem]:
    """Structural findings for one file (no key needed).

    ``restore`` says how to get a broken (truncated, half-written) file back, e.g. from git
    (:func:`gitops_gen.secrets.restore.restore_advice`); it is only called for such a file.
    """
    where = file.rel
    if file.parse_error is not None:
        hint = restore(file) if restore else "restore it from git"
        return [Problem("SEC001", where, f"{file.parse_error}: truncated or damaged; {hint}")]
    data = file.data
    if not isinstance(data, dict) or not isinstance(data.get("sops"), dict):
        advice = restore(file) if restore else None
        return [
            Problem(
                "SEC001",
                where,
                "not encrypted with sops (no sops metadata: truncated, or plaintext); "
                + (
                    advice
                    or "never commit plaintext: remove the file, then set its values with "
                    "'gitops-gen secrets set'"
                ),
            )
        ]
    findings: list[Problem] = []
    meta = data["sops"]
    missing = [k for k in ("mac", "lastmodified", "version") if not meta.get(k)]
    if not file.recipients and not any(meta.get(k) for k in ("pgp", "kms", "gcp_kms", "azure_kv")):
        missing.append("recipients")
    if meta.get("mac") and not is_encrypted_value(meta.get("mac")):
        missing.append("a well-formed mac")
    if missing:
        hint = f"; truncated or damaged: {restore(file)}" if restore else ""
        findings.append(
            Problem(
                "SEC002", where, f"sops metadata incomplete: missing {', '.join(missing)}{hint}"
            )
        )
    if meta.get("mac_only_encrypted"):
        findings.append(
            Problem(
                "SEC003",
                where,
                "mac_only_encrypted is set: the MAC does not cover the readable fields, so names "
                "could be swapped undetected; re-create the file with gitops-gen",
            )
        )
    regex = meta.get("encrypted_regex")
    if regex != ENCRYPTED_REGEX:
        findings.append(
            Problem(
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
                Problem("SEC004", f"{where}: {_dotted(path)}", "value is not encrypted")
            )
    findings.extend(_check_shape(file))
    findings.extend(_check_recipients(file, config))
    recorded = sums.get(file.name)
    if recorded is None:
        findings.append(
            Problem(
                "SEC009",
                where,
                f"no entry in {SUMS_FILE}: written outside gitops-gen; after 'secrets verify "
                "--decrypt-check --reseal' proves it, the entry is added",
            )
        )
    elif recorded != digest(file.raw):
        findings.append(
            Problem(
                "SEC009",
                where,
                f"differs from its {SUMS_FILE} entry: changed outside gitops-gen or corrupted; "
                "restore it from git, or prove it with 'secrets verify --decrypt-check --reseal'",
            )
        )
    return findings


def _check_shape(file: SecretFile) -> list[Problem]:
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
    return [Problem("SEC008", file.rel, "; ".join(problems))] if problems else []


def _check_recipients(file: SecretFile, config: SopsConfig | None) -> list[Problem]:
    if config is None:
        return [Problem("SEC005", file.rel, f"no {CONFIG_FILE}: recipients cannot be checked")]
    rule = config.rule_for(file.rel)
    if rule is None:
        return [
            Problem(
                "SEC005",
                file.rel,
                f"no creation rule in {CONFIG_FILE} matches this path; run 'gitops-gen secrets "
                "keygen ENV'",
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
        Problem(
            "SEC005",
            file.rel,
            f"recipients differ from the rule at {rule.location}: {'; '.join(parts)}; run "
            "'gitops-gen secrets rotate ENV'",
        )
    ]
