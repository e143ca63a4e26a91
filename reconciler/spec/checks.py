"""What a semantic check sees and returns: shared by the kind-neutral checks in
``reconciler.spec.validate`` and each kind's own checks (``reconciler.resources.<kind>.checks``).

A check is a small function over a ``CheckContext`` yielding ``SpecError``s. Pure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TypeVar

from reconciler.spec.document import Document, DocumentKey, FieldPath
from reconciler.spec.errors import SpecError, render_path
from reconciler.spec.models import CapacityProviderStrategyItem, KindSpec
from reconciler.spec.references import Reference

SpecT = TypeVar("SpecT", bound=KindSpec)


@dataclass(frozen=True)
class CheckContext:
    """What every check sees: the documents that passed their models, and what the loader knows.

    ``invalid_keys`` and ``complete`` come from the loader: a reference to a document that failed
    its model, or any reference while some file did not parse, is not reported as missing.
    """

    documents: tuple[Document, ...]
    invalid_keys: frozenset[DocumentKey] = frozenset()
    complete: bool = True
    references: tuple[Reference, ...] = field(default=())
    elsewhere: Mapping[DocumentKey, tuple[str, ...]] = field(default_factory=dict)
    """Documents of the estate's other namespaces, by key, with the namespaces that hold them: a
    reference to one of them is dangling (references never cross namespaces), and says so."""

    @cached_property
    def by_key(self) -> Mapping[DocumentKey, Document]:
        """The first document of each (kind, name); duplicates are ``duplicate_names``' concern."""
        index: dict[DocumentKey, Document] = {}
        for document in self.documents:
            index.setdefault(document.key, document)
        return index

    def of(self, spec_type: type[SpecT]) -> Iterator[tuple[Document, SpecT]]:
        """Documents whose spec is a ``spec_type`` (a kind's own model), in file order, narrowed."""
        for document in self.documents:
            if isinstance(document.spec, spec_type):
                yield document, document.spec

    def target(self, kind: str, name: str) -> KindSpec | None:
        """The spec of a referenced document of ``kind``, or None. A kind reads another kind's
        spec only through a Protocol of the fields it needs, never by importing its model."""
        document = self.by_key.get((kind, name))
        return document.spec if document is not None else None

    def referrers(self, kind: str, name: str, *, of_kind: str) -> Iterator[Reference]:
        """References of ``of_kind`` documents to ``(kind, name)``, in document order."""
        for reference in self.references:
            if reference.target == (kind, name) and reference.source_kind == of_kind:
                yield reference


def error(document: Document, path: FieldPath, message: str) -> SpecError:
    """A ``SpecError`` for ``path`` (from the document root) in ``document``, on that field's line."""
    return SpecError(
        file=document.file,
        line=document.line_of(path),
        kind=document.kind,
        name=document.name,
        path=render_path(path),
        message=message,
    )


Check = Callable[[CheckContext], Iterable[SpecError]]


def strategy_errors(
    document: Document,
    strategy: Sequence[CapacityProviderStrategyItem],
    path: FieldPath,
    available: set[str] | None,
) -> Iterator[SpecError]:
    """One base per capacity provider strategy; providers among ``available`` when it is known
    (a cluster's default strategy and a service's strategy follow the same rules)."""
    with_base = [index for index, item in enumerate(strategy) if item.base]
    for index in with_base[1:]:
        yield error(
            document, (*path, index, "base"), "only one capacity provider in a strategy may have a base"
        )
    for index, item in enumerate(strategy):
        if available is not None and item.capacity_provider not in available:
            yield error(
                document,
                (*path, index, "capacityProvider"),
                f"{item.capacity_provider!r} is not in the cluster's capacityProviders",
            )
