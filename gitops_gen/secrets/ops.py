"""What the ``secrets`` commands do: plan every new file in memory, then write them all.

sops operates in place, so each change runs on a ciphertext copy next to the target (same
folder: the creation rules match the same way, and the final rename is atomic). Only when every
file of the operation succeeded are the targets replaced, then SHA256SUMS and ``.sops.yaml``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from gitops_gen.errors import InputError
from gitops_gen.model import Environment, Platform
from gitops_gen.model.loader import suggest
from gitops_gen.model.resolved import RequiredSecret
from gitops_gen.render.plan import base_labels
from gitops_gen.secrets.atomic import atomic_write, temp_sibling, write_new
from gitops_gen.secrets.config import SopsConfig, load_config, with_recipients
from gitops_gen.secrets.keys import (
    Identity,
    check_identity_target,
    check_recipient,
    default_identity_path,
    generate_identity,
    require_identity,
)
from gitops_gen.secrets.sops import CONFIG_FILE, Sops, SopsError
from gitops_gen.secrets.store import (
    SUMS_FILE,
    digest,
    env_dir,
    parse_secret_file,
    plaintext_document,
    read_secret_file,
    rel,
    secret_files,
    secret_path,
    sums_text,
    template_index,
    value_index,
)
from gitops_gen.secrets.structure import UNSAFE, check_file


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


def _decrypting_identity(option: Path | None, root: Path, path: Path, why: str) -> Identity:
    identity = require_identity(option, why)
    recipients = read_secret_file(root, path).recipients
    if not identity.can_decrypt(recipients):
        listing = ", ".join(sorted(recipients)) or "none"
        raise InputError(
            f"{rel(root, path)}: the identity {identity.path} is not one of its recipients "
            f"({listing}); pass that environment's key with --identity"
        )
    return identity


@dataclass
class Plan:
    """New ciphertext per file (None: delete), plus an optional new ``.sops.yaml``."""

    env: str
    files: dict[Path, bytes | None] = field(default_factory=dict)
    config_text: str | None = None

    def apply(self, root: Path) -> None:
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


def _on_copies(paths: list[Path], action: Callable[[Path], object]) -> dict[Path, bytes]:
    """:func:`_on_copy` for many files; sops runs are independent, so a few run at once."""
    workers = max(1, min(4, len(paths), os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(lambda p: _on_copy(p, action), paths))
    return dict(zip(paths, results, strict=True))


def _on_copy(path: Path, action: Callable[[Path], object]) -> bytes:
    """Run a sops in-place ``action`` on a ciphertext copy of ``path``; return the result."""
    copy = temp_sibling(path)
    write_new(copy, path.read_bytes())
    try:
        action(copy)
        return copy.read_bytes()
    except SopsError as exc:
        # name the file the user knows, not our staging copy next to it
        raise SopsError(exc.message.replace(copy.name, path.name), exc.code) from None
    finally:
        copy.unlink(missing_ok=True)


@contextlib.contextmanager
def _staged_config(root: Path, text: str | None) -> Iterator[Path | None]:
    """A candidate ``.sops.yaml`` next to the real one, for sops to use before we commit to it."""
    if text is None:
        yield None
        return
    staged = temp_sibling(root / CONFIG_FILE)
    write_new(staged, text.encode("utf-8"), 0o644)
    try:
        yield staged
    finally:
        staged.unlink(missing_ok=True)


# --- set / unset / edit -----------------------------------------------------------------------


def check_key(secret: RequiredSecret, key: str, force: bool) -> None:
    if key in secret.keys or force:
        return
    raise InputError(
        f"key '{key}' is not required by secret {secret.name}{suggest(key, secret.keys)} "
        f"(required: {', '.join(secret.keys)}); pass --force to set it anyway"
    )


def plan_set(
    platform: Platform,
    env: Environment,
    secret: RequiredSecret,
    key: str,
    value: str,
    identity_option: Path | None,
) -> Plan:
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
        plaintext = plaintext_document(secret.name, base_labels(platform, env, None), {key: value})
        plan.files[path] = sops.encrypt(plaintext, path)
        return plan
    identity = _decrypting_identity(identity_option, root, path, f"changing {rel(root, path)}")
    index = _template(root, path, secret.name)
    sops = dataclasses.replace(sops, identity_file=identity.path)
    plan.files[path] = _on_copy(path, lambda p: sops.set_value(p, value_index(index, key), value))
    return plan


def _template(root: Path, path: Path, name: str) -> int:
    file = read_secret_file(root, path)
    index = template_index(file.data if isinstance(file.data, dict) else None, name)
    if index is None:
        raise InputError(
            f"{rel(root, path)}: no secretTemplate named {name}; run 'gitops-gen secrets "
            "verify' and restore the file from git"
        )
    return index


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
    if key not in read_secret_file(root, path).key_names():
        raise InputError(f"{rel(root, path)}: key '{key}' is not set in {secret.name}")
    if key in secret.keys and not force:
        raise InputError(
            f"key '{key}' is required by secret {secret.name}; unsetting it leaves the secret "
            "incomplete; pass --force to unset it anyway"
        )
    identity = _decrypting_identity(identity_option, root, path, f"changing {rel(root, path)}")
    index = _template(root, path, secret.name)
    sops = Sops.for_repo(root, identity.path)
    plan = Plan(env.name)
    plan.files[path] = _on_copy(path, lambda p: sops.unset(p, value_index(index, key)))
    return plan


def plan_edit(
    platform: Platform, env: Environment, secret: RequiredSecret, identity_option: Path | None
) -> Plan:
    """sops' editor on a ciphertext copy; the result must still be a sound secrets file."""
    root = platform.root
    path = secret_path(root, env.name, secret.name)
    if not path.exists():
        raise InputError(
            f"{rel(root, path)}: secret {secret.name} is not set in {env.name}; create it with "
            f"'gitops-gen secrets set {env.name} {secret.name} KEY'"
        )
    identity = _decrypting_identity(identity_option, root, path, f"editing {rel(root, path)}")
    sops = Sops.for_repo(root, identity.path)
    changed: list[bool] = []
    data = _on_copy(path, lambda p: changed.append(sops.edit(p)))
    plan = Plan(env.name)
    if not changed or not changed[0]:
        return plan
    # Check the edited file as it will be written; a broken edit never replaces a good file.
    view = parse_secret_file(path, rel(root, path), data)
    sums = {path.name: digest(data)}
    sound = UNSAFE | {"SEC008"}  # recipients are rotate's business, not the editor's
    problems = [p for p in check_file(view, load_config(root), sums) if p.rule in sound]
    if problems:
        first = problems[0]
        raise InputError(
            f"{first.location}: the edited file is not sound ({first.message}); nothing written"
        )
    plan.files[path] = data
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
        with _staged_config(root, plan.config_text) as staged:
            sops = Sops.for_repo(root, identity.path if identity else None)
            sops = dataclasses.replace(sops, config_file=staged)
            plan.files.update(_on_copies(files, sops.updatekeys))
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
    with _staged_config(root, plan.config_text) as staged:
        sops = dataclasses.replace(Sops.for_repo(root, identity.path), config_file=staged)

        def rekey_and_rotate(copy: Path) -> None:
            sops.updatekeys(copy)
            sops.rotate(copy)  # updatekeys alone keeps the old data key

        plan.files.update(_on_copies(files, rekey_and_rotate))
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
