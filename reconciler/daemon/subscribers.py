"""What the daemon does with each reconcile result: status, metrics and events, one subscriber each.

`reconciler.daemon.controller` makes a `Reconciled` for every key a pass worked on and hands it to
each subscriber in turn; none of them decides anything (what to write, when to look again): they
record, count and tell. The `/status` view of every planned resource (worked on or not) is kept by
`StatusBoard.observed`.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog

from reconciler.daemon.metrics import Metrics
from reconciler.engine.report import FieldReport, ResourceReport, field_as_json
from reconciler.engine.result import Changed, Failed, ReconcileResult
from reconciler.plan.steps import ResourceKey
from reconciler.resources.rollout import Rollout, RolloutFailure, RolloutState

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Reconciled:
    """One key's result of one pass, with what the subscribers need to record it."""

    key: ResourceKey
    result: ReconcileResult
    report: ResourceReport
    """The plan's report of the resource (made before this pass's calls)."""
    status_before: str
    """The resource's `/status` status before this pass (`drifted`, `in-sync`, ...)."""
    rollout: Rollout | None
    new_rollout_failure: RolloutFailure | None = None
    """A failed rollout seen for the first time (each failure is told once)."""
    applied_hash: str = ""
    """For a `Changed` result: the spec hash of the document the calls converged to (`Document.spec_hash`,
    the value its `ecs-reconciler/spec-hash` tag records)."""
    revision: str = ""
    """The spec revision of the pass."""


class Subscriber(Protocol):
    def reconciled(self, event: Reconciled) -> None: ...


@dataclass
class ResourceStatus:
    """What `/status` says about one resource."""

    kind: str
    name: str
    status: str = "unknown"
    """in-sync, drifted, changed (the spec changed in git, not applied yet), missing, orphaned,
    conflict (from the last plan), or applied: calls were just made and the next look confirms
    them."""
    action: str = ""
    synced: bool = False
    ready: bool = False
    file: str = ""
    line: int = 0
    message: str = ""
    drift: tuple[FieldReport, ...] = ()
    last_error: str = ""
    error_class: str = ""
    last_applied_hash: str = ""
    last_applied_revision: str = ""
    rollout: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "status": self.status,
            "action": self.action,
            "synced": self.synced,
            "ready": self.ready,
            "file": self.file,
            "line": self.line,
            "message": self.message,
            "drift": [field_as_json(field_report) for field_report in self.drift],
            "lastError": self.last_error,
            "errorClass": self.error_class,
            "lastAppliedSpecHash": self.last_applied_hash,
            "lastAppliedRevision": self.last_applied_revision,
            "rollout": self.rollout,
        }


@dataclass
class StatusBoard:
    """`/status`: the last plan's view of every resource, and what the last reconcile of each did."""

    statuses: dict[ResourceKey, ResourceStatus] = field(default_factory=dict)

    def observed(self, key: ResourceKey, report: ResourceReport, rollout: Rollout | None) -> str:
        """Record the last plan's report of `key`; returns the status it had before."""
        status = self.statuses.setdefault(key, ResourceStatus(kind=key[0], name=key[1]))
        before = status.status
        summary = rollout.summary if rollout is not None else None
        status.status, status.action, status.message = report.status, report.action, report.message
        status.file, status.line, status.drift = report.file, report.line, report.fields
        status.rollout = summary.value if summary is not None else None
        status.synced = report.status == "in-sync"
        status.ready = status.synced and summary in (None, RolloutState.COMPLETED)
        return before

    def forget_all_but(self, keys: Set[ResourceKey]) -> set[ResourceKey]:
        """Drop every resource not in `keys`; returns the dropped keys."""
        dropped = set(self.statuses) - keys
        for key in dropped:
            del self.statuses[key]
        return dropped

    def reconciled(self, event: Reconciled) -> None:
        status = self.statuses[event.key]
        match event.result:
            case Failed(error=error, retryable=retryable):
                status.last_error = error
                status.error_class = "retryable" if retryable else "terminal"
            case Changed():
                status.last_error, status.error_class = "", ""
                # The report predates these calls: until the next look confirms them, the
                # resource is neither what was observed nor known to be in sync.
                status.status, status.synced, status.ready = "applied", False, False
                if event.applied_hash:
                    status.last_applied_hash = event.applied_hash
                    status.last_applied_revision = event.revision
            case _:
                pass


@dataclass
class MetricsRecorder:
    """Counts reconciles by outcome, errors by class, and failed rollouts."""

    metrics: Metrics

    def reconciled(self, event: Reconciled) -> None:
        kind = event.key[0]
        match event.result:
            case Failed(retryable=retryable):
                self.metrics.reconcile_total.inc(kind, "error")
                self.metrics.reconcile_errors_total.inc(kind, "retryable" if retryable else "terminal")
            case Changed():
                self.metrics.reconcile_total.inc(kind, "changed")
            case _:
                self.metrics.reconcile_total.inc(
                    kind, "unchanged" if event.report.status == "in-sync" else "reported"
                )
        if event.new_rollout_failure is not None:
            self.metrics.rollouts_failed_total.inc(event.key[1])


class Notifier(Protocol):
    def notify_event(self, event: str, report: ResourceReport, *, message: str, revision: str) -> None: ...


@dataclass
class EventTeller:
    """Logs what happened to a resource and tells the webhook (when there is one): failed,
    healed, drifted, perpetual diff, rollout failed."""

    notifier: Notifier | None = None

    def reconciled(self, event: Reconciled) -> None:
        key, report, before = event.key, event.report, event.status_before
        match event.result:
            case Failed(error=error):
                self._notify("failed", event, error)
            case Changed(calls=calls):
                log.info(
                    "reconciled",
                    kind=key[0],
                    name=key[1],
                    status=report.status,
                    calls=calls,
                    delta=[vars(f) for f in report.fields],
                )
                if before == "drifted":
                    self._notify("healed", event, "drift undone")
            case _:
                if report.status == "perpetual-diff" and before != "perpetual-diff":
                    log.error(
                        "perpetual diff; writes stopped", kind=key[0], name=key[1], detail=report.message
                    )
                    self._notify("perpetual_diff", event, report.message)
                if report.status == "drifted" and before != "drifted":
                    log.warning("drift", kind=key[0], name=key[1], delta=[vars(f) for f in report.fields])
                    self._notify("drifted", event, report.message)
        failure = event.new_rollout_failure
        if failure is not None:
            message = f"rollout of {failure.task_definition} failed: {failure.reason}"
            log.error("rollout failed", kind=key[0], name=key[1], detail=message)
            self._notify("rollout_failed", event, message)

    def _notify(self, kind_of_event: str, event: Reconciled, message: str) -> None:
        if self.notifier is not None:
            self.notifier.notify_event(kind_of_event, event.report, message=message, revision=event.revision)
