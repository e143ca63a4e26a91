"""The worker loop's one catch-all: a pass that crashes (a bug, not an AWS error) backs its
resources off and the loop goes on; cancellation still stops it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, cast

import pytest

from reconciler.daemon.controller import Controller, DaemonSettings
from reconciler.daemon.metrics import Metrics
from reconciler.daemon.queue import BackoffSettings
from reconciler.engine.reconcile import Engine, EngineSettings
from reconciler.resources.registry import load_spec_set

CLUSTER = "apiVersion: ecs-reconciler/v1\nkind: Cluster\nmetadata: {name: web}\nspec: {}\n"


class CrashingEngine:
    """Stands in for the engine (not for AWS): observing works, planning has a bug."""

    settings = EngineSettings(region="us-east-1")

    def __init__(self) -> None:
        self.plans = 0

    async def observe(self, spec_set: Any, *, orphans: bool | None = None) -> Any:
        return object()

    async def observe_again(self, spec_set: Any, keys: Any, last: Any, **following: Any) -> Any:
        return last

    def plan(self, spec_set: Any, observation: Any, **write_policy: Any) -> Any:
        self.plans += 1
        raise KeyError("a bug in a kind's plan")


def test_a_crashing_pass_backs_off_and_the_loop_keeps_running(tmp_path: Path) -> None:
    (tmp_path / "cluster.yaml").write_text(CLUSTER)
    spec_set, errors = load_spec_set([tmp_path])
    assert spec_set is not None, errors
    engine = CrashingEngine()

    async def scenario() -> Controller:
        loop = asyncio.get_running_loop()
        controller = Controller(
            engine=cast(Engine, engine),
            settings=DaemonSettings(
                resync_seconds=60, backoff=BackoffSettings(base_seconds=0.05, max_seconds=0.1)
            ),
            metrics=Metrics(),
            clock=loop.time,
            wall_clock=loop.time,
        )
        controller.load(spec_set, revision="r1")
        stopping = asyncio.Event()
        task = asyncio.create_task(controller.run(stopping))
        # Wait for the retries rather than a fixed time: a loaded machine runs fewer in 0.5 s.
        for _ in range(200):
            if engine.plans >= 3:
                break
            await asyncio.sleep(0.05)
        assert not task.done()  # the crash did not end the loop
        stopping.set()
        await asyncio.wait_for(task, 5)
        return controller

    controller = asyncio.run(scenario())
    assert engine.plans >= 3  # retried with backoff, not once and dead
    assert "internal error" in controller.last_error
    assert controller.queue.failures(("Cluster", "web")) >= 2
    assert 'error_class="internal"' in controller.metrics.render()


def test_cancelling_the_loop_is_not_swallowed_by_the_catch_all(tmp_path: Path) -> None:
    (tmp_path / "cluster.yaml").write_text(CLUSTER)
    spec_set, _ = load_spec_set([tmp_path])

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        controller = Controller(
            engine=cast(Engine, CrashingEngine()),
            settings=DaemonSettings(),
            metrics=Metrics(),
            clock=loop.time,
            wall_clock=loop.time,
        )
        controller.load(spec_set, revision="r1")
        task = asyncio.create_task(controller.run(asyncio.Event()))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
