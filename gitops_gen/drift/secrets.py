"""Required Secrets: present in the namespace with exactly the required key names.

Key names are checked without any key material. Values are compared only with ``--decrypt``,
through a :class:`ValueSource` that yields the repository's plaintext (the secrets feature's
decryption); both sides are reduced to masks at once, so plaintext never reaches a finding.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from gitops_gen.drift.findings import Finding, FindingType, ObjectRef, Severity, escape_token
from gitops_gen.drift.mask import Masker, decode_secret_data


@dataclass(frozen=True)
class Requirement:
    name: str
    keys: tuple[str, ...]


class ValueSource(Protocol):
    """Where ``--decrypt`` gets the repository's values: secret name -> key -> bytes."""

    def values(self, environment: str) -> Mapping[str, Mapping[str, bytes]]: ...


def secret_findings(
    namespace: str,
    requirements: list[Requirement],
    live: Mapping[str, dict[str, Any]],
    masker: Masker,
    *,
    expected_values: Mapping[str, Mapping[str, bytes]] | None = None,
    app: str = "",
) -> list[Finding]:
    findings: list[Finding] = []
    for requirement in requirements:
        ref = ObjectRef("", "v1", "Secret", namespace, requirement.name)
        obj = live.get(requirement.name)
        if obj is None:
            findings.append(
                Finding(
                    ref,
                    FindingType.MISSING,
                    "",
                    {"keys": sorted(requirement.keys)},
                    None,
                    Severity.HIGH,
                    "secrets/required-missing",
                    app,
                    "required Secret does not exist",
                )
            )
            continue
        data = obj.get("data") or {}
        for key in sorted(set(requirement.keys) - set(data)):
            findings.append(
                Finding(
                    ref,
                    FindingType.MISSING,
                    f"/data/{escape_token(key)}",
                    "<required key>",
                    None,
                    Severity.HIGH,
                    "secrets/key-missing",
                    app,
                )
            )
        for key in sorted(set(data) - set(requirement.keys)):
            findings.append(
                Finding(
                    ref,
                    FindingType.EXTRA,
                    f"/data/{escape_token(key)}",
                    None,
                    masker.mask_bytes(decode_secret_data(data[key])),
                    Severity.MEDIUM,
                    "secrets/key-extra",
                    app,
                )
            )
        wanted = (expected_values or {}).get(requirement.name) or {}
        for key in sorted(set(wanted) & set(data)):
            desired_mask = masker.mask_bytes(wanted[key])
            live_mask = masker.mask_bytes(decode_secret_data(data[key]))
            if desired_mask != live_mask:
                findings.append(
                    Finding(
                        ref,
                        FindingType.MODIFIED,
                        f"/data/{escape_token(key)}",
                        desired_mask,
                        live_mask,
                        Severity.HIGH,
                        "secrets/value-differs",
                        app,
                    )
                )
    return findings
