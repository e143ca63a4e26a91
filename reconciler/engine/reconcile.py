"""One reconcile pass, the engine's public entry point: observe, plan (pure), execute.

The CLI's `plan`, `apply` and `drift` and the daemon's workers all go through `Engine`. It owns
nothing global: clients, settings and the process cache are passed in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.engine.executor import ExecutionResult, execute
from reconciler.engine.observe import ProcessCache, observe_all, observe_environment
from reconciler.engine.planner import plan_all
from reconciler.plan.steps import Plan, ResourceKey
from reconciler.resources.base import Clients, Environment, LiveResource, LiveState, PlanContext, PlanSettings
from reconciler.spec import SpecSet


@dataclass(frozen=True)
class EngineSettings:
    region: str
    """The AWS region every call goes to."""
    plan: PlanSettings = field(default_factory=PlanSettings)
    """Instance name, pruning and report-only switches."""
    concurrency: int = 8
    """How many calls the executor issues at once."""


@dataclass(frozen=True)
class Observation:
    environment: Environment
    live: LiveState


@dataclass(frozen=True)
class PassResult:
    plan: Plan
    observation: Observation
    execution: ExecutionResult | None = None

    @property
    def ok(self) -> bool:
        return self.execution is None or self.execution.ok


class Engine:
    def __init__(
        self, *, clients: Clients, settings: EngineSettings, cache: ProcessCache | None = None
    ) -> None:
        self._clients = clients
        self._settings = settings
        self._cache = cache if cache is not None else ProcessCache()

    @property
    def settings(self) -> EngineSettings:
        return self._settings

    async def observe(self, spec_set: SpecSet, *, orphans: bool | None = None) -> Observation:
        """One observation; `orphans` (default: when pruning) also lists owned objects whose
        documents are gone, which costs account-wide listings (the daemon does it on resyncs)."""
        environment = await observe_environment(
            self._clients, spec_set, region=self._settings.region, cache=self._cache
        )
        live = await observe_all(
            self._clients,
            spec_set,
            environment=environment,
            settings=self._settings.plan,
            cache=self._cache,
            orphans=orphans,
        )
        return Observation(environment=environment, live=live)

    def plan(self, spec_set: SpecSet, observation: Observation) -> Plan:
        return plan_all(
            PlanContext(
                spec_set=spec_set,
                live=observation.live,
                environment=observation.environment,
                settings=self._settings.plan,
            )
        )

    async def plan_pass(self, spec_set: SpecSet, *, orphans: bool | None = None) -> PassResult:
        observation = await self.observe(spec_set, orphans=orphans)
        return PassResult(plan=self.plan(spec_set, observation), observation=observation)

    async def apply_pass(self, spec_set: SpecSet) -> PassResult:
        observation = await self.observe(spec_set)
        plan = self.plan(spec_set, observation)
        if self._settings.plan.report_only or not plan.has_changes:
            return PassResult(plan=plan, observation=observation)
        return PassResult(plan=plan, observation=observation, execution=await self.execute(plan, observation))

    async def execute(
        self, plan: Plan, observation: Observation, *, may_write: Callable[[], bool] = lambda: True
    ) -> ExecutionResult:
        """Issue a plan (or part of one) made from `observation`; `may_write` guards every call."""
        return await execute(
            plan,
            clients=self._clients,
            known_outputs=_known_outputs(observation.live),
            concurrency=self._settings.concurrency,
            may_write=may_write,
        )


def _known_outputs(live: LiveState) -> dict[ResourceKey, Mapping[str, Any]]:
    outputs: dict[ResourceKey, Mapping[str, Any]] = {
        key: resource.outputs for key, resource in live.resources.items()
    }
    for orphan in live.orphans:
        outputs.setdefault(orphan.key, orphan.outputs)
    return outputs


def rollout_of(live: LiveResource | None) -> str | None:
    """The rollout state of a resource that rolls out (a service): `IN_PROGRESS`, `COMPLETED`,
    `FAILED`, or None for kinds without rollouts. Kinds report it in `details["rollout"]`."""
    if live is None:
        return None
    rollout = live.details.get("rollout") or {}
    if rollout.get("failed"):
        return "FAILED"
    state = rollout.get("rolloutState")
    return str(state) if state is not None else None
