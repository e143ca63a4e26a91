"""The daemon's control loop: specs in, level-triggered passes out, status for everyone to read.

`reconciler.daemon.run` wires it to a spec source, the engine, the HTTP server and the lease. One
pass at a time: it observes and plans the whole spec set (reads stay batched), then executes only
the resources whose keys are due in the work queue, so backoff, pausing after terminal errors and
requeue-soon-while-rolling-out are per resource while AWS sees batched reads. Nothing here sleeps
inside a reconcile: the loop waits for the next due key, a spec change, the resync or the lease.

Each pass asks the engine to plan under the pass's write policy (mode and lease,
`reconciler.engine.policy`). Taking the lease starts a full pass at once; losing it cancels the
writes of the pass in flight. Each key worked on gets a typed result (`reconciler.engine.result`):
the status board, the metrics and the events (logs, webhook) are its subscribers
(`reconciler.daemon.subscribers`), and the key's requeues, combined by the earliest, go to the
work queue.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, Protocol

import structlog

from reconciler.aws.calls import CallCounter, difference, is_write
from reconciler.aws.errors import AwsError
from reconciler.daemon.metrics import Metrics
from reconciler.daemon.queue import BackoffSettings, WorkQueue
from reconciler.daemon.subscribers import (
    EventTeller,
    MetricsRecorder,
    Notifier,
    Reconciled,
    ResourceStatus,
    StatusBoard,
    Subscriber,
)
from reconciler.engine.breaker import document_hash
from reconciler.engine.executor import ExecutionResult, ResourceOutcome
from reconciler.engine.policy import Mode, pass_writes
from reconciler.engine.reconcile import Engine, Observation
from reconciler.engine.report import ResourceReport, build_report
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
from reconciler.engine.session import DeferredEngine
from reconciler.plan.steps import Action, Plan, ResourceKey
from reconciler.resources.base import TerminalPlanError
from reconciler.resources.rollout import Rollout, RolloutFailure, RolloutState, read_rollout
from reconciler.spec import SpecSet
from reconciler.spec.secrets import mask_mapping


class PassReason(StrEnum):
    """Why a pass runs, for its reads in the metrics: what each reason costs is what to tune."""

    RESYNC = "resync"
    """The periodic resync: every resource, and orphans when pruning."""
    CHANGE = "change"
    """A new valid spec set."""
    REQUEUE = "requeue"
    """Keys due again on their own: a rollout in progress, a retry, a check after a write."""


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
    """The lease as the controller uses it (`reconciler.daemon.leader.LeaderElector` fits)."""

    @property
    def is_leader(self) -> bool: ...

    async def wait_until_leader(self) -> None:
        """Return once this replica leads (at once if it does)."""

    async def wait_until_follower(self) -> None:
        """Return once this replica does not lead (at once if it does not)."""


def changed_documents(before: SpecSet, after: SpecSet) -> frozenset[ResourceKey]:
    """The documents of `after` that are new or differ from `before` in anything they ask for."""
    return frozenset(
        document.key
        for document in after
        if (earlier := before.get(document.kind, document.name)) is None
        or document_hash(earlier) != document_hash(document)
    )


class Controller:
    def __init__(
        self,
        *,
        engine: Engine | DeferredEngine,
        settings: DaemonSettings,
        metrics: Metrics,
        clock: Callable[[], float],
        wall_clock: Callable[[], float],
        call_counter: CallCounter | None = None,
        leadership: Leadership | None = None,
        work_only_while_leading: bool = False,
        notifier: Notifier | None = None,
    ) -> None:
        """`engine`: a Target's is a `DeferredEngine`, opened by the first pass that needs it.
        `work_only_while_leading`: without the lease, run no pass at all (a shard another replica
        holds: reading its account too would spend that account's budget twice for nothing); else
        a follower observes and reports without writing (the leader lease's standby)."""
        self._engine = engine
        self._plan_settings = (
            engine.plan_settings if isinstance(engine, DeferredEngine) else engine.settings.plan
        )
        self._work_only_while_leading = work_only_while_leading
        self.settings = settings
        self.metrics = metrics
        self._clock = clock
        self._wall_clock = wall_clock
        self._calls = call_counter
        self._leadership = leadership
        self.queue: WorkQueue[ResourceKey] = WorkQueue(clock=clock, backoff=settings.backoff)
        self._status_board = StatusBoard()
        # Each result goes to every subscriber in turn; none of them decides anything.
        self._subscribers: tuple[Subscriber, ...] = (
            self._status_board,
            MetricsRecorder(metrics),
            EventTeller(notifier),
        )
        self.reports: list[ResourceReport] = []
        self.spec_set: SpecSet | None = None
        self.revision = ""
        self.last_error = ""
        self.last_full_sync: float | None = None
        """Wall-clock time of the last pass that observed and planned everything without error."""
        self.heartbeat = clock()
        self.aws_reachable = False
        self.aws_unreachable_because = ""
        """The error of the last pass that could not reach AWS ("" once a pass did), for /readyz."""
        self.passes = 0
        self._parked: set[ResourceKey] = set()
        self._look_for_orphans = True
        self._last_observation: tuple[SpecSet, Observation] | None = None
        """The spec set and observation of the last pass, which a re-check of a few keys updates."""
        self._following: set[ResourceKey] = set()
        # Keys whose latest result wrote nothing and waits for nothing: their objects are as the
        # last observation saw them, unless changed behind our back (which the resync is for).
        self._settled: set[ResourceKey] = set()
        """Keys whose last result was a rollout in progress: their re-check follows the rollout."""
        self._next_reason: PassReason | None = None
        """Why the next pass runs, when something other than its keys falling due asked for it."""
        self._next_resync = clock()
        self._failed_rollouts: set[tuple[str, str | None]] = set()
        self._wake = asyncio.Event()
        self._led = self.holds_lease
        """Whether this replica held the lease when the loop last looked: taking it starts a pass."""

    # --- intake ------------------------------------------------------------------------------------

    def load(self, spec_set: SpecSet, *, revision: str) -> None:
        """A new valid spec set (this namespace's, from `reconciler.daemon.fleet`): every key is due.
        An invalid edit never reaches a controller: the fleet reports it and the set in force stays."""
        self.spec_set, self.revision = spec_set, revision
        keys = set(spec_set.keys())
        self._forget_all_but(keys)
        # A new revision may fix what a terminal error was waiting for, in this document or in one
        # it depends on: every key gets one more try (level-triggered: one batched pass).
        self._parked.clear()
        self._look_for_orphans = True  # a removed document's resource may now be prunable
        if self._next_reason is not PassReason.RESYNC:
            self._next_reason = PassReason.CHANGE
        for key in keys:
            self.queue.add(key)
        log.info("spec set loaded", revision=revision, documents=len(spec_set))
        self._wake.set()

    @property
    def statuses(self) -> dict[ResourceKey, ResourceStatus]:
        """What `/status` says about each resource."""
        return self._status_board.statuses

    def _forget_all_but(self, keys: set[ResourceKey]) -> None:
        """Drop the status and queue entry of every resource not in `keys` (documents removed,
        orphans pruned)."""
        for key in self._status_board.forget_all_but(keys):
            self.queue.discard(key)

    # --- the loop ----------------------------------------------------------------------------------

    async def run(self, stopping: asyncio.Event) -> None:
        """Run passes until `stopping` is set; a pass in flight finishes first."""
        while not stopping.is_set():
            self.heartbeat = self._clock()
            # Without a spec set yet, the first one to load starts a full pass anyway.
            took_the_lease = self._took_the_lease()
            if self._work_only_while_leading and not self._led:
                await self._wait(stopping)  # until the lease is taken (or the loop stops)
                continue
            if self.spec_set is not None and (took_the_lease or self._clock() >= self._next_resync):
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
        self._next_reason = PassReason.RESYNC
        self._next_resync = self._clock() + self.settings.resync_seconds

    def _took_the_lease(self) -> bool:
        """True once each time this replica starts to lead: nothing converged while it followed,
        so it must not wait for the resync (minutes away) to start."""
        led, self._led = self._led, self.holds_lease
        if self._led and not led:
            log.info("lease taken: a full pass now")
            return True
        return False

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
        waiters: list[asyncio.Future[Any]] = [
            asyncio.ensure_future(self._wake.wait()),
            asyncio.ensure_future(stopping.wait()),
        ]
        if self._leadership is not None and not self._led:
            waiters.append(asyncio.ensure_future(self._leadership.wait_until_leader()))
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
            report_only=self._plan_settings.report_only,
        )

    async def run_pass(self, due: set[ResourceKey]) -> None:
        spec_set = self.spec_set
        assert spec_set is not None
        started = self._clock()
        reconcile_id = f"{self.passes:06d}"
        self.passes += 1
        reason, self._next_reason = self._next_reason or PassReason.REQUEUE, None
        calls_before = self._calls.snapshot() if self._calls is not None else {}
        structlog.contextvars.bind_contextvars(reconcile_id=reconcile_id)
        try:
            try:
                # Finding orphans lists whole accounts: on resyncs and spec changes only, not on
                # every quick re-check of a rollout.
                engine = (
                    await self._engine.engine() if isinstance(self._engine, DeferredEngine) else self._engine
                )
                orphans = self._look_for_orphans and self._plan_settings.prune
                last = self._last_observation
                if reason is PassReason.REQUEUE and last is not None and last[0] is spec_set:
                    # A re-check of the due keys (a rollout, a retry, the look after a write):
                    # only their objects are read again, not the whole estate.
                    observation = await engine.observe_again(
                        spec_set, frozenset(due), last[1], following=frozenset(due & self._following)
                    )
                elif reason is PassReason.CHANGE and last is not None and not orphans:
                    # An edit in git: the documents it changed, what refers to them and what
                    # they refer to are read again; the rest is as the last pass saw it, until
                    # the resync reads everything.
                    # Unsettled keys too: an object written since it was last read (created,
                    # say) must not be planned from what was read before the write.
                    affected = spec_set.graph.affected_by(changed_documents(last[0], spec_set))
                    unsettled = set(spec_set.keys()) - self._settled
                    observation = await engine.observe_again(spec_set, affected | unsettled, last[1])
                else:
                    observation = await engine.observe(spec_set, orphans=orphans)
                self._last_observation = (spec_set, observation)
                self._look_for_orphans = False
            except (AwsError, TerminalPlanError) as error:
                self._pass_failed(due, error)
                return
            self.aws_reachable, self.aws_unreachable_because = True, ""
            # The write policy is decided once, here, for the whole pass: in report mode, or
            # without the lease, every resource is planned as held and nothing below writes.
            plan = engine.plan(spec_set, observation, mode=self.settings.mode, holds_lease=self.holds_lease)
            # Orphans are pruned in the pass that found them: they have no document to queue.
            to_run = Plan(
                tuple(
                    r
                    for r in plan
                    if (r.key in due or r.action is Action.DELETE)
                    and r.key not in self._parked
                    and r.held is None
                )
            )
            execution = None
            if to_run.has_changes:
                # The lease is asked again before every call: a fence for a lease lost mid-pass,
                # not a second policy decision.
                execution = await self._until_the_lease_is_lost(
                    engine.execute(to_run, observation, may_write=lambda: self.holds_lease)
                )
                if execution is None:
                    self._writes_stopped(due)
            self._record(spec_set, plan, observation, due, execution)
            self.last_error = ""
            self.last_full_sync = self._wall_clock()
            self.metrics.last_full_sync.set(value=self.last_full_sync)
        finally:
            mode = Mode.ENFORCE if self.writing else Mode.REPORT
            self.metrics.reconcile_duration.observe(mode, value=self._clock() - started)
            self._count_pass(reason, calls_before, keys=len(due))
            self._export_gauges()
            structlog.contextvars.unbind_contextvars("reconcile_id")

    async def _until_the_lease_is_lost(
        self, execution: Coroutine[Any, Any, ExecutionResult]
    ) -> ExecutionResult | None:
        """`execution`, cancelled the moment the lease is lost (None then).

        The executor asks the lease before each call, but a call it already let through can still
        wait for the client-side budget or the SDK's retry backoff and send again after the lease
        is gone, into a replica that now leads: cancelling ends those waits. A request already on
        the wire cannot be taken back; the lease's margin (`renew_deadline < lease_duration`) is
        there for it.
        """
        if self._leadership is None:
            return await execution
        writing = asyncio.ensure_future(execution)
        lost = asyncio.ensure_future(self._leadership.wait_until_follower())
        try:
            await asyncio.wait((writing, lost), return_when=asyncio.FIRST_COMPLETED)
        finally:
            lost.cancel()
            if not writing.done():
                writing.cancel()
                await asyncio.wait((writing,))  # unwound: no call of it is left waiting to send
        return None if writing.cancelled() else writing.result()

    def _writes_stopped(self, due: set[ResourceKey]) -> None:
        """The lease went while the pass wrote: what it wrote (or not) is for the next look."""
        self._led = False  # taking the lease again, however soon, starts a full pass
        log.warning("lease lost mid-pass: its writes stopped", keys=len(due))
        for key in due:
            self.queue.add(key, after=self.settings.converge_requeue_seconds)

    def _count_pass(self, reason: PassReason, calls_before: Mapping[str, int], *, keys: int) -> None:
        """The pass's reads, by why it ran (a rollout's re-check should cost far less than a resync)."""
        if self._calls is None:
            return
        made = difference(self._calls.snapshot(), calls_before)
        reads = sum(count for call, count in made.items() if not is_write(call))
        self.metrics.passes_total.inc(reason.value)
        self.metrics.pass_reads_total.inc(reason.value, amount=reads)
        log.info("pass done", reason=reason.value, keys=keys, reads=reads, writes=sum(made.values()) - reads)

    def _pass_failed(self, due: set[ResourceKey], error: Exception) -> None:
        self.last_error = str(error)
        self.aws_reachable = not (
            isinstance(error, AwsError) and error.retryable and error.status in (None, 0)
        )
        if not self.aws_reachable:
            self.aws_unreachable_because = str(error)
        log.warning("pass failed before planning", error=str(error), aws_reachable=self.aws_reachable)
        for key in due:
            self.queue.add_rate_limited(key)
            self.metrics.reconcile_errors_total.inc(key[0], "observe")

    def _record(
        self,
        spec_set: SpecSet,
        plan: Plan,
        observation: Observation,
        due: set[ResourceKey],
        execution: ExecutionResult | None,
    ) -> None:
        # With this pass's execution: what was written is told with the values its calls made
        # known (a new revision's ARN), not "(known after apply: ...)".
        reports = build_report(plan, spec_set, execution=execution)
        self.reports = reports
        if observation.live.orphans_observed:
            self._forget_all_but({resource.key for resource in plan})
        outcomes: Mapping[ResourceKey, ResourceOutcome] = execution.outcomes if execution is not None else {}
        results: dict[ResourceKey, list[ReconcileResult]] = {}
        for resource, report in zip(plan, reports, strict=True):
            key = resource.key
            rollout = read_rollout(observation.live.resources.get(key))
            before = self._status_board.observed(key, report, rollout)
            if key not in due and resource.action is not Action.DELETE:
                continue
            result = result_of(
                resource,
                outcomes.get(key),
                rollout,
                converge_after=self.settings.converge_requeue_seconds,
                rollout_after=self.settings.rollout_requeue_seconds,
            )
            document = spec_set.get(*key)
            event = Reconciled(
                key=key,
                result=result,
                report=report,
                status_before=before,
                rollout=rollout,
                new_rollout_failure=self._new_rollout_failure(key, result, rollout),
                applied_hash=document.spec_hash
                if isinstance(result, Changed) and document is not None
                else "",
                revision=self.revision,
            )
            for subscriber in self._subscribers:
                subscriber.reconciled(event)
            results.setdefault(key, []).append(result)
            if isinstance(result, Unchanged):
                self._settled.add(key)
            else:
                self._settled.discard(key)
            rolling = rollout is not None and rollout.summary is RolloutState.IN_PROGRESS
            if isinstance(result, Waiting) and rolling:
                self._following.add(key)
            else:
                self._following.discard(key)
        edited_meanwhile = spec_set is not self.spec_set
        for key, key_results in results.items():
            requeue = earliest(requeue_for(result, parked=key in self._parked) for result in key_results)
            if edited_meanwhile and requeue.park:
                # The specs changed while this pass ran: the failure is the older revision's, and
                # the new one is already queued for a try of its own.
                requeue = replace(requeue, park=False)
            self._requeue(key, requeue, key_results)

    def _new_rollout_failure(
        self, key: ResourceKey, result: ReconcileResult, rollout: Rollout | None
    ) -> RolloutFailure | None:
        """A failed rollout seen for the first time, so that it is told once, not every pass."""
        if not isinstance(result, Unchanged) or rollout is None or rollout.summary is not RolloutState.FAILED:
            return None
        failure = rollout.failure or RolloutFailure(task_definition=None, reason="")
        marker = (key[1], str(failure.task_definition))
        if marker in self._failed_rollouts:
            return None
        self._failed_rollouts.add(marker)
        return failure

    def _requeue(self, key: ResourceKey, requeue: Requeue, results: list[ReconcileResult]) -> None:
        error = next((result.error for result in results if isinstance(result, Failed)), "")
        if requeue.reset_backoff:
            self.queue.forget(key)
        if requeue.backoff:
            delay = self.queue.add_rate_limited(key)
            log.warning("reconcile failed; retrying", kind=key[0], name=key[1], error=error, retry_in=delay)
        if requeue.park:
            self._parked.add(key)
            log.error("reconcile failed; waiting for a spec change", kind=key[0], name=key[1], error=error)
        if requeue.after is not None:
            self.queue.add(key, after=requeue.after)

    def _export_gauges(self) -> None:
        self.metrics.queue_depth.set(value=len(self.queue))
        self.metrics.queue_retries_total.set_total(total=self.queue.retries_total)
        drifted: dict[tuple[str, ...], float] = {}
        changed: dict[tuple[str, ...], float] = {}
        fields: dict[tuple[str, ...], float] = {}
        perpetual: dict[tuple[str, ...], float] = {}
        for status in self.statuses.values():
            if status.status == "perpetual-diff":
                perpetual[(status.kind,)] = perpetual.get((status.kind,), 0) + 1
            if status.status == "drifted":
                drifted[(status.kind,)] = drifted.get((status.kind,), 0) + 1
                fields[(status.kind,)] = fields.get((status.kind,), 0) + len(status.drift)
            if status.status == "changed":
                changed[(status.kind,)] = changed.get((status.kind,), 0) + 1
        self.metrics.drifted_resources.replace(drifted)
        self.metrics.changed_resources.replace(changed)
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
        """This namespace's part of `/status` (the fleet adds the source and the spec errors)."""
        # Resource fields come from reports, already protected; errors may quote what AWS said.
        return mask_mapping(
            {
                "revision": self.revision,
                "mode": self.settings.mode,
                "writing": self.writing,
                "lastError": self.last_error,
                "lastFullSync": self.last_full_sync,
                "resources": [status.as_json() for status in self.statuses.values()],
            }
        )
