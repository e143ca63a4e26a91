"""The controller and the lease, in-process against the local AWS: taking the lease starts a full
pass at once (not at the next resync), and losing it stops the writes of the pass in flight, the
SDK's retries of a call already sent included.

Only the lease is faked (`SwitchableLease`: the test decides who leads); the engine, its clients
and AWS are real. The resync interval is five minutes, so anything that happens within seconds
happened because of the lease.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from reconciler.aws import AwsClients, AwsSettings
from reconciler.daemon.controller import Controller, DaemonSettings
from reconciler.daemon.metrics import Metrics
from reconciler.engine.clients import EngineClients
from reconciler.engine.observe import ProcessCache
from reconciler.engine.reconcile import Engine, EngineSettings
from reconciler.local import LocalAWS
from reconciler.resources.registry import load_spec_set
from tests.daemon.watched_aws import watched

pytestmark = pytest.mark.aws

CLUSTER = "apiVersion: ecs-reconciler/v1\nkind: Cluster\nmetadata: {name: web}\nspec: {}\n"
RESYNC_SECONDS = 300.0
WAIT = 10.0


class SwitchableLease:
    """Stands in for the DynamoDB lease (not for AWS): `lead(True)` and `lead(False)` take and
    lose it, waking whoever waits, as `LeaderElector` does."""

    def __init__(self, *, leading: bool) -> None:
        self._leading = asyncio.Event()
        self._following = asyncio.Event()
        self.lead(leading)

    @property
    def is_leader(self) -> bool:
        return self._leading.is_set()

    def lead(self, leading: bool) -> None:
        (self._leading if leading else self._following).set()
        (self._following if leading else self._leading).clear()

    async def wait_until_leader(self) -> None:
        await self._leading.wait()

    async def wait_until_follower(self) -> None:
        await self._following.wait()


@asynccontextmanager
async def controller_running(
    endpoint_url: str, region: str, specs: Path, lease: SwitchableLease
) -> AsyncIterator[Controller]:
    spec_set, errors = load_spec_set([specs])
    assert spec_set is not None, errors
    loop = asyncio.get_running_loop()
    async with AwsClients(AwsSettings(region=region, endpoint_url=endpoint_url)) as clients:
        controller = Controller(
            engine=Engine(
                clients=await EngineClients.open(clients),
                settings=EngineSettings(region=region),
                cache=ProcessCache(),
            ),
            settings=DaemonSettings(resync_seconds=RESYNC_SECONDS),
            metrics=Metrics(),
            clock=loop.time,
            wall_clock=loop.time,
            call_counter=clients.counter,
            leadership=lease,
        )
        controller.load(spec_set, revision="r1")
        stopping = asyncio.Event()
        task = asyncio.create_task(controller.run(stopping))
        try:
            yield controller
        finally:
            stopping.set()
            await asyncio.wait_for(task, WAIT)


async def until(check: Callable[[], Any], *, within: float = WAIT, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        if check():
            return
        if loop.time() > deadline:
            raise AssertionError(f"not reached within {within:.0f} s: {what}")
        await asyncio.sleep(0.02)


def passes_done(logs: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [entry for entry in logs if entry["event"] == "pass done"]


def run(body: Callable[[], Awaitable[None]]) -> None:
    async def main() -> None:
        await body()

    asyncio.run(main())


def test_taking_the_lease_mid_wait_starts_a_full_pass_at_once(aws: LocalAWS, tmp_path: Path) -> None:
    (tmp_path / "cluster.yaml").write_text(CLUSTER)
    lease = SwitchableLease(leading=False)

    async def body() -> None:
        with watched(aws) as front, capture_logs() as logs:
            async with controller_running(front.url, aws.region, tmp_path, lease) as controller:
                # A follower's first pass observes, reports the missing cluster and writes nothing.
                await until(lambda: passes_done(logs), what="the follower's first pass")
                await asyncio.sleep(0.3)  # the loop is waiting: nothing is due before the resync
                assert controller.statuses[("Cluster", "web")].status == "missing"
                assert front.writes == []

                loop = asyncio.get_running_loop()
                taken = loop.time()
                lease.lead(True)
                await until(lambda: front.writes, within=3.0, what="a write after taking the lease")
                started_writing = loop.time() - taken

                await until(lambda: len(passes_done(logs)) >= 2, what="the leader's first pass")
        assert [write.operation for write in front.writes] == ["CreateCluster"]
        # The pass that took over is a resync: every resource observed, not only keys that fell due.
        assert passes_done(logs)[1]["reason"] == "resync"
        assert started_writing < 3.0

    run(body)


def test_losing_the_lease_stops_the_pass_in_flight_sdk_retries_included(
    aws: LocalAWS, tmp_path: Path
) -> None:
    (tmp_path / "cluster.yaml").write_text(CLUSTER)
    lease = SwitchableLease(leading=True)

    async def body() -> None:
        loop = asyncio.get_running_loop()

        def lose_the_lease() -> None:  # on the server's thread, before CreateCluster is answered
            loop.call_soon_threadsafe(lease.lead, False)

        with watched(aws) as front, capture_logs() as logs:
            # The first CreateCluster is throttled, and the lease is lost meanwhile: the SDK would
            # send it again after its backoff, when this replica no longer leads.
            front.throttle_next("CreateCluster", then=lose_the_lease)
            async with controller_running(front.url, aws.region, tmp_path, lease) as controller:
                await until(lambda: passes_done(logs), what="the pass that lost the lease")
                # Longer than the SDK's first retry backoff (under a second) and the adaptive
                # client-side budget's wait after a throttle.
                await asyncio.sleep(2.5)
                assert not controller.writing
                assert [write.operation for write in front.writes] == ["CreateCluster"]  # throttled
                with aws.lock:
                    assert aws.ecs_backend().clusters == {}
                assert any(entry["event"] == "lease lost mid-pass: its writes stopped" for entry in logs)

                # Taken again, the lease starts a full pass at once, which finishes the job.
                lease.lead(True)
                await until(lambda: len(front.writes) == 2, within=3.0, what="the write after retaking")
                await until(lambda: len(passes_done(logs)) >= 2, what="the pass after retaking")
        assert [write.operation for write in front.writes] == ["CreateCluster", "CreateCluster"]
        assert passes_done(logs)[-1]["reason"] == "resync"
        with aws.lock:
            assert list(aws.ecs_backend().clusters) == ["web"]

    run(body)
