"""Secret key names the promoted components need and the target lacks (names only)."""

from __future__ import annotations

import shutil
from pathlib import Path

from gitops_gen.model import load_platform
from gitops_gen.promote.secretkeys import missing_keys
from tests.helpers import build_file_tree, copy_aether

SOPS_SECRET = """\
apiVersion: isindir.github.com/v1alpha3
kind: SopsSecret
metadata: {{name: {name}}}
spec:
  secretTemplates:
    - name: {name}
      stringData:
{keys}
sops: {{mac: "ENC[AES256_GCM,data:x]", version: 3.11.0}}
"""


def _secret(name: str, keys: list[str]) -> str:
    lines = "\n".join(f"        {k}: ENC[AES256_GCM,data:abc,type:str]" for k in keys)
    return SOPS_SECRET.format(name=name, keys=lines)


def test_missing_key_names_are_reported_without_values(tmp_path: Path) -> None:
    repo = copy_aether(tmp_path / "repo")
    every = ["KAFKA_BOOTSTRAP", "NATS_URL", "KAFKA_USERNAME", "KAFKA_PASSWORD"]
    every += ["NATS_USERNAME", "NATS_PASSWORD", "REDIS_URL"]
    build_file_tree(
        repo,
        {
            # staging has gained a key the catalog does not list yet; prod lacks two keys
            "secrets/staging/fastapi-secrets.yaml": _secret(
                "fastapi-secrets", [*every, "NEW_FLAG"]
            ),
            "secrets/prod/fastapi-secrets.yaml": _secret("fastapi-secrets", every[:-1]),
        },
    )
    # prod has never had the auth service's secret
    (repo / "secrets/prod/auth-service-config.yaml").unlink(missing_ok=True)
    platform = load_platform(repo)
    warnings, note = missing_keys(
        platform,
        platform.environment("staging"),
        platform.environment("prod"),
        ["marketdata-service"],
    )
    assert note == ""
    assert warnings == [
        "secret `fastapi-secrets` lacks keys in prod: NEW_FLAG, REDIS_URL "
        "(needed by the promoted components)"
    ]
    assert not any("ENC[" in w for w in warnings)
    # a secret the target does not have at all
    warnings, _ = missing_keys(
        platform, platform.environment("staging"), platform.environment("prod"), ["auth-service"]
    )
    assert warnings == [
        "secret `auth-service-config` missing in prod: AUTH_DATABASE_URL, AUTH_JWT_SECRET "
        "(needed by the promoted components)"
    ]


def test_without_secret_files_the_check_says_it_was_skipped(tmp_path: Path) -> None:
    repo = copy_aether(tmp_path / "repo")
    shutil.rmtree(repo / "secrets" / "prod")
    platform = load_platform(repo)
    warnings, note = missing_keys(
        platform, platform.environment("staging"), platform.environment("prod"), ["ui"]
    )
    assert warnings == []
    assert note.startswith("secret key check skipped: no secrets of prod")
