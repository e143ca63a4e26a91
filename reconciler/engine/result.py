"""The typed answer of one reconcile of one key, and when to look at the key again.

A pass plans every key and executes some; for each key it worked on, `result_of` says what came
of it: unchanged (in sync, or its differences held and only reported), changed (calls made),
waiting (a rollout in progress, an image not pushed yet) until a given delay, or failed
(retryable or terminal). The daemon's controller hands each result to its subscribers (status,
metrics, events) and turns it into a `Requeue`; several results for one key in one pass (a
document and the orphan it replaced) combine by `earliest`. Pure: no clock, no queue.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from reconciler.engine.executor import ResourceOutcome
from reconciler.plan.steps import Action, ResourcePlan
from reconciler.resources.rollout import Rollout, RolloutState


@dataclass(frozen=True)
class Unchanged:
    """Nothing was written: the resource is in sync, or its differences are held (reported)."""


@dataclass(frozen=True)
class Changed:
    """Calls were made; the next look confirms them."""

    calls: int
    look_again_after: float
    """Seconds: AWS reads are eventually consistent, so look again soon."""


@dataclass(frozen=True)
class Waiting:
    """Something outside this pass must happen first (a rollout, an image push)."""

    reason: str
    look_again_after: float
    """Seconds until the next look, instead of the periodic resync."""


@dataclass(frozen=True)
class Failed:
    """A call failed, or the resource was skipped because something it needs failed."""

    error: str
    retryable: bool
    """True: it may go away by itself (throttling, a dependency not there yet): back off and
    retry. False: it waits for a change of the specs."""


ReconcileResult = Unchanged | Changed | Waiting | Failed


def result_of(
    resource: ResourcePlan,
    outcome: ResourceOutcome | None,
    rollout: Rollout | None,
    *,
    converge_after: float,
    rollout_after: float,
) -> ReconcileResult:
    """What one pass did for `resource`: `outcome` is its execution (None: nothing was issued),
    `rollout` what was observed of its rollout before the pass."""
    if outcome is not None and not outcome.ok:
        return Failed(
            error=outcome.error or f"skipped: {outcome.skipped_because}", retryable=outcome.retryable
        )
    if outcome is not None:
        return Changed(calls=outcome.calls_made, look_again_after=converge_after)
    summary = rollout.summary if rollout is not None else None
    if summary is RolloutState.FAILED:
        # Not waited for: ECS will not retry it, and the plan waits for a different revision.
        return Unchanged()
    if summary is RolloutState.IN_PROGRESS:
        return Waiting(reason="rollout in progress", look_again_after=rollout_after)
    if resource.action is Action.WAITING:
        return Waiting(reason=resource.message, look_again_after=rollout_after)
    return Unchanged()


@dataclass(frozen=True)
class Requeue:
    """When the controller looks at a key again."""

    after: float | None = None
    """Seconds from now; None: not before the periodic resync."""
    backoff: bool = False
    """After the key's growing backoff delay (a retryable failure, counted as one more)."""
    park: bool = False
    """Not until the spec set changes (a terminal failure)."""
    reset_backoff: bool = False
    """The key did not fail: its next failure starts again from the base delay."""


def requeue_for(result: ReconcileResult, *, parked: bool) -> Requeue:
    """The requeue one result asks for; `parked`: the key is waiting for a spec change."""
    match result:
        case Failed(retryable=True):
            return Requeue(backoff=True)
        case Failed():
            return Requeue(park=True)
        case Changed(look_again_after=after):
            return Requeue(after=after, reset_backoff=True)
        case Waiting(look_again_after=after):
            return Requeue(after=after)
        case Unchanged():
            return Requeue(reset_backoff=not parked)


def earliest(requeues: Iterable[Requeue]) -> Requeue:
    """Several requeues of one key combined: it is looked at again as soon as any asks. A backoff
    counts the failure and keeps an earlier explicit look; parking only holds when nothing asks
    for another look; the backoff resets only when nothing failed."""
    requeues = list(requeues)
    afters = [requeue.after for requeue in requeues if requeue.after is not None]
    after = min(afters) if afters else None
    backoff = any(requeue.backoff for requeue in requeues)
    park = any(requeue.park for requeue in requeues) and not backoff and after is None
    failed = backoff or any(requeue.park for requeue in requeues)
    reset = any(requeue.reset_backoff for requeue in requeues) and not failed
    return Requeue(after=after, backoff=backoff, park=park, reset_backoff=reset)
