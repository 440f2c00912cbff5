"""``.sops.yaml``: read the creation rules, match a path like sops does, add/remove recipients.

Paths are matched relative to the folder of ``.sops.yaml`` (sops 3.11 does the same for absolute
paths under it), first matching rule wins. Edits are round-trip (comments and order kept).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from gitops_gen.errors import InputError
from gitops_gen.secrets.sops import CONFIG_FILE
from gitops_gen.yamlio import LocatedDocument, load_located

SECRETS_DIR = "secrets"
ENCRYPTED_REGEX = "^(data|stringData)$"
HEADER = """\
# sops creation rules: which age recipients encrypt which environment's secrets.
# Written by 'gitops-gen secrets keygen' and 'gitops-gen secrets rotate'; one rule per
# environment folder. Only data/stringData are encrypted, so names and key names stay readable.
"""


def env_path_regex(env: str) -> str:
    return rf"^{SECRETS_DIR}/{re.escape(env)}/[^/]+\.yaml$"


@dataclass(frozen=True)
class CreationRule:
    index: int
    path_regex: str | None
    encrypted_regex: str | None
    recipients: frozenset[str]
    location: str

    def matches(self, rel: str) -> bool:
        return self.path_regex is None or re.search(self.path_regex, rel) is not None


@dataclass(frozen=True)
class SopsConfig:
    path: Path
    rules: tuple[CreationRule, ...]

    def rule_for(self, rel: str) -> CreationRule | None:
        return next((rule for rule in self.rules if rule.matches(rel)), None)

    def env_rule(self, env: str) -> CreationRule | None:
        """The rule a new secrets file of ``env`` would be encrypted with."""
        return self.rule_for(f"{SECRETS_DIR}/{env}/secret.yaml")


def load_config(root: Path) -> SopsConfig | None:
    """The parsed ``.sops.yaml`` or None when there is none; malformed -> one InputError line."""
    path = root / CONFIG_FILE
    if not path.exists():
        return None
    doc = load_located(path, root)
    data = doc.data if doc.data is not None else {}
    if not isinstance(data, dict):
        raise InputError(f"{doc.where((), root)}: expected a mapping with creation_rules")
    rules_data = data.get("creation_rules", [])
    if rules_data is None:
        rules_data = []
    if not isinstance(rules_data, list):
        raise InputError(
            f"{doc.where(('creation_rules',), root)}: creation_rules: expected a list of rules"
        )
    rules = tuple(_rule(i, r, doc, root) for i, r in enumerate(rules_data))
    return SopsConfig(path=path, rules=rules)


def _rule(index: int, data: Any, doc: LocatedDocument, root: Path) -> CreationRule:
    where = doc.where(("creation_rules", index), root)
    label = f"creation_rules[{index}]"
    if not isinstance(data, dict):
        raise InputError(f"{where}: {label}: expected a mapping (path_regex, age, ...)")
    for key in ("path_regex", "encrypted_regex"):
        value = data.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise InputError(f"{where}: {label}.{key}: expected a string")
        try:
            re.compile(value)
        except re.error as exc:
            raise InputError(f"{where}: {label}.{key}: invalid regular expression: {exc}") from None
    recipients = set(_age_list(data.get("age"), where, label))
    for group_index, group in enumerate(data.get("key_groups") or []):
        if isinstance(group, dict):
            recipients.update(
                _age_list(group.get("age"), where, f"{label}.key_groups[{group_index}]")
            )
    return CreationRule(
        index=index,
        path_regex=data.get("path_regex"),
        encrypted_regex=data.get("encrypted_regex"),
        recipients=frozenset(recipients),
        location=where,
    )


def _age_list(value: Any, where: str, label: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [v.strip() for v in value if v.strip()]
    raise InputError(f"{where}: {label}.age: expected a comma-separated string of recipients")


# --- edits (pure: text in, text out) ----------------------------------------------------------


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    return yaml


def with_recipients(text: str | None, env: str, change: dict[str, bool]) -> str:
    """``.sops.yaml`` text with the env's rule holding its recipients plus/minus ``change``
    (recipient -> True to add, False to remove); the rule is created when missing."""
    yaml = _yaml()
    data = yaml.load(text) if text else None
    if data is None:
        data = CommentedMap()
    rules = data.get("creation_rules")
    if not isinstance(rules, list):
        rules = CommentedSeq()
        data["creation_rules"] = rules
    wanted = env_path_regex(env)
    rule = next((r for r in rules if isinstance(r, dict) and r.get("path_regex") == wanted), None)
    if rule is None:
        rule = CommentedMap()
        rule["path_regex"] = wanted
        rule["encrypted_regex"] = ENCRYPTED_REGEX
        rule["age"] = ""
        # before any catch-all rule, which would otherwise win (first match)
        catch_all = next(
            (i for i, r in enumerate(rules) if isinstance(r, dict) and "path_regex" not in r),
            len(rules),
        )
        rules.insert(catch_all, rule)
    current = _age_list(rule.get("age"), CONFIG_FILE, f"rule for {env}")
    for recipient, add in change.items():
        if add and recipient not in current:
            current.append(recipient)
        elif not add and recipient in current:
            current.remove(recipient)
    rule["age"] = ",".join(current)
    out = io.StringIO()
    yaml.dump(data, out)
    body = out.getvalue()
    return body if text else HEADER + body
