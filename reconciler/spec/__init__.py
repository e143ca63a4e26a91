"""Spec documents: pydantic models, YAML loading with positions, validation, JSON Schema. Pure.

The engine and the CLI call ``load_spec_set(paths)`` and use the values re-exported here;
kind-specific models (``ServiceSpec``, ``RepositoryImage``, ...) live in ``reconciler.spec.models``.
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
    Kind,
    KindSpec,
    Metadata,
    RepositoryImage,
    aws_name,
)
from reconciler.spec.references import (
    Reference,
    all_references,
    find_cycles,
    references_of,
    uses_default_network,
)
from reconciler.spec.validate import load_spec_set, validate_spec_set

__all__ = [
    "ANNOTATION_ADOPT",
    "ANNOTATION_DELETION_POLICY",
    "ANNOTATION_PAUSED",
    "ANNOTATION_SELF_HEAL",
    "API_VERSION",
    "Document",
    "DocumentKey",
    "FieldPath",
    "Kind",
    "KindSpec",
    "LoadResult",
    "Metadata",
    "Reference",
    "RepositoryImage",
    "SpecError",
    "SpecSet",
    "all_references",
    "aws_name",
    "find_cycles",
    "load_documents",
    "load_spec_set",
    "references_of",
    "uses_default_network",
    "validate_spec_set",
]
