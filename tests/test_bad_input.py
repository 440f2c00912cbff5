"""Bad input: one clear line naming the file, line and key; exit 2; the repository unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import run_cli, tree_digest


def _edit(repo: Path, rel: str, old: str, new: str) -> None:
    path = repo / rel
    text = path.read_text()
    assert old in text, f"fixture drifted: {old!r} not in {rel}"
    path.write_text(text.replace(old, new, 1))


CASES = [
    pytest.param(
        "environments/prod.yaml",
        "namespace: aether",
        "namespace: [aether",
        "error: environments/prod.yaml:6: malformed YAML: did not find expected ',' or ']'; "
        "fix the syntax (indentation, quoting, ':' after keys)",
        id="malformed-yaml",
    ),
    pytest.param(
        "environments/prod.yaml",
        "promotedFrom: staging",
        "promotedFrm: staging",
        "error: environments/prod.yaml:7: promotedFrm: unknown key 'promotedFrm' in the top "
        "level; did you mean 'promotedFrom'?",
        id="unknown-key",
    ),
    pytest.param(
        "environments/prod.yaml",
        "hpa: {min: 3, max: 10}",
        "hpa: {min: 3, maxx: 10}",
        "error: environments/prod.yaml:23: services.risk-service.hpa.maxx: unknown key 'maxx' in "
        "services.risk-service.hpa; did you mean 'max'? (and 1 more problem)",
        id="unknown-nested-key",
    ),
    pytest.param(
        "environments/prod.yaml",
        'secrets-service: {tag: "2.13.2", replicas: 2}',
        'secrets-service: {tag: "2.13.2", replicas: two}',
        "error: environments/prod.yaml:26: services.secrets-service.replicas: expected an "
        "integer, found 'two'",
        id="wrong-type",
    ),
    pytest.param(
        "environments/prod.yaml",
        "namespace: aether\n",
        "",
        "error: environments/prod.yaml:1: namespace: required key 'namespace' is missing; add "
        "it to the top level",
        id="missing-required-key",
    ),
    pytest.param(
        "environments/platform.yaml",
        "  policy-service:\n",
        "  risk-service:\n",
        "error: environments/platform.yaml:158: duplicate key 'risk-service' (first defined on "
        "line 143); each key may appear once in a mapping: rename or merge the two",
        id="duplicate-service-name",
    ),
    pytest.param(
        "environments/platform.yaml",
        "  marketdata-ingestor:\n",
        "  risk-service:\n",
        "error: environments/platform.yaml:298: pipelines.risk-service: duplicate component "
        "name, already defined in services; component names must be unique",
        id="duplicate-component-across-sections",
    ),
    pytest.param(
        "environments/prod.yaml",
        'marketdata-ingestor: {tag: "2.13.2"}',
        'marketdata-ingestor: {tag: ""}',
        "error: environments/prod.yaml:41: pipelines.marketdata-ingestor.tag: image tag is "
        "empty; set a version such as '2.14.0' (found '')",
        id="empty-image-tag",
    ),
    pytest.param(
        "environments/prod.yaml",
        'marketdata-ingestor: {tag: "2.13.2"}',
        "marketdata-ingestor: {replicas: 2}",
        "error: environments/prod.yaml:41: pipelines.marketdata-ingestor: no image tag for "
        "'marketdata-ingestor' in this environment; add "
        "'pipelines.marketdata-ingestor: {tag: \"X.Y.Z\"}' "
        "(or a digest)",
        id="missing-image-tag",
    ),
    pytest.param(
        "environments/prod.yaml",
        "promotedFrom: staging",
        "promotedFrom: stagin",
        "error: environments/prod.yaml:7: promotedFrom: unknown environment 'stagin'; did you "
        "mean 'staging'? (environments: dev, prod, staging)",
        id="promoted-from-missing-environment",
    ),
    pytest.param(
        "environments/dev.yaml",
        "tier: dev\n",
        "tier: dev\npromotedFrom: prod\n",
        "error: environments/dev.yaml:3: promotedFrom: promotion order forms a cycle (dev -> prod "
        "-> staging -> dev); one environment must be the start of the chain (no promotedFrom)",
        id="promotion-cycle",
    ),
    pytest.param(
        "environments/prod.yaml",
        "  policy-service:",
        "  polcy-service:",
        "error: environments/prod.yaml:24: services.polcy-service: not in the platform catalog; "
        "did you mean 'policy-service'?",
        id="unknown-service-pin",
    ),
    pytest.param(
        "environments/prod.yaml",
        "tier: prod",
        "tier: production",
        "error: environments/prod.yaml:3: tier: expected one of 'dev', 'staging' or 'prod', "
        "found 'production'",
        id="bad-enum",
    ),
    pytest.param(
        "environments/platform.yaml",
        "requests: {cpu: 250m, memory: 512Mi}, limits",
        "requests: {cpu: 250mm, memory: 512Mi}, limits",
        "error: environments/platform.yaml:146: services.risk-service.resources: requests.cpu: "
        "'250mm' is not a Kubernetes quantity (e.g. 250m, 1, 512Mi)",
        id="bad-quantity",
    ),
    pytest.param(
        "templates/application.yaml.j2",
        "{{ app.release_name }}",
        "{{ app.relase_name }}",
        "error: templates/application.yaml.j2:26: 'gitops_gen.render.plan.AppSpec object' has no "
        "attribute 'relase_name'; the template uses a variable the renderer does not provide "
        "(check its spelling)",
        id="undefined-template-variable",
    ),
]


@pytest.mark.parametrize(("rel", "old", "new", "message"), CASES)
@pytest.mark.parametrize("command", ["render", "validate"])
def test_bad_input_is_one_line_exit_2_and_changes_nothing(
    aether: Path, rel: str, old: str, new: str, message: str, command: str
) -> None:
    assert run_cli("render", repo=aether).exit_code == 0
    _edit(aether, rel, old, new)
    before = tree_digest(aether)
    result = run_cli(command, repo=aether)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(message), result.stderr
    assert result.stderr.count("\n") == 1  # one line
    assert "Traceback" not in result.stderr
    assert tree_digest(aether) == before


def test_debug_shows_the_traceback(aether: Path) -> None:
    _edit(aether, "environments/prod.yaml", "tier: prod", "tier: production")
    result = run_cli("--debug", "render", repo=aether)
    assert result.exit_code == 2
    assert "Traceback" in result.stderr
    assert result.stderr.rstrip().endswith("found 'production'")


def test_unknown_environment_suggests(aether: Path) -> None:
    before = tree_digest(aether)
    result = run_cli("render", "prodd", repo=aether)
    assert result.exit_code == 2
    assert result.stderr == (
        "error: unknown environment 'prodd'; did you mean 'prod'? (environments: dev, prod, "
        "staging; each is a file environments/<name>.yaml)\n"
    )
    assert tree_digest(aether) == before


def test_clusters_existing_as_a_file(aether: Path) -> None:
    (aether / "clusters").write_text("not a folder\n")
    before = tree_digest(aether)
    result = run_cli("render", repo=aether)
    assert result.exit_code == 2
    assert result.stderr == (
        "error: clusters: exists but is a file; gitops-gen writes rendered output into a folder "
        "of that name: move the file away\n"
    )
    assert tree_digest(aether) == before


def test_repo_that_is_not_a_repository(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    result = run_cli("render", repo=plain)
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: --repo {plain}: not a git repository (no .git); pass the repository's top "
        "folder, or run 'git init' there first\n"
    )
    assert list(plain.iterdir()) == []
    missing = run_cli("render", repo=tmp_path / "missing")
    assert missing.exit_code == 2
    assert "no such folder" in missing.stderr


def test_outside_any_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = run_cli("render")
    assert result.exit_code == 2
    assert "not inside a git repository; run gitops-gen inside the GitOps repository" in (
        result.stderr
    )


def test_usage_error_exits_2(aether: Path) -> None:
    result = run_cli("render", "--no-such-flag", repo=aether)
    assert result.exit_code == 2
    assert "Error: No such option '--no-such-flag'." in result.stderr


def test_an_unexpected_error_never_echoes_its_message(
    aether: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug's exception text may quote data (a decrypted value); only its type is shown."""
    import gitops_gen.render.plan as plan_module

    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("CANARY-plaintext-value")

    monkeypatch.setattr(plan_module, "plan_render", broken)
    monkeypatch.setattr("gitops_gen.commands.render.plan_render", broken)
    result = run_cli("render", repo=aether)
    assert result.exit_code == 2
    assert "CANARY" not in result.output
    assert result.stderr.startswith("internal error: ValueError at test_bad_input.py:")
    assert result.stderr.rstrip().endswith("(a bug; run with --debug for the traceback)")
    debug = run_cli("--debug", "render", repo=aether)
    assert "CANARY-plaintext-value" in debug.stderr  # the person who asked for it sees it
