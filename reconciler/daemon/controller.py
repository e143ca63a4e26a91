"""The daemon's control loop: specs in, level-triggered passes out, status for everyone to read.

`reconciler.daemon.run` wires it to a spec source, the engine, the HTTP server and the lease. One
pass at a time: it observes and plans the whole spec set (reads stay batched), then executes only
the resources whose keys are due in the work queue, so backoff, pausing after terminal errors and
requeue-soon-while-rolling-out are per resource while AWS sees batched reads. Nothing here sleeps
inside a reconcile: the loop waits for the next due key, a spec change or the resync.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog

from reconciler.aws.calls import CallCounter
from reconciler.aws.errors import AwsError
from reconciler.daemon.metrics import Metrics
from reconciler.daemon.queue import BackoffSettings, WorkQueue
from reconciler.daemon.sources import SpecSnapshot, SpecSource
from reconciler.engine.breaker import document_hash
from reconciler.engine.policy import Mode, pass_writes
from reconciler.engine.reconcile import Engine, Observation, rollout_of
from reconciler.engine.report import FieldReport, ResourceReport, build_report
from reconciler.plan.steps import Action, Plan, ResourceKey
from reconciler.resources.base import TerminalPlanError
from reconciler.spec import SpecSet
from reconciler.spec.secrets import mask_mapping

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class DaemonSettings:
    mode: Mode = Mode.ENFORCE
    """`enforce` converges every document; `report` only observes and reports (always wins)."""
    resync_seconds: float = 300.0
    """Every resource is reconciled at least this often: the periodic resync is the drift detector."""
    converge_requeue_seconds: float = 5.0
    """After writes, look again this soon: AWS reads are eventually consistent."""
    rollout_requeue_seconds: float = 10.0
    """While a rollout is in progress, look again this soon instead of waiting for the resync."""
    backoff: BackoffSettings = field(default_factory=BackoffSettings)
    """Per-resource backoff after retryable failures."""


class Leadership(Protocol):
    @property
    def is_leader(self) -> bool: ...


class Notifier(Protocol):
    def notify_event(self, event: str, report: ResourceReport, *, message: str, revision: str) -> None: ...


@dataclass
class ResourceStatus:
    """What `/status` says about one resource."""

    kind: str
    name: str
    status: str = "unknown"
    """in-sync, drifted, missing, orphaned, conflict (from the last plan), or applied: calls were
    just made and the next look confirms them."""
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
            "drift": [vars(field_report) for field_report in self.drift],
            "lastError": self.last_error,
            "errorClass": self.error_class,
            "lastAppliedSpecHash": self.last_applied_hash,
            "lastAppliedRevision": self.last_applied_revision,
            "rollout": self.rollout,
        }


class Controller:
    def __init__(
        self,
        *,
        engine: Engine,
        source: SpecSource,
        settings: DaemonSettings,
        metrics: Metrics,
        clock: Callable[[], float],
        wall_clock: Callable[[], float],
        call_counter: CallCounter | None = None,
        leadership: Leadership | None = None,
        notifier: Notifier | None = None,
    ) -> None:
        self._engine = engine
        self._source = source
        self.settings = settings
        self.metrics = metrics
        self._clock = clock
        self._wall_clock = wall_clock
        self._calls = call_counter
        self._leadership = leadership
        self._notifier = notifier
        self.queue: WorkQueue[ResourceKey] = WorkQueue(clock=clock, backoff=settings.backoff)
        self.statuses: dict[ResourceKey, ResourceStatus] = {}
        self.reports: list[ResourceReport] = []
        self.spec_set: SpecSet | None = None
        self.revision = ""
        self.spec_errors: tuple[Any, ...] = ()
        self.last_error = ""
        self.last_full_sync: float | None = None
        """Wall-clock time of the last pass that observed and planned everything without error."""
        self.heartbeat = clock()
        self.aws_reachable = False
        self.passes = 0
        self._parked: set[ResourceKey] = set()
        self._look_for_orphans = True
        self._next_resync = clock()
        self._failed_rollouts: set[tuple[str, str]] = set()
        self._wake = asyncio.Event()

    # --- intake ------------------------------------------------------------------------------------

    def accept(self, snapshot: SpecSnapshot) -> None:
        """A new snapshot: a valid one replaces the spec set; an invalid one is reported and ignored."""
        self.metrics.spec_load_errors.set(value=len(snapshot.errors))
        if not snapshot.ok or snapshot.spec_set is None:
            self.spec_errors = snapshot.errors
            log.error(
                "spec set invalid; keeping the last good one",
                revision=snapshot.revision,
                errors=[str(error) for error in snapshot.errors],
            )
            return
        self.spec_set, self.revision, self.spec_errors = snapshot.spec_set, snapshot.revision, ()
        keys = set(snapshot.spec_set.keys())
        self._forget_all_but(keys)
        # A new revision may fix what a terminal error was waiting for, in this document or in one
        # it depends on: every key gets one more try (level-triggered: one batched pass).
        self._parked.clear()
        self._look_for_orphans = True  # a removed document's resource may now be prunable
        for key in keys:
            self.queue.add(key)
        log.info("spec set loaded", revision=snapshot.revision, documents=len(snapshot.spec_set))
        self._wake.set()

    def _forget_all_but(self, keys: set[ResourceKey]) -> None:
        """Drop the status and queue entry of every resource not in `keys` (documents removed,
        orphans pruned)."""
        for key in set(self.statuses) - keys:
            self.queue.discard(key)
            del self.statuses[key]

    async def follow(self, source_stopped: asyncio.Event | None = None) -> None:
        """Feed snapshots from the source into the controller until cancelled."""
        try:
            async for snapshot in self._source.snapshots():
                self.accept(snapshot)
        finally:
            if source_stopped is not None:
                source_stopped.set()

    # --- the loop ----------------------------------------------------------------------------------

    async def run(self, stopping: asyncio.Event) -> None:
        """Run passes until `stopping` is set; a pass in flight finishes first."""
        while not stopping.is_set():
            self.heartbeat = self._clock()
            if self.spec_set is not None and self._clock() >= self._next_resync:
                self._resync()
            due = self.queue.take_due() if self.spec_set is not None else set()
            if due:
                try:
                    await self.run_pass(due)
                except Exception as error:  # the one catch-all of the worker loop (STYLE.md item 5)
                    # A bug in one pass (a kind's plan raising, say) must not stop the daemon: the
                    # keys back off and the loop goes on; CancelledError is not an Exception.
                    log.exception("pass crashed; its resources back off", error=str(error))
                    self.last_error = f"internal error: {error!r}"
                    for key in due:
                        self.queue.add_rate_limited(key)
                        self.metrics.reconcile_errors_total.inc(key[0], "internal")
                finally:
                    for key in due:
                        self.queue.done(key)
                continue
            await self._wait(stopping)

    def _resync(self) -> None:
        assert self.spec_set is not None
        for document in self.spec_set:
            self.queue.add(document.key)
        self._look_for_orphans = True
        self._next_resync = self._clock() + self.settings.resync_seconds

    async def _wait(self, stopping: asyncio.Event) -> None:
        now = self._clock()
        wake_at = min(
            [
                at
                for at in (self.queue.next_due(), self._next_resync if self.spec_set else None)
                if at is not None
            ],
            default=now + 1.0,
        )
        self._wake.clear()
        waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stopping.wait())]
        try:
            await asyncio.wait(
                waiters, timeout=max(0.0, min(wake_at - now, 1.0)), return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for waiter in waiters:
                waiter.cancel()

    @property
    def holds_lease(self) -> bool:
        """Whether this replica may write as far as leader election goes (always, without it)."""
        return self._leadership is None or self._leadership.is_leader

    @property
    def writing(self) -> bool:
        """Whether a pass starting now would write: the write policy's answer, for `/status`."""
        return pass_writes(
            mode=self.settings.mode,
            holds_lease=self.holds_lease,
            report_only=self._engine.settings.plan.report_only,
        )

    async def run_pass(self, due: set[ResourceKey]) -> None:
        spec_set = self.spec_set
        assert spec_set is not None
        started = self._clock()
        reconcile_id = f"{self.passes:06d}"
        self.passes += 1
        structlog.contextvars.bind_contextvars(reconcile_id=reconcile_id)
        try:
            try:
                # Finding orphans lists whole accounts: on resyncs and spec changes only, not on
                # every quick re-check of a rollout.
                orphans = self._look_for_orphans and self._engine.settings.plan.prune
                observation = await self._engine.observe(spec_set, orphans=orphans)
                self._look_for_orphans = False
            except (AwsError, TerminalPlanError) as error:
                self._pass_failed(due, error)
                return
            self.aws_reachable = True
            # The write policy is decided once, here, for the whole pass: in report mode, or
            # without the lease, every resource is planned as held and nothing below writes.
            plan = self._engine.plan(
                spec_set, observation, mode=self.settings.mode, holds_lease=self.holds_lease
            )
            # Orphans are pruned in the pass that found them: they have no document to queue.
            to_run = Plan(
                tuple(
                    r
                    for r in plan
                    if (r.key in due or r.action is Action.DELETE)
                    and r.key not in self._parked
                    and not r.report_only
                )
            )
            execution = None
            if to_run.has_changes:
                # The lease is asked again before every call: a fence for a lease lost mid-pass,
                # not a second policy decision.
                execution = await self._engine.execute(
                    to_run, observation, may_write=lambda: self.holds_lease
                )
            self._record(spec_set, plan, observation, due, execution)
            self.last_error = ""
            self.last_full_sync = self._wall_clock()
            self.metrics.last_full_sync.set(value=self.last_full_sync)
        finally:
            mode = Mode.ENFORCE if self.writing else Mode.REPORT
            self.metrics.reconcile_duration.observe(mode, value=self._clock() - started)
            self._export_gauges()
            structlog.contextvars.unbind_contextvars("reconcile_id")

    def _pass_failed(self, due: set[ResourceKey], error: Exception) -> None:
        self.last_error = str(error)
        self.aws_reachable = not (
            isinstance(error, AwsError) and error.retryable and error.status in (None, 0)
        )
        log.warning("pass failed before planning", error=str(error))
        for key in due:
            self.queue.add_rate_limited(key)
            self.metrics.reconcile_errors_total.inc(key[0], "observe")

    def _record(
        self,
        spec_set: SpecSet,
        plan: Plan,
        observation: Observation,
        due: set[ResourceKey],
        execution: Any,
    ) -> None:
        reports = build_report(plan, spec_set)
        self.reports = reports
        if observation.live.orphans_observed:
            self._forget_all_but({resource.key for resource in plan})
        outcomes: Mapping[ResourceKey, Any] = execution.outcomes if execution is not None else {}
        for resource, report in zip(plan, reports, strict=True):
            key = resource.key
            status = self.statuses.setdefault(key, ResourceStatus(kind=key[0], name=key[1]))
            before = status.status
            live = observation.live.resources.get(key)
            rollout = rollout_of(live)
            outcome = outcomes.get(key)
            status.status, status.action, status.message = report.status, report.action, report.message
            status.file, status.line, status.drift, status.rollout = (
                report.file,
                report.line,
                report.fields,
                rollout,
            )
            status.synced = report.status == "in-sync"
            status.ready = status.synced and rollout in (None, "COMPLETED")
            if key not in due and resource.action is not Action.DELETE:
                continue
            document = spec_set.get(*key)
            if outcome is not None and not outcome.ok:
                status.last_error = outcome.error or f"skipped: {outcome.skipped_because}"
                status.error_class = "retryable" if outcome.retryable else "terminal"
                self.metrics.reconcile_total.inc(key[0], "error")
                self.metrics.reconcile_errors_total.inc(key[0], status.error_class)
                if outcome.retryable:
                    delay = self.queue.add_rate_limited(key)
                    log.warning(
                        "reconcile failed; retrying",
                        kind=key[0],
                        name=key[1],
                        error=status.last_error,
                        retry_in=delay,
                    )
                else:
                    self._parked.add(key)
                    log.error(
                        "reconcile failed; waiting for a spec change",
                        kind=key[0],
                        name=key[1],
                        error=status.last_error,
                    )
                self._notify("failed", report, status.last_error)
                continue
            if outcome is not None:
                status.last_error, status.error_class = "", ""
                # The report above predates these calls: until the next look confirms them, the
                # resource is neither what was observed nor known to be in sync.
                status.status, status.synced, status.ready = "applied", False, False
                if document is not None:
                    status.last_applied_hash = document_hash(document)
                    status.last_applied_revision = self.revision
                self.queue.forget(key)
                self.queue.add(key, after=self.settings.converge_requeue_seconds)
                self.metrics.reconcile_total.inc(key[0], "changed")
                log.info(
                    "reconciled",
                    kind=key[0],
                    name=key[1],
                    calls=outcome.calls_made,
                    delta=[vars(f) for f in report.fields],
                )
                if before == "drifted":
                    self._notify("healed", report, "drift undone")
                continue
            self.metrics.reconcile_total.inc(
                key[0], "unchanged" if report.status == "in-sync" else "reported"
            )
            if report.status == "perpetual-diff" and before != "perpetual-diff":
                log.error("perpetual diff; writes stopped", kind=key[0], name=key[1], detail=report.message)
                self._notify("perpetual_diff", report, report.message)
            if report.status == "drifted" and before != "drifted":
                log.warning("drift", kind=key[0], name=key[1], delta=[vars(f) for f in report.fields])
                self._notify("drifted", report, report.message)
            if rollout == "FAILED":
                self._rollout_failed(key, live, report)
            elif rollout == "IN_PROGRESS" or resource.action is Action.WAITING:
                self.queue.add(key, after=self.settings.rollout_requeue_seconds)
            elif key not in self._parked:
                self.queue.forget(key)

    def _rollout_failed(self, key: ResourceKey, live: Any, report: ResourceReport) -> None:
        failed = (live.details.get("rollout") or {}).get("failed") or {}
        marker = (key[1], str(failed.get("taskDefinition")))
        if marker in self._failed_rollouts:
            return
        self._failed_rollouts.add(marker)
        self.metrics.rollouts_failed_total.inc(key[1])
        message = f"rollout of {failed.get('taskDefinition')} failed: {failed.get('reason', '')}"
        log.error("rollout failed", kind=key[0], name=key[1], detail=message)
        self._notify("rollout_failed", report, message)

    def _notify(self, event: str, report: ResourceReport, message: str) -> None:
        if self._notifier is not None:
            self._notifier.notify_event(event, report, message=message, revision=self.revision)

    def _export_gauges(self) -> None:
        self.metrics.queue_depth.set(value=len(self.queue))
        self.metrics.queue_retries_total.set_total(total=self.queue.retries_total)
        drifted: dict[tuple[str, ...], float] = {}
        fields: dict[tuple[str, ...], float] = {}
        perpetual: dict[tuple[str, ...], float] = {}
        for status in self.statuses.values():
            if status.status == "perpetual-diff":
                perpetual[(status.kind,)] = perpetual.get((status.kind,), 0) + 1
            if status.status == "drifted":
                drifted[(status.kind,)] = drifted.get((status.kind,), 0) + 1
                fields[(status.kind,)] = fields.get((status.kind,), 0) + len(status.drift)
        self.metrics.drifted_resources.replace(drifted)
        self.metrics.drifted_fields.replace(fields)
        self.metrics.perpetual_diff_resources.replace(perpetual)
        self.metrics.leader.set(value=1.0 if self.writing or self._leadership is None else 0.0)
        if self._calls is not None:
            for service_operation, outcomes in self._calls.outcomes().items():
                service, _, operation = service_operation.partition(".")
                for outcome, count in outcomes.items():
                    self.metrics.aws_calls_total.set_total(service, operation, outcome, total=count)

    # --- views -------------------------------------------------------------------------------------

    def status_json(self) -> dict[str, Any]:
        # Resource fields come from reports, already protected; errors may quote what AWS said.
        return mask_mapping(
            {
                "revision": self.revision,
                "source": self._source.location,
                "mode": self.settings.mode,
                "writing": self.writing,
                "specErrors": [str(error) for error in self.spec_errors],
                "lastError": self.last_error,
                "lastFullSync": self.last_full_sync,
                "resources": [status.as_json() for status in self.statuses.values()],
            }
        )
