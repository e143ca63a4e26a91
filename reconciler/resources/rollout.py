"""A resource's latest rollout as a typed value, read from what its kind observed.

A kind whose objects roll out (a service) reports its latest rollout in
`LiveResource.details["rollout"]` as `{"rolloutState", "taskDefinition", "failed": {"taskDefinition",
"reason"} | None}`. `read_rollout` is the one place that reads that mapping; the planner, the
daemon, `apply --wait` and the kinds that must not act on what is still rolling out (task
definition cleanup) use the `Rollout` it returns, never the mapping.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from reconciler.resources.base import LiveResource


class RolloutState(StrEnum):
    """ECS's `rolloutState` of a deployment, spelled as ECS spells it."""

    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


@dataclass(frozen=True)
class RolloutFailure:
    """A failed deployment ECS still lists (a circuit-breaker rollback)."""

    task_definition: str | None
    reason: str


@dataclass(frozen=True)
class Rollout:
    """The latest rollout of one resource."""

    state: RolloutState | None
    """The primary deployment's state; None when ECS reports none."""
    task_definition: str | None
    """What the primary deployment runs."""
    failure: RolloutFailure | None = None
    """A failed deployment ECS still lists; whether it concerns the wanted revision is the plan's
    to say (it plans WAITING then)."""

    @property
    def summary(self) -> RolloutState | None:
        """FAILED while a failure is listed, else the primary deployment's state."""
        return RolloutState.FAILED if self.failure is not None else self.state

    @property
    def steady(self) -> bool:
        """Nothing failed and nothing still rolling out."""
        return self.failure is None and self.state in (None, RolloutState.COMPLETED)


def read_rollout(live: LiveResource | None) -> Rollout | None:
    """The latest rollout of `live`, or None for a kind without rollouts (or nothing observed)."""
    if live is None:
        return None
    details: Any = live.details.get("rollout")
    if not details:
        return None
    failed = details.get("failed")
    state = details.get("rolloutState")
    task_definition = details.get("taskDefinition")
    return Rollout(
        state=_state(state),
        task_definition=str(task_definition) if task_definition is not None else None,
        failure=_failure(failed) if failed else None,
    )


def _failure(failed: Any) -> RolloutFailure:
    # Any true value says a failure is listed; its details are there when the kind knows them.
    details: Mapping[str, Any] = failed if isinstance(failed, Mapping) else {}
    task_definition = details.get("taskDefinition")
    return RolloutFailure(
        task_definition=str(task_definition) if task_definition is not None else None,
        reason=str(details.get("reason", "")),
    )


def _state(value: Any) -> RolloutState | None:
    try:
        return RolloutState(value)
    except ValueError:
        return None  # none yet, or a state this version does not know: not a verdict either way
