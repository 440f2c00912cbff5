"""The secrets commands end to end against the real sops binary: keygen, set, unset, edit,
list, show, verify, rotate, and how render and validate use the encrypted files."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
import yaml

from gitops_gen.model import load_platform
from gitops_gen.secrets import secrets_summary
from tests.helpers import copy_aether, git, run_cli


def _reveal(root: Path, key: Path, secret: str, env: str = "dev") -> dict[str, str]:
    result = run_cli(
        "secrets",
        "show",
        env,
        secret,
        "--reveal",
        "--identity",
        str(key),
        "-o",
        "json",
        repo=root,
        expect=0,
    )
    values: dict[str, str] = json.loads(result.stdout)["values"]
    return values


def test_keygen_writes_a_private_identity_outside_the_repo_and_a_rule(
    fresh: tuple[Path, Path],
) -> None:
    root, key = fresh
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    text = key.read_text()
    recipient = next(line.split(": ")[1] for line in text.splitlines() if "public key" in line)
    config = yaml.safe_load((root / ".sops.yaml").read_text())
    dev_rule = next(r for r in config["creation_rules"] if "secrets/dev/" in r["path_regex"])
    assert dev_rule["age"] == recipient
    assert dev_rule["encrypted_regex"] == "^(data|stringData)$"


def _recipient_of(key: Path) -> str:
    lines = key.read_text().splitlines()
    return next(line.split(": ")[1] for line in lines if "public key" in line)


def _two_dev_secrets(root: Path) -> None:
    for secret, key in (("account-service-database", "dsn"), ("behavior-service-database", "dsn")):
        run_cli("secrets", "set", "dev", secret, key, repo=root, stdin="postgresql://a", expect=0)


def test_keygen_adds_a_recipient_and_rekeys_existing_files(
    fresh: tuple[Path, Path], tmp_path: Path
) -> None:
    root, first = fresh
    _two_dev_secrets(root)
    second = tmp_path / "second.agekey"
    result = run_cli(
        "secrets",
        "keygen",
        "dev",
        "--out",
        str(second),
        "--identity",
        str(first),
        repo=root,
        expect=0,
    )
    assert "re-keyed 2 files of dev" in result.stderr
    # either identity decrypts now, and the files are still sound
    assert _reveal(root, second, "account-service-database") == {"dsn": "postgresql://a"}
    assert _reveal(root, first, "behavior-service-database") == {"dsn": "postgresql://a"}
    rule = yaml.safe_load((root / ".sops.yaml").read_text())["creation_rules"][-1]
    assert rule["age"] == f"{_recipient_of(first)},{_recipient_of(second)}"
    run_cli("secrets", "verify", "dev", "-o", "json", repo=root, expect=1)  # 14 missing
    statuses = json.loads(
        run_cli("secrets", "list", "dev", "-o", "json", repo=root, expect=0).stdout
    )
    assert {s["name"] for s in statuses["secrets"] if s["file"]} == {
        "account-service-database",
        "behavior-service-database",
    }


def test_set_new_secret_needs_no_key_and_changing_it_needs_one(fresh: tuple[Path, Path]) -> None:
    root, key = fresh
    run_cli(
        "secrets",
        "set",
        "dev",
        "auth-service-config",
        "AUTH_JWT_SECRET",
        repo=root,
        stdin="one\n",
        expect=0,
    )
    run_cli(
        "secrets", "set", "dev", "auth-service-config", "AUTH_DATABASE_URL",
        "--identity", str(key), repo=root, stdin="postgresql://x", expect=0,
    )  # fmt: skip
    assert _reveal(root, key, "auth-service-config") == {
        "AUTH_DATABASE_URL": "postgresql://x",
        "AUTH_JWT_SECRET": "one",  # echo's trailing newline dropped
    }
    data = yaml.safe_load((root / "secrets/dev/auth-service-config.yaml").read_text())
    assert data["kind"] == "SopsSecret"
    assert data["apiVersion"] == "isindir.github.com/v1alpha3"
    template = data["spec"]["secretTemplates"][0]
    assert template["name"] == "auth-service-config"
    assert all(v.startswith("ENC[AES256_GCM,") for v in template["stringData"].values())
    mode = stat.S_IMODE((root / "secrets/dev/auth-service-config.yaml").stat().st_mode)
    assert mode == 0o600
    assert not [p for p in (root / "secrets/dev").iterdir() if p.name.startswith(".")]


def test_set_from_file_keeps_the_exact_bytes(repo: Path, dev_key: Path, tmp_path: Path) -> None:
    value_file = tmp_path / "credentials.json"
    value_file.write_text('{"api_key": "k"}\n')
    run_cli(
        "secrets", "set", "dev", "kraken-keys-company", "credentials.json",
        "--from-file", str(value_file), "--identity", str(dev_key), repo=repo, expect=0,
    )  # fmt: skip
    assert _reveal(repo, dev_key, "kraken-keys-company") == {
        "credentials.json": '{"api_key": "k"}\n'
    }


def test_a_value_file_git_would_commit_is_warned_about(
    repo: Path, dev_key: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plaintext a value was read from, left in the work tree and not ignored, is one
    'git add -A' away from the repository's history: set and import say so; elsewhere, or
    ignored, they say nothing."""
    inside = repo / "credentials.json"
    inside.write_text('{"api_key": "k"}\n')
    warning = (
        "warning: credentials.json holds the plaintext and is inside the repository, not "
        "ignored by git: delete it (or keep such files outside the repository) before 'git add'"
    )
    set_args = ("secrets", "set", "dev", "kraken-keys-company", "credentials.json")
    key = ("--identity", str(dev_key))
    result = run_cli(*set_args, "--from-file", str(inside), *key, repo=repo, expect=0)
    assert warning in result.stderr.splitlines()
    monkeypatch.chdir(repo)  # a relative path, as typed in the repository
    quiet = run_cli("-q", *set_args, "--from-file", "credentials.json", *key, repo=repo, expect=0)
    assert quiet.stderr == warning + "\n"  # -q keeps it: it is about plaintext on disk
    dotenv = repo / "fastapi.env"
    dotenv.write_text("API_KEY=k\n")
    imported = run_cli(
        "secrets", "import", "dev", "fastapi-credentials", "--from-env-file", str(dotenv), *key,
        repo=repo, expect=0,
    )  # fmt: skip
    assert imported.stderr.splitlines()[-1] == warning.replace("credentials.json", "fastapi.env")
    (repo / ".gitignore").write_text("credentials.json\n")
    ignored = run_cli(*set_args, "--from-file", str(inside), *key, repo=repo, expect=0)
    outside = tmp_path / "credentials.json"
    outside.write_text('{"api_key": "k"}\n')
    elsewhere = run_cli(*set_args, "--from-file", str(outside), *key, repo=repo, expect=0)
    assert "warning" not in ignored.stderr + elsewhere.stderr


