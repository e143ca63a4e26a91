"""The JSON Schema of spec documents, for editors (completion, inline checks) and CI linters.

Generated from the same pydantic models the loader validates with, so it cannot drift from
them; ``ecs-reconciler schema`` prints it. It checks shapes, names and enum values; the rules
that span fields or documents (Fargate sizes, references) are only in ``load_spec_set``.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import reduce
from operator import or_
from typing import Annotated, Any

from pydantic import Field, TypeAdapter

from reconciler import __version__
from reconciler.spec.models import API_VERSION, KindSpec, manifest_model
from reconciler.spec.targets import TargetManifest

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def json_schema(models: Mapping[str, type[KindSpec]]) -> dict[str, Any]:
    """A draft 2020-12 schema of one document: the envelope, ``oneOf`` the kinds (``models``, from
    the registry) and the estate's ``Target`` by ``kind``."""
    manifests: list[Any] = [manifest_model(model) for model in models.values()]
    manifests.append(TargetManifest)
    document: Any = Annotated[reduce(or_, manifests), Field(discriminator="kind")]
    schema = TypeAdapter(document).json_schema(by_alias=True, mode="validation")
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": f"urn:{API_VERSION.replace('/', ':')}:document",
        "title": f"ecs-reconciler spec document ({API_VERSION}, ecs-reconciler {__version__})",
        **schema,
    }
