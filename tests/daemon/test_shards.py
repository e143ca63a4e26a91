"""Shards shared by replicas over the lease table, against the local AWS's DynamoDB over HTTP.

Durations are scaled down (lease 2 s, renew deadline 1.2 s, retry 0.2 s): the protocol does not
depend on the scale, and ten renewals at once need more slack than `test_leader.py`'s one lease on
a loaded machine. "Never two holders" is checked by sampling every
replica's `is_leader` per shard on every event-loop tick, which is what fences a target's writes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import pytest

from reconciler.daemon.leader import LeaderElectionSettings
from reconciler.daemon.shards import ShardCoordinator
from reconciler.local import LocalAWS
from tests.daemon.test_leader import dynamodb, run, running

T = TypeVar("T")

TABLE = "ecs-reconciler-shards"
FAST = LeaderElectionSettings(lease_duration=2.0, renew_deadline=1.2, retry_period=0.2)
TEN_TARGETS = tuple(f"team-{index}" for index in range(10))
WAIT = 10.0


def coordinator(
    client: Any, identity: str, shards: Iterable[str] = TEN_TARGETS, *, group: str
) -> ShardCoordinator:
    settings = LeaderElectionSettings(
        lease_name=group,
        lease_duration=FAST.lease_duration,
        renew_deadline=FAST.renew_deadline,
        retry_period=FAST.retry_period,
    )
    return ShardCoordinator(client, table=TABLE, identity=identity, shards=shards, settings=settings)


class Watch:
    """Samples who holds what on every tick; fails the test if two replicas ever hold one shard."""

    def __init__(self, replicas: list[ShardCoordinator]) -> None:
        self.replicas = replicas
        self.overlaps: list[tuple[str, list[str]]] = []
        self._task: asyncio.Task[None] | None = None

    def holders(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for replica in self.replicas:
            for shard in replica.held:
                found.setdefault(shard, []).append(replica.identity)
        return found

    async def _sample(self) -> None:
        while True:
            for shard, holders in self.holders().items():
                if len(holders) > 1:
                    self.overlaps.append((shard, holders))
            await asyncio.sleep(0)

    def __enter__(self) -> Watch:
        self._task = asyncio.create_task(self._sample())
        return self

    def __exit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()


async def until(condition: Callable[[], bool], *, within: float = WAIT) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > within:
            raise AssertionError(f"not within {within} s")
        await asyncio.sleep(0.02)
    return time.monotonic() - started


def balanced(replicas: list[ShardCoordinator], shards: Iterable[str]) -> bool:
    held = [set(replica.held) for replica in replicas]
    every = set().union(*held)
    whole, left_over = divmod(len(set(shards)), len(replicas))
    expected = sorted([whole] * (len(replicas) - left_over) + [whole + 1] * left_over)
    return (
        every == set(shards)
        and sum(len(mine) for mine in held) == len(every)
        and sorted(len(mine) for mine in held) == expected
    )


@pytest.mark.aws
def test_a_lone_replica_takes_every_shard(aws: LocalAWS) -> None:
    async def body() -> None:
        async with dynamodb(aws) as client:
            alone = coordinator(client, "alone", group="lone")
            async with running(alone):
                await until(lambda: alone.held == TEN_TARGETS)
                assert alone.fair_share == 10
                assert all(alone.lease(shard).is_leader for shard in TEN_TARGETS)
            assert alone.held == ()  # stopping ends holding at once

    run(body)


@pytest.mark.aws
def test_three_replicas_share_ten_shards_each_held_by_exactly_one(aws: LocalAWS) -> None:
    async def body() -> None:
        async with dynamodb(aws) as client:
            replicas = [coordinator(client, f"replica-{index}", group="three") for index in range(3)]
            with Watch(replicas) as watch:
                async with running(*replicas):
                    await until(lambda: balanced(replicas, TEN_TARGETS))
                    await asyncio.sleep(2 * FAST.lease_duration)  # and it stays so, renewing
                    assert balanced(replicas, TEN_TARGETS)
                    assert sorted(len(replica.held) for replica in replicas) == [3, 3, 4]
            assert watch.overlaps == []

    run(body)


@pytest.mark.aws
def test_a_killed_replicas_shards_move_to_the_others_within_the_lease(aws: LocalAWS) -> None:
    async def body() -> None:
        async with dynamodb(aws) as client:
            replicas = [coordinator(client, f"replica-{index}", group="kill") for index in range(3)]
            with Watch(replicas) as watch:
                async with running(*replicas) as tasks:
                    await until(lambda: balanced(replicas, TEN_TARGETS))
                    victim = replicas[0]
                    orphaned = set(victim.held)
                    # Like SIGKILL: no release, the leases are left to expire.
                    tasks[0].cancel()
                    await asyncio.gather(tasks[0], return_exceptions=True)
                    survivors = replicas[1:]
                    moved_after = await until(lambda: balanced(survivors, TEN_TARGETS))
                    assert orphaned <= set().union(*(set(replica.held) for replica in survivors))
                    # The last renew (and heartbeat) may have been sent just before the kill: the
                    # lease duration, plus a few rounds to see them expired and take the shards.
                    assert moved_after < FAST.lease_duration + 5 * FAST.retry_period
            assert watch.overlaps == []

    run(body)


@pytest.mark.aws
def test_a_released_replicas_shards_move_at_once_and_a_joining_one_gets_its_share(aws: LocalAWS) -> None:
    async def body() -> None:
        async with dynamodb(aws) as client:
            first, second = (coordinator(client, f"replica-{index}", group="join") for index in range(2))
            with Watch([first, second]) as watch:
                async with running(first) as (first_task,):
                    await until(lambda: first.held == TEN_TARGETS)
                    async with running(second):
                        # The first gives back the excess; the newcomer takes it: 5 and 5.
                        await until(lambda: balanced([first, second], TEN_TARGETS))
                        assert len(first.held) == len(second.held) == 5
                        # A graceful stop (SIGTERM) hands over without waiting for expiry.
                        first_task.cancel()
                        await asyncio.gather(first_task, return_exceptions=True)
                        await first.release()
                        handed_over_after = await until(lambda: second.held == TEN_TARGETS)
                        assert handed_over_after < FAST.lease_duration
            assert watch.overlaps == []

    run(body)


@pytest.mark.aws
def test_a_shard_dropped_from_the_estate_is_given_back_and_its_lease_deleted(aws: LocalAWS) -> None:
    async def body() -> None:
        async with dynamodb(aws) as client:
            alone = coordinator(client, "alone", ("a", "b"), group="drop")
            async with running(alone):
                await until(lambda: alone.held == ("a", "b"))
                lost = asyncio.ensure_future(alone.lease("b").wait_until_follower())
                alone.set_shards(["a"])
                await until(lambda: alone.held == ("a",))
                await asyncio.wait_for(lost, WAIT)
                item = await client.call("get_item", TableName=TABLE, Key={"pk": {"S": "drop/shard/b"}})
                assert "Item" not in item

    run(body)
