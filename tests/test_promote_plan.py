"""The promotion plan (pure), its JSON and the pull-request body."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from gitops_gen.errors import InputError
from gitops_gen.model import load_platform
from gitops_gen.promote.body import BODY_CAP, plan_from_body, render_body
from gitops_gen.promote.diffing import AppDiff
from gitops_gen.promote.plan import PromotionPlan, is_mutable, plan_promotion
from tests.helpers import copy_aether
from tests.promote_helpers import set_in_file

PROJECT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def platform():  # type: ignore[no-untyped-def]
    return load_platform(PROJECT)


PINNED = "1ef53dd38e6d2116d669161582201ba087d8119f"  # the app repository has no tags
NEWER = "d8a560b9d8fd7d10afaad6255496872ed4a22f41"


def test_plan_moves_versions_and_nothing_else(tmp_path: Path) -> None:
    repo = copy_aether(tmp_path / "repo")
    staging = repo / "environments/staging.yaml"
    staging.write_text(staging.read_text().replace(PINNED, NEWER))
    platform = load_platform(repo)
    plan = plan_promotion(platform.environment("staging"), platform.environment("prod"))
    moved = {m.component: (m.from_version, m.to_version) for m in plan.moves}
    assert moved["risk-service"] == ("2.13.2", "2.14.0")
    assert moved["kafka"] == ("31.0.0", "31.1.0")
    assert moved["platform"] == (PINNED, NEWER)  # commit SHAs move like versions
    assert "feast" not in moved  # same version on both sides
    assert "redis" not in moved
    assert {m.kind for m in plan.moves} >= {"dependency", "platform", "service", "pipeline", "ui"}


def test_held_components_are_not_moved_and_the_plan_says_so(platform) -> None:  # type: ignore[no-untyped-def]
    plan = plan_promotion(platform.environment("staging"), platform.environment("prod"))
    assert "oms-service" not in {m.component for m in plan.moves}
    (held,) = plan.held
    assert held.component == "oms-service"
    assert "INC-1234" in held.reason
    assert any("oms-service not promoted" in w for w in plan.warnings)


def test_order_is_enforced_unless_forced(platform) -> None:  # type: ignore[no-untyped-def]
    dev, prod = platform.environment("dev"), platform.environment("prod")
    with pytest.raises(InputError, match="'prod' is promoted from 'staging', not from 'dev'"):
        plan_promotion(dev, prod)
    plan = plan_promotion(dev, prod, force=True)
    assert plan.forced
    assert any(w.startswith("--force") for w in plan.warnings)


def test_same_source_and_target_is_refused(platform) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match="both 'prod'"):
        plan_promotion(platform.environment("prod"), platform.environment("prod"))


def test_unknown_component_suggests_the_closest(platform) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(
        InputError, match="unknown component 'risk-servce'; did you mean 'risk-service'"
    ):
        plan_promotion(
            platform.environment("staging"), platform.environment("prod"), ["risk-servce"]
        )


def test_component_filter(platform) -> None:  # type: ignore[no-untyped-def]
    plan = plan_promotion(
        platform.environment("staging"), platform.environment("prod"), ["risk-service", "kafka"]
    )
    assert [m.component for m in plan.moves] == ["kafka", "risk-service"]


@pytest.mark.parametrize(
    ("fields", "mutable"),
    [
        ({"tag": "latest", "digest": None}, True),
        ({"tag": None, "digest": None}, True),
        ({"tag": "Main", "digest": None}, True),
        ({"tag": "latest", "digest": "sha256:" + "a" * 64}, False),
        ({"tag": "2.14.0", "digest": None}, False),
        ({"revision": "HEAD"}, True),
        ({"revision": "v2.14.0"}, False),
        ({"revision": PINNED}, False),  # a commit SHA, what the Aether environments pin
    ],
)
def test_mutable_references(fields: dict[str, str | None], mutable: bool) -> None:
    assert is_mutable(fields) is mutable


def test_mutable_tags_never_reach_a_protected_environment(tmp_path: Path) -> None:
    from tests.helpers import copy_aether

    repo = copy_aether(tmp_path / "repo")
    set_in_file(
        repo / "environments/staging.yaml",
        'risk-service: {tag: "2.14.0"}',
        "risk-service: {tag: latest}",
    )
    platform = load_platform(repo)
    plan = plan_promotion(platform.environment("staging"), platform.environment("prod"))
    assert "risk-service" not in {m.component for m in plan.moves}
    (blocked,) = plan.blocked
    assert blocked.component == "risk-service"
    assert "mutable" in blocked.reason and "protected" in blocked.reason
    # an unprotected environment takes it (dev -> staging is the declared order)
    set_in_file(
        repo / "environments/dev.yaml",
        'risk-service: {tag: "2.15.0-rc.1"',
        "risk-service: {tag: latest",
    )
    platform = load_platform(repo)
    plan = plan_promotion(platform.environment("dev"), platform.environment("staging"))
    assert not plan.blocked


def test_plan_json_round_trips(platform) -> None:  # type: ignore[no-untyped-def]
    plan = plan_promotion(platform.environment("staging"), platform.environment("prod"))
    plan = replace(plan, promotion_id="0123456789ab", source_commit="a" * 40, base_commit="b" * 40)
    again = PromotionPlan.from_json(json.loads(plan.dumps()))
    assert again == plan
    body = render_body(plan, [])
    assert plan_from_body(body) == plan


def test_plan_in_the_body_survives_hostile_text(platform) -> None:  # type: ignore[no-untyped-def]
    plan = plan_promotion(platform.environment("staging"), platform.environment("prod"))
    plan = replace(plan, warnings=(*plan.warnings, "evil --> <!-- & `code`"))
    body = render_body(plan, [])
    assert plan_from_body(body) == plan


def _diff(name: str, lines: int) -> AppDiff:
    text = "".join(f"+line {i} of {name} " + "x" * 60 + "\n" for i in range(lines))
    return AppDiff(name, (f"clusters/c/apps/prod/{name}.yaml",), text, lines, 0)


def test_body_is_capped_with_a_note_of_what_was_cut(platform) -> None:  # type: ignore[no-untyped-def]
    plan = plan_promotion(platform.environment("staging"), platform.environment("prod"))
    diffs = [_diff(f"app-{i}", 400) for i in range(6)]  # ~6 x 30 KB
    body = render_body(plan, diffs, full_diff_hint="gitops-gen diff --base x --head y")
    assert len(body) <= BODY_CAP
    assert "**Diff truncated** at 65,536 characters" in body
    assert "app-0" in body and "`app-5`" in body.split("Diff truncated")[1]
    assert "(truncated)" in body  # the first block that did not fit is shown in part
    assert plan_from_body(body) == plan  # the plan is never cut
    # a small diff is shown whole, without a note
    small = render_body(plan, [_diff("app-0", 3)])
    assert "truncated" not in small
    assert "<details><summary><code>app-0</code> (+3 &minus;0)</summary>" in small
    assert "```diff\n+line 0 of app-0" in small


def test_body_fences_survive_backticks_in_the_diff(platform) -> None:  # type: ignore[no-untyped-def]
    plan = plan_promotion(platform.environment("staging"), platform.environment("prod"))
    diff = AppDiff("app", ("x",), "+```\n+not the end\n", 2, 0)
    body = render_body(plan, [diff])
    assert "````diff\n+```\n+not the end\n````" in body
