"""Spec documents: pydantic models, YAML loading with positions, validation, JSON Schema. Pure.

The engine and the CLI use ``load_spec_set`` (added with the loader) and the values re-exported
here; kind-specific models live in ``reconciler.spec.models``.
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
from reconciler.spec.references import uses_default_network

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
    "RepositoryImage",
    "SpecError",
    "SpecSet",
    "aws_name",
    "load_documents",
    "uses_default_network",
]
