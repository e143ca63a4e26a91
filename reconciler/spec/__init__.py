"""Spec documents: pydantic models, YAML loading with positions, validation, JSON Schema. Pure.

Kind-neutral: the envelope, the loader, the generic checks and the schema writer. Each kind's spec
model and checks live in its package (``reconciler.resources.<kind>``), and the registry hands
them in as ``SpecKinds``: the engine and the CLI call
``reconciler.resources.registry.load_spec_set(paths)``.
"""

from reconciler.spec.document import Document, DocumentKey, FieldPath, SpecSet
from reconciler.spec.errors import SpecError
from reconciler.spec.loader import LoadResult, load_documents
from reconciler.spec.models import (
    ANNOTATION_ADOPT,
    ANNOTATION_DELETION_POLICY,
    ANNOTATION_PAUSED,
    ANNOTATION_SELF_HEAL,
    API_VERSION,
    KindSpec,
    Metadata,
    aws_name,
)
from reconciler.spec.references import (
    Reference,
    all_references,
    find_cycles,
    references_of,
    uses_default_network,
)
from reconciler.spec.validate import SpecKinds, load_spec_set, spec_warnings, validate_spec_set

__all__ = [
    "ANNOTATION_ADOPT",
    "ANNOTATION_DELETION_POLICY",
    "ANNOTATION_PAUSED",
    "ANNOTATION_SELF_HEAL",
    "API_VERSION",
    "Document",
    "DocumentKey",
    "FieldPath",
    "KindSpec",
    "LoadResult",
    "Metadata",
    "Reference",
    "SpecError",
    "SpecKinds",
    "SpecSet",
    "all_references",
    "aws_name",
    "find_cycles",
    "load_documents",
    "load_spec_set",
    "references_of",
    "spec_warnings",
    "uses_default_network",
    "validate_spec_set",
]
