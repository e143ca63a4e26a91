"""The typed reconcile result, the requeue each asks for, how a key's requeues combine (the
earliest look wins), and the typed rollout they read. Pure table tests: no AWS, no clock."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.engine.executor import ResourceOutcome
from reconciler.engine.result import (
    Changed,
    Failed,
    ReconcileResult,
    Requeue,
    Unchanged,
    Waiting,
    earliest,
    requeue_for,
    result_of,
)
from reconciler.plan.steps import Action, ResourcePlan
from reconciler.resources.base import LiveResource
from reconciler.resources.rollout import Rollout, RolloutFailure, RolloutState, read_rollout

KEY = ("Service", "web")
CONVERGE = 5.0
ROLLOUT = 10.0

OK = ResourceOutcome(key=KEY, ok=True, calls_made=2)
THROTTLED = ResourceOutcome(key=KEY, ok=False, calls_made=0, error="Throttling", retryable=True)
DENIED = ResourceOutcome(key=KEY, ok=False, calls_made=0, error="AccessDenied", retryable=False)
SKIPPED = ResourceOutcome(key=KEY, ok=False, calls_made=0, skipped_because="Cluster/main failed")
IN_PROGRESS = Rollout(state=RolloutState.IN_PROGRESS, task_definition="web:2")
COMPLETED = Rollout(state=RolloutState.COMPLETED, task_definition="web:2")
ROLLED_BACK = Rollout(
    state=RolloutState.COMPLETED,
    task_definition="web:1",
    failure=RolloutFailure(task_definition="web:2", reason="circuit breaker"),
)


@pytest.mark.parametrize(
    ("action", "outcome", "rollout", "expected"),
    [
        (Action.NONE, None, None, Unchanged()),
        (Action.UPDATE, None, None, Unchanged()),  # held: reported, not written
        (Action.NONE, None, COMPLETED, Unchanged()),
        (Action.UPDATE, OK, None, Changed(calls=2, look_again_after=CONVERGE)),
        (Action.UPDATE, OK, IN_PROGRESS, Changed(calls=2, look_again_after=CONVERGE)),
        (Action.UPDATE, THROTTLED, None, Failed(error="Throttling", retryable=True)),
        (Action.UPDATE, DENIED, None, Failed(error="AccessDenied", retryable=False)),
        (Action.UPDATE, SKIPPED, None, Failed(error="skipped: Cluster/main failed", retryable=True)),
        (Action.NONE, None, IN_PROGRESS, Waiting(reason="rollout in progress", look_again_after=ROLLOUT)),
        (Action.WAITING, None, None, Waiting(reason="waiting: image not found", look_again_after=ROLLOUT)),
        # A failed rollout is not waited for: ECS does not retry it, the plan waits for a new revision.
        (Action.WAITING, None, ROLLED_BACK, Unchanged()),
        (Action.NONE, None, ROLLED_BACK, Unchanged()),
    ],
)
def test_each_pass_of_a_key_has_one_typed_result(
    action: Action, outcome: ResourceOutcome | None, rollout: Rollout | None, expected: ReconcileResult
) -> None:
    resource = ResourcePlan(*KEY, action, message="waiting: image not found")
    result = result_of(resource, outcome, rollout, converge_after=CONVERGE, rollout_after=ROLLOUT)
    assert result == expected


@pytest.mark.parametrize(
    ("result", "parked", "expected"),
    [
        (Unchanged(), False, Requeue(reset_backoff=True)),
        (Unchanged(), True, Requeue()),  # a parked key keeps waiting for a spec change
        (Changed(calls=1, look_again_after=CONVERGE), False, Requeue(after=CONVERGE, reset_backoff=True)),
        (Waiting(reason="rollout", look_again_after=ROLLOUT), False, Requeue(after=ROLLOUT)),
        (Failed(error="Throttling", retryable=True), False, Requeue(backoff=True)),
        (Failed(error="AccessDenied", retryable=False), False, Requeue(park=True)),
    ],
)
def test_each_result_asks_for_its_requeue(result: ReconcileResult, parked: bool, expected: Requeue) -> None:
    assert requeue_for(result, parked=parked) == expected


RESYNC = Requeue()
RESET = Requeue(reset_backoff=True)
SOON = Requeue(after=1.0)
LATER = Requeue(after=30.0, reset_backoff=True)
BACKOFF = Requeue(backoff=True)
PARK = Requeue(park=True)


@pytest.mark.parametrize(
    ("requeues", "expected"),
    [
        ([], RESYNC),
        ([RESYNC], RESYNC),
        ([SOON, LATER], Requeue(after=1.0, reset_backoff=True)),
        ([LATER, SOON], Requeue(after=1.0, reset_backoff=True)),  # order does not matter
        ([RESYNC, LATER], LATER),  # a look before the resync beats waiting for it
        ([RESET, RESYNC], RESET),
        ([BACKOFF, LATER], Requeue(after=30.0, backoff=True)),  # failed: no reset, earlier look kept
        ([BACKOFF, RESET], BACKOFF),
        ([PARK, RESET], PARK),  # a terminal failure is not undone by another result's success
        ([PARK, SOON], SOON),  # parking holds only when nothing asks for another look
        ([PARK, BACKOFF], BACKOFF),  # a retryable failure retries
    ],
)
def test_a_keys_requeues_combine_by_the_earliest_look(requeues: list[Requeue], expected: Requeue) -> None:
    assert earliest(requeues) == expected


def _live(details: dict[str, Any]) -> LiveResource:
    return LiveResource(kind="Service", name="web", identifier="arn:web", state={}, details=details)


@pytest.mark.parametrize(
    ("details", "summary", "steady"),
    [
        ({}, None, True),  # a kind without rollouts
        ({"rollout": {"rolloutState": None, "failed": None}}, None, True),
        ({"rollout": {"rolloutState": "IN_PROGRESS", "failed": None}}, RolloutState.IN_PROGRESS, False),
        ({"rollout": {"rolloutState": "COMPLETED", "failed": None}}, RolloutState.COMPLETED, True),
        ({"rollout": {"rolloutState": "FAILED", "failed": None}}, RolloutState.FAILED, False),
        (
            {"rollout": {"rolloutState": "COMPLETED", "failed": {"taskDefinition": "web:2", "reason": "x"}}},
            RolloutState.FAILED,
            False,
        ),
        ({"rollout": {"rolloutState": "COMPLETED", "failed": True}}, RolloutState.FAILED, False),
    ],
)
def test_the_rollout_is_read_once_into_a_typed_value(
    details: dict[str, Any], summary: RolloutState | None, steady: bool
) -> None:
    rollout = read_rollout(_live(details))
    assert (rollout.summary if rollout is not None else None) is summary
    assert (rollout is None or rollout.steady) is steady


def test_a_listed_failure_names_its_revision_and_reason() -> None:
    rollout = read_rollout(
        _live(
            {
                "rollout": {
                    "rolloutState": "COMPLETED",
                    "taskDefinition": "web:1",
                    "failed": {"taskDefinition": "web:2", "reason": "circuit breaker"},
                }
            }
        )
    )
    assert rollout == ROLLED_BACK
    assert read_rollout(None) is None