def test_force_allows_a_key_the_catalog_does_not_require(repo: Path, dev_key: Path) -> None:
    run_cli(
        "secrets", "set", "dev", "account-service-database", "replicaDsn", "--force",
        "--identity", str(dev_key), repo=repo, stdin="postgresql://replica", expect=0,
    )  # fmt: skip
    verify = run_cli("secrets", "verify", "dev", "-o", "json", repo=repo, expect=0)
    rules = {(f["rule"], f["severity"]) for f in json.loads(verify.stdout)["findings"]}
    assert rules == {("SEC007", "warning")}
    run_cli(
        "secrets", "unset", "dev", "account-service-database", "replicaDsn",
        "--identity", str(dev_key), repo=repo, expect=0,
    )  # fmt: skip
    clean = run_cli("secrets", "verify", "dev", repo=repo, expect=0)
    assert clean.stdout == ""
    assert "secrets of dev: no findings" in clean.stderr


def test_unset_of_a_required_key_needs_force(repo: Path, dev_key: Path) -> None:
    args = ("secrets", "unset", "dev", "platform-account-allowlists", "admins")
    refused = run_cli(*args, "--identity", str(dev_key), repo=repo, expect=2)
    assert refused.stderr == (
        "error: key 'admins' is required by secret platform-account-allowlists; removing it "
        "leaves the secret incomplete; pass --force to remove it anyway\n"
    )
    run_cli(*args, "--force", "--identity", str(dev_key), repo=repo, expect=0)
    verify = run_cli("secrets", "verify", "dev", "-o", "json", repo=repo, expect=1)
    assert [f["message"] for f in json.loads(verify.stdout)["findings"]] == [
        "required keys missing: admins"
    ]


