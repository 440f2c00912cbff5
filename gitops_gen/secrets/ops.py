"""What the ``secrets`` commands do: plan every new file in memory, then write them all.

sops operates in place, so each change runs on a ciphertext copy in a private folder outside the
work tree that mirrors the repository (:mod:`gitops_gen.secrets.scratch`: the creation rules
match the same way). Only when every file of the operation succeeded are the targets replaced
(atomic renames, with signals held until the last one), then SHA256SUMS and ``.sops.yaml``.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from gitops_gen.errors import InputError
from gitops_gen.model import Environment, Platform
from gitops_gen.model.loader import suggest
from gitops_gen.model.resolved import RequiredSecret
from gitops_gen.render.plan import base_labels
from gitops_gen.secrets import signals
from gitops_gen.secrets.atomic import atomic_write
from gitops_gen.secrets.config import SopsConfig, load_config, with_recipients
from gitops_gen.secrets.keys import (
    Identity,
    check_identity_target,
    check_recipient,
    default_identity_path,
    generate_identity,
    require_identity,
)
from gitops_gen.secrets.restore import restore_advice
from gitops_gen.secrets.scratch import scratch_copies
from gitops_gen.secrets.sops import CONFIG_FILE, Sops
from gitops_gen.secrets.store import (
    SUMS_FILE,
    env_dir,
    parse_secret_file,
    plaintext_document,
    read_secret_file,
    rel,
    secret_files,
    secret_path,
    string_data_index,
    sums_text,
    template_index,
    value_index,
)
from gitops_gen.secrets.structure import check_file


def required_secret(env: Environment, name: str) -> RequiredSecret:
    for secret in env.required_secrets:
        if secret.name == name:
            return secret
    names = [s.name for s in env.required_secrets]
    raise InputError(
        f"unknown secret '{name}'{suggest(name, names)} (not in the secrets catalog, "
        "environments/platform.yaml: secrets; 'gitops-gen secrets list ENV' shows them)"
    )


def _config(root: Path) -> SopsConfig:
    config = load_config(root)
    if config is None:
        raise InputError(
            f"{CONFIG_FILE}: not found; run 'gitops-gen secrets keygen ENV' to create it with "
            "the environment's age recipient"
        )
    return config


def check_sound(root: Path, path: Path) -> None:
    """Refuse a truncated or damaged file before sops or a key is involved, with advice that
    keeps its values (restore from git) rather than losing them."""
    file = read_secret_file(root, path)
    problems = [
        p
        for p in check_file(file, None, {}, lambda f: restore_advice(root, f.rel, f.raw))
        if p.rule in {"SEC001", "SEC002"}
    ]
    if problems:
        raise InputError(f"{problems[0].location}: {problems[0].message}")


def _decrypting_identity(option: Path | None, root: Path, path: Path, why: str) -> Identity:
    check_sound(root, path)
    identity = require_identity(option, why)
    recipients = read_secret_file(root, path).recipients
    if not identity.can_decrypt(recipients):
        listing = ", ".join(sorted(recipients)) or "none"
        raise InputError(
            f"{rel(root, path)}: the identity {identity.path} is not one of its recipients "
            f"({listing}); pass that environment's key with --identity"
        )
    return identity


def why_key(root: Path, path: Path) -> str:
    """Why changing the secret at ``path`` needs a key (said before any work is done)."""
    return (
        f"changing {rel(root, path)} (it exists, so sops must decrypt it; only creating a new "
        "secret needs no key)"
    )


def change_identity(root: Path, path: Path, option: Path | None) -> Identity | None:
    """The key a change of ``path`` needs, checked up front: None for a new secret.

    The repository's own problems (a malformed ``.sops.yaml``) are reported first."""
    _config(root)
    if not path.exists():
        return None
    return _decrypting_identity(option, root, path, why_key(root, path))


