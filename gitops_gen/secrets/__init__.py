"""Encrypted per-environment secrets: sops + age, SopsSecrets for the sops-secrets-operator.

Public entry points; the commands live in :mod:`gitops_gen.commands.secrets`.
"""

from gitops_gen.secrets.summary import EnvironmentSecrets, SecretStatus, secrets_summary
from gitops_gen.secrets.verify import verify_platform

__all__ = ["EnvironmentSecrets", "SecretStatus", "secrets_summary", "verify_platform"]
