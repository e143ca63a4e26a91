"""Status, metrics and events are separate subscribers of one typed result: each records its own
part and none needs another. Pure: hand-made results and reports, a recording notifier."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from reconciler.daemon.metrics import Metrics
from reconciler.daemon.subscribers import EventTeller, MetricsRecorder, Reconciled, StatusBoard
from reconciler.engine.report import ResourceReport
from reconciler.engine.result import Changed, Failed, ReconcileResult, Unchanged, Waiting
from reconciler.resources.rollout import Rollout, RolloutFailure, RolloutState

KEY = ("Service", "web")


def report(status: str) -> ResourceReport:
    return ResourceReport(
        kind=KEY[0],
        name=KEY[1],
        status=status,
        action="update" if status != "in-sync" else "none",
        file="web.yaml",
        line=1,
        message="",
        warnings=(),
        fields=(),
        calls=(),
        report_only=False,
    )


@dataclass
class RecordingNotifier:
    events: list[tuple[str, str]] = field(default_factory=list)

    def notify_event(self, event: str, report: ResourceReport, *, message: str, revision: str) -> None:
        self.events.append((event, message))


FAILURE = RolloutFailure(task_definition="web:2", reason="circuit breaker")


@pytest.mark.parametrize(
    ("result", "before", "now", "failure", "status", "error_class", "counted", "told"),
    [
        (Unchanged(), "in-sync", "in-sync", None, "in-sync", "", "unchanged", []),
        (Unchanged(), "in-sync", "drifted", None, "drifted", "", "reported", [("drifted", "")]),
        (Unchanged(), "drifted", "drifted", None, "drifted", "", "reported", []),  # told once
        (
            Unchanged(),
            "drifted",
            "perpetual-diff",
            None,
            "perpetual-diff",
            "",
            "reported",
            [("perpetual_diff", "")],
        ),
        (
            Waiting(reason="rollout", look_again_after=1.0),
            "applied",
            "in-sync",
            None,
            "in-sync",
            "",
            "unchanged",
            [],
        ),
        (
            Changed(calls=1, look_again_after=1.0),
            "drifted",
            "drifted",
            None,
            "applied",
            "",
            "changed",
            [("healed", "drift undone")],
        ),
        (Changed(calls=1, look_again_after=1.0), "missing", "missing", None, "applied", "", "changed", []),
        (
            Failed(error="Throttling", retryable=True),
            "drifted",
            "drifted",
            None,
            "drifted",
            "retryable",
            "error",
            [("failed", "Throttling")],
        ),
        (
            Failed(error="AccessDenied", retryable=False),
            "missing",
            "missing",
            None,
            "missing",
            "terminal",
            "error",
            [("failed", "AccessDenied")],
        ),
        (
            Unchanged(),
            "in-sync",
            "in-sync",
            FAILURE,
            "in-sync",
            "",
            "unchanged",
            [("rollout_failed", "rollout of web:2 failed: circuit breaker")],
        ),
    ],
)
def test_status_metrics_and_events_each_record_their_part_of_a_result(
    result: ReconcileResult,
    before: str,
    now: str,
    failure: RolloutFailure | None,
    status: str,
    error_class: str,
    counted: str,
    told: list[tuple[str, str]],
) -> None:
    board, metrics, notifier = StatusBoard(), Metrics(), RecordingNotifier()
    rollout = Rollout(state=RolloutState.COMPLETED, task_definition="web:1", failure=failure)
    board.observed(KEY, report(before), rollout)
    seen_before = board.observed(KEY, report(now), rollout)
    assert seen_before == before
    event = Reconciled(
        key=KEY,
        result=result,
        report=report(now),
        status_before=seen_before,
        rollout=rollout,
        new_rollout_failure=failure,
        applied_hash="abc123",
        revision="r2",
    )
    for subscriber in (board, MetricsRecorder(metrics), EventTeller(notifier)):
        subscriber.reconciled(event)

    recorded = board.statuses[KEY]
    assert (recorded.status, recorded.error_class) == (status, error_class)
    assert recorded.last_applied_hash == ("abc123" if isinstance(result, Changed) else "")
    assert recorded.rollout == ("FAILED" if failure is not None else "COMPLETED")
    rendered = metrics.render()
    assert f'ecs_reconciler_reconcile_total{{kind="Service",result="{counted}"}} 1' in rendered
    assert ('ecs_reconciler_rollouts_failed_total{name="web"} 1' in rendered) is (failure is not None)
    assert notifier.events == told
