"""`render --check` names only the environments whose files differ."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import copy_aether, run_cli


def test_check_names_only_the_stale_environment(tmp_path: Path) -> None:
    repo = copy_aether(tmp_path / "aether", with_clusters=True)
    values = sorted((repo / "clusters/staging-eu1/values/staging").glob("*.yaml"))[0]
    values.write_text(values.read_text() + "# hand edit\n")
    result = run_cli("render", "--check", repo=repo, expect=1)
    rel = values.relative_to(repo).as_posix()
    assert result.stdout == f"would change: {rel}\n"
    assert result.stderr == (
        "clusters/ is out of date for staging: 1 file differs; run 'gitops-gen render' and "
        "commit the result\n"
    )


def test_a_cluster_root_counts_for_its_environments_and_orphans_are_named(
    tmp_path: Path,
) -> None:
    repo = copy_aether(tmp_path / "aether", with_clusters=True)
    root = repo / "clusters/prod-eu1/root.yaml"
    root.write_text(root.read_text() + "# hand edit\n")
    stray = repo / "clusters/old-eu1/root.yaml"
    stray.parent.mkdir()
    stray.write_text("kind: Application\n")
    result = run_cli("render", "--check", repo=repo, expect=1)
    assert result.stderr == (
        "clusters/ is out of date for prod, files of no environment "
        "(clusters/old-eu1/root.yaml): 2 files differ; run 'gitops-gen render' and commit the "
        "result\n"
    )
