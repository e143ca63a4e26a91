"""The one dependency graph between documents, built from the references each kind declares.

Every ordering the engine needs comes from here: which step group of a document waits for which
step group of another (creation and update; validation refuses cycles over the same creation
edges, ``reconciler.spec.references.find_cycles``), and who refers to a document (a kind that
needs another kind's facts asks the graph, never that kind's package). Deletion walks the same
edges backwards: a cleanup group (an old target group, old task definition revisions) runs after
everything that refers to its document. A step group is ``(kind, name, part)``; a document's
groups run in the order its kind lists them. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from reconciler.spec.document import Document, DocumentKey
from reconciler.spec.references import Reference, all_references

GroupKey = tuple[str, str, str]
"""``(kind, name, part)``: one step group of one document (``reconciler.plan.steps.GroupKey``)."""

CLEANUP_PART = "cleanup"
"""The step group that removes what a document replaced: after every document referring to it."""


@dataclass(frozen=True)
class DependencyGraph:
    """The references among one spec set's documents, indexed both ways."""

    references: tuple[Reference, ...]
    _from: Mapping[DocumentKey, tuple[Reference, ...]] = field(init=False, repr=False)
    _to: Mapping[DocumentKey, tuple[Reference, ...]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        outgoing: dict[DocumentKey, list[Reference]] = {}
        incoming: dict[DocumentKey, list[Reference]] = {}
        for reference in self.references:
            outgoing.setdefault(reference.source, []).append(reference)
            incoming.setdefault(reference.target, []).append(reference)
        object.__setattr__(self, "_from", {key: tuple(value) for key, value in outgoing.items()})
        object.__setattr__(self, "_to", {key: tuple(value) for key, value in incoming.items()})

    @classmethod
    def of(cls, documents: Iterable[Document]) -> DependencyGraph:
        return cls(all_references(documents))

    def references_from(self, key: DocumentKey) -> tuple[Reference, ...]:
        """What the document ``key`` refers to, in the order written."""
        return self._from.get(key, ())

    def referrers(self, key: DocumentKey, *, of_kind: str | None = None) -> tuple[Reference, ...]:
        """The references to ``key`` (of documents of ``of_kind`` only, when given), in document order."""
        return tuple(
            reference
            for reference in self._to.get(key, ())
            if of_kind is None or reference.source_kind == of_kind
        )

    def affected_by(self, changed: Iterable[DocumentKey]) -> frozenset[DocumentKey]:
        """The documents whose plan may change when ``changed`` change: those, everything that
        refers to them (transitively: a repository renamed changes its task definitions' images,
        and so their services), and what each of these refers to (whose outputs their plans
        read)."""
        affected = set(changed)
        pending = list(affected)
        while pending:
            for referrer in self._to.get(pending.pop(), ()):
                if referrer.source not in affected:
                    affected.add(referrer.source)
                    pending.append(referrer.source)
        referenced = {reference.target for key in affected for reference in self._from.get(key, ())}
        return frozenset(affected | referenced)

    def waits_for(self, group: GroupKey) -> frozenset[GroupKey]:
        """The other documents' step groups that ``group`` runs after.

        A reference made from ``group``'s part waits for the part of the target it ``needs``,
        and for the ``also_after`` part of every other document of that kind referring to the
        same target. A cleanup group waits for every part that refers to its document.
        """
        kind, name, part = group
        waits: set[GroupKey] = set()
        for reference in self.references_from((kind, name)):
            if reference.part != part:
                continue
            if reference.needs is not None:
                waits.add((reference.target_kind, reference.target_name, reference.needs))
            if reference.also_after is not None:
                other_kind, other_part = reference.also_after
                waits.update(
                    (other.source_kind, other.source_name, other_part)
                    for other in self.referrers(reference.target, of_kind=other_kind)
                )
        if part == CLEANUP_PART:
            waits.update(
                (referrer.source_kind, referrer.source_name, referrer.part)
                for referrer in self.referrers((kind, name))
            )
        waits.discard(group)
        return frozenset(waits)
