"""Argo CD sync waves: the guide's install order (§5) as numbers.

The sops-managed Secrets before the dependencies (their credentials are pinned to them), the
dependencies before the platform chart (which holds the UI too); the AppProject first so every
Application has a project to join, the drift audit last.
"""

PROJECT = -10
OPERATORS = -5  # controllers whose CRDs later waves use (sops-secrets-operator)
SECRETS = -2  # after the operator whose CRD they use
DEPENDENCIES = 0
PLATFORM = 20
AUDIT = 40