@dataclass
class Plan:
    """New ciphertext per file (None: delete), plus an optional new ``.sops.yaml``."""

    env: str
    files: dict[Path, bytes | None] = field(default_factory=dict)
    config_text: str | None = None

    def apply(self, root: Path) -> None:
        # a signal waits until every file is replaced: never half an operation on disk
        with signals.deferred():
            self._write(root)

    def _write(self, root: Path) -> None:
        for path, data in self.files.items():
            if data is None:
                path.unlink(missing_ok=True)
            else:
                atomic_write(path, data, 0o600)
        if self.files:
            changed = {p.name: d for p, d in self.files.items()}
            sums = env_dir(root, self.env) / SUMS_FILE
            atomic_write(sums, sums_text(root, self.env, changed), 0o644)
        if self.config_text is not None:
            atomic_write(root / CONFIG_FILE, self.config_text.encode("utf-8"), 0o644)


def _on_copies(
    sops: Sops,
    paths: list[Path],
    action: Callable[[Sops, Path], object],
    config_text: str | None = None,
) -> dict[Path, bytes]:
    """Run a sops in-place ``action`` on scratch copies of ``paths``; return the new bytes.

    The copies are outside the work tree (:mod:`gitops_gen.secrets.scratch`); sops runs are
    independent, so a few run at once. On an error or a signal, runs not yet started are
    cancelled (the signal handler has already killed the running ones).
    """
    with scratch_copies(sops, paths, config_text) as scratch:
        workers = max(1, min(4, len(paths), os.cpu_count() or 1))
        pool = ThreadPoolExecutor(max_workers=workers)
        try:
            futures = [pool.submit(action, scratch.sops, scratch.copies[p]) for p in paths]
            for future in futures:
                future.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return {p: scratch.copies[p].read_bytes() for p in paths}


def _on_copy(sops: Sops, path: Path, action: Callable[[Sops, Path], object]) -> bytes:
    """:func:`_on_copies` for one file, without a thread."""
    with scratch_copies(sops, [path]) as scratch:
        copy = scratch.copies[path]
        action(scratch.sops, copy)
        return copy.read_bytes()


# --- set / unset / edit -----------------------------------------------------------------------


def check_key(secret: RequiredSecret, key: str, force: bool) -> None:
    if key in secret.keys or force:
        return
    raise InputError(
        f"key '{key}' is not required by secret {secret.name}{suggest(key, secret.keys)} "
        f"(required: {', '.join(secret.keys)}); pass --force to set it anyway"
    )


def new_secret_note(root: Path, env: Environment, secret: RequiredSecret) -> str | None:
    """For a secret that does not exist yet: it needs no key now, but every later change does."""
    path = secret_path(root, env.name, secret.name)
    if path.exists():
        return None
    return (
        f"{rel(root, path)} is new: it is encrypted for {env.name}'s recipients without any "
        "key; every later change to it (the next key too) needs a key of a recipient "
        "(--identity or $GITOPS_GEN_AGE_KEY_FILE); to set many keys at once use "
        f"'gitops-gen secrets import {env.name} {secret.name} --from-env-file FILE'"
    )


def plan_set(
    platform: Platform,
    env: Environment,
    secret: RequiredSecret,
    key: str,
    value: str,
    identity_option: Path | None,
) -> Plan:
    return plan_values(platform, env, secret, {key: value}, identity_option)


def plan_values(
    platform: Platform,
    env: Environment,
    secret: RequiredSecret,
    values: Mapping[str, str],
    identity_option: Path | None,
) -> Plan:
    """Set ``values`` (key -> value) in one sops run: ``encrypt`` for a new secret, else one
    ``set`` of the template's whole ``stringData`` (current values read through a pipe)."""
    root = platform.root
    path = secret_path(root, env.name, secret.name)
    config = _config(root)
    if config.rule_for(rel(root, path)) is None:
        raise InputError(
            f"{rel(root, path)}: no creation rule in {CONFIG_FILE} matches it; run "
            f"'gitops-gen secrets keygen {env.name}' first"
        )
    sops = Sops.for_repo(root)
    plan = Plan(env.name)
    if not path.exists():
        # A new file needs no key: sops encrypts for the rule's recipients.
        plaintext = plaintext_document(secret.name, base_labels(platform, env, None), values)
        plan.files[path] = sops.encrypt(plaintext, path)
        return plan
    identity = _decrypting_identity(identity_option, root, path, why_key(root, path))
    index = _template(root, path, secret.name)
    sops = dataclasses.replace(sops, identity_file=identity.path)
    if len(values) == 1:
        [(key, value)] = values.items()
        plan.files[path] = _on_copy(
            sops, path, lambda s, p: s.set_value(p, value_index(index, key), value)
        )
        return plan
    merged = {**_string_data(sops, path, index), **values}
    plan.files[path] = _on_copy(
        sops, path, lambda s, p: s.set_value(p, string_data_index(index), merged)
    )
    return plan


