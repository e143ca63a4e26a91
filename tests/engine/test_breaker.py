"""The perpetual-diff breaker's memory, pure: it trips after `limit` writes of the same differences,
not before, and forgets a resource when its document or its differences change."""

from __future__ import annotations

from reconciler.engine.breaker import DiffHistory, describe
from reconciler.plan.delta import Delta, FieldDiff
from reconciler.plan.steps import Action, Plan, ResourcePlan

KEY = ("Cluster", "web")


def plan_with(*diffs: FieldDiff) -> Plan:
    return Plan((ResourcePlan(*KEY, Action.UPDATE if diffs else Action.NONE, Delta(diffs)),))


SPOT = FieldDiff(("capacityProviders",), ["FARGATE", "FARGATE_SPOT"], ["FARGATE"])
HASHES = {KEY: "h1"}


def after_writes(
    count: int, diff: FieldDiff = SPOT, hashes: dict[tuple[str, str], str] = HASHES
) -> DiffHistory:
    history = DiffHistory(limit=3)
    for _ in range(count):
        history = history.observed(plan_with(diff), hashes).written(plan_with(diff), {KEY}, hashes)
    return history.observed(plan_with(diff), hashes)


def test_it_trips_after_the_limit_of_writes_and_not_before() -> None:
    assert after_writes(2).tripped(KEY, Delta((SPOT,)), "h1") is None
    tripped = after_writes(3).tripped(KEY, Delta((SPOT,)), "h1")
    assert tripped is not None and tripped.writes == 3
    assert [answer["capacityProviders"] for answer in tripped.answers] == [["FARGATE"]] * 3


def test_an_edited_document_clears_it() -> None:
    history = after_writes(3)
    assert history.tripped(KEY, Delta((SPOT,)), "h2") is None
    assert KEY not in history.observed(plan_with(SPOT), {KEY: "h2"}).attempts


def test_a_change_of_the_live_side_or_the_desired_value_clears_it() -> None:
    history = after_writes(3)
    assert KEY not in history.observed(plan_with(), HASHES).attempts  # someone fixed it: in sync
    other = FieldDiff(("capacityProviders",), ["FARGATE_SPOT"], ["FARGATE"])
    assert history.tripped(KEY, Delta((other,)), "h1") is None
    assert KEY not in history.observed(plan_with(other), HASHES).attempts


def test_writes_of_different_fields_do_not_add_up() -> None:
    history = DiffHistory(limit=3)
    for path in ("a", "b", "c", "d"):
        diff = FieldDiff((path,), 1, 2)
        history = history.observed(plan_with(diff), HASHES).written(plan_with(diff), {KEY}, HASHES)
    assert history.attempts[KEY].writes == 1


def test_the_report_names_the_fields_each_answer_and_the_catalogue() -> None:
    tripped = after_writes(3).tripped(KEY, Delta((SPOT,)), "h1")
    assert tripped is not None
    message = describe(tripped, Delta((SPOT,)))
    assert message.startswith("perpetual-diff: capacityProviders still differ after 3 writes")
    assert message.count('capacityProviders=["FARGATE"]') == 3
    assert "docs/aws-rewrites.md" in message
