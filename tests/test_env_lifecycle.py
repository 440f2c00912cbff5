"""`gitops-gen env add/remove/list`: a new environment in the promotion order, comments kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gitops_gen.model import load_platform
from tests.helpers import git, run_cli
from tests.promote_helpers import assert_refused, rendered_aether, run_as_dry_run_says

QA = ("env", "add", "qa", "--from", "staging", "--cluster", "qa-eu1=https://qa-eu1.example.com")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return rendered_aether(tmp_path / "aether")


def _comments(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.lstrip().startswith("#") or " # " in line]


def test_add_before_prod_copies_rewires_keygens_and_lists_the_secrets(
    repo: Path, isolated_env: Path
) -> None:
    staging = (repo / "environments/staging.yaml").read_text()
    prod_before = (repo / "environments/prod.yaml").read_text()
    result = run_cli(*QA, "--before", "prod", repo=repo, expect=0)
    assert result.stdout.startswith(
        "added qa (environments/qa.yaml, environments/prod.yaml): promoted from staging; "
        "prod is now promoted from qa\n"
    )
    qa = (repo / "environments/qa.yaml").read_text()
    assert set(_comments(staging)) <= set(_comments(qa))  # every comment kept
    platform = load_platform(repo)
    env = platform.environment("qa")
    assert (env.cluster_name, env.cluster_server) == ("qa-eu1", "https://qa-eu1.example.com")
    assert env.domain == "qa." + platform.environment("staging").domain.split(".", 1)[1]
    assert env.promoted_from == "staging" and env.tier == "staging"
    assert platform.environment("prod").promoted_from == "qa"
    # prod changed in exactly one line: its promotedFrom
    changed = [
        (a, b)
        for a, b in zip(
            prod_before.splitlines(),
            (repo / "environments/prod.yaml").read_text().splitlines(),
            strict=True,
        )
        if a != b
    ]
    assert changed == [("promotedFrom: staging", "promotedFrom: qa")]
    # keygen ran: an identity outside the repository and a .sops.yaml rule for qa
    key = isolated_env / ".config/gitops-gen/age" / f"{platform.name}-qa.agekey"
    assert key.is_file() and oct(key.stat().st_mode & 0o777) == "0o600"
    assert "secrets/qa/" in (repo / ".sops.yaml").read_text()
    # every required key of every required secret is listed, one command each
    wanted = {
        f"  gitops-gen secrets set qa {s.name} {k}" for s in env.required_secrets for k in s.keys
    }
    listed = {ln for ln in result.stdout.splitlines() if ln.startswith("  gitops-gen secrets")}
    assert listed == wanted and wanted
    assert f"qa needs {len(env.required_secrets)} secrets; set each key with:" in result.stdout
    # what to commit names keygen's rule and the secrets too, not only the environment files
    assert result.stderr.splitlines()[-1] == (
        "next: set the secrets, then 'gitops-gen render' and commit environments/qa.yaml, "
        "environments/prod.yaml, .sops.yaml, secrets/qa/ and clusters/"
    )
    # validate now names qa's missing secrets (a finding, not only in 'secrets verify')
    found = json.loads(run_cli("validate", "qa", "-o", "json", repo=repo, expect=1).stdout)[
        "findings"
    ]
    assert {f["rule"] for f in found} == {"SEC006"}


def test_the_secrets_set_lines_it_prints_work_one_after_another(
    repo: Path, isolated_env: Path
) -> None:
    """The second key of a secret changes an existing file, so it needs qa's key: the one env
    add just wrote to the default place (which doctor counts too) is found without --identity
    (it was not: the printed lines failed from the second key of a secret on)."""
    printed = run_cli(*QA, repo=repo, expect=0).stdout
    lines = [
        ln.split()[1:]
        for ln in printed.splitlines()
        if ln.startswith("  gitops-gen secrets set qa fastapi-credentials ")
    ]
    assert [argv[-1] for argv in lines] == ["JWT_SECRET", "DB_URI", "API_KEY"]
    for number, argv in enumerate(lines):
        run_cli(*argv, repo=repo, stdin=f"value-{number}", expect=0)
    shown = run_cli("secrets", "show", "qa", "fastapi-credentials", "--reveal", repo=repo, expect=0)
    assert shown.stdout.splitlines() == [
        "API_KEY: value-2",
        "DB_URI: value-1",
        "JWT_SECRET: value-0",
    ]
    doctor = run_cli("doctor", "--offline", repo=repo, expect=0).stdout
    key = isolated_env / ".config/gitops-gen/age/aether-qa.agekey"
    assert f"OK    key qa: {key} is a recipient of qa's rule" in doctor.splitlines()


def test_a_new_environment_promotes_into_prod_as_its_dry_run_says(repo: Path) -> None:
    run_cli(*QA, "--before", "prod", "--no-keygen", repo=repo, expect=0)
    run_cli("render", repo=repo, expect=0)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "add qa")
    run_cli("env", "list", repo=repo, expect=0)
    result = run_as_dry_run_says("promote", "qa", "prod", repo=repo, expect=0)
    assert "## promote(prod): " in result.stdout and " from qa" in result.stdout
    # and staging, no longer prod's source, needs --skip-order
    refused = run_cli("promote", "staging", "prod", repo=repo, expect=2)
    assert "'prod' is promoted from 'qa', not from 'staging'" in refused.stderr


def test_without_keygen_validate_reports_the_missing_secrets(repo: Path) -> None:
    result = run_cli(*QA, "--no-keygen", repo=repo, expect=0)
    assert "promoted from staging\n" in result.stdout
    assert not (repo / ".sops.yaml").read_text().count("secrets/qa/")
    found = json.loads(run_cli("validate", "qa", "-o", "json", repo=repo, expect=1).stdout)[
        "findings"
    ]
    (missing,) = [f for f in found if f["rule"] == "XENV004"]
    assert missing["location"] == "secrets/qa/"
    assert missing["message"].startswith("qa has none of its ")
    assert (
        "run 'gitops-gen secrets keygen qa', then 'gitops-gen secrets set qa SECRET KEY'"
        in (missing["message"])
    )


def test_remove_refuses_a_source_and_removes_a_leaf(repo: Path) -> None:
    assert_refused(
        repo,
        "env",
        "remove",
        "staging",
        message=(
            "error: cannot remove staging: prod is promoted from it; point prod's promotedFrom "
            "elsewhere first (e.g. to dev)"
        ),
    )
    assert_refused(
        repo,
        "env",
        "remove",
        "dev",
        message=(
            "error: cannot remove dev: staging is promoted from it; point staging's "
            "promotedFrom elsewhere first (or delete it: dev starts the promotion chain)"
        ),
    )  # it said "(e.g. to nothing)"
    run_cli(*QA, "--no-keygen", repo=repo, expect=0)
    run_cli("render", repo=repo, expect=0)
    assert (repo / "clusters/qa-eu1/apps/qa").is_dir()
    result = run_cli("env", "remove", "qa", repo=repo, expect=0)
    assert result.stdout == "removed qa: environments/qa.yaml, clusters/qa-eu1/\n"
    assert not (repo / "environments/qa.yaml").exists()
    assert not (repo / "clusters/qa-eu1").exists()
    run_cli("render", "--check", repo=repo, expect=0)
    run_cli("validate", repo=repo, expect=0)


def test_list_shows_the_promotion_order(repo: Path) -> None:
    run_cli(*QA, "--before", "prod", "--no-keygen", repo=repo, expect=0)
    data = json.loads(run_cli("env", "list", "-o", "json", repo=repo, expect=0).stdout)
    assert data["schemaVersion"] == "gitops-gen.io/env-list/v1"
    rows = data["environments"]
    assert [(r["name"], r["promotedFrom"]) for r in rows] == [
        ("dev", None),
        ("staging", "dev"),
        ("qa", "staging"),
        ("prod", "qa"),
    ]
    prod = rows[-1]
    assert (prod["tier"], prod["protected"], prod["cluster"]) == ("prod", True, "prod-eu1")
    table = run_cli("env", "list", repo=repo, expect=0).stdout.splitlines()
    assert table[0].split() == [
        "ORDER",
        "NAME",
        "PROMOTEDFROM",
        "TIER",
        "PROTECTED",
        "CLUSTER",
        "NAMESPACE",
    ]
    assert table[3].split() == ["3", "qa", "staging", "staging", "no", "qa-eu1", "aether"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            (*QA[:2], "staging", *QA[3:]),
            "error: environment 'staging' already exists (environments/staging.yaml); pick "
            "another name or 'gitops-gen env remove staging' first",
        ),
        (
            ("env", "add", "QA", *QA[3:]),
            "error: environment name 'QA' must be a DNS label (lower-case letters, digits and "
            "'-'); it becomes the file name environments/<name>.yaml",
        ),
        (
            ("env", "add", "qa", "--from", "stagin", *QA[5:]),
            "error: --from stagin: unknown environment; did you mean 'staging'? "
            "(environments: dev, prod, staging)",
        ),
        (
            (*QA, "--before", "prd"),
            "error: --before prd: unknown environment; did you mean 'prod'? "
            "(environments: dev, prod, staging)",
        ),
        (
            (*QA[:6], "qa-eu1"),
            "error: --cluster qa-eu1: expected NAME=URL, e.g. "
            "qa-eu1=https://qa-eu1.k8s.example.com",
        ),
        (
            (*QA[:6], "qa-eu1=http://qa-eu1.example.com"),
            "error: --cluster qa-eu1=http://qa-eu1.example.com: the API server URL must start "
            "with https://",
        ),
        (
            ("env", "add", "qa", "--from", "prod", *QA[5:]),
            "error: --domain is needed: prod's domain aether.example.com does not start with "
            "'prod.', so the new one cannot be derived from it",
        ),
        (
            (*QA, "--namespace", "Aether"),
            "error: --namespace Aether: must be a DNS label",
        ),
        (
            ("env", "remove", "qa"),
            "error: env remove qa: unknown environment (environments: dev, prod, staging)",
        ),
        (  # prod's cluster and, copied from staging, prod's namespace: XENV001 right after
            (*QA[:6], "prod-eu1=https://prod-eu1.k8s.example.com"),
            "error: --cluster prod-eu1=https://prod-eu1.k8s.example.com: prod already deploys "
            "into namespace aether there, and qa's releases would overwrite its own; pass "
            "another --cluster or --namespace",
        ),
        (  # one cluster name, two API servers: XENV003 right after
            (*QA[:6], "prod-eu1=https://qa-eu1.example.com"),
            "error: --cluster prod-eu1=https://qa-eu1.example.com: prod's cluster is named "
            "prod-eu1 with server https://prod-eu1.k8s.example.com; one name is one API "
            "server: pick another cluster name",
        ),
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(
    repo: Path, args: tuple[str, ...], message: str
) -> None:
    assert_refused(repo, *args, message=message)


def test_a_shared_cluster_needs_its_own_namespace(repo: Path) -> None:
    shared = (*QA[:6], "prod-eu1=https://prod-eu1.k8s.example.com", "--no-keygen")
    run_cli(*shared, "--namespace", "aether-qa", repo=repo, expect=0)
    assert load_platform(repo).environment("qa").namespace == "aether-qa"


def test_an_existing_identity_is_never_overwritten(repo: Path, isolated_env: Path) -> None:
    platform = load_platform(repo)
    key = isolated_env / ".config/gitops-gen/age" / f"{platform.name}-qa.agekey"
    key.parent.mkdir(parents=True)
    key.write_text("# someone's key\n")
    assert_refused(
        repo,
        *QA,
        message=(
            f"error: an age identity for qa already exists at {key}; move it away or pass "
            "--no-keygen (and add its recipient with 'gitops-gen secrets keygen')"
        ),
    )
    assert key.read_text() == "# someone's key\n"


def test_a_tier_outside_the_allowed_ones_names_them(repo: Path) -> None:
    result = run_cli(*QA, "--tier", "qa", repo=repo, expect=2)
    assert "'qa' is not one of 'dev', 'staging', 'prod'" in result.stderr
    (repo / "environments/staging.yaml").write_text(
        (repo / "environments/staging.yaml").read_text().replace("tier: staging", "tier: qa")
    )
    result = run_cli("validate", repo=repo, expect=2)
    assert result.stderr == (
        "error: environments/staging.yaml:2: tier: expected one of 'dev', 'staging' or 'prod', "
        "found 'qa'\n"
    )


def test_add_before_the_start_of_the_chain(repo: Path) -> None:
    args = ("env", "add", "pre", "--from", "dev", "--cluster", "pre-eu1=https://pre.example.com")
    result = run_cli(*args, "--before", "dev", "--no-keygen", repo=repo, expect=0)
    assert result.stdout.startswith(
        "added pre (environments/pre.yaml, environments/dev.yaml): the start of the promotion "
        "chain; dev is now promoted from pre\n"
    )
    pre = (repo / "environments/pre.yaml").read_text()
    assert pre.startswith(
        "# pre: added with 'gitops-gen env add pre --from dev'.\n"
        "# The comments below were copied from environments/dev.yaml.\n"
    )
    rows = json.loads(run_cli("env", "list", "-o", "json", repo=repo, expect=0).stdout)[
        "environments"
    ]
    assert [r["name"] for r in rows] == ["pre", "dev", "staging", "prod"]
