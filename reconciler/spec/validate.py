"""Semantic validation: the rules a single model cannot see, and the one loading entry point.

``load_spec_set`` is what the CLI (``validate``, ``plan``, ``apply``) and the daemon call, with
the ``SpecKinds`` the registry (``reconciler.resources.registry.spec_kinds``) builds from the
kinds' declarations: it loads the files (``reconciler.spec.loader``), runs the kind-neutral
checks here and every kind's own checks, and returns a ``SpecSet`` only when there is no error
at all, so every problem is reported in one pass. Pure: validation never calls AWS (``vpc:
default`` and friends are resolved by the engine).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from reconciler.spec.checks import Check, CheckContext, error
from reconciler.spec.document import Document, DocumentKey, SpecSet
from reconciler.spec.errors import SpecError
from reconciler.spec.loader import LoadResult, load_documents
from reconciler.spec.models import KindSpec
from reconciler.spec.references import all_references, find_cycles
from reconciler.spec.targets import TARGET_KIND


@dataclass(frozen=True)
class SpecKinds:
    """The kinds a spec set may hold, as their packages declare them: what the loader validates
    each document into, the schema, and the checks. Built by the registry; the spec layer names
    no kind."""

    models: Mapping[str, type[KindSpec]]
    """Spec model by ``kind:``, in registry order."""
    checks: tuple[Check, ...] = ()
    """Every kind's own semantic checks (errors)."""
    warnings: tuple[Check, ...] = ()
    """Every kind's warnings: valid, but worth saying (``validate`` prints them)."""


# --- names ------------------------------------------------------------------------------------


def duplicate_names(context: CheckContext) -> Iterator[SpecError]:
    """Two documents of one kind with the same metadata.name."""
    first: dict[DocumentKey, Document] = {}
    for document in context.documents:
        earlier = first.setdefault(document.key, document)
        if earlier is not document:
            yield error(
                document,
                ("metadata", "name"),
                f"duplicate {document.kind} named {document.name!r} (first at {earlier.file}:{earlier.line})",
            )


def _name_field_alias(spec_type: type[KindSpec]) -> str:
    """The AWS name field as written in the files (``clusterName``)."""
    return spec_type.model_fields[spec_type.AWS_NAME_FIELD].alias or spec_type.AWS_NAME_FIELD


def duplicate_aws_names(context: CheckContext) -> Iterator[SpecError]:
    """Two documents of one kind (different metadata.name) that would be the same AWS resource."""
    first: dict[tuple[str, tuple[Any, ...]], Document] = {}
    for document in context.documents:
        key = (document.kind, document.spec.aws_identity(document.aws_name))
        earlier = first.setdefault(key, document)
        if earlier is not document and earlier.name != document.name:
            field_name = _name_field_alias(type(document.spec))
            yield error(
                document,
                ("spec", field_name),
                f"{field_name} {document.aws_name!r} is also the AWS name of "
                f"{earlier.kind}/{earlier.name} ({earlier.file}:{earlier.line})",
            )


@functools.cache
def _name_adapter(spec_type: type[KindSpec]) -> TypeAdapter[Any]:
    """A validator of the spec's AWS name field alone, to check names defaulted from metadata.name."""
    annotation: Any = spec_type.model_fields[spec_type.AWS_NAME_FIELD].annotation
    return TypeAdapter(annotation)


def aws_name_rules(context: CheckContext) -> Iterator[SpecError]:
    """A name defaulted from metadata.name must still be a valid AWS name (ELB names: 32 characters)."""
    for document in context.documents:
        spec_type = type(document.spec)
        if getattr(document.spec, spec_type.AWS_NAME_FIELD) is not None:
            continue  # written explicitly, so its model already checked it
        try:
            _name_adapter(spec_type).validate_python(document.name)
        except ValidationError as failure:
            reason = failure.errors()[0]["msg"].removeprefix("Value error, ")
            field_name = _name_field_alias(spec_type)
            yield error(
                document,
                ("metadata", "name"),
                f"{document.name!r} is not a valid {field_name} ({reason}); set spec.{field_name}",
            )


# --- references -------------------------------------------------------------------------------


def dangling_references(context: CheckContext) -> Iterator[SpecError]:
    """References to documents that do not exist, or exist with another kind."""
    if not context.complete:
        return  # a file that did not parse may hold the target; its own error says what to fix
    kinds_by_name: dict[str, list[str]] = {}
    for kind, name in context.by_key:
        kinds_by_name.setdefault(name, []).append(kind)
    for reference in context.references:
        if reference.target in context.by_key or reference.target in context.invalid_keys:
            continue
        source = context.by_key.get(reference.source)
        if source is None:  # pragma: no cover - references come from loaded documents
            continue
        others = [
            kind for kind in kinds_by_name.get(reference.target_name, []) if kind != reference.target_kind
        ]
        hint = f" ({reference.target_name!r} is a {' and a '.join(others)})" if others else ""
        holders = context.elsewhere.get(reference.target)
        if holders:
            where = " and ".join(repr(namespace) for namespace in holders)
            hint = (
                f" in this namespace (there is one in namespace {where}: references never cross namespaces)"
            )
        yield error(
            source,
            reference.path,
            f"no {reference.target_kind} document named {reference.target_name!r}{hint}",
        )


