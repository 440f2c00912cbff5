"""Argo CD sync waves: the guide's install order (§5) as numbers.

Dependencies before secrets before the platform chart before the UI; the AppProject first so
every Application has a project to join, the drift audit last.
"""

PROJECT = -10
OPERATORS = -5  # controllers whose CRDs later waves use (sops-secrets-operator)
DEPENDENCIES = 0
SECRETS = 10
PLATFORM = 20
UI = 30
AUDIT = 40
