"""The values a plan is made of: references to not-yet-known outputs, calls, step groups, plans.

A resource module turns a delta into `Call`s; the engine's executor issues them. A call's
parameters may hold `Ref`s to outputs of resources that do not exist yet (a target group's ARN
before it is created): the plan shows them as "known after apply" and the executor fills them in
from the outputs of the calls that ran before. Pure values: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from reconciler.plan.delta import Delta, Path
from reconciler.spec.graph import CLEANUP_PART
from reconciler.spec.graph import GroupKey as GroupKey
from reconciler.spec.models import MAIN_PART

ResourceKey = tuple[str, str]
"""(kind, metadata.name): the identity of a resource in the spec set and the work queue."""


@dataclass(frozen=True)
class Ref:
    """An output of another resource (`arn`, `id`, `uri`...) that is known only after apply."""

    kind: str
    name: str
    output: str

    def __str__(self) -> str:
        return f"(known after apply: {self.kind}/{self.name}.{self.output})"


@dataclass(frozen=True)
class LandedCheck:
    """How to tell whether an attempt of a call that is not idempotent took effect although its
    answer was lost: a read, and whether what it returns is that effect.

    A dropped RegisterTaskDefinition response would otherwise be retried into an identical extra
    revision. When `matches` holds, the read's response stands in for the call's (same shape).
    """

    read: Call
    """A read on the call's service; its response has the call's response's shape."""
    matches: Callable[[Mapping[str, Any]], bool]


@dataclass(frozen=True)
class Call:
    """One AWS API call. `operation` is botocore's snake_case method name.

    `outputs` names values of the response that later calls may refer to, as paths into it
    (`{"arn": ("targetGroups", 0, "targetGroupArn")}`); they are stored under the resource that
    owns this call.
    """

    service: str
    operation: str
    params: Mapping[str, Any]
    outputs: Mapping[str, Path] = field(default_factory=dict)
    description: str = ""
    landed: LandedCheck | None = field(default=None, compare=False)
    """Set on calls that are not idempotent: they are retried by the executor, which checks
    before each retry whether an earlier attempt landed (never by the SDK, which cannot). How a
    call is retried is not what it is: left out of equality."""

    @property
    def name(self) -> str:
        """`ecs.UpdateService`: the same key the call counter uses."""
        return f"{self.service}.{_pascal(self.operation)}"


def _pascal(snake: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in snake.split("_"))


MAIN = MAIN_PART
"""The group of a resource's own object: what others wait for unless a reference says otherwise."""

CLEANUP = CLEANUP_PART
"""A group that deletes a resource's own old objects (a family's old task definition revisions):
its calls count against the pass's one delete budget, as orphan deletions do."""


@dataclass(frozen=True)
class StepGroup:
    """Calls that run in order, after every group in `after` has finished. Kinds leave `after`
    empty: the planner fills it from the spec set's dependency graph (`reconciler.spec.graph`)."""

    key: GroupKey
    calls: tuple[Call, ...]
    after: frozenset[GroupKey] = frozenset()


class Action(StrEnum):
    NONE = "none"
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"
    CONFLICT = "conflict"
    WAITING = "waiting"
    PAUSED = "paused"
    PERPETUAL_DIFF = "perpetual-diff"
    """Writes stopped: the same differences came back after every write meant to fix them."""


class Hold(StrEnum):
    """Why a planned resource's calls are not issued this pass (the write policy's verdict)."""

    REPORT_MODE = "report-mode"
    """The pass does not write: `run --mode report`, or a replica that does not hold the lease."""
    SELF_HEAL_OFF = "self-heal-off"
    """The document says `ecs-reconciler/self-heal: "false"`: its drift is reported, never undone."""
    DELETE_HELD = "delete-held"
    """A deletion held back: no `--prune`, beyond the delete budget, the mass-prune guard, or a
    replaced object whose successor is not steady yet."""
    PERPETUAL_DIFF = "perpetual-diff"
    """The same differences came back after every write meant to fix them: writes stopped."""


class Status(StrEnum):
    """A resource's drift status, as `drift` reports it."""

    IN_SYNC = "in-sync"
    DRIFTED = "drifted"
    """Live differs from a document that has not changed since the resource was converged: AWS moved."""
    CHANGED = "changed"
    """Live differs because the document changed since the resource was converged: git moved,
    and the change is not applied yet."""
    MISSING = "missing"
    ORPHANED = "orphaned"
    CONFLICT = "conflict"
    PERPETUAL_DIFF = "perpetual-diff"


@dataclass(frozen=True)
class ResourcePlan:
    """What the plan does to one resource, and why."""

    kind: str
    name: str
    action: Action
    delta: Delta = field(default_factory=Delta)
    groups: tuple[StepGroup, ...] = ()
    message: str = ""
    warnings: tuple[str, ...] = ()
    held: Hold | None = None
    """Why the calls are shown but not issued; None: they are issued."""
    spec_changed: bool = False
    """The differences follow an edit of the document (git moved) rather than a change made in
    AWS: the spec hash recorded on the resource is not the document's (`reconciler.engine.planner`
    decides it). False for drift, and where nothing differs."""
    notes: tuple[str, ...] = ()
    """What a reader should know that is neither a difference nor a warning (a desired count the
    scaler owns)."""

    @property
    def key(self) -> ResourceKey:
        return (self.kind, self.name)

    @property
    def report_only(self) -> bool:
        """The calls are only shown (for whatever reason `held` gives)."""
        return self.held is not None

    @property
    def calls(self) -> tuple[Call, ...]:
        return tuple(call for group in self.groups for call in group.calls)

    @property
    def status(self) -> Status:
        if self.action is Action.CONFLICT:
            return Status.CONFLICT
        if self.action is Action.CREATE:
            return Status.MISSING
        if self.action is Action.DELETE:
            return Status.ORPHANED
        if self.action is Action.PERPETUAL_DIFF:
            return Status.PERPETUAL_DIFF
        if not self.delta:
            return Status.IN_SYNC
        return Status.CHANGED if self.spec_changed else Status.DRIFTED


@dataclass(frozen=True)
class Plan:
    resources: tuple[ResourcePlan, ...]

    def __iter__(self) -> Iterator[ResourcePlan]:
        return iter(self.resources)

    @property
    def calls(self) -> tuple[Call, ...]:
        return tuple(
            call for resource in self.resources if not resource.report_only for call in resource.calls
        )

    @property
    def has_changes(self) -> bool:
        return any(resource.calls and not resource.report_only for resource in self.resources)

    def get(self, kind: str, name: str) -> ResourcePlan | None:
        for resource in self.resources:
            if resource.key == (kind, name):
                return resource
        return None
