"""``gitops-gen doctor`` and ``--version``: real tools, real keys, real git remotes."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from gitops_gen.doctor import _normalise, check_tools
from gitops_gen.hydrate.helm import HELM_ENV, HELM_VERSION, MINIMUM_VERSION, find_helm
from gitops_gen.tools import SPECS, ToolStatus, check_version, parse_version
from gitops_gen.version import checkout_commit
from tests.helpers import PROJECT_ROOT, git, run_cli
from tests.hydrate_support import ensure_helm

# the test environment's cache (helm, built once), before a test points XDG_CACHE_HOME elsewhere
TEST_CACHE = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
LINE = re.compile(r"^(OK  |WARN|FAIL)  [a-z]")  # status padded to 4, two spaces, the name

KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters:
- name: dev
  cluster: {server: "https://dev-eu1.k8s.example.com"}
- name: other
  cluster: {server: "https://elsewhere.example.com"}
users:
- name: me
  user: {token: not-a-real-token}
contexts:
- name: dev-eu1
  context: {cluster: dev, user: me}
- name: staging-eu1
  context: {cluster: other, user: me}
current-context: dev-eu1
"""


@pytest.fixture(autouse=True)
def no_helm(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The same answer for helm on every machine: not there. Nowhere hydrate looks for it
    either: not $GITOPS_GEN_HELM, not the cache, not PATH (which keeps only git)."""
    monkeypatch.setenv("GITOPS_GEN_HELM", str(tmp_path / "no-helm"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path = tmp_path / "path"
    path.mkdir()
    (path / "git").symlink_to(shutil.which("git") or "/usr/bin/git")
    monkeypatch.setenv("PATH", str(path))


def doctor(repo: Path, *args: str, expect: int = 0) -> tuple[list[str], str]:
    result = run_cli("doctor", *args, repo=repo, expect=expect)
    lines = result.stdout.splitlines()
    for line in lines:  # one line per check, each with a fix unless it is fine
        assert LINE.match(line), line
        assert ("; fix: " in line) == (not line.startswith("OK")), line
    return lines, result.stderr


def line_of(lines: list[str], name: str) -> str:
    return next(line for line in lines if line[6:].startswith(name + ":"))


def test_a_fresh_copy_has_only_warnings(repo: Path) -> None:
    lines, stderr = doctor(repo, "--offline", expect=0)
    assert line_of(lines, "tool sops").startswith("OK    tool sops: 3.")
    assert line_of(lines, "tool git").startswith("OK    tool git: ")
    assert line_of(lines, "tool helm") == (
        "WARN  tool helm: not found (needed: renders charts for hydrate, hydrated diffs and "
        "drift --hydrate, >= 3.14.0); fix: install helm v3.19.0 (3.x, at least 3.14.0) and put "
        "it on PATH, or set $GITOPS_GEN_HELM"
    )
    assert line_of(lines, "repository") == f"OK    repository: {repo}: 3 environments load"
    assert line_of(lines, "key prod").startswith(
        "WARN  key prod: no identity here can decrypt secrets/prod (needed to change them); "
        "fix: set $GITOPS_GEN_AGE_KEY_FILE to prod's identity file, or put it at "
    )
    assert line_of(lines, "kubeconfig") == (
        "WARN  kubeconfig: none found (needed by drift); fix: set KUBECONFIG or create "
        "~/.kube/config"
    )
    assert line_of(lines, "remote").startswith("WARN  remote: no git remote")
    assert stderr.endswith("0 failed\n")


def test_a_key_that_decrypts_an_environment_is_found(
    repo: Path, dev_key: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITOPS_GEN_AGE_KEY_FILE", str(dev_key))
    lines, _ = doctor(repo, "--offline", expect=0)
    assert line_of(lines, "key dev") == f"OK    key dev: {dev_key} is a recipient of dev's rule"
    assert line_of(lines, "key staging").startswith("WARN  key staging: no identity here")


def test_a_key_others_can_read_fails(
    repo: Path, dev_key: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dev_key.chmod(0o644)
    monkeypatch.setenv("GITOPS_GEN_AGE_KEY_FILE", str(dev_key))
    lines, _ = doctor(repo, "--offline", expect=1)
    assert line_of(lines, "key dev") == (
        f"FAIL  key dev: $GITOPS_GEN_AGE_KEY_FILE {dev_key}: readable by group or others (mode "
        f"0644); run 'chmod 600 {dev_key}'; fix: fix the identity file named"
    )


def test_kubeconfig_contexts_per_environment(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG)
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    lines, _ = doctor(repo, "--offline", expect=0)
    assert line_of(lines, "context dev") == (
        "OK    context dev: context 'dev-eu1' -> https://dev-eu1.k8s.example.com"
    )
    assert line_of(lines, "context staging") == (
        "WARN  context staging: context 'staging-eu1' points at https://elsewhere.example.com, "
        "the environment at https://staging-eu1.k8s.example.com; fix: point the context at "
        "https://staging-eu1.k8s.example.com or fix cluster.server in environments/staging.yaml"
    )
    assert line_of(lines, "context prod") == (
        f"WARN  context prod: no context 'prod-eu1' in {kubeconfig}; fix: kubectl config "
        "set-context prod-eu1 --cluster=CLUSTER --user=USER (or pass --context to "
        "'gitops-gen drift prod')"
    )


def test_the_context_checked_is_cluster_kube_context_when_set(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The context drift uses and secrets keygen prints: cluster.kubeContext, else the name."""
    dev = repo / "environments" / "dev.yaml"
    text = dev.read_text()
    assert "cluster: {name: dev-eu1, server: https://dev-eu1.k8s.example.com}" in text
    dev.write_text(
        text.replace(
            "cluster: {name: dev-eu1, server: https://dev-eu1.k8s.example.com}",
            "cluster: {name: dev-eu1, server: https://dev-eu1.k8s.example.com, "
            "kubeContext: me@dev}",
        )
    )
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG.replace("- name: dev-eu1\n", "- name: me@dev\n"))
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    lines, _ = doctor(repo, "--offline", expect=0)
    assert line_of(lines, "context dev") == (
        "OK    context dev: context 'me@dev' -> https://dev-eu1.k8s.example.com"
    )


