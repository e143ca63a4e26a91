"""The perpetual-diff breaker: stop writing to a resource whose writes never stick.

A rewrite AWS makes that the normalisation does not know (`docs/aws-rewrites.md`) shows as the
same difference again right after the write meant to fix it, and a level-triggered engine would
write again on every pass: a new task definition revision and a deployment every resync. The
breaker remembers, per resource, the differences its last writes meant to fix. When the same
fields with the same desired values come back `limit` times in a row, with the document
unchanged, the planner stops writing to that resource and reports a `perpetual-diff` condition
with what AWS answered each time. Any change of the document or of the differences (someone fixed
the live side, the spec was edited) clears it.

Pure values and functions: the engine keeps one `DiffHistory` per process (the daemon across
passes, `apply` across its verification rounds) and the planner consults it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Set
from dataclasses import dataclass, field, replace
from typing import Any

from reconciler.engine.report import plain
from reconciler.plan.delta import Delta, format_path
from reconciler.plan.steps import Plan, ResourceKey
from reconciler.spec import Document

Signature = tuple[tuple[str, str], ...]
"""The differences a write meant to fix: (field path, desired value as canonical JSON), sorted."""


@dataclass(frozen=True)
class Attempts:
    """The writes made for one resource's same differences, and what AWS answered after each."""

    signature: Signature
    document_hash: str
    writes: int
    answers: tuple[Mapping[str, Any], ...] = ()
    """Per observation after a write: the live value of each differing field, by path."""


@dataclass(frozen=True)
class DiffHistory:
    limit: int
    """Writes of the same differences before the breaker trips (`PlanSettings.perpetual_diff_limit`)."""
    attempts: Mapping[ResourceKey, Attempts] = field(default_factory=dict)

    @property
    def repeating(self) -> frozenset[ResourceKey]:
        """Resources whose writes did not stick: after `observed`, the same differences are back."""
        return frozenset(self.attempts)

    def tripped(self, key: ResourceKey, delta: Delta, document_hash: str) -> Attempts | None:
        """The attempts that make this resource's current differences perpetual, or None."""
        attempts = self.attempts.get(key)
        if attempts is None or attempts.writes < self.limit:
            return None
        if not _among(signature_of(delta), attempts.signature) or attempts.document_hash != document_hash:
            return None
        return attempts

    def observed(self, plan: Plan, hashes: Mapping[ResourceKey, str]) -> DiffHistory:
        """After a fresh plan: forget every resource whose differences or document changed, and
        record what AWS answered for those whose same differences came back."""
        kept: dict[ResourceKey, Attempts] = {}
        for resource in plan:
            attempts = self.attempts.get(resource.key)
            if attempts is None or not resource.delta:
                continue
            if not _among(signature_of(resource.delta), attempts.signature):
                continue
            if attempts.document_hash != hashes.get(resource.key, ""):
                continue
            answer = _answer(resource.delta)
            seen = (
                attempts.answers if len(attempts.answers) >= attempts.writes else (*attempts.answers, answer)
            )
            kept[resource.key] = replace(attempts, answers=seen)
        return replace(self, attempts=kept)

    def written(
        self, plan: Plan, written: Set[ResourceKey], hashes: Mapping[ResourceKey, str]
    ) -> DiffHistory:
        """After writes succeeded for `written`: one more attempt at each one's differences."""
        attempts = dict(self.attempts)
        for resource in plan:
            if resource.key not in written or not resource.delta:
                continue
            signature = signature_of(resource.delta)
            document_hash = hashes.get(resource.key, "")
            previous = attempts.get(resource.key)
            if (
                previous is not None
                and previous.document_hash == document_hash
                and _among(signature, previous.signature)
            ):
                attempts[resource.key] = replace(previous, signature=signature, writes=previous.writes + 1)
            else:
                attempts[resource.key] = Attempts(signature, document_hash, writes=1)
        return replace(self, attempts=attempts)


def signature_of(delta: Delta) -> Signature:
    """The differences as (path, desired) pairs; a whole new object (a create) as one pair per field,
    so that a field a create did not get right counts as the same difference afterwards."""
    pairs: list[tuple[str, str]] = []
    for diff in delta:
        if not diff.path and diff.live is None and isinstance(diff.desired, Mapping):
            pairs += [(str(key), _canonical(value)) for key, value in diff.desired.items()]
        else:
            pairs.append((format_path(diff.path), _canonical(diff.desired)))
    return tuple(sorted(pairs))


def _among(signature: Signature, attempted: Signature) -> bool:
    """Whether every difference is one that the attempted writes meant to fix."""
    return bool(signature) and set(signature) <= set(attempted)


def document_hash(document: Document) -> str:
    """A stable hash of what a document asks for: any edit of it changes the hash."""
    content = {
        "kind": str(document.kind),
        "metadata": document.metadata.model_dump(mode="json"),
        "spec": document.spec.model_dump(mode="json", by_alias=True, exclude_unset=True),
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:16]


def describe(attempts: Attempts, delta: Delta) -> str:
    """The condition as one message: the fields, what AWS answered after each write (the last
    answer is the current `delta`'s live side), and what to do."""
    fields = ", ".join(path for path, _ in attempts.signature)
    answered = (*attempts.answers, _answer(delta))[: attempts.writes]
    answers = "; ".join(
        ", ".join(f"{path}={json.dumps(value, default=str)}" for path, value in answer.items())
        for answer in answered
    )
    return (
        f"perpetual-diff: {fields} still differ after {attempts.writes} writes; AWS answered {answers}. "
        "AWS probably rewrites how the spec writes this value: write it as AWS answers it "
        "(see docs/aws-rewrites.md). Writes to this resource stop until the spec or the live state changes."
    )


def _answer(delta: Delta) -> dict[str, Any]:
    return {format_path(diff.path): plain(diff.live) for diff in delta}


def _canonical(value: Any) -> str:
    return json.dumps(plain(value), sort_keys=True, default=str)