def test_show_masks_values_and_list_reports_status(repo: Path) -> None:
    shown = run_cli("secrets", "show", "prod", "fastapi-credentials", repo=repo, expect=0)
    assert shown.stdout == "API_KEY: ********\nDB_URI: ********\nJWT_SECRET: ********\n"
    listed = run_cli("secrets", "list", "staging", "-o", "json", repo=repo, expect=0)
    data = json.loads(listed.stdout)
    assert len(data["secrets"]) == 24
    assert all(s["missingKeys"] == [] for s in data["secrets"])
    assert len(data["recipients"]) == 1


def test_edit_through_the_editor_flow(
    repo: Path,
    dev_key: Path,
    tmp_path: Path,
    monkeypatch,
    private_tmp: Path,  # type: ignore[no-untyped-def]
) -> None:
    editor = tmp_path / "editor.sh"
    editor.write_text("#!/bin/sh\nsed -i 's/^\\( *dsn:\\).*/\\1 postgresql:\\/\\/edited/' \"$1\"\n")
    editor.chmod(0o755)
    monkeypatch.setenv("EDITOR", str(editor))
    run_cli(
        "secrets",
        "edit",
        "dev",
        "account-service-database",
        "--identity",
        str(dev_key),
        repo=repo,
        expect=0,
    )
    assert _reveal(repo, dev_key, "account-service-database") == {"dsn": "postgresql://edited"}
    run_cli("secrets", "verify", "dev", repo=repo, expect=0)
    assert list(private_tmp.iterdir()) == []


