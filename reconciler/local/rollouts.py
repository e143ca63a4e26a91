"""ECS's service runtime, simulated: deployments that roll out, counts that converge, events, circuit breaker.

moto 5.2.5 keeps services static: runningCount never converges, a new task definition starts no
deployment and ``events`` stays empty. This model restores what ECS does, at the level the engine
observes it (DescribeServices): on create and on every new deployment the PRIMARY deployment starts
IN_PROGRESS with running 0 and pending = desired; ``rollout_seconds`` later it is COMPLETED, running =
desired, the older deployments have drained away and the service logs "has reached a steady state.".
A desiredCount change without a new deployment moves runningCount after the same delay. A deployment
marked to fail (:meth:`RolloutModel.fail_next_deployment`) fails as the deployment circuit breaker fails it.

Called by the ECS patches in ``patches.py`` (create, update, delete and every read of services) and by
``LocalAWS.settle`` / ``LocalAWS.fail_next_rollout``; always with the backend lock held.

Time advances lazily, on read, rather than from a ticker thread: every ECS request first brings the
services of its account and region up to the clock. That is deterministic (state changes only when a
request or a test looks, never between two statements of a test), needs no thread to start, stop or
synchronise, and differs from a ticker only in what nobody can observe.

Per-service state lives on moto's own ``Service`` object and the pending set on moto's backend, so a
moto reset wipes it with everything else. Services with a deployment controller other than ECS (CODE_DEPLOY,
EXTERNAL) are left as moto has them.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

_RUNTIME_ATTRIBUTE: Final = "_reconciler_local_runtime"
_PENDING_ATTRIBUTE: Final = "_reconciler_local_pending"
_MAX_EVENTS: Final = 100  # DescribeServices returns at most the 100 most recent events
_MAX_STEPS: Final = 8  # a rollout has at most three phases; this only guards against a bug looping


@dataclass
class _ServiceRuntime:
    """What ECS knows about a service that the API does not show: when its next change is due."""

    due_at: float | None = None
    fail_next: bool = False
    failing: set[str] = field(default_factory=set)


class RolloutModel:
    """The clock-driven part of ECS for one ``LocalAWS``: its rollout duration and its clock."""

    def __init__(self, *, rollout_seconds: float, clock: Callable[[], float]) -> None:
        self.rollout_seconds = rollout_seconds
        self._clock = clock

    # -- transitions started by API calls ------------------------------------------------------------

    def start_deployment(self, backend: Any, service: Any) -> None:
        """Start a new PRIMARY deployment of the service's current task definition (create or update).

        The previous PRIMARY becomes ACTIVE and keeps its running tasks until the new one completes.
        """
        if not _managed(service):
            return
        runtime = _runtime(service)
        new = _new_deployment(service, task_definition=service.task_definition)
        if runtime.fail_next:
            runtime.fail_next = False
            runtime.failing.add(new["id"])
        now = utcnow()
        for deployment in service.deployments:
            if deployment["status"] == "PRIMARY":
                # Superseded: ECS starts no more of its tasks and drains the running ones as the new
                # deployment comes up.
                deployment["status"] = "ACTIVE"
                deployment["pendingCount"] = 0
                deployment["updatedAt"] = now
        service.deployments = [new, *service.deployments]
        self._schedule(backend, service, runtime, self._clock())
        _sync_counts(backend, service)

    def first_deployment(self, backend: Any, service: Any) -> None:
        """Replace the deployment moto made at create with ECS's first deployment of the service."""
        if not _managed(service):
            return
        service.deployments = []
        self.start_deployment(backend, service)

    def scale(self, backend: Any, service: Any) -> None:
        """The desired count changed without a new deployment: running follows after the rollout delay."""
        if not _managed(service) or not service.deployments:
            return
        primary = service.deployments[0]
        primary["desiredCount"] = service.desired_count
        primary["updatedAt"] = utcnow()
        if primary["rolloutState"] == "IN_PROGRESS":
            primary["pendingCount"] = max(service.desired_count - primary["runningCount"], 0)
        elif primary["rolloutState"] == "COMPLETED":
            primary["pendingCount"] = max(service.desired_count - primary["runningCount"], 0)
            runtime = _runtime(service)
            if runtime.due_at is None:
                self._schedule(backend, service, runtime, self._clock())
        _sync_counts(backend, service)

    def forget(self, backend: Any, service: Any) -> None:
        """The service was deleted: nothing of it is due any more."""
        _runtime(service).due_at = None
        _pending(backend).discard(_key(service))

    def fail_next_deployment(self, backend: Any, cluster: str, service_name: str) -> None:
        """The next deployment this service starts fails its tasks, and ECS reacts as it would.

        With ``deploymentCircuitBreaker`` enabled the deployment goes FAILED ("ECS deployment circuit
        breaker: tasks failed to start."); with ``rollback`` too, ECS rolls back to the previous
        deployment's task definition, which becomes PRIMARY and COMPLETED, and the failed deployment
        drains away. Without a circuit breaker ECS keeps retrying: the deployment stays IN_PROGRESS
        with failed tasks and never completes, as on AWS. Raises ``KeyError`` for an unknown service.
        """
        key = f"{cluster.split('/')[-1]}:{service_name.split('/')[-1]}"
        _runtime(backend.services[key]).fail_next = True

    # -- time ----------------------------------------------------------------------------------------

    def advance(self, backend: Any) -> None:
        """Apply every change that is due by now to the services of this backend."""
        pending = _pending(backend)
        if not pending:
            return
        now = self._clock()
        for key in list(pending):
            service = backend.services.get(key)
            if service is None or service.status != "ACTIVE":
                pending.discard(key)
                continue
            runtime = _runtime(service)
            for _ in range(_MAX_STEPS):
                if runtime.due_at is None or runtime.due_at > now:
                    break
                self._step(backend, service, runtime)
            if runtime.due_at is None:
                pending.discard(key)

    def settle(self, backend: Any) -> None:
        """Apply every change that is due at any time, now: each service ends where its rollout ends."""
        pending = _pending(backend)
        for key in list(pending):
            service = backend.services.get(key)
            if service is not None and service.status == "ACTIVE":
                runtime = _runtime(service)
                for _ in range(_MAX_STEPS):
                    if runtime.due_at is None:
                        break
                    self._step(backend, service, runtime)
            pending.discard(key)

    def _schedule(self, backend: Any, service: Any, runtime: _ServiceRuntime, start: float) -> None:
        runtime.due_at = start + self.rollout_seconds
        _pending(backend).add(_key(service))

    def _step(self, backend: Any, service: Any, runtime: _ServiceRuntime) -> None:
        due_at = runtime.due_at
        assert due_at is not None
        runtime.due_at = None
        primary = service.deployments[0] if service.deployments else None
        if primary is None:
            return
        if primary["rolloutState"] == "IN_PROGRESS" and primary["id"] in runtime.failing:
            self._fail(service, runtime, primary, due_at)
        elif primary["rolloutState"] == "IN_PROGRESS":
            _complete(service, primary)
            runtime.failing.discard(primary["id"])
        elif primary["rolloutState"] == "COMPLETED":
            # A scaling change: the PRIMARY deployment reaches the new desired count.
            primary["runningCount"] = service.desired_count
            primary["pendingCount"] = 0
            primary["updatedAt"] = utcnow()
            _event(service, f"(service {service.name}) has reached a steady state.")
        _sync_counts(backend, service)

    def _fail(self, service: Any, runtime: _ServiceRuntime, primary: dict[str, Any], due_at: float) -> None:
        breaker = (service.deployment_configuration or {}).get("deploymentCircuitBreaker") or {}
        now = utcnow()
        primary["failedTasks"] = primary.get("failedTasks", 0) + max(service.desired_count, 1)
        primary["updatedAt"] = now
        if not breaker.get("enable"):
            # Without a circuit breaker ECS keeps launching tasks that fail; the rollout never ends.
            _event(service, f"(service {service.name}) is unable to consistently start tasks successfully.")
            return
        runtime.failing.discard(primary["id"])
        primary["rolloutState"] = "FAILED"
        primary["rolloutStateReason"] = "ECS deployment circuit breaker: tasks failed to start."
        primary["runningCount"] = 0
        primary["pendingCount"] = 0
        failed = f"(deployment {primary['id']}) deployment failed: tasks failed to start."
        _event(service, f"(service {service.name}) {failed}")
        previous = next((d for d in service.deployments[1:] if d["status"] == "ACTIVE"), None)
        if not breaker.get("rollback") or previous is None:
            return
        primary["status"] = "ACTIVE"
        service.task_definition = previous["taskDefinition"]
        rollback = _new_deployment(service, task_definition=previous["taskDefinition"])
        rollback["rolloutStateReason"] = (
            f"ECS deployment circuit breaker: rolling back to deploymentId {previous['id']}."
        )
        service.deployments = [rollback, *service.deployments]
        _event(service, f"(service {service.name}) rolling back to deployment {previous['id']}.")
        runtime.due_at = due_at + self.rollout_seconds


