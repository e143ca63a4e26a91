"""The estate: every namespace's spec set and the Targets they are converged into.

``load_estate`` is what ``validate``, ``plan``, ``apply`` and ``drift`` call (through
``reconciler.resources.registry.load_estate``): it loads the files once, checks the Targets
(``reconciler.spec.targets``) against each other and against the namespaces the documents name,
and validates each namespace's documents as one spec set of their own, so names are unique per
kind within a namespace and references resolve within it. It returns an ``Estate`` only when there
is no error anywhere, so a spec tree with one bad namespace changes nothing in any account. Pure:
never calls AWS.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from reconciler.spec.document import Document, DocumentKey, SpecSet
from reconciler.spec.errors import SpecError, render_path
from reconciler.spec.loader import LoadResult, load_documents
from reconciler.spec.models import FieldPath
from reconciler.spec.targets import TARGET_KIND, Target
from reconciler.spec.validate import SpecKinds, validate_spec_set

Namespace = str | None
"""A namespace's name (a Target's ``metadata.name``); None is the default namespace."""

DEFAULT_NAMESPACE_LABEL = "default"
"""How outputs name the default namespace and its target (the process's own account and Region)."""


@dataclass(frozen=True)
class Estate:
    """A validated estate: the Targets, and one spec set per namespace that has documents.

    ``namespaces`` holds the default namespace (key None) only when some document has no
    namespace, and every Target's namespace (empty when no document names it, so that what a
    Target owns is still looked at: a namespace whose documents were all removed has orphans).
    """

    targets: tuple[Target, ...]
    namespaces: Mapping[Namespace, SpecSet]

    @property
    def has_targets(self) -> bool:
        """True when the tree places documents anywhere but the default target."""
        return bool(self.targets)

    def target(self, name: str) -> Target | None:
        return next((target for target in self.targets if target.name == name), None)

    @property
    def documents(self) -> tuple[Document, ...]:
        """Every document, namespace after namespace."""
        return tuple(document for spec_set in self.namespaces.values() for document in spec_set)

    def only(self, names: Sequence[str]) -> Estate:
        """The estate restricted to the namespaces ``names`` (``--namespace``); the caller checked
        each names a Target (``DEFAULT_NAMESPACE_LABEL`` names the default namespace)."""
        wanted = set(names)
        return Estate(
            targets=tuple(target for target in self.targets if target.name in wanted),
            namespaces={
                namespace: spec_set
                for namespace, spec_set in self.namespaces.items()
                if (namespace or DEFAULT_NAMESPACE_LABEL) in wanted
            },
        )


def _target_error(target: Target, path: FieldPath, message: str) -> SpecError:
    return SpecError(
        file=target.file,
        line=target.line_of(path),
        kind=TARGET_KIND,
        name=target.name,
        path=render_path(path),
        message=message,
    )


def target_errors(targets: Sequence[Target]) -> Iterator[SpecError]:
    """Two Targets with one name, or on one account and Region (two ways to write the same
    place would let one namespace's pass prune what the other's created)."""
    by_name: dict[str, Target] = {}
    by_place: dict[tuple[str, str], Target] = {}
    for target in targets:
        if target.name == DEFAULT_NAMESPACE_LABEL:
            yield _target_error(
                target,
                ("metadata", "name"),
                f"{DEFAULT_NAMESPACE_LABEL!r} names the default target (documents without a "
                "namespace): give this Target another name",
            )
            continue
        earlier = by_name.setdefault(target.name, target)
        if earlier is not target:
            yield _target_error(
                target,
                ("metadata", "name"),
                f"duplicate Target named {target.name!r} (first at {earlier.file}:{earlier.line})",
            )
            continue
        place = (target.account_id, target.region)
        claimed = by_place.setdefault(place, target)
        if claimed is not target:
            yield _target_error(
                target,
                ("spec", "accountId"),
                f"account {target.account_id} in {target.region} is already Target {claimed.name!r} "
                f"({claimed.file}:{claimed.line}): one Target per account and Region",
            )


def namespace_errors(loaded: LoadResult) -> Iterator[SpecError]:
    """Documents whose namespace names no Target."""
    known = {target.name for target in loaded.targets} | set(loaded.invalid_targets)
    if not loaded.complete:
        return  # a file that did not parse may hold the Target; its own error says what to fix
    for document in loaded.documents:
        namespace = document.metadata.namespace
        if namespace is not None and namespace not in known:
            names = ", ".join(sorted(target.name for target in loaded.targets)) or "none"
            yield SpecError(
                file=document.file,
                line=document.line_of(("metadata", "namespace")),
                kind=document.kind,
                name=document.name,
                path="metadata.namespace",
                message=f"no Target named {namespace!r} (Targets: {names})",
            )


def _by_namespace(documents: Sequence[Document]) -> dict[Namespace, list[Document]]:
    grouped: dict[Namespace, list[Document]] = {}
    for document in documents:
        grouped.setdefault(document.metadata.namespace, []).append(document)
    return grouped


def _elsewhere(
    grouped: Mapping[Namespace, Sequence[Document]], namespace: Namespace
) -> dict[DocumentKey, tuple[str, ...]]:
    """Document keys of the other namespaces, each with the namespaces that hold it."""
    found: dict[DocumentKey, list[str]] = {}
    for other, documents in grouped.items():
        if other == namespace:
            continue
        for document in documents:
            holders = found.setdefault(document.key, [])
            label = other or DEFAULT_NAMESPACE_LABEL
            if label not in holders:
                holders.append(label)
    return {key: tuple(holders) for key, holders in found.items()}


def load_estate(
    paths: Sequence[Path | str], kinds: SpecKinds, *, allow_empty: bool = False
) -> tuple[Estate | None, list[SpecError]]:
    """Load and validate the spec tree under ``paths`` as an estate.

    Returns the ``Estate`` and no errors, or None and every error found (sorted by file and line):
    the loader's, the Targets', each namespace's validation (with a reference to a document that
    only another namespace holds said to be one), and documents naming no Target. Never raises on
    bad input and never calls AWS.
    """
    loaded = load_documents(paths, kinds.models, allow_empty=allow_empty)
    errors = set(loaded.errors)
    errors.update(target_errors(loaded.targets))
    errors.update(namespace_errors(loaded))
    grouped = _by_namespace(loaded.documents)
    for namespace, documents in grouped.items():
        errors.update(
            validate_spec_set(
                documents,
                kinds,
                invalid_keys=loaded.invalid_keys,
                complete=loaded.complete,
                elsewhere=_elsewhere(grouped, namespace),
            )
        )
    if errors:
        return None, sorted(errors)
    namespaces: dict[Namespace, SpecSet] = {}
    if None in grouped or not loaded.targets:
        namespaces[None] = SpecSet(documents=tuple(grouped.get(None, ())))
    for target in loaded.targets:
        namespaces[target.name] = SpecSet(documents=tuple(grouped.get(target.name, ())))
    return Estate(targets=loaded.targets, namespaces=namespaces), []


__all__ = [
    "DEFAULT_NAMESPACE_LABEL",
    "Estate",
    "Namespace",
    "load_estate",
    "namespace_errors",
    "target_errors",
]
