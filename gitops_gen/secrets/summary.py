"""Per-environment status of the secrets, read without any key (for ``list`` and the demo)."""

from __future__ import annotations

from dataclasses import dataclass

from gitops_gen.model import Environment, Platform
from gitops_gen.secrets.config import load_config
from gitops_gen.secrets.store import read_secret_file, secret_files


@dataclass(frozen=True)
class SecretStatus:
    name: str
    file: str | None  # repository-relative, None when missing
    required_keys: tuple[str, ...]
    present_keys: tuple[str, ...]
    recipients: tuple[str, ...]
    last_modified: str

    @property
    def missing_keys(self) -> tuple[str, ...]:
        return tuple(k for k in self.required_keys if k not in self.present_keys)


@dataclass(frozen=True)
class EnvironmentSecrets:
    environment: str
    secrets: tuple[SecretStatus, ...]
    recipients: tuple[str, ...]  # of the environment's .sops.yaml rule

    @property
    def present(self) -> int:
        return sum(1 for s in self.secrets if s.file is not None)

    @property
    def missing_secrets(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.secrets if s.file is None)

    @property
    def missing_keys(self) -> tuple[str, ...]:
        """``secret/key`` for every required key absent from a present secret."""
        return tuple(
            f"{s.name}/{k}" for s in self.secrets if s.file is not None for k in s.missing_keys
        )

    def describe(self) -> str:
        """One line for people (the demo): counts, what is missing, who can decrypt."""
        missing = [*self.missing_secrets, *self.missing_keys]
        recipients = ", ".join(self.recipients) or "none (no rule in .sops.yaml)"
        return (
            f"{self.environment}: {self.present}/{len(self.secrets)} secrets, missing: "
            f"{', '.join(missing) or 'nothing'}; recipients: {recipients}"
        )


def environment_secrets(platform: Platform, env: Environment) -> EnvironmentSecrets:
    root = platform.root
    files = {p.stem: read_secret_file(root, p) for p in secret_files(root, env.name)}
    statuses = []
    for secret in env.required_secrets:
        file = files.get(secret.name)
        statuses.append(
            SecretStatus(
                name=secret.name,
                file=file.rel if file else None,
                required_keys=secret.keys,
                present_keys=file.key_names() if file else (),
                recipients=tuple(sorted(file.recipients)) if file else (),
                last_modified=file.last_modified if file else "",
            )
        )
    config = load_config(root)
    rule = config.env_rule(env.name) if config else None
    return EnvironmentSecrets(
        environment=env.name,
        secrets=tuple(statuses),
        recipients=tuple(sorted(rule.recipients)) if rule else (),
    )


def secrets_summary(platform: Platform) -> list[EnvironmentSecrets]:
    """Every environment's secrets status, in promotion order (for ``make demo``)."""
    return [
        environment_secrets(platform, platform.environments[name])
        for name in platform.promotion_order()
    ]