# -- the request context: which model serves this request ------------------------------------------------

_FALLBACK: Final = RolloutModel(rollout_seconds=0.0, clock=lambda: 0.0)
_serving: ContextVar[RolloutModel] = ContextVar("reconciler_local_rollouts", default=_FALLBACK)


@contextmanager
def serving(model: RolloutModel) -> Iterator[None]:
    """Make ``model`` the one the ECS patches use for requests handled inside this block."""
    token = _serving.set(model)
    try:
        yield
    finally:
        _serving.reset(token)


def current() -> RolloutModel:
    """The model of the server handling this request; outside a server (moto in-process), instant rollouts."""
    return _serving.get()


# -- helpers over moto's objects -------------------------------------------------------------------------


def utcnow() -> datetime:
    """moto's notion of now (naive UTC), which its serialisers expect in timestamps."""
    from moto.core.utils import utcnow as moto_utcnow

    now: datetime = moto_utcnow()
    return now


def _managed(service: Any) -> bool:
    return bool((service.deployment_controller or {}).get("type", "ECS") == "ECS")


def _key(service: Any) -> str:
    return f"{service.cluster_name}:{service.name}"


def _runtime(service: Any) -> _ServiceRuntime:
    runtime: _ServiceRuntime | None = getattr(service, _RUNTIME_ATTRIBUTE, None)
    if runtime is None:
        runtime = _ServiceRuntime()
        setattr(service, _RUNTIME_ATTRIBUTE, runtime)
    return runtime


