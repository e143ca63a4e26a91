"""Token buckets and the rate limiter, driven by a fake clock: nothing here sleeps."""

from __future__ import annotations

import asyncio

import pytest

from reconciler.aws.ratelimit import (
    ECS_CATEGORIES,
    ECS_OPERATION_CATEGORY,
    AdaptiveTokenBucket,
    BucketLimits,
    EcsCategory,
    RateLimiter,
    TokenBucket,
    bucket_key,
)
from tests.aws.fakes import FakeTime


@pytest.mark.parametrize(
    ("burst", "refill", "calls_at", "expected_waits"),
    [
        # a full bucket lets the burst through at once
        (3, 1.0, [0, 0, 0], [0.0, 0.0, 0.0]),
        # past the burst, callers queue one refill interval apart
        (2, 1.0, [0, 0, 0, 0], [0.0, 0.0, 1.0, 2.0]),
        (2, 4.0, [0, 0, 0, 0], [0.0, 0.0, 0.25, 0.5]),
        # time refills the bucket
        (1, 1.0, [0, 1, 2], [0.0, 0.0, 0.0]),
        (1, 1.0, [0, 0.5], [0.0, 0.5]),
        # a long idle does not grow the bucket beyond its burst
        (2, 1.0, [0, 100, 100, 100], [0.0, 0.0, 0.0, 1.0]),
    ],
)
def test_token_bucket_waits(
    burst: float, refill: float, calls_at: list[float], expected_waits: list[float]
) -> None:
    bucket = TokenBucket(burst=burst, refill_per_second=refill, now=0.0)
    assert [bucket.reserve(now) for now in calls_at] == pytest.approx(expected_waits)


def test_a_refunded_token_serves_the_next_caller() -> None:
    bucket = TokenBucket(burst=1, refill_per_second=1.0, now=0.0)
    assert bucket.reserve(0.0) == 0.0
    assert bucket.reserve(0.0) == pytest.approx(1.0)
    bucket.refund(0.0)
    assert bucket.reserve(0.0) == pytest.approx(1.0)


def test_a_throttled_fixed_bucket_drops_its_burst_but_keeps_its_rate() -> None:
    bucket = TokenBucket(burst=20, refill_per_second=5.0, now=0.0)
    bucket.throttled(0.0)
    assert bucket.refill_per_second == 5.0
    assert bucket.reserve(0.0) == pytest.approx(0.2)


@pytest.mark.parametrize(
    ("events", "expected_rate"),
    [
        ([], 10.0),
        (["throttled"], 5.0),
        (["throttled", "throttled"], 2.5),
        (["throttled"] * 10, 0.5),  # never below the floor
        (["throttled", "ok"], 5.2),  # recovers additively ...
        (["throttled"] + ["ok"] * 25, 10.0),  # ... up to the ceiling, not beyond
        (["ok"] * 5, 10.0),
    ],
)
def test_adaptive_bucket_halves_on_throttling_and_recovers_slowly(
    events: list[str], expected_rate: float
) -> None:
    bucket = AdaptiveTokenBucket(burst=20, refill_per_second=10.0, now=0.0)
    for event in events:
        if event == "throttled":
            bucket.throttled(0.0)
        else:
            bucket.succeeded(0.0)
    assert bucket.refill_per_second == pytest.approx(expected_rate)


def test_every_mapped_ecs_operation_has_published_limits() -> None:
    assert set(ECS_OPERATION_CATEGORY.values()) == set(EcsCategory)
    assert set(ECS_CATEGORIES) == set(EcsCategory)


@pytest.mark.parametrize(
    ("category", "limits"),
    [
        (EcsCategory.CLUSTER_READ, BucketLimits(50, 20)),
        (EcsCategory.SERVICE_MODIFY, BucketLimits(50, 5)),
        (EcsCategory.TASK_DEFINITION_MODIFY, BucketLimits(20, 1)),
        (EcsCategory.TASK_DEFINITION_DELETE, BucketLimits(5, 1)),
        (EcsCategory.TAG_MODIFY, BucketLimits(20, 10)),
        (EcsCategory.CLUSTER_RESOURCE_MODIFY, BucketLimits(100, 40)),
    ],
)
def test_ecs_categories_match_the_published_buckets(category: EcsCategory, limits: BucketLimits) -> None:
    assert ECS_CATEGORIES[category] == limits


