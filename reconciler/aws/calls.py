"""Count AWS calls per HTTP attempt, with outcome and latency per operation.

`reconciler.aws.clients` feeds one `CallCounter` from botocore's per-attempt events
(`before-send`, `response-received`), so retries show as extra attempts, and from its wrapper for
latency. The CLI prints `counter.snapshot()` (or the `difference` between two snapshots) as the
`calls` object of its JSON output; the daemon exports all three tables as metrics; tests assert
on them ("a second plan makes no writes").

Keys are `"<service>.<Operation>"`: our short service name (ecs, ecr, elbv2, ec2,
application-autoscaling, sts, dynamodb, cloudwatch) and botocore's PascalCase operation name,
e.g. `"ecs.UpdateService"`.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

CallCounts = Mapping[str, int]
"""Attempts per `"service.Operation"` key."""

# Operations that only read. Everything else changes something and counts as a write.
_READ_PREFIXES = ("Describe", "List", "Get", "BatchGet", "Query", "Scan")


class Outcome(enum.Enum):
    """How one HTTP attempt ended."""

    OK = "ok"
    """A 2xx/3xx answer."""
    THROTTLED = "throttled"
    """AWS asked us to slow down (a throttling error code)."""
    SERVER_ERROR = "5xx"
    """A 5xx answer that was not throttling."""
    ERROR = "error"
    """Any other error answer (4xx), or no answer at all (connection error, timeout)."""


@dataclass(frozen=True)
class LatencyStats:
    """Wall-clock seconds of whole calls (or pages) of one operation, as the caller waited for
    them: client-side rate-limit waits, retries and backoff included."""

    count: int
    total_seconds: float
    max_seconds: float

    @property
    def mean_seconds(self) -> float:
        return self.total_seconds / self.count if self.count else 0.0


def key(service: str, operation: str) -> str:
    """The counting key of `service.operation`, e.g. `key("ecs", "UpdateService")`."""
    return f"{service}.{operation}"


def is_write(call_key: str) -> bool:
    """True unless the operation of `call_key` only reads (Describe*, List*, Get*, BatchGet*, ...)."""
    operation = call_key.rpartition(".")[2]
    return not operation.startswith(_READ_PREFIXES)


def difference(after: CallCounts, before: CallCounts) -> dict[str, int]:
    """Attempts made between two snapshots, keys with no new attempts left out."""
    changed = {name: count - before.get(name, 0) for name, count in after.items()}
    return {name: count for name, count in sorted(changed.items()) if count}


class CallCounter:
    """Attempts, outcomes and latency per AWS operation. Lives on one event loop; not thread-safe."""

    def __init__(self) -> None:
        self._attempts: Counter[str] = Counter()
        self._outcomes: dict[str, Counter[Outcome]] = {}
        self._latency: dict[str, LatencyStats] = {}

    def record_attempt(self, service: str, operation: str) -> None:
        """One HTTP attempt is about to be sent."""
        self._attempts[key(service, operation)] += 1

    def record_outcome(self, service: str, operation: str, outcome: Outcome) -> None:
        """One HTTP attempt ended with `outcome`."""
        self._outcomes.setdefault(key(service, operation), Counter())[outcome] += 1

    def record_latency(self, service: str, operation: str, seconds: float) -> None:
        """One whole call (all its attempts) took `seconds`."""
        name = key(service, operation)
        previous = self._latency.get(name, LatencyStats(0, 0.0, 0.0))
        self._latency[name] = LatencyStats(
            count=previous.count + 1,
            total_seconds=previous.total_seconds + seconds,
            max_seconds=max(previous.max_seconds, seconds),
        )

    def snapshot(self) -> dict[str, int]:
        """Attempts so far per key, sorted by key; a copy the caller may keep."""
        return dict(sorted(self._attempts.items()))

    def writes(self) -> dict[str, int]:
        """Like `snapshot`, only the operations that change something."""
        return {name: count for name, count in self.snapshot().items() if is_write(name)}

    def since(self, before: CallCounts) -> dict[str, int]:
        """Attempts made since `before` (an earlier `snapshot`)."""
        return difference(self.snapshot(), before)

    def total(self) -> int:
        """All attempts so far."""
        return sum(self._attempts.values())

    def outcomes(self) -> dict[str, dict[str, int]]:
        """Attempts per key and outcome, e.g. `{"ecs.UpdateService": {"ok": 1, "throttled": 2}}`."""
        return {
            name: {outcome.value: count for outcome, count in counts.items()}
            for name, counts in sorted(self._outcomes.items())
        }

    def latency(self) -> dict[str, LatencyStats]:
        """Latency of whole calls per key."""
        return dict(sorted(self._latency.items()))

    def reset(self) -> None:
        """Forget everything counted so far."""
        self._attempts.clear()
        self._outcomes.clear()
        self._latency.clear()