def reference_cycles(context: CheckContext) -> Iterator[SpecError]:
    """Documents that each need another created first, in a circle."""
    for cycle in find_cycles(context.references):
        document = context.by_key.get(cycle[0])
        if document is None:
            continue
        path = " -> ".join(f"{kind}/{name}" for kind, name in (*cycle, cycle[0]))
        yield error(document, ("metadata", "name"), f"reference cycle: {path}")


GENERIC_CHECKS: tuple[Check, ...] = (
    duplicate_names,
    duplicate_aws_names,
    aws_name_rules,
    dangling_references,
    reference_cycles,
)
"""The checks every kind gets; each kind adds its own (``SpecKinds.checks``)."""


def _context(
    documents: Iterable[Document],
    *,
    invalid_keys: frozenset[DocumentKey] = frozenset(),
    complete: bool = True,
    elsewhere: Mapping[DocumentKey, tuple[str, ...]] | None = None,
) -> CheckContext:
    loaded = tuple(documents)
    return CheckContext(
        documents=loaded,
        invalid_keys=invalid_keys,
        complete=complete,
        references=all_references(loaded),
        elsewhere=elsewhere or {},
    )


def validate_spec_set(
    documents: Iterable[Document],
    kinds: SpecKinds,
    *,
    invalid_keys: frozenset[DocumentKey] = frozenset(),
    complete: bool = True,
    elsewhere: Mapping[DocumentKey, tuple[str, ...]] | None = None,
) -> list[SpecError]:
    """Every semantic error in ``documents`` (already model-valid, all of one namespace), sorted
    by file and line. ``elsewhere``: the documents of the estate's other namespaces
    (``reconciler.spec.estate``), so a reference to one of them says why it does not resolve."""
    context = _context(documents, invalid_keys=invalid_keys, complete=complete, elsewhere=elsewhere)
    errors: set[SpecError] = set()
    for check in (*GENERIC_CHECKS, *kinds.checks):
        errors.update(check(context))
    return sorted(errors)


def load_spec_set(
    paths: Sequence[Path | str], kinds: SpecKinds, *, allow_empty: bool = False
) -> tuple[SpecSet | None, list[SpecError]]:
    """Load, model-validate and semantically validate the spec files under ``paths``.

    Returns the ``SpecSet`` and no errors, or None and every error found (sorted by file and
    line). Never raises on bad input and never calls AWS. ``allow_empty``: a folder without spec
    files is an empty spec set, not an error (deleting everything was asked for). One spec set is
    one account and Region: Targets and namespaces are an error here (``reconciler.spec.estate``
    loads a tree that has them).
    """
    loaded = load_documents(paths, kinds.models, allow_empty=allow_empty)
    errors = list(loaded.errors)
    errors.extend(_single_target_errors(loaded))
    errors.extend(
        validate_spec_set(loaded.documents, kinds, invalid_keys=loaded.invalid_keys, complete=loaded.complete)
    )
    errors.sort()
    if errors:
        return None, errors
    return SpecSet(documents=loaded.documents), []


def _single_target_errors(loaded: LoadResult) -> Iterator[SpecError]:
    """Targets and namespaces, where one spec set for one account is all a caller can converge
    (`import` checking what it wrote): refused, rather than converging every namespace into one
    account."""
    for target in loaded.targets:
        yield SpecError(
            file=target.file,
            line=target.line_of(("kind",)),
            kind=TARGET_KIND,
            name=target.name,
            path="kind",
            message=UNSUPPORTED_TARGETS,
        )
    for document in loaded.documents:
        if document.metadata.namespace is not None:
            yield error(document, ("metadata", "namespace"), UNSUPPORTED_TARGETS)


UNSUPPORTED_TARGETS = (
    "Targets and namespaces are not allowed here: this spec set is converged into one account and Region"
)


def spec_warnings(spec_set: SpecSet, kinds: SpecKinds) -> list[SpecError]:
    """Every kind's warnings over a valid spec set, sorted by file and line."""
    context = _context(spec_set)
    return sorted({warning for check in kinds.warnings for warning in check(context)})


__all__ = [
    "GENERIC_CHECKS",
    "SpecKinds",
    "load_spec_set",
    "spec_warnings",
    "validate_spec_set",
]
