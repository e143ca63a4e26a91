"""Leader election over the DynamoDB lease, against the local AWS over HTTP (and a fake for hangs).

Durations are scaled down (lease 1 s, renew deadline 0.6 s, retry 0.1 s) so a takeover takes about
a second; the protocol does not depend on the scale.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol, TypeVar

import pytest

from reconciler.aws import AwsClients, AwsSettings
from reconciler.aws.clients import AwsClient
from reconciler.aws.errors import RetryableAwsError
from reconciler.daemon.leader import LeaderElectionSettings, LeaderElector
from reconciler.local import LocalAWS

T = TypeVar("T")

TABLE = "ecs-reconciler-leases"
FAST = LeaderElectionSettings(lease_duration=1.0, renew_deadline=0.6, retry_period=0.1)
WAIT = 5.0


def run(body: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        return await body()

    return asyncio.run(main())


@contextlib.asynccontextmanager
async def dynamodb(aws: LocalAWS) -> AsyncIterator[AwsClient]:
    settings = AwsSettings(
        region=aws.region, endpoint_url=aws.endpoint_url, rate_limits_enabled=False, max_attempts=2
    )
    async with AwsClients(settings) as clients:
        yield await clients.dynamodb()


class Campaigner(Protocol):
    """A lease's loop: `LeaderElector`, `ShardCoordinator`."""

    async def run(self) -> None: ...


@contextlib.asynccontextmanager
async def running(*electors: Campaigner) -> AsyncIterator[list[asyncio.Task[None]]]:
    tasks = [asyncio.create_task(elector.run()) for elector in electors]
    try:
        yield tasks
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def elector(client: Any, identity: str, settings: LeaderElectionSettings = FAST) -> LeaderElector:
    return LeaderElector(client, table=TABLE, identity=identity, settings=settings)


async def lease_item(client: AwsClient) -> dict[str, Any]:
    response = await client.call(
        "get_item", TableName=TABLE, Key={"pk": {"S": FAST.lease_name}}, ConsistentRead=True
    )
    item: dict[str, Any] = response.get("Item", {})
    return item


async def leads_within(candidate: LeaderElector, seconds: float = WAIT) -> None:
    async with asyncio.timeout(seconds):
        await candidate.wait_until_leader()


@pytest.mark.aws
def test_the_first_elector_creates_the_table_and_leads(aws: LocalAWS) -> None:
    async def body() -> None:
        async with dynamodb(aws) as client:
            first = elector(client, "first")
            async with running(first):
                await leads_within(first)
                assert first.is_leader
                assert first.leader_identity == "first"
                table = await client.call("describe_table", TableName=TABLE)
                assert table["Table"]["TableStatus"] == "ACTIVE"
                item = await lease_item(client)
                assert item["holder"] == {"S": "first"}
                assert float(item["expires_at"]["N"]) > time.time()

    run(body)


@pytest.mark.aws
def test_a_second_elector_follows_while_the_leader_renews(aws: LocalAWS) -> None:
    async def body() -> None:
        async with dynamodb(aws) as client:
            first, second = elector(client, "first"), elector(client, "second")
            async with running(first):
                await leads_within(first)
                version_before = int((await lease_item(client))["version"]["N"])
                async with running(second):
                    # Longer than a lease: only renewals keep the second one out.
                    await asyncio.sleep(1.2 * FAST.lease_duration)
                    assert first.is_leader
                    assert not second.is_leader
                    assert second.leader_identity == "first"
                    assert int((await lease_item(client))["version"]["N"]) > version_before + 3

    run(body)


@pytest.mark.aws
def test_a_follower_takes_over_a_crashed_leader_only_after_its_lease_expired(aws: LocalAWS) -> None:
    async def body() -> None:
        async with dynamodb(aws) as client:
            first, second = elector(client, "first"), elector(client, "second")
            async with running(first) as (first_task,):
                await leads_within(first)
                async with running(second):
                    await asyncio.sleep(0.2)
                    assert second.leader_identity == "first"
                    first_task.cancel()  # a crash: no release
                    await asyncio.gather(first_task, return_exceptions=True)
                    assert not first.is_leader
                    last_expiry = float((await lease_item(client))["expires_at"]["N"])

                    await leads_within(second)
                    assert time.time() >= last_expiry
                    assert (await lease_item(client))["holder"] == {"S": "second"}

    run(body)