def planned_keys(plan: Plan, path: Path) -> tuple[str, ...]:
    """The key names ``path`` will have once ``plan`` is applied (names are readable)."""
    data = plan.files.get(path)
    if data is None:
        return ()
    return parse_secret_file(path, path.name, data).key_names()


def _string_data(sops: Sops, path: Path, index: int) -> dict[str, str]:
    """The template's current stringData, decrypted through a pipe into memory."""
    try:
        document = yaml.safe_load(sops.decrypt(path))
    except yaml.YAMLError:
        # the parser quotes the text around the problem: plaintext; never show it
        raise InputError(
            f"{sops.shown(path)}: sops' decrypted output is not YAML; run 'gitops-gen secrets "
            "verify --decrypt-check'"
        ) from None
    templates = (document.get("spec") or {}).get("secretTemplates") or []
    current = templates[index].get("stringData") if index < len(templates) else None
    if not isinstance(current, dict):
        return {}
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in current.items()}


def _template(root: Path, path: Path, name: str) -> int:
    file = read_secret_file(root, path)
    index = template_index(file.data if isinstance(file.data, dict) else None, name)
    if index is None:
        raise InputError(
            f"{rel(root, path)}: no secretTemplate named {name}; run 'gitops-gen secrets "
            "verify' and restore the file from git"
        )
    return index


def check_removal(secret: RequiredSecret, removed: Sequence[str], force: bool) -> None:
    """One rule for ``unset`` and ``edit``: a required key goes only with --force."""
    required = [k for k in removed if k in secret.keys]
    if not required or force:
        return
    if len(required) == 1:
        what, it = f"key '{required[0]}' is", "it"
    else:
        what, it = f"keys {', '.join(repr(k) for k in required)} are", "them"
    raise InputError(
        f"{what} required by secret {secret.name}; removing {it} leaves the secret "
        f"incomplete; pass --force to remove {it} anyway"
    )


def plan_unset(
    platform: Platform,
    env: Environment,
    secret: RequiredSecret,
    key: str,
    force: bool,
    identity_option: Path | None,
) -> Plan:
    root = platform.root
    path = secret_path(root, env.name, secret.name)
    if not path.exists():
        raise InputError(f"{rel(root, path)}: secret {secret.name} is not set in {env.name}")
    check_sound(root, path)
    if key not in read_secret_file(root, path).key_names():
        raise InputError(f"{rel(root, path)}: key '{key}' is not set in {secret.name}")
    check_removal(secret, [key], force)
    identity = _decrypting_identity(identity_option, root, path, why_key(root, path))
    index = _template(root, path, secret.name)
    sops = Sops.for_repo(root, identity.path)
    plan = Plan(env.name)
    plan.files[path] = _on_copy(sops, path, lambda s, p: s.unset(p, value_index(index, key)))
    return plan


# --- keys -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeygenResult:
    identity_path: Path
    recipient: str
    rekeyed: tuple[str, ...]


