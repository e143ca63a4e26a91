"""The daemon's work queue: resource keys, de-duplicated, with per-key exponential backoff.

Used by `reconciler.daemon.controller`. A key is `(kind, name)`. Adding a key that is already
waiting keeps the earlier due time; a key being worked on is never handed out twice, and one added
meanwhile is handed out again after `done`. Time comes from the clock passed in (the event loop's
in the daemon, a fake one in tests), so nothing here sleeps.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

Key = TypeVar("Key", bound=Hashable)


@dataclass(frozen=True)
class BackoffSettings:
    base_seconds: float = 1.0
    """Delay after the first retryable failure; doubles with each further failure."""
    max_seconds: float = 300.0
    """The cap: a resource that keeps failing is retried at least this often."""


@dataclass
class WorkQueue(Generic[Key]):
    clock: Callable[[], float]
    backoff: BackoffSettings = field(default_factory=BackoffSettings)
    _due: dict[Key, float] = field(default_factory=dict)
    _in_flight: set[Key] = field(default_factory=set)
    _dirty: dict[Key, float] = field(default_factory=dict)
    _failures: dict[Key, int] = field(default_factory=dict)
    retries_total: int = 0

    def add(self, key: Key, *, after: float = 0.0) -> None:
        """Schedule `key` in `after` seconds, unless it is already due sooner."""
        due = self.clock() + after
        target = self._dirty if key in self._in_flight else self._due
        target[key] = min(due, target.get(key, due))

    def add_rate_limited(self, key: Key) -> float:
        """Schedule `key` after its backoff delay, which grows with each call; returns the delay."""
        failures = self._failures.get(key, 0)
        delay: float = min(self.backoff.base_seconds * 2.0**failures, self.backoff.max_seconds)
        self._failures[key] = failures + 1
        self.retries_total += 1
        self.add(key, after=delay)
        return delay

    def forget(self, key: Key) -> None:
        """The key succeeded: its next failure starts from the base delay again."""
        self._failures.pop(key, None)

    def failures(self, key: Key) -> int:
        return self._failures.get(key, 0)

    def take_due(self) -> set[Key]:
        """Every key due now, marked in flight until `done`."""
        now = self.clock()
        due = {key for key, at in self._due.items() if at <= now}
        for key in due:
            del self._due[key]
        self._in_flight |= due
        return due

    def done(self, key: Key) -> None:
        self._in_flight.discard(key)
        if key in self._dirty:
            self._due[key] = min(self._dirty.pop(key), self._due.get(key, float("inf")))

    def discard(self, key: Key) -> None:
        """Drop a key whose document is gone."""
        self._due.pop(key, None)
        self._dirty.pop(key, None)
        self._failures.pop(key, None)

    def next_due(self) -> float | None:
        """When the earliest waiting key is due (clock time), or None when nothing waits."""
        return min(self._due.values(), default=None)

    def __len__(self) -> int:
        return len(self._due) + len(self._dirty)