def test_remotes_are_contacted_and_compared_with_gitops_repo(repo: Path, tmp_path: Path) -> None:
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(origin))
    git(repo, "remote", "add", "origin", origin.as_uri())
    git(repo, "remote", "add", "gone", (tmp_path / "missing.git").as_uri())
    lines, _ = doctor(repo, expect=0)
    assert line_of(lines, "remote origin") == f"OK    remote origin: {origin.as_uri()} answers"
    gone = line_of(lines, "remote gone")
    assert gone.startswith(f"WARN  remote gone: {(tmp_path / 'missing.git').as_uri()}: ")
    assert gone.endswith(
        "; fix: check the URL ('git remote set-url gone URL') and your credentials"
    )
    assert line_of(lines, "remote gitopsRepo") == (
        "WARN  remote gitopsRepo: no remote is https://git.example.com/aether/aether-gitops.git "
        "(platform.gitopsRepo, the URL Argo CD pulls); fix: git remote add origin "
        "https://git.example.com/aether/aether-gitops.git, or fix platform.gitopsRepo in "
        "environments/platform.yaml"
    )


def test_the_remote_argo_cd_pulls_is_recognised_in_any_url_form(repo: Path) -> None:
    git(repo, "remote", "add", "upstream", "git@git.example.com:aether/aether-gitops")
    lines, _ = doctor(repo, "--offline")
    assert line_of(lines, "remote gitopsRepo") == (
        "OK    remote gitopsRepo: upstream is https://git.example.com/aether/aether-gitops.git, "
        "the URL Argo CD pulls"
    )
    assert _normalise("ssh://git@Git.example.com/aether/aether-gitops.git/") == _normalise(
        "https://git.example.com/aether/aether-gitops"
    )