@pytest.mark.parametrize(
    ("service", "operation", "expected"),
    [
        ("ecs", "UpdateService", "ecs:service modify"),
        ("ecs", "CreateService", "ecs:service modify"),
        ("ecs", "DescribeServices", "ecs:service read"),
        ("ecs", "RegisterTaskDefinition", "ecs:task definition modify"),
        ("ecs", "DeleteTaskDefinitions", "ecs:task definition deletion"),
        ("ecs", "TagResource", "ecs:tag modify"),
        ("ecs", "PutAccountSetting", "ecs:other"),
        ("elbv2", "DescribeRules", "elbv2"),
        ("elbv2", "CreateRule", "elbv2"),
        ("application-autoscaling", "PutScalingPolicy", "application-autoscaling"),
        ("ec2", "DescribeSecurityGroups", "ec2"),
        ("ecr", "DescribeRepositories", "ecr"),
        ("logs", "DescribeLogGroups", "logs"),
        ("logs", "CreateLogGroup", "logs"),
        ("sts", "GetCallerIdentity", None),
        ("dynamodb", "PutItem", None),
        ("cloudwatch", "DescribeAlarms", None),
    ],
)
def test_operations_draw_from_the_right_bucket(service: str, operation: str, expected: str | None) -> None:
    assert bucket_key(service, operation) == expected


def test_limiter_paces_a_burst_of_task_definition_registrations_at_one_a_second() -> None:
    time = FakeTime()
    limiter = RateLimiter(clock=time.clock, sleep=time.sleep)

    async def register_many() -> list[float]:
        return [await limiter.acquire("ecs", "RegisterTaskDefinition") for _ in range(22)]

    waits = asyncio.run(register_many())
    assert waits[:20] == [0.0] * 20
    assert waits[20:] == pytest.approx([1.0, 1.0])
    assert time.now == pytest.approx(1002.0)


def test_limiter_buckets_are_shared_within_a_category_and_separate_across() -> None:
    time = FakeTime()
    limiter = RateLimiter(clock=time.clock, sleep=time.sleep)

    async def calls() -> None:
        for _ in range(5):
            await limiter.acquire("ecs", "DeleteTaskDefinitions")
        # reads have their own bucket and do not wait on the exhausted deletion bucket
        assert await limiter.acquire("ecs", "DescribeTaskDefinition") == 0.0
        assert await limiter.acquire("ecs", "DeleteTaskDefinitions") == pytest.approx(1.0)

    asyncio.run(calls())
    assert limiter.bucket("ecs", "CreateService") is limiter.bucket("ecs", "UpdateService")
    assert limiter.bucket("ecs", "CreateService") is not limiter.bucket("ecs", "DescribeServices")


def test_limiter_slows_an_adaptive_service_after_throttling() -> None:
    time = FakeTime()
    limiter = RateLimiter(clock=time.clock, sleep=time.sleep)

    async def calls() -> float:
        await limiter.acquire("elbv2", "CreateRule")
        limiter.record_throttled("elbv2", "CreateRule")
        return await limiter.acquire("elbv2", "DescribeRules")

    assert asyncio.run(calls()) == pytest.approx(1 / 5.0)


def test_a_disabled_limiter_never_waits() -> None:
    time = FakeTime()
    limiter = RateLimiter(enabled=False, clock=time.clock, sleep=time.sleep)

    async def calls() -> list[float]:
        return [await limiter.acquire("ecs", "DeleteTaskDefinitions") for _ in range(50)]

    assert asyncio.run(calls()) == [0.0] * 50
    assert time.slept == []


def test_a_caller_cancelled_while_waiting_gives_its_token_back() -> None:
    never = asyncio.Event()
    time = FakeTime()

    async def wait_forever(seconds: float) -> None:
        time.slept.append(seconds)
        await never.wait()

    limiter = RateLimiter(clock=time.clock, sleep=wait_forever)

    async def calls() -> None:
        for _ in range(5):
            await limiter.acquire("ecs", "DeleteTaskDefinitions")
        waiting = asyncio.create_task(limiter.acquire("ecs", "DeleteTaskDefinitions"))
        await asyncio.sleep(0)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        bucket = limiter.bucket("ecs", "DeleteTaskDefinitions")
        assert bucket is not None
        assert bucket.tokens == pytest.approx(0.0)

    asyncio.run(calls())
    assert time.slept == [pytest.approx(1.0)]
