"""The call counter's bookkeeping: keys, reads vs writes, snapshots and their differences."""

from __future__ import annotations

import pytest

from reconciler.aws.calls import CallCounter, LatencyStats, Outcome, difference, is_write


@pytest.mark.parametrize(
    ("call_key", "write"),
    [
        ("ecs.DescribeServices", False),
        ("ecs.ListServices", False),
        ("ecr.GetLifecyclePolicy", False),
        ("ecr.BatchGetImage", False),
        ("sts.GetCallerIdentity", False),
        ("dynamodb.Query", False),
        ("ecs.UpdateService", True),
        ("ecs.TagResource", True),
        ("ecs.RegisterTaskDefinition", True),
        ("elbv2.CreateRule", True),
        ("sts.AssumeRole", True),
        ("ecr.BatchDeleteImage", True),
    ],
)
def test_reads_and_writes_are_told_apart_by_operation(call_key: str, write: bool) -> None:
    assert is_write(call_key) is write


def test_snapshot_and_writes_count_attempts_per_operation() -> None:
    counter = CallCounter()
    counter.record_attempt("ecs", "DescribeServices")
    counter.record_attempt("ecs", "UpdateService")
    counter.record_attempt("ecs", "UpdateService")
    assert counter.snapshot() == {"ecs.DescribeServices": 1, "ecs.UpdateService": 2}
    assert counter.writes() == {"ecs.UpdateService": 2}
    assert counter.total() == 3


def test_since_gives_only_the_calls_made_after_a_snapshot() -> None:
    counter = CallCounter()
    counter.record_attempt("ecs", "DescribeServices")
    before = counter.snapshot()
    counter.record_attempt("ecs", "DescribeServices")
    counter.record_attempt("elbv2", "CreateRule")
    assert counter.since(before) == {"ecs.DescribeServices": 1, "elbv2.CreateRule": 1}
    assert counter.since(counter.snapshot()) == {}


def test_difference_leaves_out_unchanged_keys() -> None:
    assert difference({"a.X": 2, "b.Y": 1}, {"a.X": 2}) == {"b.Y": 1}


def test_a_snapshot_is_a_copy() -> None:
    counter = CallCounter()
    snapshot = counter.snapshot()
    counter.record_attempt("ecs", "ListClusters")
    assert snapshot == {}


def test_outcomes_and_latency_are_kept_per_operation() -> None:
    counter = CallCounter()
    counter.record_outcome("ecs", "UpdateService", Outcome.THROTTLED)
    counter.record_outcome("ecs", "UpdateService", Outcome.OK)
    counter.record_latency("ecs", "UpdateService", 0.5)
    counter.record_latency("ecs", "UpdateService", 1.5)
    assert counter.outcomes() == {"ecs.UpdateService": {"throttled": 1, "ok": 1}}
    stats = counter.latency()["ecs.UpdateService"]
    assert stats == LatencyStats(count=2, total_seconds=2.0, max_seconds=1.5)
    assert stats.mean_seconds == 1.0


def test_reset_forgets_everything() -> None:
    counter = CallCounter()
    counter.record_attempt("ecs", "UpdateService")
    counter.record_outcome("ecs", "UpdateService", Outcome.OK)
    counter.record_latency("ecs", "UpdateService", 0.1)
    counter.reset()
    assert (counter.snapshot(), counter.outcomes(), counter.latency()) == ({}, {}, {})
