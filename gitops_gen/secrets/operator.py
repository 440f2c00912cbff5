"""The in-cluster side: the sops-secrets-operator and the SopsSecrets render hands to Argo CD.

Decryption happens inside each cluster (Argo CD's own guidance for secrets): the operator holds
that environment's age key in a Secret created by hand, so the repo-server and its cache only
ever see ciphertext, and prod's key lives only in prod. Render copies the encrypted files
verbatim and never needs a key.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gitops_gen.errors import InputError
from gitops_gen.secrets.restore import restore_advice
from gitops_gen.secrets.store import read_secret_file, secret_files
from gitops_gen.secrets.structure import UNSAFE, check_file


@dataclass(frozen=True)
class Operator:
    name: str
    repo_url: str
    chart: str
    version: str  # the chart release built with sops 3.11, the version this tool writes
    key_secret: str  # the Secret holding the cluster's age identity (never in Git)
    key_file: str  # its data key, mounted as a file
    mount_path: str
    cluster_resources: tuple[tuple[str, str], ...]  # (group, kind) the chart installs


OPERATOR = Operator(
    name="sops-secrets-operator",
    repo_url="https://isindir.github.io/sops-secrets-operator/",
    chart="sops-secrets-operator",
    version="0.24.1",
    key_secret="sops-age-key",  # noqa: S106 - the name of a Secret, not a value
    key_file="keys.txt",
    mount_path="/etc/sops-age",
    cluster_resources=(
        ("apiextensions.k8s.io", "CustomResourceDefinition"),
        ("rbac.authorization.k8s.io", "ClusterRole"),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ),
)


class UnencryptedSecretError(InputError):
    """Render refused a secrets file that is not fully encrypted (validate reports findings)."""


def encrypted_manifests(root: Path, env: str) -> dict[str, str]:
    """File name -> the SopsSecret text to render, verbatim; refuses anything not encrypted."""
    out: dict[str, str] = {}
    for path in secret_files(root, env):
        file = read_secret_file(root, path)
        advice = lambda f: restore_advice(root, f.rel, f.raw)  # noqa: E731 - only if broken
        unsafe = [f for f in check_file(file, None, {}, advice) if f.rule in UNSAFE]
        if unsafe:
            raise UnencryptedSecretError(
                f"{unsafe[0].location}: {unsafe[0].message}; render never copies a secrets "
                "file that is not fully encrypted (see 'gitops-gen secrets verify')"
            )
        try:
            out[path.name] = file.raw.decode("utf-8")
        except UnicodeDecodeError:  # pragma: no cover - check_file already rejected it
            raise InputError(f"{file.rel}: not UTF-8 text") from None
    return out
