"""The daemon's estate: one controller per namespace, each converging its own target.

`reconciler.daemon.run` builds one `Fleet` and feeds it the spec source's snapshots. A valid
snapshot hands each namespace its spec set: a namespace seen for the first time gets a `TargetRun`
of its own (a controller with its own engine, clients, caches, work queue and metrics, made by the
run's factory), a namespace that left the estate (its Target removed) or whose Target now points
elsewhere stops, after its pass in flight. An invalid snapshot reaches no controller: the last
good estate stays in force everywhere and the fleet says why (`spec_errors`, the spec metrics,
`/readyz`, `/status`).

Targets fail alone: each run's controller backs off its own keys when its role cannot be assumed,
its account throttles or its Region does not answer, and the others carry on. With a lease table
every Target is a shard (`reconciler.daemon.shards`) whose lease its controller waits on; the
default namespace keeps the leader lease it always had, so a tree without Targets runs exactly as
before namespaces existed, and so do the views: `/status`, `/drift` and `/metrics` group by target
only when the estate has Targets.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog

from reconciler.daemon.controller import Controller
from reconciler.daemon.leader import LeaderElector
from reconciler.daemon.metrics import Metrics, render_labelled
from reconciler.daemon.shards import ShardCoordinator, ShardLease
from reconciler.daemon.sources import SpecSnapshot
from reconciler.engine.observe import ProcessCache
from reconciler.engine.report import ResourceReport, render_markdown, report_as_json, summarise
from reconciler.engine.session import DeferredEngine
from reconciler.spec import SpecError
from reconciler.spec.estate import DEFAULT_NAMESPACE_LABEL, Estate, Namespace
from reconciler.spec.secrets import mask_mapping, mask_text
from reconciler.spec.targets import Target

log = structlog.get_logger(__name__)


@dataclass
class TargetRun:
    """One namespace's controller and what it runs on, as the fleet keeps it."""

    namespace: Namespace
    target: Target | None
    """The Target document; None for the default namespace (the daemon's own account)."""
    controller: Controller
    metrics: Metrics
    """This target's metrics (the controller's); `/metrics` labels them with the target."""
    cache: ProcessCache
    """The engine's cache: the account id once the first pass learnt it."""
    region: str
    engine: DeferredEngine | None = None
    """A Target's clients, closed when the run ends; None when the run uses the daemon's own."""
    lease: LeaderElector | ShardLease | None = None
    """What the controller's writes wait on; None without a lease table."""
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    @property
    def name(self) -> str:
        """The target's name in outputs: the Target's, or `default`."""
        return self.namespace or DEFAULT_NAMESPACE_LABEL

    @property
    def account_id(self) -> str | None:
        return self.target.account_id if self.target is not None else self.cache.account_id

    @property
    def holder(self) -> str | None:
        """Who holds this target's lease as last seen (None: no lease, or not known yet)."""
        if isinstance(self.lease, LeaderElector):
            return self.lease.leader_identity
        if isinstance(self.lease, ShardLease):
            return self.lease.holder
        return None

    def place_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "namespace": self.namespace,
            "accountId": self.account_id,
            "region": self.region,
        }


RunFactory = Callable[[Namespace, Target | None], TargetRun]
"""Makes the run of one namespace (its Target, or None for the default namespace)."""


