"""``secrets verify``: is every secrets file really encrypted, for the right recipients, complete?

Needs no key. ``sops filestatus`` is not enough (it only looks for the metadata), so the check is
ours (:mod:`gitops_gen.secrets.structure`): complete sops metadata, no ``mac_only_encrypted``,
every leaf under the encrypted paths an ``ENC[...]`` value, recipients equal to the
``.sops.yaml`` rule's, the file's digest equal to the one in SHA256SUMS; and every required
secret present with every required key. With a key, sops also proves each file's MAC.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from gitops_gen.model import Environment, Platform
from gitops_gen.secrets.config import SECRETS_DIR, load_config
from gitops_gen.secrets.keys import EXAMPLE_KEYS_DIR, Identity
from gitops_gen.secrets.leaks import find_private_keys
from gitops_gen.secrets.restore import restore_advice
from gitops_gen.secrets.sops import Sops, SopsError
from gitops_gen.secrets.store import SecretFile, read_secret_file, read_sums, secret_files
from gitops_gen.secrets.structure import Problem, check_file
from gitops_gen.validate.findings import Finding, Severity

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


def _finding(env: str, problem: Problem) -> Finding:
    severity = Severity.WARNING if problem.warning else Severity.ERROR
    return Finding(env, problem.rule, problem.location, problem.message, severity)


def _new(env: str, rule: str, where: str, message: str, warn: bool = False) -> Finding:
    return _finding(env, Problem(rule, where, message, warn))


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
                _new(
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
                _new(env.name, "SEC007", file.rel, f"required keys missing: {', '.join(absent)}")
            )
        if unknown := sorted(present - set(secret.keys)):
            findings.append(
                _new(
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
                _new(
                    env.name,
                    "SEC012",
                    file.rel,
                    f"{name} is not a secret of the catalog (environments/platform.yaml: "
                    "secrets); remove the file or add the secret there",
                )
            )
        findings.extend(
            _finding(env.name, p)
            for p in check_file(file, config, sums, lambda f: restore_advice(root, f.rel, f.raw))
        )
    if identity is not None:
        findings.extend(_prove_macs(root, env.name, list(files.values()), identity))
    return sorted(set(findings))


def _prove_macs(root: Path, env: str, files: list[SecretFile], identity: Identity) -> list[Finding]:
    sops = Sops.for_repo(root, identity.path)

    def prove(file: SecretFile) -> Finding | None:
        if not identity.can_decrypt(file.recipients):
            message = f"not proven: the identity {identity.path} is not one of its recipients"
            return _new(env, "SEC010", file.rel, message)
        try:
            sops.check_mac(file.path)
        except SopsError as exc:
            return _new(env, "SEC010", file.rel, exc.message)
        return None

    # independent sops runs: a few at once
    with ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1))) as pool:
        return [f for f in pool.map(prove, files) if f is not None]


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


def validate_secrets(platform: Platform, environments: tuple[str, ...]) -> list[Finding]:
    """What ``validate`` adds: verify for each environment that manages its secrets here (a
    secrets folder or a creation rule), and any age private key outside the example folder."""
    findings: list[Finding] = []
    for name in environments:
        if has_setup(platform, name):
            findings.extend(verify_environment(platform, platform.environments[name]))
    for leak in find_private_keys(platform.root):
        findings.append(
            _new(
                "(repository)",
                "SEC011",
                f"{leak.path}:{leak.line}",
                "an age private key is in the repository; remove it from the file and from "
                f"git history, and rotate that key (only {EXAMPLE_KEYS_DIR} may hold the "
                "example's throw-away key)",
            )
        )
    return findings
