"""Issues a plan's calls: dependency order, bounded concurrency per operation, references filled in
as they resolve.

Called by `reconciler.engine.reconcile` (apply, and the daemon's enforce mode). Step groups run as
soon as every group they wait for has finished; the calls inside a group run in order. A failed
group fails its resource and skips everything that waits on it, without stopping independent
resources. Retries of a single call (throttling, 5xx) happen below, in the AWS clients; what
fails here is recorded and left to the next pass. The exception is a call that is not idempotent
(one with a `LandedCheck`): the clients send it once, and it is retried here, each retry preceded
by a read that tells whether the lost attempt landed after all.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import structlog

from reconciler.aws.errors import THROTTLING_CODES, AwsError
from reconciler.plan.steps import Call, GroupKey, LandedCheck, Plan, Ref, ResourceKey, StepGroup
from reconciler.resources.base import Clients

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ResourceOutcome:
    key: ResourceKey
    ok: bool
    calls_made: int
    error: str = ""
    skipped_because: str = ""
    retryable: bool = True
    """Whether the failure may go away by itself (throttling, a dependency not there yet)."""


@dataclass(frozen=True)
class ExecutionResult:
    outcomes: Mapping[ResourceKey, ResourceOutcome]
    outputs: Mapping[ResourceKey, Mapping[str, Any]]

    @property
    def ok(self) -> bool:
        return all(outcome.ok for outcome in self.outcomes.values())

    @property
    def failures(self) -> list[ResourceOutcome]:
        return [outcome for outcome in self.outcomes.values() if not outcome.ok]


@dataclass
class _Run:
    clients: Clients
    outputs: MutableMapping[ResourceKey, dict[str, Any]]
    concurrency: int
    may_write: Callable[[], bool]
    slots: dict[str, asyncio.Semaphore] = field(default_factory=dict)
    """At most `concurrency` calls of one operation at a time. Per operation, not per pass: AWS
    budgets each kind of call apart (RegisterTaskDefinition sustains one a second, CreateService
    five), so calls queued for a slow budget must not hold back every other chain of work."""

    def slot(self, call: Call) -> asyncio.Semaphore:
        return self.slots.setdefault(call.name, asyncio.Semaphore(self.concurrency))

    failed: dict[GroupKey, str] = field(default_factory=dict)
    calls_made: dict[ResourceKey, int] = field(default_factory=dict)
    errors: dict[ResourceKey, str] = field(default_factory=dict)
    terminal: set[ResourceKey] = field(default_factory=set)
    skipped: dict[ResourceKey, str] = field(default_factory=dict)


class UnresolvedReference(Exception):
    """A call refers to an output no earlier call produced: a planning bug, never retried."""


def resolve(value: Any, outputs: Mapping[ResourceKey, Mapping[str, Any]]) -> Any:
    """Replace every `Ref` in a parameter tree by the output it names."""
    if isinstance(value, Ref):
        try:
            return outputs[(value.kind, value.name)][value.output]
        except KeyError as missing:
            raise UnresolvedReference(str(value)) from missing
    if isinstance(value, Mapping):
        return {key: resolve(item, outputs) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [resolve(item, outputs) for item in value]
    return value


def _extract(response: Mapping[str, Any], path: tuple[str | int, ...]) -> Any:
    value: Any = response
    for item in path:
        value = value[item]
    return value


async def execute(
    plan: Plan,
    *,
    clients: Clients,
    known_outputs: Mapping[ResourceKey, Mapping[str, Any]],
    concurrency: int = 8,
    may_write: Callable[[], bool] = lambda: True,
) -> ExecutionResult:
    """Issue `plan`'s calls, except those of held resources. `may_write` is asked before every
    call: a daemon that loses its lease mid-pass stops writing at once instead of finishing the
    pass. That is a fence at the moment of writing, not a policy decision (see
    `reconciler.engine.policy`)."""
    # What the write policy holds back (`ResourcePlan.held`) was decided by the planner: skip it.
    groups = {group.key: group for resource in plan if resource.held is None for group in resource.groups}
    run = _Run(
        clients=clients,
        outputs={key: dict(values) for key, values in known_outputs.items()},
        concurrency=concurrency,
        may_write=may_write,
    )
    done: dict[GroupKey, asyncio.Event] = {key: asyncio.Event() for key in groups}
    # A wait cycle would hang the pass for ever: its groups fail instead (a bug, never retried).
    for stuck in waits_in_a_cycle(groups):
        run.failed[stuck] = "internal error: step groups wait for each other in a cycle"
        run.errors.setdefault((stuck[0], stuck[1]), run.failed[stuck])
        run.terminal.add((stuck[0], stuck[1]))
        log.error("dependency cycle in plan", kind=stuck[0], name=stuck[1], group=stuck[2])

    async def run_group(group: StepGroup) -> None:
        if group.key in run.failed:
            done[group.key].set()
            return
        try:
            for dependency in group.after:
                if dependency in done:
                    await done[dependency].wait()
                    if dependency in run.failed:
                        reason = f"{dependency[0]}/{dependency[1]} failed"
                        run.failed[group.key] = reason
                        run.skipped.setdefault((group.key[0], group.key[1]), reason)
                        return
            await _run_calls(group, run)
        finally:
            done[group.key].set()

    async with asyncio.TaskGroup() as task_group:
        for group in groups.values():
            task_group.create_task(run_group(group))

    outcomes: dict[ResourceKey, ResourceOutcome] = {}
    for resource in plan:
        if resource.held is not None or not resource.groups:
            continue
        key = resource.key
        error = run.errors.get(key, "")
        skipped = run.skipped.get(key, "") if not error else ""
        outcomes[key] = ResourceOutcome(
            key=key,
            ok=not error and not skipped,
            calls_made=run.calls_made.get(key, 0),
            error=error,
            skipped_because=skipped,
            retryable=key not in run.terminal,
        )
    return ExecutionResult(outcomes=outcomes, outputs=run.outputs)


def waits_in_a_cycle(groups: Mapping[GroupKey, StepGroup]) -> frozenset[GroupKey]:
    """Groups on or behind a cycle of `after` among `groups` (those that would wait for ever)."""
    state: dict[GroupKey, int] = {}  # 1: being visited, 2: finished and free
    stuck: set[GroupKey] = set()

    def visit(key: GroupKey) -> bool:
        """True when `key` can never start."""
        if state.get(key) == 1:
            return True
        if key in state:
            return key in stuck
        state[key] = 1
        blocked = False
        for dependency in groups[key].after:
            if dependency in groups and visit(dependency):
                blocked = True
        state[key] = 2
        if blocked:
            stuck.add(key)
        return blocked

    for key in groups:
        visit(key)
    return frozenset(stuck)


async def _run_calls(group: StepGroup, run: _Run) -> None:
    resource_key: ResourceKey = (group.key[0], group.key[1])
    for call in group.calls:
        try:
            async with run.slot(call):
                response = await _issue(call, run)
        except (AwsError, UnresolvedReference, WritingNotAllowed) as error:
            # An AwsError ("ecs.UpdateService: InvalidParameterException: ...") and a refusal to
            # write already name the call; only an unresolved reference needs it added.
            message = f"{call.name}: {error}" if isinstance(error, UnresolvedReference) else str(error)
            log.warning(
                "call failed", kind=resource_key[0], name=resource_key[1], call=call.name, error=str(error)
            )
            run.failed[group.key] = message
            run.errors.setdefault(resource_key, message)
            if isinstance(error, AwsError) and not error.retryable:
                run.terminal.add(resource_key)
            return
        run.calls_made[resource_key] = run.calls_made.get(resource_key, 0) + 1
        for output, path in call.outputs.items():
            try:
                run.outputs.setdefault(resource_key, {})[output] = _extract(response, path)
            except (KeyError, IndexError, TypeError) as missing:
                # The call went through, but its answer lacks what dependants need: they are
                # skipped, and the next pass reads the object back instead.
                message = f"{call.name}: response has no {'.'.join(map(str, path))} ({missing!r})"
                log.warning("output missing", kind=resource_key[0], name=resource_key[1], error=message)
                run.failed[group.key] = message
                run.errors.setdefault(resource_key, message)
                return


class WritingNotAllowed(Exception):
    """This process may no longer write (it lost the lease): the call was not sent."""


async def _issue(call: Call, run: _Run) -> dict[str, Any]:
    if not run.may_write():
        raise WritingNotAllowed(f"{call.name} not sent: this replica may no longer write")
    params = resolve(call.params, run.outputs)
    log.info("aws call", call=call.name, description=call.description)
    if call.landed is None:
        return await run.clients.service(call.service).call(call.operation, **params)
    return await _issue_checking_landed(call, params, run)


NOT_IDEMPOTENT_ATTEMPTS = 5
"""Attempts of a call with a `LandedCheck`, the first included (the SDK does not retry them)."""


async def _issue_checking_landed(call: Call, params: Mapping[str, Any], run: _Run) -> dict[str, Any]:
    assert call.landed is not None
    attempt = 1
    while True:
        try:
            return await run.clients.service(call.service).call(call.operation, **params)
        except AwsError as error:
            if not error.retryable or attempt == NOT_IDEMPOTENT_ATTEMPTS:
                raise
            # Full jitter, as botocore's standard mode does: up to 0.1 s, 0.2 s, 0.4 s...
            await asyncio.sleep(random.uniform(0, 0.1 * 2 ** (attempt - 1)))
            attempt += 1
            if not run.may_write():
                raise WritingNotAllowed(
                    f"{call.name} not retried: this replica may no longer write"
                ) from error
            if error.code in THROTTLING_CODES:
                continue  # refused before it was acted on: nothing can have landed
            landed = await _landed(call.landed, run)
            if landed is not None:
                log.info("lost response: the earlier attempt landed", call=call.name, error=str(error))
                return landed


async def _landed(check: LandedCheck, run: _Run) -> dict[str, Any] | None:
    """The read's response when it shows the call's effect; None when it does not, or fails."""
    read = check.read
    try:
        response = await run.clients.service(read.service).call(read.operation, **read.params)
    except AwsError:
        return None  # not there (yet): retrying is the only way forward
    return response if check.matches(response) else None
