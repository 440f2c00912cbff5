"""Encrypted per-environment secrets: sops + age, SopsSecrets for the sops-secrets-operator.

The commands live in :mod:`gitops_gen.commands.secrets`; :func:`secrets_summary` is the keyless
status per environment (``make demo``), ``gitops_gen.validate.secrets`` the findings.
"""

from gitops_gen.secrets.summary import EnvironmentSecrets, SecretStatus, secrets_summary

__all__ = ["EnvironmentSecrets", "SecretStatus", "secrets_summary"]