def test_a_missing_sops_fails_with_its_fix(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITOPS_GEN_SOPS", str(repo / "no-sops"))
    lines, stderr = doctor(repo, "--offline", expect=1)
    assert line_of(lines, "tool sops") == (
        "FAIL  tool sops: not found (needed: encrypts and decrypts secrets/, >= 3.9.0); fix: "
        "reinstall gitops-gen (it installs sops) or set $GITOPS_GEN_SOPS to a sops binary"
    )
    assert stderr.endswith(", 1 failed\n")


def test_an_old_tool_fails_with_its_minimum() -> None:
    spec = SPECS[0][0]
    checks = check_tools(
        [ToolStatus(spec, Path("/opt/sops"), "3.7.3", check_version("3.7.3", "3.9.0"))]
    )
    assert checks[0].line() == (
        "FAIL  tool sops: 3.7.3 is older than the minimum 3.9.0 at /opt/sops (needed: encrypts "
        "and decrypts secrets/, >= 3.9.0); fix: upgrade sops to 3.9.0 or newer (reinstall "
        "gitops-gen (it installs sops) or set $GITOPS_GEN_SOPS to a sops binary)"
    )
    assert parse_version("v3.19.0+g3d8990f") == (3, 19, 0)
    assert parse_version("git version 2.39.5") == (2, 39, 5)
    assert check_version("3.10", "3.9.0") is None  # numbers, not text: 10 > 9


def test_helm_is_judged_by_the_minimum_hydrate_enforces() -> None:
    """doctor must not pass a helm that hydrate, promote --hydrated and drift --hydrate refuse
    (it once said OK from 3.8.0 while they need 3.14.0)."""
    (spec,) = [spec for spec, _ in SPECS if spec.name == "helm"]
    assert spec.minimum == ".".join(map(str, MINIMUM_VERSION)) == "3.14.0"
    checks = check_tools(
        [ToolStatus(spec, Path("/opt/helm"), "3.13.3", check_version("3.13.3", spec.minimum))]
    )
    assert checks[0].line() == (
        "WARN  tool helm: 3.13.3 is older than the minimum 3.14.0 at /opt/helm (needed: renders "
        "charts for hydrate, hydrated diffs and drift --hydrate, >= 3.14.0); fix: upgrade helm "
        "to 3.14.0 or newer (install helm v3.19.0 (3.x, at least 3.14.0) and put it on PATH, or "
        "set $GITOPS_GEN_HELM)"
    )


def test_helm_is_found_where_hydrate_finds_it(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real helm in the user's cache (where 'make helm-bin' builds it) and not on PATH:
    hydrate runs it, so doctor and --version must not say 'not found' (they once did)."""
    monkeypatch.setenv(HELM_ENV, "unset below")  # so the test's end restores the variable
    with monkeypatch.context() as real_cache:
        real_cache.setenv("XDG_CACHE_HOME", TEST_CACHE)
        built = ensure_helm()  # the real binary, built or found in the test environment's cache
    monkeypatch.delenv(HELM_ENV)
    cached = tmp_path / "cache" / "gitops-gen" / "helm" / HELM_VERSION / "helm"
    cached.parent.mkdir(parents=True)
    cached.symlink_to(built)
    find_helm.cache_clear()
    try:
        assert find_helm().path == cached
    finally:
        find_helm.cache_clear()
    lines, _ = doctor(repo, "--offline", expect=0)
    assert re.fullmatch(
        rf"OK    tool helm: 3\.\d+\.\d+ \(>= 3\.14\.0\) at {re.escape(str(cached))}",
        line_of(lines, "tool helm"),
    ), line_of(lines, "tool helm")
    version = run_cli("--version", expect=0).stdout.splitlines()[2]
    assert re.fullmatch(
        rf"  helm  3\.\d+\.\d+ \(>= 3\.14\.0\) {re.escape(str(cached))}", version
    ), version


def test_outside_a_repository_the_tools_are_still_checked(tmp_path: Path) -> None:
    result = run_cli("doctor", "--offline", "--repo", str(tmp_path), expect=1)
    assert "OK    tool git: " in result.stdout
    assert result.stdout.splitlines()[-1] == (
        f"FAIL  repository: --repo {tmp_path}: not a git repository (no .git); pass the "
        "repository's top folder, or run 'git init' there first; fix: cd into the GitOps "
        "repository or pass --repo PATH"
    )


def test_an_invalid_environment_fails_the_repository_check(repo: Path) -> None:
    path = repo / "environments" / "prod.yaml"
    path.write_text(path.read_text().replace('{tag: "2.13.2"', "{tag: 2.10", 1))
    lines, _ = doctor(repo, "--offline", expect=1)
    assert line_of(lines, "repository").startswith(
        "FAIL  repository: environments/prod.yaml:23: services.risk-service.tag: 2.10 is read "
        'by YAML as the number 2.1; quote it: "2.10"; fix: '
    )


# --- --version ----------------------------------------------------------------------------


def test_version_names_the_commit_and_the_tools_with_their_minimums() -> None:
    result = run_cli("--version", expect=0)
    lines = result.stdout.splitlines()
    head = git(PROJECT_ROOT, "rev-parse", "--short=12", "HEAD").strip()
    assert re.fullmatch(rf"gitops-gen \d+\.\d+\.\d+ \(commit {head}(\+dirty)?\)", lines[0])
    sops, helm, git_line = lines[1:4]
    assert re.fullmatch(r"  sops  3\.\d+\.\d+ \(>= 3\.9\.0\) /\S+/sops", sops)
    assert helm == "  helm  not found (optional, >= 3.14.0)"
    assert re.fullmatch(r"  git   2\.\d+\.\d+ \(>= 2\.25\.0\) /\S+/git", git_line)


def test_an_installed_package_has_no_commit(tmp_path: Path) -> None:
    installed = tmp_path / "site-packages" / "gitops_gen"
    shutil.copytree(PROJECT_ROOT / "gitops_gen", installed)
    assert checkout_commit(installed) is None
    assert checkout_commit(PROJECT_ROOT / "gitops_gen") is not None
