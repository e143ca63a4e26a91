"""What each document refers to: other documents, and the account's default network.

Pure functions over loaded documents; each kind's spec model declares its own references
(``KindSpec.references``), so nothing here names a kind. ``reconciler.spec.validate`` uses them to
find dangling references and cycles; ``reconciler.spec.graph`` builds the one dependency graph
that orders planning, writes and deletions from them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from reconciler.spec.document import Document, DocumentKey, FieldPath
from reconciler.spec.models import ReferenceTo


@dataclass(frozen=True)
class Reference:
    """One document naming another by ``metadata.name``: the reference its kind declared
    (``reconciler.spec.models.ReferenceTo``: path, creation edge, parts), and who made it."""

    source_kind: str
    source_name: str
    declared: ReferenceTo

    @property
    def source(self) -> DocumentKey:
        return (self.source_kind, self.source_name)

    @property
    def target(self) -> DocumentKey:
        return (self.declared.kind, self.declared.name)

    @property
    def target_kind(self) -> str:
        return self.declared.kind

    @property
    def target_name(self) -> str:
        return self.declared.name

    @property
    def path(self) -> FieldPath:
        """From the document root as written (``("spec", "cluster")``): errors and plans point at it."""
        return self.declared.path

    @property
    def creation_edge(self) -> bool:
        return self.declared.creation_edge

    @property
    def part(self) -> str:
        return self.declared.part

    @property
    def needs(self) -> str | None:
        return self.declared.needs

    @property
    def also_after(self) -> tuple[str, str] | None:
        return self.declared.also_after


def references_of(document: Document) -> tuple[Reference, ...]:
    """Every reference ``document`` makes, in the order written; literal ids (``sg-...``) are none."""
    return tuple(_references(document))


def all_references(documents: Iterable[Document]) -> tuple[Reference, ...]:
    """``references_of`` over many documents, in document order."""
    return tuple(reference for document in documents for reference in _references(document))


def _references(document: Document) -> Iterator[Reference]:
    declared = type(document.spec).REFERENCED_KINDS
    for reference in document.spec.references():
        if reference.kind not in declared:
            raise AssertionError(
                f"{document.kind} refers to a {reference.kind}, which its REFERENCED_KINDS does not declare"
            )
        yield Reference(document.kind, document.name, reference)


def find_cycles(references: Iterable[Reference]) -> list[tuple[DocumentKey, ...]]:
    """Cycles over creation edges, each once, as the keys along it (first key not repeated).

    Deterministic: nodes are visited in first-seen order, so the same spec set reports the same
    cycles in the same order.
    """
    graph: dict[DocumentKey, list[DocumentKey]] = {}
    for reference in references:
        if reference.creation_edge:
            graph.setdefault(reference.source, [])
            if reference.target not in graph[reference.source]:
                graph[reference.source].append(reference.target)
            graph.setdefault(reference.target, [])
    cycles: list[tuple[DocumentKey, ...]] = []
    seen_cycles: set[frozenset[DocumentKey]] = set()
    state: dict[DocumentKey, int] = {}  # 1: on the current path, 2: finished
    stack: list[DocumentKey] = []

    def visit(node: DocumentKey) -> None:
        state[node] = 1
        stack.append(node)
        for target in graph[node]:
            if state.get(target) == 1:
                cycle = tuple(stack[stack.index(target) :])
                if frozenset(cycle) not in seen_cycles:
                    seen_cycles.add(frozenset(cycle))
                    cycles.append(cycle)
            elif target not in state:
                visit(target)
        stack.pop()
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node)
    return cycles


def uses_default_network(documents: Iterable[Document]) -> bool:
    """True when any document says ``vpc: default`` or ``subnets: default``.

    The engine looks the default VPC and its default-for-AZ subnets up once per pass, and only
    when this is true; validation never does.
    """
    return any(document.spec.uses_default_network() for document in documents)
