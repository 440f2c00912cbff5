"""Promotion plans: what counts as a mutable reference, how versions read, and the plan a pull
request carries coming back exactly. Found by mutation testing (docs/testing.md)."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from gitops_gen.errors import InputError
from gitops_gen.model import load_platform
from gitops_gen.promote.plan import (
    Move,
    PromotionPlan,
    is_mutable,
    plan_promotion,
    version_of,
)
from tests.helpers import PROJECT_ROOT

DIGEST = "sha256:" + "c" * 64


@pytest.mark.parametrize(
    ("fields", "mutable"),
    [
        ({"tag": "2.14.0", "digest": None}, False),
        ({"tag": "latest", "digest": None}, True),
        ({"tag": " Latest ", "digest": None}, True),
        ({"tag": "HEAD", "digest": None}, True),
        ({"tag": "main", "digest": None}, True),
        ({"tag": "latest", "digest": DIGEST}, False),  # a digest pins whatever the tag says
        ({"tag": None, "digest": DIGEST}, False),
        ({"tag": None, "digest": None}, True),
        ({"tag": "  ", "digest": None}, True),
        ({"revision": "main"}, True),
        ({"revision": "v2.14.0"}, False),
        ({"chart": "31.1.0"}, False),
        ({"chart": "master"}, True),
    ],
)
def test_what_a_protected_environment_refuses(fields: dict[str, str | None], mutable: bool) -> None:
    assert is_mutable(fields) is mutable


def test_versions_read_as_people_write_them() -> None:
    assert version_of({"tag": "1.0", "digest": DIGEST}) == f"1.0@{DIGEST}"
    assert version_of({"tag": None, "digest": DIGEST}) == DIGEST
    assert version_of({"tag": "1.0", "digest": None}) == "1.0"
    assert version_of({"tag": None, "digest": None}) == ""
    assert version_of({"chart": "31.1.0"}) == "31.1.0"
    assert version_of({"chart": None}) == ""
    assert version_of({"revision": "v2"}) == "v2"
    assert version_of({"revision": None}) == ""


def _full_plan() -> PromotionPlan:
    move = Move("kafka", "dependency", {"chart": "31.0.0"}, {"chart": "31.1.0"})
    held = Move("oms", "service", {"tag": "1", "digest": None}, {"tag": "2", "digest": None}, "x")
    blocked = Move("ui", "ui", {"tag": "1", "digest": None}, {"tag": "latest", "digest": None}, "y")
    return PromotionPlan(
        source="staging",
        target="prod",
        moves=(move,),
        held=(held,),
        blocked=(blocked,),
        warnings=("w1", "w2"),
        skip_order=True,
        allow_rolled_back=True,
        protected=True,
        promotion_id="0123456789ab",
        source_commit="a" * 40,
        base_commit="b" * 40,
        rollback_of="feedbeef0123",
        extra={"note": "kept"},
    )


def test_every_field_of_a_plan_round_trips() -> None:
    plan = _full_plan()
    data = json.loads(plan.dumps())
    assert data["kind"] == "rollback"
    assert data["blocked"][0]["reason"] == "y" and "reason" not in data["moves"][0]
    assert (data["moves"][0]["from"], data["moves"][0]["to"]) == ("31.0.0", "31.1.0")
    assert PromotionPlan.from_json(data) == plan
    plain = PromotionPlan("dev", "staging", ())
    assert plain.kind == "promotion" and plain.empty
    assert PromotionPlan.from_json(json.loads(plain.dumps())) == plain


def test_a_plan_of_another_format_is_refused() -> None:
    data = json.loads(_full_plan().dumps())
    data["format"] = 99
    with pytest.raises(
        InputError, match=r"^promotion plan format 99 is not supported \(expected 1\)$"
    ):
        PromotionPlan.from_json(data)


@pytest.fixture
def platform(tmp_path: Path):  # type: ignore[no-untyped-def]
    shutil.copytree(PROJECT_ROOT / "environments", tmp_path / "environments")
    return load_platform(tmp_path)


def test_order_and_component_names_are_checked(platform) -> None:  # type: ignore[no-untyped-def]
    dev, staging, prod = (platform.environment(n) for n in ("dev", "staging", "prod"))
    with pytest.raises(InputError) as same:
        plan_promotion(prod, prod)
    assert str(same.value) == "source and target are both 'prod'; name two different environments"
    with pytest.raises(InputError) as skipped:
        plan_promotion(dev, prod)
    assert str(skipped.value) == (
        "'prod' is promoted from 'staging', not from 'dev'; promote staging -> prod, or pass "
        "--skip-order to promote out of order"
    )
    with pytest.raises(InputError) as backwards:
        plan_promotion(staging, dev)
    assert str(backwards.value) == (
        "'dev' is the start of the promotion chain (no promotedFrom), not from 'staging'; "
        "promote into an environment promoted from it, or pass --skip-order to promote out of order"
    )
    forced = plan_promotion(dev, prod, skip_order=True)
    assert forced.skip_order and forced.warnings[0] == (
        "--skip-order: 'prod' is promoted from 'staging'; this promotion from 'dev' skips the order"
    )
    with pytest.raises(InputError) as unknown:
        plan_promotion(staging, prod, components=["kafak"])
    assert str(unknown.value).startswith("unknown component 'kafak'; did you mean 'kafka'? ")


def test_a_rolled_back_version_needs_allow_rolled_back(platform) -> None:  # type: ignore[no-untyped-def]
    staging, prod = platform.environment("staging"), platform.environment("prod")
    rolled = {"kafka": ("31.1.0", "d" * 40)}
    plan = plan_promotion(staging, prod, components=["kafka"], rolled_back=rolled)
    assert plan.moves == ()
    (blocked,) = plan.blocked
    assert blocked.reason == (
        f"rolled back in prod by {'d' * 12}; pass --allow-rolled-back to promote again"
    )
    assert f"kafka blocked: {blocked.reason}" in plan.warnings
    # another version than the one rolled back moves as usual
    plan = plan_promotion(
        staging, prod, components=["kafka"], rolled_back={"kafka": ("30.0.0", "d" * 40)}
    )
    assert [m.component for m in plan.moves] == ["kafka"]
    forced = plan_promotion(
        staging, prod, components=["kafka"], rolled_back=rolled, allow_rolled_back=True
    )
    assert [m.component for m in forced.moves] == ["kafka"]


def test_a_mutable_tag_is_blocked_from_a_protected_environment_only(platform) -> None:  # type: ignore[no-untyped-def]
    staging, prod = platform.environment("staging"), platform.environment("prod")
    ui = next(c for c in staging.components if c.name == "ui")
    latest = replace(ui, tag="latest", digest=None)
    untagged = replace(ui, tag=None, digest=None)
    for component, shown in ((latest, "latest"), (untagged, "no tag")):
        source = replace(
            staging,
            components=tuple(component if c.name == "ui" else c for c in staging.components),
        )
        plan = plan_promotion(source, prod, components=["ui"])
        assert not plan.skip_order and plan.moves == ()
        (blocked,) = plan.blocked
        assert (blocked.to_version or "no tag") == shown
        assert blocked.reason == (
            "a mutable reference; prod is protected and only takes immutable "
            "versions (a release tag or a digest)"
        )
        # nothing moves, so no "merge only after review" note
        assert not any("is protected: merge only after review" in w for w in plan.warnings)


def test_only_the_chosen_components_move_and_no_protection_note_elsewhere(platform) -> None:  # type: ignore[no-untyped-def]
    dev, staging, prod = (platform.environment(n) for n in ("dev", "staging", "prod"))
    plan = plan_promotion(staging, prod, components=["ui"])
    assert [m.component for m in plan.moves] == ["ui"]
    assert plan.warnings[-1] == (
        "prod is protected: merge only after review; Argo CD syncs it on merge"
    )
    into_staging = plan_promotion(dev, staging)
    assert into_staging.moves and not into_staging.protected
    assert not any("is protected" in w for w in into_staging.warnings)
