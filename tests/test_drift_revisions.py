"""What drift concludes from an Application's status: revisions, comparison errors, no status.

The resolver tests use real git repositories: a GitOps repository, a clone whose `origin` is a
stale fork, and one with the GitOps repository under another remote name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gitops_gen.drift import argo
from gitops_gen.drift.desired import prepare_desired
from gitops_gen.drift.findings import ObjectRef
from gitops_gen.drift.revisions import gitops_resolver, normalize_url, same_repository
from tests.helpers import git

SHA_A = "a" * 40
SHA_B = "b" * 40


def _app(*sources: dict[str, Any]) -> dict[str, Any]:
    return prepare_desired(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": "dev-aether-platform", "namespace": "argocd"},
            "spec": {"project": "p", "sources": list(sources)},
        }
    )


PLATFORM = {
    "repoURL": "https://git.example.com/app.git",
    "path": "chart",
    "targetRevision": "v2.15.0",
}
VALUES = {
    "repoURL": "https://git.example.com/gitops.git",
    "targetRevision": "main",
    "ref": "values",
}


def _live(app: dict[str, Any], sync: dict[str, Any], **status: Any) -> dict[str, Any]:
    return {**app, "status": {"sync": sync, "reconciledAt": "2026-11-30T00:00:00Z", **status}}


def _findings(app: dict[str, Any], live: dict[str, Any], resolve: Any = None) -> dict[str, Any]:
    ref = ObjectRef.of(app)
    return {f.rule: f for f in argo.status_findings(ref, app, live, "dev", resolve)}


def test_a_synced_tag_is_never_behind() -> None:
    """Argo CD records the SHA a tag resolved to; the tag's name is never compared with it."""
    app = _app(PLATFORM, VALUES)
    sync = {
        "status": "Synced",
        "revisions": [SHA_A, SHA_B],
        "comparedTo": {"sources": [PLATFORM, VALUES]},
    }
    assert _findings(app, _live(app, sync)) == {}
    # A resolver that knows the tag agrees with Argo CD: still nothing.
    assert (
        _findings(app, _live(app, sync), lambda repo, rev: SHA_A if rev == "v2.15.0" else None)
        == {}
    )


def test_a_tag_that_moved_is_behind() -> None:
    app = _app(PLATFORM)
    sync = {"status": "Synced", "revisions": [SHA_A], "comparedTo": {"sources": [PLATFORM]}}
    found = _findings(app, _live(app, sync), lambda repo, rev: SHA_B)
    assert found["argo/revision-behind"].live == SHA_A
    assert found["argo/revision-behind"].desired == SHA_B
    assert "v2.15.0" in found["argo/revision-behind"].message


def test_a_commit_sha_target_is_compared_as_is() -> None:
    source = {**PLATFORM, "targetRevision": SHA_B}
    app = _app(source)
    sync = {"status": "Synced", "revisions": [SHA_B], "comparedTo": {"sources": [source]}}
    assert _findings(app, _live(app, sync)) == {}
    stale = {**sync, "revisions": [SHA_A]}
    assert _findings(app, _live(app, stale))["argo/revision-behind"].desired == SHA_B


def test_a_chart_version_is_compared_with_the_recorded_version() -> None:
    chart = {"repoURL": "http://127.0.0.1:1/", "chart": "redis", "targetRevision": "20.6.2"}
    app = _app(chart)
    sync = {"status": "Synced", "revisions": ["20.6.2"], "comparedTo": {"sources": [chart]}}
    assert _findings(app, _live(app, sync)) == {}


def test_a_comparison_against_another_spec_says_nothing_about_revisions() -> None:
    """comparedTo is an older spec (not refreshed yet): its revisions are not this spec's."""
    app = _app(PLATFORM)
    older = {**PLATFORM, "targetRevision": "v2.14.0"}
    sync = {"status": "Synced", "revisions": [SHA_A], "comparedTo": {"sources": [older]}}
    assert _findings(app, _live(app, sync), lambda repo, rev: SHA_B) == {}


def test_comparison_error_carries_argo_cds_message() -> None:
    app = _app(PLATFORM)
    message = "Failed to load target state: failed to generate manifest: connection refused"
    live = _live(
        app,
        {"status": "Unknown", "revisions": [SHA_A], "comparedTo": {"sources": [PLATFORM]}},
        conditions=[{"type": "ComparisonError", "message": message}],
    )
    found = _findings(app, live, lambda repo, rev: SHA_B)
    assert set(found) == {"argo/comparison-error"}
    assert found["argo/comparison-error"].message == message
    assert found["argo/comparison-error"].severity.value == "high"


def test_unknown_without_condition_is_still_reported() -> None:
    app = _app(PLATFORM)
    found = _findings(app, _live(app, {"status": "Unknown"}))
    assert found["argo/comparison-error"].message.endswith("(sync status Unknown)")


def test_never_reconciled_application() -> None:
    app = _app(PLATFORM)
    found = _findings(app, dict(app))
    assert set(found) == {"argo/not-reconciled"}
    assert "never reconciled" in found["argo/not-reconciled"].message


def test_urls_compare_by_repository() -> None:
    assert same_repository("https://git.example.com/a/b.git", "https://GIT.example.com/a/b/")
    assert same_repository("git@git.example.com:a/b.git", "ssh://git@git.example.com/a/b")
    assert not same_repository("https://git.example.com/a/b", "https://git.example.com/a/c")
    assert normalize_url("file:///tmp/x/../y") == "file:///tmp/y"


def _repo(path: Path) -> Path:
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    (path / "f").write_text("1\n")
    git(path, "add", "f")
    git(path, "commit", "-qm", "one")
    return path


def test_resolver_reads_the_remote_that_is_the_gitops_repo(tmp_path: Path) -> None:
    gitops = _repo(tmp_path / "gitops")
    fork = _repo(tmp_path / "fork")
    checkout = tmp_path / "checkout"
    git(tmp_path, "clone", "-q", fork.as_uri(), str(checkout))
    # The GitOps repository moves on; the fork's main (origin/main here) stays stale.
    (gitops / "f").write_text("2\n")
    git(gitops, "commit", "-qam", "two")
    git(gitops, "tag", "-a", "v1", "-m", "release")
    head = git(gitops, "rev-parse", "HEAD").strip()
    resolve = gitops_resolver(checkout, gitops.as_uri())
    assert resolve(gitops.as_uri(), "main") is None  # origin is not the GitOps repository
    git(checkout, "remote", "add", "upstream", gitops.as_uri())
    git(checkout, "fetch", "-q", "--tags", "upstream")
    resolve = gitops_resolver(checkout, gitops.as_uri())
    assert resolve(gitops.as_uri(), "main") == head
    assert resolve(gitops.as_uri(), "v1") == head  # annotated tag peeled to its commit
    assert resolve("https://git.example.com/other.git", "main") is None


def test_resolver_uses_local_branches_when_gitops_repo_is_this_checkout(tmp_path: Path) -> None:
    gitops = _repo(tmp_path / "gitops")
    head = git(gitops, "rev-parse", "HEAD").strip()
    assert gitops_resolver(gitops, gitops.as_uri())(gitops.as_uri() + "/", "main") == head