class Fleet:
    """The controllers of the estate in force; see the module docstring.

    `new_run` makes a namespace's run (`reconciler.daemon.run` wires engines and leases);
    `shards`, with a lease table, shares the Targets with the other replicas.
    """

    def __init__(
        self,
        *,
        new_run: RunFactory,
        metrics: Metrics,
        source_location: str,
        clock: Callable[[], float],
        wall_clock: Callable[[], float],
        shards: ShardCoordinator | None = None,
    ) -> None:
        self._new_run = new_run
        self.metrics = metrics
        """The daemon's own metrics (the spec set's); each run has its target's."""
        self._source_location = source_location
        self._clock = clock
        self._wall_clock = wall_clock
        self._shards = shards
        self._shards_task: asyncio.Task[None] | None = None
        self._runs: dict[Namespace, TargetRun] = {}
        self._retiring: dict[Namespace, asyncio.Task[None]] = {}
        """Runs told to stop whose pass may still be in flight: a new run of the same namespace
        starts only once the old one ended, so one target never has two controllers writing."""
        self._running = False
        self.estate: Estate | None = None
        self.revision = ""
        self.spec_errors: tuple[SpecError, ...] = ()
        self.heartbeat = clock()
        self.metrics.spec_valid.set(value=0.0)  # until a valid set is loaded
        # The default namespace's run is there from the start, as the one controller of a tree
        # without Targets always was: /status and /readyz speak for it before anything loaded. An
        # estate with documents in Targets only retires it.
        self._runs[None] = new_run(None, None)

    # --- intake ------------------------------------------------------------------------------------

    def accept(self, snapshot: SpecSnapshot) -> None:
        """A new snapshot: a valid one is handed out namespace by namespace; an invalid one is
        reported and changes nothing."""
        self.metrics.spec_load_errors.set(value=len(snapshot.errors))
        if not snapshot.ok or snapshot.estate is None:
            self.spec_errors = snapshot.errors
            self.metrics.spec_valid.set(value=0.0)
            log.error(
                "spec set invalid; keeping the last good one",
                revision=snapshot.revision,
                errors=[str(error) for error in snapshot.errors],
            )
            return
        estate = snapshot.estate
        self.estate, self.revision, self.spec_errors = estate, snapshot.revision, ()
        self.metrics.spec_valid.set(value=1.0)
        self.metrics.last_good_spec_load.set(value=self._wall_clock())
        for namespace, running in list(self._runs.items()):
            target = estate.target(namespace) if namespace is not None else None
            if namespace not in estate.namespaces or (
                target is not None and target.spec != _spec_of(running)
            ):
                self._retire(running)
        for namespace, spec_set in estate.namespaces.items():
            run = self._runs.get(namespace)
            if run is None:
                run = self._new_run(namespace, estate.target(namespace) if namespace is not None else None)
                self._runs[namespace] = run
                if self._running:
                    self._start(run)
            run.controller.load(spec_set, revision=snapshot.revision)
        self.metrics.targets.replace(
            {(target.name, target.account_id, target.region): 1.0 for target in estate.targets}
        )
        if self._shards is not None:
            self._shards.set_shards(target.name for target in estate.targets)
            if self._running and estate.targets:
                self._start_shards()

    async def follow(self, snapshots: AsyncIterator[SpecSnapshot]) -> None:
        """Feed snapshots into the fleet until they end or this is cancelled."""
        async for snapshot in snapshots:
            self.accept(snapshot)

    # --- running -----------------------------------------------------------------------------------

    async def run(self, stopping: asyncio.Event) -> None:
        """Run every namespace's controller until `stopping` is set, then let each finish its pass
        in flight. Cancelled, it cancels them."""
        self._running = True
        for run in self._runs.values():
            self._start(run)
        if self._shards is not None and self.estate is not None and self.estate.targets:
            self._start_shards()
        try:
            while not stopping.is_set():
                self.heartbeat = self._clock()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), timeout=1.0)
            for run in self._runs.values():
                run.stop.set()
            await asyncio.gather(*self._tasks())
        finally:
            for task in self._tasks():
                task.cancel()
            await asyncio.gather(*self._tasks(), return_exceptions=True)

    async def release_shards(self) -> None:
        """Give back every shard held (after the controllers stopped writing) and stop sharing."""
        if self._shards is None or self._shards_task is None:
            return
        await self._shards.release()
        self._shards_task.cancel()
        await asyncio.gather(self._shards_task, return_exceptions=True)

    def _tasks(self) -> list[asyncio.Task[None]]:
        return [run.task for run in self._runs.values() if run.task is not None] + list(
            self._retiring.values()
        )

    def _start(self, run: TargetRun) -> None:
        previous = self._retiring.get(run.namespace)
        run.task = asyncio.create_task(self._drive(run, after=previous), name=f"target-{run.name}")

    def _start_shards(self) -> None:
        if self._shards is not None and self._shards_task is None:
            self._shards_task = asyncio.create_task(self._shards.run(), name="shard-coordinator")

    def _retire(self, run: TargetRun) -> None:
        del self._runs[run.namespace]
        run.stop.set()
        log.info("target retired", target=run.name)
        if run.task is not None:
            task = run.task
            self._retiring[run.namespace] = task
            task.add_done_callback(lambda _: self._retiring.pop(run.namespace, None))

    async def _drive(self, run: TargetRun, *, after: asyncio.Task[None] | None) -> None:
        """One run's controller loop, its log lines naming the target; its clients closed at the end."""
        if after is not None:
            await asyncio.gather(after, return_exceptions=True)
        context = {"target": run.name, "region": run.region} if self.has_targets else {}
        if run.target is not None:
            context["account"] = run.target.account_id
        try:
            with structlog.contextvars.bound_contextvars(**context):
                await run.controller.run(run.stop)
        finally:
            if run.engine is not None:
                await run.engine.aclose()

    # --- views -------------------------------------------------------------------------------------

    @property
    def has_targets(self) -> bool:
        """Whether the estate in force places documents in Targets (views then group by target)."""
        return self.estate is not None and self.estate.has_targets

    @property
    def runs(self) -> tuple[TargetRun, ...]:
        return tuple(self._runs.values())

    def run_of(self, namespace: Namespace) -> TargetRun | None:
        return self._runs.get(namespace)

    @property
    def stalled_since(self) -> float:
        """The oldest heartbeat among the fleet's loop and every controller's."""
        return min([self.heartbeat, *(run.controller.heartbeat for run in self._runs.values() if run.task)])

    def readiness(self, *, leadership_known: bool) -> tuple[bool, list[str]]:
        """Whether this replica converges what it should, and what a reader should know.

        Ready means: a valid spec set is in force and AWS answers, so this replica converges. An
        invalid edit does not take that away (the last good set stays in force and is converged),
        so it is named in the reasons without making the replica unready: pulling a working
        replica out of service would not bring the edit any closer to valid. With Targets, one
        target that fails is named, not a reason to be unready (the others carry on); every
        target this replica works on failing is."""
        reasons: list[str] = []
        ready = True
        if self.estate is None:
            ready = False
            reasons.append("no valid spec set loaded" + _spec_errors_summary(self.spec_errors))
        elif self.spec_errors:
            reasons.append(
                "the latest spec edit is invalid"
                + _spec_errors_summary(self.spec_errors)
                + f"; the last good set (revision {self.revision}) stays in force"
            )
        working = [run for run in self._runs.values() if _works(run)]
        failing = [(run, why) for run in working if (why := _failing(run, by_target=self.has_targets))]
        reasons += [f"target {run.name}: {why}" if self.has_targets else why for run, why in failing]
        if working and len(failing) == len(working):
            ready = False
        if not leadership_known:
            ready = False
            reasons.append("leadership not known yet")
        return ready, reasons

    def status_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "revision": self.revision,
            "source": self._source_location,
            "specErrors": [str(error) for error in self.spec_errors],
        }
        default = self._runs.get(None)
        if not self.has_targets:
            if default is not None:
                body.update(default.controller.status_json())
                body["revision"] = self.revision
            lease = default.lease if default is not None else None
            if isinstance(lease, LeaderElector):
                body["leader"] = {"isLeader": lease.is_leader, "holder": lease.leader_identity}
            return mask_mapping(body)
        body["targets"] = [
            {
                **run.place_json(),
                **run.controller.status_json(),
                "lease": None if run.lease is None else {"held": run.lease.is_leader, "holder": run.holder},
            }
            for run in self._runs.values()
        ]
        if self._shards is not None:
            body["replicas"] = list(self._shards.replicas)
        return mask_mapping(body)

    def drift_json(self) -> dict[str, Any]:
        """`/drift`: drift (and what is missing, orphaned, in conflict) in `resources`; changes of
        the specs not applied yet apart, in `changes`: git moved, nobody changed AWS."""
        if not self.has_targets:
            default = self._runs.get(None)
            reports = default.controller.reports if default is not None else []
            return {"revision": self.revision, **_drift_of(reports)}
        every = [report for run in self._runs.values() for report in run.controller.reports]
        return {
            "revision": self.revision,
            "summary": summarise(every).as_json(),
            "targets": [
                {
                    **run.place_json(),
                    "error": _one_line(run.controller.last_error),
                    **_drift_of(run.controller.reports),
                }
                for run in self._runs.values()
            ],
        }

    def drift_markdown(self) -> str:
        if not self.has_targets:
            default = self._runs.get(None)
            return render_markdown(default.controller.reports if default is not None else [])
        parts = []
        for run in self._runs.values():
            title = f"drift: target {run.name} ({run.account_id or 'account unknown'}, {run.region})"
            part = render_markdown(run.controller.reports, title=title)
            if run.controller.last_error:
                part += f"\n**failing**: {_one_line(run.controller.last_error)}\n"
            parts.append(part)
        return "\n".join(parts)

    def metrics_text(self) -> str:
        if not self.has_targets:
            default = self._runs.get(None)
            parts: list[tuple[Mapping[str, str], Metrics]] = [({}, self.metrics)]
            if default is not None and default.metrics is not self.metrics:
                parts.append(({}, default.metrics))
            return render_labelled(parts)
        return render_labelled(
            [({}, self.metrics), *(({"target": run.name}, run.metrics) for run in self._runs.values())]
        )


