"""Loaded documents and the spec set: what the engine, the planner and the CLI work with.

``reconciler.spec.loader`` builds these from YAML; the engine iterates a ``SpecSet`` and looks
documents up by ``(kind, name)``; kinds read ``Document.spec`` (the typed model of the kind's package,
``reconciler.resources.<kind>.model``) and use ``Document.line_of`` to point drift at the spec
line. Pure values.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, TypeVar

from reconciler.spec.models import ANNOTATION_DELETION_POLICY, KindSpec, Metadata, line_of
from reconciler.spec.models import FieldPath as FieldPath

if TYPE_CHECKING:
    from reconciler.spec.graph import DependencyGraph

DocumentKey = tuple[str, str]
"""``(kind, metadata.name)``: a document's identity (shaped like ``reconciler.plan.steps.ResourceKey``)."""

SpecT = TypeVar("SpecT", bound=KindSpec)


# eq=False: documents are identified by key, and their spec models hold dicts, which
# would make a generated __hash__ fail at runtime.
@dataclass(frozen=True, eq=False)
class Document:
    """One validated document, with where it came from.

    ``positions`` maps every field path written in the document to its 1-based line;
    ``line_of`` answers for paths that are not written (a missing field) with the nearest
    written ancestor's line, so every message can point somewhere useful.
    """

    kind: str
    """The ``kind:`` written in the file (``Service``); its spec model declares it as ``KIND``."""
    metadata: Metadata
    spec: KindSpec
    file: str
    line: int
    positions: Mapping[FieldPath, int] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        """``metadata.name``: the logical name other documents use to refer to this one."""
        return self.metadata.name

    @property
    def key(self) -> DocumentKey:
        return (self.kind, self.metadata.name)

    @property
    def aws_name(self) -> str:
        """The resource's AWS name: the spec's name field (``clusterName``, ...) or metadata.name."""
        return self.spec.aws_name(self.metadata.name)

    @cached_property
    def spec_hash(self) -> str:
        """What this document asks of AWS, as 16 hex characters: the hash a converge records on the
        resource (the ``ecs-reconciler/spec-hash`` tag), so that a later difference can be told
        apart as drift (same hash: AWS moved) or a change (new hash: git moved).

        Canonical, so the same on every machine, process and Python version: SHA-256 of sorted,
        compact JSON of the fields as written (``exclude_unset``: a field left out is not the
        same as one written with its default, as the user sees it), after validation, so key
        order, YAML formatting, comments and spellings the model parses alike (``cpu: 1 vCPU``
        and ``cpu: "1024"``) do not count. Besides ``spec``: the kind and the name and namespace
        (a rename re-tags the resource) and the deletion policy (copied to a tag). Labels and
        the other annotations say how the reconciler treats the resource, not what it is: they
        are left out, so switching self-heal off never turns drift into a change."""
        content = {
            "kind": str(self.kind),
            "name": self.metadata.name,
            "namespace": self.metadata.namespace,
            "deletionPolicy": self.metadata.annotations.get(ANNOTATION_DELETION_POLICY, "delete"),
            "spec": self.spec.model_dump(by_alias=True, exclude_unset=True, mode="json"),
        }
        canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def line_of(self, path: Sequence[str | int]) -> int:
        """The line of ``path``, or of its nearest ancestor written in the file, or the document's line."""
        return line_of(self.positions, path, default=self.line)

    def spec_as(self, spec_type: type[SpecT]) -> SpecT:
        """The spec narrowed to its model type, for code that already knows the kind."""
        if not isinstance(self.spec, spec_type):
            raise TypeError(
                f"{self.kind}/{self.name} has a {type(self.spec).__name__}, not a {spec_type.__name__}"
            )
        return self.spec


@dataclass(frozen=True, eq=False)
class SpecSet:
    """A validated set of documents: unique per (kind, name), references resolved, no cycles.

    Iteration is in file order (files sorted by path, documents in the order written).
    Only ``reconciler.spec.validate.load_spec_set`` builds one for real use; building one by
    hand (tests) skips validation.
    """

    documents: tuple[Document, ...]
    _index: Mapping[DocumentKey, Document] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        index: dict[DocumentKey, Document] = {}
        for document in self.documents:
            index.setdefault(document.key, document)
        object.__setattr__(self, "_index", index)

    def __iter__(self) -> Iterator[Document]:
        return iter(self.documents)

    def __len__(self) -> int:
        return len(self.documents)

    def __contains__(self, key: object) -> bool:
        return key in self._index

    def get(self, kind: str, name: str) -> Document | None:
        """The document of ``kind`` named ``name``, or None."""
        return self._index.get((str(kind), name))

    def __getitem__(self, key: DocumentKey) -> Document:
        """The document with ``(kind, name)``; raises KeyError when there is none."""
        kind, name = key
        return self._index[(str(kind), name)]

    def of_kind(self, kind: str) -> tuple[Document, ...]:
        """Every document of one kind, in file order."""
        return tuple(document for document in self.documents if document.kind == kind)

    def keys(self) -> tuple[DocumentKey, ...]:
        return tuple(document.key for document in self.documents)

    @cached_property
    def graph(self) -> DependencyGraph:
        """The dependency graph of these documents' references, built once per spec set."""
        from reconciler.spec.graph import DependencyGraph  # the graph module builds on this one

        return DependencyGraph.of(self.documents)