def _pending(backend: Any) -> set[str]:
    pending: set[str] | None = getattr(backend, _PENDING_ATTRIBUTE, None)
    if pending is None:
        pending = set()
        setattr(backend, _PENDING_ATTRIBUTE, pending)
    return pending


def _is_fargate(service: Any) -> bool:
    if service.launch_type == "FARGATE":
        return True
    strategy = service.capacity_provider_strategy or []
    return any(str(item.get("capacityProvider", "")).startswith("FARGATE") for item in strategy)


def _new_deployment(service: Any, *, task_definition: str | None) -> dict[str, Any]:
    """A deployment as DescribeServices shows it on AWS, just started."""
    deployment_id = f"ecs-svc/{random.randrange(10**18, 10**19)}"
    now = utcnow()
    deployment: dict[str, Any] = {
        "id": deployment_id,
        "status": "PRIMARY",
        "taskDefinition": task_definition,
        "desiredCount": service.desired_count,
        "pendingCount": service.desired_count,
        "runningCount": 0,
        "failedTasks": 0,
        "createdAt": now,
        "updatedAt": now,
        "rolloutState": "IN_PROGRESS",
        "rolloutStateReason": f"ECS deployment {deployment_id} in progress.",
    }
    if service.capacity_provider_strategy:
        deployment["capacityProviderStrategy"] = [dict(item) for item in service.capacity_provider_strategy]
    elif service.launch_type:
        deployment["launchType"] = service.launch_type
    if service.platform_version:
        deployment["platformVersion"] = service.platform_version
    if _is_fargate(service):
        deployment["platformFamily"] = "Linux"
    if service.network_configuration:
        deployment["networkConfiguration"] = service.network_configuration
    return deployment


def _complete(service: Any, primary: dict[str, Any]) -> None:
    primary["runningCount"] = service.desired_count
    primary["pendingCount"] = 0
    primary["rolloutState"] = "COMPLETED"
    primary["rolloutStateReason"] = f"ECS deployment {primary['id']} completed."
    primary["updatedAt"] = utcnow()
    service.deployments = [primary]
    _event(service, f"(service {service.name}) (deployment {primary['id']}) deployment completed.")
    _event(service, f"(service {service.name}) has reached a steady state.")


def _event(service: Any, message: str) -> None:
    # ECS lists events newest first.
    event = {"id": str(uuid.uuid4()), "createdAt": utcnow(), "message": message}
    service.events = [event, *service.events][:_MAX_EVENTS]


def _sync_counts(backend: Any, service: Any) -> None:
    """Service counts are the sums over its deployments; the cluster's follow by the same difference.

    moto adds a service's counts to its cluster on create and subtracts them on delete, so keeping the
    cluster in step by differences keeps its task counts equal to what its services (and tasks) run.
    """
    running = sum(int(d.get("runningCount") or 0) for d in service.deployments)
    pending = sum(int(d.get("pendingCount") or 0) for d in service.deployments)
    cluster = backend.clusters.get(service.cluster_name)
    if cluster is not None and service.status == "ACTIVE":
        cluster.running_tasks_count += running - service.running_count
        cluster.pending_tasks_count += pending - service.pending_count
    service.running_count = running
    service.pending_count = pending
