"""The JSON Schema of spec documents, for editors (completion, inline checks) and CI linters.

Generated from the same pydantic models the loader validates with, so it cannot drift from
them; ``ecs-reconciler schema`` prints it. It checks shapes, names and enum values; the rules
that span fields or documents (Fargate sizes, references) are only in ``load_spec_set``.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from reconciler import __version__
from reconciler.spec.models import API_VERSION, Manifest

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def json_schema() -> dict[str, Any]:
    """A draft 2020-12 schema of one document: the envelope, ``oneOf`` the kinds by ``kind``."""
    schema = TypeAdapter(Manifest).json_schema(by_alias=True, mode="validation")
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": f"urn:{API_VERSION.replace('/', ':')}:document",
        "title": f"ecs-reconciler spec document ({API_VERSION}, ecs-reconciler {__version__})",
        **schema,
    }