def _spec_of(run: TargetRun) -> object:
    return run.target.spec if run.target is not None else None


def _works(run: TargetRun) -> bool:
    """Whether this replica converges the run's target now: no lease, the leader lease (whose
    standby reports), or a shard it holds."""
    return not isinstance(run.lease, ShardLease) or run.lease.is_leader


def _one_line(error: str) -> str | None:
    """An error as one masked line for the views, or None without one."""
    return mask_text(error.splitlines()[0]) if error else None


def _failing(run: TargetRun, *, by_target: bool) -> str:
    """Why a run's target is not converged at all, or "": AWS not reached; with Targets also a
    pass that failed as a whole (its role refused, say), which on one account is `lastError`."""
    controller = run.controller
    if not controller.aws_reachable:
        because = controller.aws_unreachable_because
        return f"AWS not reachable: {because}" if because else "AWS not reached yet"
    if by_target and controller.last_error:
        return f"failing: {controller.last_error}"
    return ""


def _drift_of(reports: list[ResourceReport]) -> dict[str, Any]:
    differing = [report for report in report_as_json(reports) if report["status"] != "in-sync"]
    return {
        "summary": summarise(reports).as_json(),
        "resources": [report for report in differing if report["status"] != "changed"],
        "changes": [report for report in differing if report["status"] == "changed"],
    }


def _spec_errors_summary(errors: tuple[SpecError, ...]) -> str:
    """`: 2 errors, the first file.yaml:12: ...`, or "" without errors."""
    if not errors:
        return ""
    count = f"{len(errors)} error" if len(errors) == 1 else f"{len(errors)} errors"
    return f" ({count}, the first: {errors[0]})"


__all__ = ["Fleet", "RunFactory", "TargetRun"]