@pytest.mark.aws
def test_release_hands_the_lease_over_at_once(aws: LocalAWS) -> None:
    patient = LeaderElectionSettings(lease_duration=10.0, renew_deadline=6.0, retry_period=0.1)

    async def body() -> None:
        async with dynamodb(aws) as client:
            first, second = elector(client, "first", patient), elector(client, "second", patient)
            async with running(first) as (first_task,):
                await leads_within(first)
                async with running(second):
                    await asyncio.sleep(0.2)
                    assert second.leader_identity == "first"

                    loop = asyncio.get_running_loop()
                    released_at = loop.time()
                    await first.release()
                    assert not first.is_leader
                    # Far sooner than the 10 s lease could have expired.
                    await leads_within(second, 1.0)
                    assert loop.time() - released_at < 1.0
                    # A released elector stops campaigning by itself.
                    async with asyncio.timeout(1.0):
                        await first_task
                    assert not first.is_leader

    run(body)


@pytest.mark.aws
def test_a_follower_releasing_leaves_the_leaders_lease_alone(aws: LocalAWS) -> None:
    async def body() -> None:
        async with dynamodb(aws) as client:
            first, second = elector(client, "first"), elector(client, "second")
            async with running(first):
                await leads_within(first)
                async with running(second):
                    await asyncio.sleep(0.2)
                    await second.release()
                assert (await lease_item(client))["holder"] == {"S": "first"}
                assert first.is_leader

    run(body)


@pytest.mark.aws
def test_electors_racing_for_a_free_lease_elect_exactly_one(aws: LocalAWS) -> None:
    async def body() -> None:
        async with dynamodb(aws) as client:
            await elector(client, "setup").ensure_table()
            electors = [elector(client, f"replica-{index}") for index in range(5)]
            async with running(*electors):
                waits = [asyncio.create_task(candidate.wait_until_leader()) for candidate in electors]
                done, pending = await asyncio.wait(waits, timeout=WAIT, return_when=asyncio.FIRST_COMPLETED)
                for waiting in pending:
                    waiting.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
                assert done

                leader_counts = []
                for _ in range(20):
                    leader_counts.append(sum(candidate.is_leader for candidate in electors))
                    await asyncio.sleep(0.025)
                assert set(leader_counts) == {1}
                (leader,) = [candidate for candidate in electors if candidate.is_leader]
                assert (await lease_item(client))["holder"] == {"S": leader.identity}
                assert {candidate.leader_identity for candidate in electors} == {leader.identity}

    run(body)


@pytest.mark.aws
def test_a_leader_whose_lease_was_overwritten_stops_leading(aws: LocalAWS) -> None:
    async def body() -> None:
        async with dynamodb(aws) as client:
            first = elector(client, "first")
            async with running(first):
                await leads_within(first)
                await client.call(
                    "put_item",
                    TableName=TABLE,
                    Item={
                        "pk": {"S": FAST.lease_name},
                        "holder": {"S": "intruder"},
                        "expires_at": {"N": str(time.time() + 3600)},
                        "version": {"N": "99"},
                    },
                )
                async with asyncio.timeout(FAST.retry_period * 5):
                    await first.wait_until_follower()
                assert not first.is_leader
                await asyncio.sleep(FAST.retry_period * 3)
                assert first.leader_identity == "intruder"
                assert not first.is_leader

    run(body)


