"""One reconcile pass, the engine's public entry point: observe, plan (pure), execute.

The CLI's `plan`, `apply` and `drift` and the daemon's workers all go through `Engine`. It owns
nothing global: clients, settings and the process cache are passed in.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from reconciler.engine.breaker import DiffHistory, document_hash
from reconciler.engine.executor import ExecutionResult, execute
from reconciler.engine.observe import ProcessCache, observe_all, observe_environment
from reconciler.engine.planner import plan_all
from reconciler.engine.policy import Mode, WritePolicy
from reconciler.plan.steps import Plan, ResourceKey
from reconciler.resources.base import Clients, Environment, LiveResource, LiveState, PlanContext, PlanSettings
from reconciler.resources.rollout import read_rollout
from reconciler.spec import SpecSet


@dataclass(frozen=True)
class EngineSettings:
    region: str
    """The AWS region every call goes to."""
    plan: PlanSettings = field(default_factory=PlanSettings)
    """Instance name, pruning and report-only switches."""
    concurrency: int = 8
    """How many calls of one operation the executor issues at once (each operation apart, since
    AWS budgets each apart: see `reconciler.engine.executor`)."""


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
        self._breaker = DiffHistory(limit=settings.plan.perpetual_diff_limit)
        self._spec_set: SpecSet | None = None

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
        if self._cache.revision_file is not None:
            self._cache.revision_file.save(self._cache.observe)
        return Observation(environment=environment, live=live)

    async def observe_again(
        self,
        spec_set: SpecSet,
        keys: frozenset[ResourceKey],
        last: Observation,
        *,
        following: frozenset[ResourceKey] = frozenset(),
    ) -> Observation:
        """`last` with the objects of `keys` observed afresh: what a re-check of a few keys (a
        rollout in progress, a retry, the look after a write) or a spec change (the documents it
        affects) needs, for the reads of those keys alone. Of the keys in `following`, whose
        rollouts are being followed, only what a rollout changes is read (a service's deployments,
        not its autoscaling). Everything else, the account facts included, is as `last` saw it;
        the periodic resync observes everything."""
        fresh = await observe_all(
            self._clients,
            spec_set,
            environment=last.environment,
            settings=self._settings.plan,
            cache=self._cache,
            orphans=False,
            only=keys,
            following=following & keys,
            previous=last.live,
        )
        # Documents removed since `last` are no longer anyone's: their objects are orphans now,
        # which only a full observation lists.
        kept = {key: live for key, live in last.live.resources.items() if key not in keys and key in spec_set}
        live = LiveState(
            resources={**kept, **fresh.resources},
            facts={**last.live.facts, **fresh.facts},
        )
        return Observation(environment=last.environment, live=live)

    def plan(
        self,
        spec_set: SpecSet,
        observation: Observation,
        *,
        mode: Mode | str = Mode.ENFORCE,
        holds_lease: bool = True,
    ) -> Plan:
        """Plan against one observation under the pass's write policy (`WritePolicy.decide`, from
        `mode`, the lease and the settings); the perpetual-diff breaker learns what AWS answered.
        `plan` and `drift` plan as `apply` would, and simply do not execute."""
        plan = plan_all(
            PlanContext(
                spec_set=spec_set,
                live=observation.live,
                environment=observation.environment,
                settings=self._settings.plan,
            ),
            self._breaker,
            WritePolicy.decide(spec_set, self._settings.plan, mode=mode, holds_lease=holds_lease),
        )
        self._breaker = self._breaker.observed(plan, _hashes(spec_set, self._breaker.attempts))
        self._spec_set = spec_set
        return plan

    async def plan_pass(self, spec_set: SpecSet, *, orphans: bool | None = None) -> PassResult:
        observation = await self.observe(spec_set, orphans=orphans)
        return PassResult(plan=self.plan(spec_set, observation), observation=observation)

    async def apply_pass(self, spec_set: SpecSet) -> PassResult:
        observation = await self.observe(spec_set)
        plan = self.plan(spec_set, observation)
        if not plan.has_changes:  # the plan already holds whatever the write policy does not allow
            return PassResult(plan=plan, observation=observation)
        return PassResult(plan=plan, observation=observation, execution=await self.execute(plan, observation))

    async def apply_and_confirm(self, spec_set: SpecSet) -> PassResult:
        """`apply_pass`, then a look at what was written: a resource whose same differences came
        back is written again, up to the breaker's limit, after which the planner reports it as
        perpetual-diff. Only those resources are written again (never what the first pass held
        back, such as deferred deletions), and nothing is looked at again when nothing was written."""
        first = await self.apply_pass(spec_set)
        plan, execution = first.plan, first.execution
        for attempt in range(self._settings.plan.perpetual_diff_limit):
            if execution is None or not _written(execution):
                break
            # The first look follows at once; should the same differences come back, give AWS's
            # eventually consistent reads a moment before each further look.
            await asyncio.sleep(0.5 * attempt)
            observation = await self.observe(spec_set, orphans=False)
            again = self.plan(spec_set, observation)
            repeating = self._breaker.repeating
            recheck = Plan(tuple(resource for resource in again if resource.key in repeating))
            plan = _replace_resources(plan, recheck)
            execution = await self.execute(recheck, observation) if recheck.has_changes else None
            if execution is not None:
                first = replace(first, execution=_merge(first.execution, execution))
        return replace(first, plan=plan)

    async def execute(
        self, plan: Plan, observation: Observation, *, may_write: Callable[[], bool] = lambda: True
    ) -> ExecutionResult:
        """Issue a plan (or part of one) made from `observation`; its held resources are skipped.
        `may_write` is the lease fence asked before every call, not a policy decision."""
        result = await execute(
            plan,
            clients=self._clients,
            known_outputs=_known_outputs(observation.live),
            concurrency=self._settings.concurrency,
            may_write=may_write,
        )
        written = _written(result)
        if written and self._spec_set is not None:
            self._breaker = self._breaker.written(plan, written, _hashes(self._spec_set, written))
        return result


def _written(execution: ExecutionResult) -> set[ResourceKey]:
    return {key for key, outcome in execution.outcomes.items() if outcome.ok and outcome.calls_made}


def _replace_resources(plan: Plan, newer: Plan) -> Plan:
    """`plan` with the resources `newer` planned again in their newer form."""
    return Plan(tuple(newer.get(*resource.key) or resource for resource in plan))


def _merge(first: ExecutionResult | None, later: ExecutionResult) -> ExecutionResult:
    """The outcomes of two executions; a resource in both keeps the later outcome with both's calls."""
    if first is None:
        return later
    outcomes = dict(first.outcomes)
    for key, outcome in later.outcomes.items():
        before = outcomes.get(key)
        calls = outcome.calls_made + (before.calls_made if before is not None else 0)
        outcomes[key] = replace(outcome, calls_made=calls)
    return ExecutionResult(outcomes=outcomes, outputs={**first.outputs, **later.outputs})


def _hashes(spec_set: SpecSet, keys: Iterable[ResourceKey]) -> dict[ResourceKey, str]:
    documents = (spec_set.get(*key) for key in keys)
    return {document.key: document_hash(document) for document in documents if document is not None}


def _known_outputs(live: LiveState) -> dict[ResourceKey, Mapping[str, Any]]:
    outputs: dict[ResourceKey, Mapping[str, Any]] = {
        key: resource.outputs for key, resource in live.resources.items()
    }
    for orphan in live.orphans:
        outputs.setdefault(orphan.key, orphan.outputs)
    return outputs


def rollout_of(live: LiveResource | None) -> str | None:
    """The rollout state of a resource that rolls out (a service): `IN_PROGRESS`, `COMPLETED`,
    `FAILED`, or None for kinds without rollouts (`reconciler.resources.rollout.read_rollout`)."""
    rollout = read_rollout(live)
    summary = rollout.summary if rollout is not None else None
    return summary.value if summary is not None else None
