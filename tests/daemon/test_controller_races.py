"""The controller when a spec edit lands while a pass is running: the edit wins."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, cast

from reconciler.daemon.controller import Controller, DaemonSettings
from reconciler.daemon.metrics import Metrics
from reconciler.daemon.queue import BackoffSettings
from reconciler.engine.executor import ExecutionResult, ResourceOutcome
from reconciler.engine.reconcile import Engine, EngineSettings, Observation
from reconciler.plan.steps import MAIN, Action, Call, Plan, ResourcePlan, StepGroup
from reconciler.resources.base import Environment, LiveState
from reconciler.resources.registry import load_spec_set
from reconciler.spec import SpecSet

CLUSTER = (
    "apiVersion: ecs-reconciler/v1\nkind: Cluster\nmetadata: {{name: web}}\nspec: {{tags: {{v: '{v}'}}}}\n"
)
KEY = ("Cluster", "web")


class EditDuringWrite:
    """Stands in for the engine (not for AWS): every write fails terminally, and during the first
    one a new revision of the specs arrives, as a git push can at any moment."""

    settings = EngineSettings(region="us-east-1")

    def __init__(self, edited: SpecSet) -> None:
        self.edited = edited
        self.controller: Controller | None = None
        self.executed: list[str] = []

    async def observe(self, spec_set: Any, *, orphans: bool | None = None) -> Observation:
        return Observation(environment=Environment(account_id="1", region="us-east-1"), live=LiveState())

    async def observe_again(self, spec_set: Any, keys: Any, last: Observation, **following: Any) -> Any:
        return last

    def plan(self, spec_set: SpecSet, observation: Any, **write_policy: Any) -> Plan:
        call = Call("ecs", "create_cluster", {"clusterName": "web"})
        group = StepGroup((*KEY, MAIN), (call,))
        return Plan((ResourcePlan(*KEY, Action.CREATE, groups=(group,)),))

    async def execute(self, plan: Plan, observation: Any, **fence: Any) -> ExecutionResult:
        assert self.controller is not None
        self.executed.append(str(self.controller.revision))
        if len(self.executed) == 1:
            self.controller.load(self.edited, revision="r2")
        failed = ResourceOutcome(key=KEY, ok=False, calls_made=1, error="rejected", retryable=False)
        return ExecutionResult(outcomes={KEY: failed}, outputs={})


def load(folder: Path, version: str) -> SpecSet:
    folder.mkdir()
    (folder / "cluster.yaml").write_text(CLUSTER.format(v=version))
    spec_set, errors = load_spec_set([folder])
    assert spec_set is not None, errors
    return spec_set


def test_a_terminal_failure_of_a_pass_on_an_older_spec_set_does_not_park_the_edited_document(
    tmp_path: Path,
) -> None:
    """A terminal failure parks a document until its specs change. If they changed while the
    failing pass ran, the failure is the older revision's: the new one gets its try."""
    first, edited = load(tmp_path / "r1", "1"), load(tmp_path / "r2", "2")
    engine = EditDuringWrite(edited)

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        controller = Controller(
            engine=cast(Engine, engine),
            settings=DaemonSettings(resync_seconds=60, backoff=BackoffSettings(base_seconds=0.05)),
            metrics=Metrics(),
            clock=loop.time,
            wall_clock=loop.time,
        )
        engine.controller = controller
        controller.load(first, revision="r1")
        stopping = asyncio.Event()
        task = asyncio.create_task(controller.run(stopping))
        for _ in range(100):
            if len(engine.executed) >= 2:
                break
            await asyncio.sleep(0.05)
        stopping.set()
        await asyncio.wait_for(task, 5)

    asyncio.run(scenario())
    # The edit was tried, and then (failing terminally itself) parked: once, not retried in a loop.
    assert engine.executed == ["r1", "r2"]