@pytest.mark.aws
def test_without_the_table_and_without_create_it_never_leads_and_says_why(aws: LocalAWS) -> None:
    settings = LeaderElectionSettings(
        lease_duration=1.0, renew_deadline=0.6, retry_period=0.1, create_table=False
    )

    async def body() -> None:
        async with dynamodb(aws) as client:
            first = elector(client, "first", settings)
            async with running(first):
                await asyncio.sleep(0.3)
                assert not first.is_leader
                assert first.last_error is not None
                assert "does not exist" in first.last_error

    run(body)


class HangingRenewTable:
    """A lease table whose reads and first write answer, and whose renewals never do."""

    def __init__(self) -> None:
        self.puts: list[dict[str, Any]] = []
        self.never = asyncio.Event()

    async def call(self, operation: str, /, **params: Any) -> dict[str, Any]:
        if operation == "describe_table":
            return {"Table": {"TableStatus": "ACTIVE"}}
        if operation == "get_item":
            return {}
        if operation == "put_item":
            self.puts.append(params)
            return {}
        await self.never.wait()
        raise AssertionError("unreachable")


def test_a_leader_that_cannot_renew_stops_leading_before_its_lease_can_expire() -> None:
    async def body() -> None:
        table = HangingRenewTable()
        loop = asyncio.get_running_loop()
        first = LeaderElector(
            table, table=TABLE, identity="first", settings=FAST, clock=loop.time, wall_clock=lambda: 1000.0
        )
        async with running(first):
            await leads_within(first)
            acquired_at = loop.time()
            async with asyncio.timeout(WAIT):
                await first.wait_until_follower()
            lost_after = loop.time() - acquired_at
            assert not first.is_leader
        assert FAST.renew_deadline - 0.05 <= lost_after < FAST.lease_duration
        (put,) = table.puts
        assert put["Item"]["expires_at"] == {"N": f"{1000.0 + FAST.lease_duration:.3f}"}

    run(body)


class FailingRenewTable(HangingRenewTable):
    """A lease table whose renewals fail at once with a server error, as during an outage."""

    async def call(self, operation: str, /, **params: Any) -> dict[str, Any]:
        if operation == "update_item":
            raise RetryableAwsError(
                service="dynamodb",
                operation="UpdateItem",
                code="InternalServerError",
                message="injected by the test",
                retryable=True,
                status=500,
            )
        return await super().call(operation, **params)


def test_a_leader_whose_renewals_fail_steps_down_at_the_deadline_not_a_retry_later() -> None:
    # The controller cancels its writes when `wait_until_follower` returns: that must be at the
    # renew deadline, when `is_leader` turns False, not at the next retry after it.
    settings = LeaderElectionSettings(lease_duration=2.0, renew_deadline=1.0, retry_period=0.9)

    async def body() -> None:
        table = FailingRenewTable()
        loop = asyncio.get_running_loop()
        first = LeaderElector(table, table=TABLE, identity="first", settings=settings, clock=loop.time)
        async with running(first):
            await leads_within(first)
            acquired_at = loop.time()
            async with asyncio.timeout(WAIT):
                await first.wait_until_follower()
            lost_after = loop.time() - acquired_at
        assert settings.renew_deadline - 0.05 <= lost_after < settings.renew_deadline + 0.4, lost_after

    run(body)


@pytest.mark.parametrize(
    ("lease", "deadline", "retry"),
    [
        (10.0, 10.0, 2.0),  # deadline must leave a margin before the lease expires
        (10.0, 12.0, 2.0),
        (15.0, 10.0, 10.0),  # a leader needs a second chance to renew
        (15.0, 10.0, 0.0),
        (-1.0, 10.0, 2.0),
    ],
)
def test_settings_that_could_let_two_leaders_overlap_are_refused(
    lease: float, deadline: float, retry: float
) -> None:
    with pytest.raises(ValueError):
        LeaderElectionSettings(lease_duration=lease, renew_deadline=deadline, retry_period=retry)


def test_the_default_settings_are_client_gos() -> None:
    settings = LeaderElectionSettings()
    assert (settings.lease_duration, settings.renew_deadline, settings.retry_period) == (15.0, 10.0, 2.0)
