"""The AWS edge against a real moto server over HTTP, through the real aiobotocore clients.

Faults (500s, throttling, AccessDenied) are injected by a WSGI middleware in front of moto
(`tests/aws/conftest.py`), so botocore's real retry logic decides what happens.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from structlog.testing import capture_logs

from reconciler.aws import AwsClients, AwsSettings, RetryableAwsError, TerminalAwsError
from reconciler.aws.ratelimit import AdaptiveTokenBucket, RateLimiter
from tests.aws.fakes import FakeTime, FaultInjector

pytestmark = pytest.mark.aws

T = TypeVar("T")


def run(body: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        return await body()

    return asyncio.run(main())


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_a_describe_is_counted_once_as_a_read(settings: AwsSettings) -> None:
    async def body() -> None:
        async with AwsClients(settings) as clients:
            ecs = await clients.ecs()
            response = await ecs.call("describe_clusters", clusters=[unique("absent")])
            assert response["clusters"] == []
            assert "ResponseMetadata" not in response
            assert clients.counter.snapshot() == {"ecs.DescribeClusters": 1}
            assert clients.counter.writes() == {}
            assert clients.counter.outcomes() == {"ecs.DescribeClusters": {"ok": 1}}
            assert clients.counter.latency()["ecs.DescribeClusters"].count == 1

    run(body)


def test_a_create_is_counted_as_a_write(settings: AwsSettings) -> None:
    async def body() -> None:
        async with AwsClients(settings) as clients:
            ecs = await clients.ecs()
            name = unique("cluster")
            created = await ecs.call("create_cluster", clusterName=name)
            assert created["cluster"]["clusterName"] == name
            assert clients.counter.writes() == {"ecs.CreateCluster": 1}

    run(body)


def test_a_call_to_a_missing_cluster_is_counted_and_terminal_without_retries(
    settings: AwsSettings, retry_sleeps: list[float]
) -> None:
    async def body() -> None:
        async with AwsClients(settings) as clients:
            ecs = await clients.ecs()
            with pytest.raises(TerminalAwsError) as raised:
                await ecs.call("list_services", cluster=unique("absent"))
            error = raised.value
            assert (error.service, error.operation, error.code) == (
                "ecs",
                "ListServices",
                "ClusterNotFoundException",
            )
            assert not error.retryable
            assert isinstance(error.__cause__, ClientError)
            assert clients.counter.snapshot() == {"ecs.ListServices": 1}
            assert clients.counter.outcomes() == {"ecs.ListServices": {"error": 1}}

    run(body)
    assert retry_sleeps == []


def test_a_server_error_is_retried_and_every_attempt_counted(
    settings: AwsSettings, faults: FaultInjector, retry_sleeps: list[float]
) -> None:
    faults.inject("ListClusters", status=500, code="ServerException", times=2)

    async def body() -> None:
        async with AwsClients(settings) as clients:
            ecs = await clients.ecs()
            response = await ecs.call("list_clusters")
            assert "clusterArns" in response
            assert clients.counter.snapshot() == {"ecs.ListClusters": 3}
            assert clients.counter.outcomes() == {"ecs.ListClusters": {"5xx": 2, "ok": 1}}

    run(body)
    assert len(retry_sleeps) == 2


def test_throttling_beyond_max_attempts_raises_a_retryable_error(
    settings: AwsSettings, faults: FaultInjector, retry_sleeps: list[float]
) -> None:
    faults.inject("DescribeServices", status=400, code="ThrottlingException", times=100)

    async def body() -> None:
        async with AwsClients(settings) as clients:
            ecs = await clients.ecs()
            with pytest.raises(RetryableAwsError) as raised:
                await ecs.call("describe_services", cluster="default", services=["web"])
            assert raised.value.code == "ThrottlingException"
            assert raised.value.retryable
            assert clients.counter.snapshot() == {"ecs.DescribeServices": settings.max_attempts}
            assert clients.counter.outcomes() == {
                "ecs.DescribeServices": {"throttled": settings.max_attempts}
            }

    run(body)
    assert len(retry_sleeps) == settings.max_attempts - 1


def test_an_access_denied_answer_is_terminal_and_not_retried(
    settings: AwsSettings, faults: FaultInjector, retry_sleeps: list[float]
) -> None:
    faults.inject("UpdateService", status=400, code="AccessDeniedException", times=1)

    async def body() -> None:
        async with AwsClients(settings) as clients:
            ecs = await clients.ecs()
            with pytest.raises(TerminalAwsError) as raised:
                await ecs.call("update_service", cluster="default", service="web", desiredCount=1)
            assert raised.value.code == "AccessDeniedException"
            assert clients.counter.snapshot() == {"ecs.UpdateService": 1}

    run(body)
    assert retry_sleeps == []


def test_throttling_on_a_query_protocol_service_slows_its_adaptive_budget(
    settings: AwsSettings, faults: FaultInjector
) -> None:
    faults.inject("DescribeLoadBalancers", status=400, code="Throttling", times=1)

    async def body() -> None:
        async with AwsClients(settings) as clients:
            elbv2 = await clients.elbv2()
            response = await elbv2.call("describe_load_balancers")
            assert "LoadBalancers" in response
            assert clients.counter.outcomes() == {"elbv2.DescribeLoadBalancers": {"throttled": 1, "ok": 1}}
            bucket = clients.rate_limiter.bucket("elbv2", "DescribeLoadBalancers")
            assert isinstance(bucket, AdaptiveTokenBucket)
            assert bucket.refill_per_second < bucket.max_refill_per_second

    run(body)


def test_a_connection_failure_is_retried_then_retryable(
    aws_environment: None, retry_sleeps: list[float]
) -> None:
    # Port 9 (discard) on loopback has nothing listening: every attempt is refused.
    settings = AwsSettings(region="us-east-1", endpoint_url="http://127.0.0.1:9", max_attempts=2)

    async def body() -> None:
        async with AwsClients(settings) as clients:
            ecs = await clients.ecs()
            with pytest.raises(RetryableAwsError) as raised:
                await ecs.call("list_clusters")
            assert isinstance(raised.value.__cause__, EndpointConnectionError)
            assert clients.counter.snapshot() == {"ecs.ListClusters": 2}
            assert clients.counter.outcomes() == {"ecs.ListClusters": {"error": 2}}

    run(body)


def test_every_attempt_waits_for_the_ecs_budget(settings: AwsSettings, faults: FaultInjector) -> None:
    # DeleteTaskDefinitions has AWS's smallest bucket: burst 5, one a second. A fake clock shows
    # the waits without sleeping them.
    time = FakeTime()
    limiter = RateLimiter(clock=time.clock, sleep=time.sleep)
    faults.inject("DeleteTaskDefinitions", status=500, code="ServerException", times=1)

    async def body() -> None:
        async with AwsClients(settings, rate_limiter=limiter) as clients:
            ecs = await clients.ecs()
            for _ in range(5):  # the first call takes two attempts
                await ecs.call("delete_task_definitions", taskDefinitions=[f"{unique('family')}:1"])
            assert clients.counter.snapshot() == {"ecs.DeleteTaskDefinitions": 6}

    run(body)
    assert time.slept == [pytest.approx(1.0)]


def test_paginate_follows_next_tokens_and_counts_each_page(settings: AwsSettings) -> None:
    async def body() -> None:
        async with AwsClients(settings) as clients:
            dynamodb = await clients.dynamodb()
            names = [unique("table") for _ in range(3)]
            for name in names:
                await dynamodb.call(
                    "create_table",
                    TableName=name,
                    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                    KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                    BillingMode="PAY_PER_REQUEST",
                )
            before = clients.counter.snapshot()
            pages = [
                page async for page in dynamodb.paginate("list_tables", PaginationConfig={"PageSize": 1})
            ]
            assert len(pages) >= 3
            assert all(len(page["TableNames"]) == 1 for page in pages)
            assert set(names) <= {name for page in pages for name in page["TableNames"]}
            assert all("ResponseMetadata" not in page for page in pages)
            assert clients.counter.since(before) == {"dynamodb.ListTables": len(pages)}

    run(body)


def test_paginate_raises_classified_errors(settings: AwsSettings, faults: FaultInjector) -> None:
    faults.inject("ListServices", status=400, code="AccessDeniedException", times=1)

    async def body() -> None:
        async with AwsClients(settings) as clients:
            ecs = await clients.ecs()
            with pytest.raises(TerminalAwsError):
                async for _ in ecs.paginate("list_services", cluster="default"):
                    pass

    run(body)


def test_unknown_or_unpageable_operations_are_programming_errors(settings: AwsSettings) -> None:
    async def body() -> None:
        async with AwsClients(settings) as clients:
            ecs = await clients.ecs()
            with pytest.raises(ValueError, match="no operation"):
                await ecs.call("describe_everything")
            with pytest.raises(ValueError, match="cannot be paginated"):
                async for _ in ecs.paginate("describe_clusters"):
                    pass
            assert clients.counter.snapshot() == {}

    run(body)


def test_account_id_is_asked_once(settings: AwsSettings) -> None:
    async def body() -> None:
        async with AwsClients(settings) as clients:
            first, second = await asyncio.gather(clients.account_id(), clients.account_id())
            assert first == second == "123456789012"
            assert clients.counter.snapshot() == {"sts.GetCallerIdentity": 1}
            assert clients.region == "us-east-1"

    run(body)


def test_clients_are_created_once_per_service(settings: AwsSettings) -> None:
    async def body() -> None:
        async with AwsClients(settings) as clients:
            first, second = await asyncio.gather(clients.ecs(), clients.ecs())
            assert first is second
            assert first.service == "ecs"
            assert (await clients.application_autoscaling()).service == "application-autoscaling"

    run(body)


def test_an_assumed_role_acts_in_the_workload_account(settings: AwsSettings) -> None:
    workload = dataclasses.replace(
        settings, assume_role_arn="arn:aws:iam::111111111111:role/reconciler", external_id="shared-secret"
    )

    async def body() -> None:
        async with AwsClients(workload) as clients:
            assert await clients.account_id() == "111111111111"
            ecs = await clients.ecs()
            created = await ecs.call("create_cluster", clusterName=unique("workload"))
            assert ":111111111111:" in created["cluster"]["clusterArn"]
            assert clients.counter.writes() == {"ecs.CreateCluster": 1, "sts.AssumeRole": 1}

    run(body)


def test_an_assumed_role_is_re_assumed_when_close_to_expiry(settings: AwsSettings) -> None:
    # 900 s is the shortest session AWS grants and is inside botocore's 15-minute refresh window,
    # so every use of the credentials finds them due and assumes the role again.
    workload = dataclasses.replace(
        settings,
        assume_role_arn="arn:aws:iam::222222222222:role/reconciler",
        assume_role_duration_seconds=900,
    )

    async def body() -> None:
        async with AwsClients(workload) as clients:
            ecs = await clients.ecs()
            await ecs.call("list_clusters")
            await ecs.call("list_clusters")
            assert clients.counter.snapshot()["sts.AssumeRole"] >= 2
            assert await clients.account_id() == "222222222222"

    run(body)


def test_no_region_is_a_terminal_error(aws_environment: None) -> None:
    async def body() -> None:
        with pytest.raises(TerminalAwsError, match="no AWS Region"):
            async with AwsClients(AwsSettings()):
                pass

    run(body)


def test_each_call_is_logged_at_debug_without_its_parameters(settings: AwsSettings) -> None:
    async def body() -> None:
        async with AwsClients(settings) as clients:
            ecs = await clients.ecs()
            with capture_logs() as logs:
                await ecs.call("describe_clusters", clusters=["secret-looking-name"])
            calls = [log for log in logs if log["event"] == "aws_call"]
            assert len(calls) == 1
            assert calls[0]["log_level"] == "debug"
            assert (calls[0]["service"], calls[0]["operation"]) == ("ecs", "DescribeClusters")
            assert "secret-looking-name" not in repr(logs)

    run(body)


def test_a_cancelled_call_propagates_cancellation(settings: AwsSettings) -> None:
    async def body() -> None:
        async with AwsClients(settings) as clients:
            ecs = await clients.ecs()
            task = asyncio.create_task(ecs.call("list_clusters"))
            await asyncio.sleep(0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    run(body)
