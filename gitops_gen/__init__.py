"""gitops-gen: render, promote and audit an Argo CD GitOps repository."""

__version__ = "0.1.0"