def test_edit_without_change_writes_nothing(
    repo: Path,
    dev_key: Path,
    tmp_path: Path,
    monkeypatch,  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setenv("EDITOR", "true")
    before = (repo / "secrets/dev/account-service-database.yaml").read_bytes()
    result = run_cli(
        "secrets",
        "edit",
        "dev",
        "account-service-database",
        "--identity",
        str(dev_key),
        repo=repo,
        expect=0,
    )
    assert "dev/account-service-database: no change" in result.stderr
    assert (repo / "secrets/dev/account-service-database.yaml").read_bytes() == before


def test_rotate_removing_a_recipient_locks_its_key_out(
    fresh: tuple[Path, Path], tmp_path: Path
) -> None:
    root, old_key = fresh
    _two_dev_secrets(root)
    new_key = tmp_path / "new.agekey"
    run_cli(
        "secrets",
        "keygen",
        "dev",
        "--out",
        str(new_key),
        "--identity",
        str(old_key),
        repo=root,
        expect=0,
    )
    old_recipient = _recipient_of(old_key)
    before = (root / "secrets/dev/behavior-service-database.yaml").read_text()
    result = run_cli(
        "secrets", "rotate", "dev", "--remove-recipient", old_recipient,
        "--identity", str(new_key), repo=root, expect=0,
    )  # fmt: skip
    assert "rotated 2 files of dev" in result.stderr
    after = (root / "secrets/dev/behavior-service-database.yaml").read_text()
    assert old_recipient in before and old_recipient not in after
    assert old_recipient not in (root / ".sops.yaml").read_text()
    # proof: the new key alone opens both files, with their values, and their MACs hold; the
    # only findings left are the secrets this fresh repository never had
    for secret in ("account-service-database", "behavior-service-database"):
        assert _reveal(root, new_key, secret) == {"dsn": "postgresql://a"}
    proof = run_cli(
        "secrets", "verify", "dev", "--decrypt-check", "--identity", str(new_key), "-o", "json",
        repo=root, expect=1,
    )  # fmt: skip
    findings = json.loads(proof.stdout)["findings"]
    assert findings and {f["rule"] for f in findings} == {"SEC006"}, findings
    located = " ".join(f["location"] for f in findings)
    assert "account-service-database" not in located and "behavior-service-database" not in located
    locked_out = run_cli(
        "secrets", "show", "dev", "behavior-service-database", "--reveal",
        "--identity", str(old_key), repo=root, expect=2,
    )  # fmt: skip
    assert "is not one of its recipients" in locked_out.stderr


def test_adopting_the_example_starts_staging_over(repo: Path, tmp_path: Path) -> None:
    """The documented path from the example's destroyed staging key to a real one."""
    listed = run_cli("secrets", "list", "staging", "-o", "json", repo=repo, expect=0)
    example = json.loads(listed.stdout)["recipients"][0]
    git(repo, "rm", "-r", "-q", "secrets/staging")
    key = tmp_path / "staging.agekey"
    run_cli("secrets", "keygen", "staging", "--out", str(key), repo=repo, expect=0)
    run_cli("secrets", "rotate", "staging", "--remove-recipient", example, repo=repo, expect=0)
    assert example not in (repo / ".sops.yaml").read_text()
    args = ("secrets", "set", "staging", "feast-offline-store", "dsn")
    run_cli(*args, repo=repo, stdin="postgresql://real", expect=0)
    assert _reveal(repo, key, "feast-offline-store", "staging") == {"dsn": "postgresql://real"}


def test_verify_clean_example_and_decrypt_check(repo: Path, dev_key: Path) -> None:
    clean = run_cli("secrets", "verify", repo=repo, expect=0)
    assert "secrets of dev, prod, staging: no findings" in clean.stderr
    proven = run_cli(
        "secrets",
        "verify",
        "dev",
        "--decrypt-check",
        "--identity",
        str(dev_key),
        repo=repo,
        expect=0,
    )
    assert "(MACs proven)" in proven.stderr
    # the dev key cannot prove prod: reported, not silently skipped
    prod = run_cli(
        "secrets",
        "verify",
        "prod",
        "--decrypt-check",
        "--identity",
        str(dev_key),
        "-o",
        "json",
        repo=repo,
        expect=1,
    )
    assert {f["rule"] for f in json.loads(prod.stdout)["findings"]} == {"SEC010"}


def test_render_copies_ciphertext_and_adds_the_operator(repo: Path) -> None:
    run_cli("render", "prod", repo=repo, expect=0)
    source = repo / "secrets/prod/fastapi-secrets.yaml"
    copy = repo / "clusters/prod-eu1/secrets/prod/fastapi-secrets.yaml"
    assert copy.read_bytes() == source.read_bytes()
    assert not (repo / "clusters/prod-eu1/secrets/prod/SHA256SUMS").exists()
    apps = repo / "clusters/prod-eu1/apps/prod"

    def wave(name: str) -> int:
        doc = yaml.safe_load((apps / f"{name}.yaml").read_text())
        return int(doc["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"])

    assert wave("sops-secrets-operator") < wave("secrets") < wave("kafka") < wave("platform")
    secrets_app = yaml.safe_load((apps / "secrets.yaml").read_text())
    assert secrets_app["spec"]["source"]["path"] == "clusters/prod-eu1/secrets/prod"
    operator = yaml.safe_load((apps / "sops-secrets-operator.yaml").read_text())
    chart = operator["spec"]["sources"][0]
    assert chart["chart"] == "sops-secrets-operator"
    project = yaml.safe_load((apps / "project.yaml").read_text())
    assert chart["repoURL"] in project["spec"]["sourceRepos"]
    kinds = {r["kind"] for r in project["spec"]["clusterResourceWhitelist"]}
    assert kinds == {"Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding"}
    run_cli("validate", "prod", repo=repo, expect=0)


def test_render_refuses_a_plaintext_secrets_file(repo: Path) -> None:
    (repo / "secrets/dev/feast-offline-store.yaml").write_text(
        "apiVersion: isindir.github.com/v1alpha3\nkind: SopsSecret\nmetadata: {name: x}\n"
    )
    result = run_cli("render", repo=repo, expect=2)
    assert result.stderr == (
        "error: secrets/dev/feast-offline-store.yaml: not encrypted with sops (no sops metadata: "
        "truncated, or plaintext); restore it with 'git checkout -- "
        "secrets/dev/feast-offline-store.yaml'; render never copies a secrets file that is not "
        "fully encrypted (see 'gitops-gen secrets verify')\n"
    )


def test_validate_fails_on_unencrypted_incomplete_or_leaked_key(
    repo: Path, other_key: tuple[Path, str]
) -> None:
    run_cli("validate", repo=repo, expect=0)
    target = repo / "secrets/staging/feast-offline-store.yaml"
    target.unlink()
    result = run_cli("validate", "-o", "json", repo=repo, expect=1)
    assert {f["rule"] for f in json.loads(result.stdout)["findings"]} == {"SEC006"}
    # a private key anywhere outside examples/keys/ is a finding, reported without its content
    key_text = other_key[0].read_text()
    (repo / "notes.txt").write_text("oops\n" + key_text)
    result = run_cli("validate", "-o", "json", repo=repo, expect=1)
    leaks = [f for f in json.loads(result.stdout)["findings"] if f["rule"] == "SEC011"]
    assert [f["location"] for f in leaks] == ["notes.txt:3"]
    assert "AGE-SECRET-KEY-" not in result.output


def test_environments_without_secrets_setup_validate_clean(tmp_path: Path) -> None:
    root = copy_aether(tmp_path / "plain")
    for extra in (".sops.yaml", "secrets"):
        git(root, "rm", "-r", "-q", extra)
    run_cli("render", repo=root, expect=0)
    run_cli("validate", repo=root, expect=0)
    assert not (root / "clusters/dev-eu1/apps/dev/secrets.yaml").exists()
    run_cli("secrets", "verify", repo=root, expect=1)  # asked explicitly: missing


def test_keygen_in_a_scaffolded_repository(tmp_path: Path) -> None:
    root = tmp_path / "new"
    run_cli("init", str(root), "--platform", "demo", expect=0)
    key = tmp_path / "k" / "dev.agekey"
    run_cli("secrets", "keygen", "dev", "--out", str(key), repo=root, expect=0)
    run_cli(
        "secrets", "set", "dev", "api-database", "dsn", repo=root, stdin="postgresql://a", expect=0
    )
    run_cli("secrets", "verify", "dev", repo=root, expect=0)
    run_cli("render", repo=root, expect=0)
    assert (root / "clusters").is_dir()


def test_secrets_summary_for_the_demo(repo: Path) -> None:
    summary = secrets_summary(load_platform(repo))
    assert [s.environment for s in summary] == ["dev", "staging", "prod"]
    for env in summary:
        assert env.present == 24
        assert env.missing_secrets == ()
        assert env.missing_keys == ()
        assert len(env.recipients) == 1


@pytest.mark.parametrize(
    ("cluster", "context"),
    [
        ("{name: dev-eu1, server: https://dev-eu1.k8s.example.com}", "dev-eu1"),
        (
            "{name: dev-eu1, server: https://dev-eu1.k8s.example.com, kubeContext: admin@dev}",
            "admin@dev",
        ),
    ],
    ids=["default-cluster-name", "kubeContext"],
)
def test_keygen_prints_the_command_for_the_environments_own_cluster(
    repo: Path, dev_key: Path, tmp_path: Path, cluster: str, context: str
) -> None:
    root, key = repo, dev_key
    env_file = root / "environments/dev.yaml"
    text = env_file.read_text()
    env_file.write_text(
        text.replace(
            "cluster: {name: dev-eu1, server: https://dev-eu1.k8s.example.com}",
            f"cluster: {cluster}",
        )
    )
    out = tmp_path / "second.agekey"
    result = run_cli(
        "secrets", "keygen", "dev", "--out", str(out), "--identity", str(key), repo=root, expect=0
    )
    lines = result.stderr.splitlines()
    assert lines[-2:] == [
        "next: give the key to the operator in dev-eu1 (namespace aether, where render installs "
        "it):",
        f"  kubectl --context {context} -n aether create secret generic sops-age-key "
        f"--from-file=keys.txt={out}",
    ]
    # the namespace is the one the rendered operator Application deploys to
    run_cli("render", repo=root, expect=0)
    operator = yaml.safe_load(
        (root / "clusters/dev-eu1/apps/dev/sops-secrets-operator.yaml").read_text()
    )
    assert operator["spec"]["destination"]["namespace"] == "aether"


def test_kube_context_must_be_one_word(repo: Path) -> None:
    env_file = repo / "environments/dev.yaml"
    env_file.write_text(
        env_file.read_text().replace(
            "server: https://dev-eu1.k8s.example.com}",
            "server: https://dev-eu1.k8s.example.com, kubeContext: 'two words'}",
        )
    )
    result = run_cli("secrets", "list", "dev", repo=repo, expect=2)
    assert "kubeContext" in result.stderr
    assert len(result.stderr.splitlines()) == 1