def keygen(
    platform: Platform, env: Environment, out: Path | None, identity_option: Path | None
) -> KeygenResult:
    """A new identity outside the repository, its recipient in the env's rule, files re-keyed."""
    root = platform.root
    target = check_identity_target(out or default_identity_path(platform.name, env.name), root)
    config_path = root / CONFIG_FILE
    current = config_path.read_text(encoding="utf-8") if config_path.exists() else None
    load_config(root)  # a malformed .sops.yaml stops here, before anything is written
    files = secret_files(root, env.name)
    identity = None
    if files:
        why = f"re-keying the {len(files)} existing secrets files of {env.name}"
        identity = require_identity(identity_option, why)
        for path in files:
            _decrypting_identity(identity.path, root, path, why)
    recipient = generate_identity(target, f"age identity of {platform.name} {env.name}")
    try:
        plan = Plan(env.name, config_text=with_recipients(current, env.name, {recipient: True}))
        sops = Sops.for_repo(root, identity.path if identity else None)
        plan.files.update(_on_copies(sops, files, Sops.updatekeys, plan.config_text))
        plan.apply(root)
    except BaseException:
        target.unlink(missing_ok=True)  # nothing else changed: do not leave an unused key
        raise
    return KeygenResult(target, recipient, tuple(rel(root, p) for p in files))


def plan_rotate(
    platform: Platform, env: Environment, remove: tuple[str, ...], identity_option: Path | None
) -> Plan:
    """updatekeys (after removing recipients from the rule) and a new data key for every file."""
    root = platform.root
    config = _config(root)
    rule = config.env_rule(env.name)
    if rule is None:
        raise InputError(
            f"no creation rule in {CONFIG_FILE} for {env.name}; run 'gitops-gen secrets keygen "
            f"{env.name}'"
        )
    plan = Plan(env.name)
    remaining = set(rule.recipients)
    for recipient in remove:
        check_recipient(recipient)
        if recipient not in rule.recipients:
            raise InputError(
                f"{recipient}: not a recipient of {env.name} (recipients: "
                f"{', '.join(sorted(rule.recipients))})"
            )
        remaining.discard(recipient)
    if not remaining:
        raise InputError(
            f"removing {', '.join(remove)} would leave {env.name} without recipients; add a new "
            f"one first with 'gitops-gen secrets keygen {env.name}'"
        )
    files = secret_files(root, env.name)
    if remove:
        text = config.path.read_text(encoding="utf-8")
        plan.config_text = with_recipients(text, env.name, dict.fromkeys(remove, False))
    if not files:
        if remove:
            return plan  # only the rule changes; no file holds a data key to rotate
        raise InputError(f"{env.name} has no secrets files to rotate")
    identity = require_identity(identity_option, f"rotating the secrets of {env.name}")
    if not identity.can_decrypt(remaining):
        raise InputError(
            f"the identity {identity.path} is not among the recipients that remain; rotate with "
            "the key of a recipient that stays"
        )
    for path in files:
        _decrypting_identity(identity.path, root, path, "rotating")

    def rekey_and_rotate(sops: Sops, copy: Path) -> None:
        sops.updatekeys(copy)
        sops.rotate(copy)  # updatekeys alone keeps the old data key

    sops = Sops.for_repo(root, identity.path)
    plan.files.update(_on_copies(sops, files, rekey_and_rotate, plan.config_text))
    return plan


# --- reading ----------------------------------------------------------------------------------


def reveal(
    platform: Platform, env: Environment, secret: RequiredSecret, identity_option: Path | None
) -> dict[str, str]:
    """The secret's plaintext values, decrypted through a pipe into memory."""
    root = platform.root
    path = secret_path(root, env.name, secret.name)
    if not path.exists():
        raise InputError(f"{rel(root, path)}: secret {secret.name} is not set in {env.name}")
    identity = _decrypting_identity(identity_option, root, path, "--reveal")
    plaintext = Sops.for_repo(root, identity.path).decrypt(path)
    data = yaml.safe_load(plaintext)
    index = template_index(data, secret.name)
    if index is None:
        return {}
    template = data["spec"]["secretTemplates"][index]
    values: dict[str, str] = {}
    for section in ("data", "stringData"):
        if isinstance(template.get(section), dict):
            values.update({str(k): str(v) for k, v in template[section].items()})
    return dict(sorted(values.items()))


def plan_reseal(platform: Platform, env: Environment) -> Plan:
    """Record the current digest of every file (after their MACs were proven)."""
    plan = Plan(env.name)
    for path in secret_files(platform.root, env.name):
        plan.files[path] = path.read_bytes()
    return plan
