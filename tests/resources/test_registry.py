"""Every kind is one package of the same shape, declared once, and the registry derives the rest."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

from reconciler.resources.registry import (
    descriptors,
    engine_services,
    json_schema,
    kinds_in_creation_order,
    spec_kinds,
)
from reconciler.spec import KindSpec
from reconciler.spec.targets import TARGET_KIND

PACKAGE = Path(__file__).resolve().parents[2] / "reconciler"


def test_each_kind_is_a_package_holding_its_spec_checks_and_resource() -> None:
    for kind, descriptor in descriptors().items():
        package = descriptor.spec.__module__.rsplit(".", 1)[0]
        assert package.startswith("reconciler.resources."), kind
        assert descriptor.spec.__module__ == f"{package}.model", kind
        assert type(descriptor.resource).__module__ == f"{package}.kind", kind
        assert importlib.import_module(package).DESCRIPTOR is descriptor
        assert all(check.__module__ == f"{package}.checks" for check in descriptor.checks), kind
        assert descriptor.resource.kind == kind == descriptor.spec.KIND


def test_no_spec_model_of_a_kind_lives_outside_its_package() -> None:
    """`reconciler/spec/` holds the envelope and shared value types only: no `KindSpec` subclass."""
    for path in (PACKAGE / "spec").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases = {getattr(base, "id", getattr(base, "attr", "")) for base in node.bases}
                assert "KindSpec" not in bases, f"{path.name}: {node.name}"


def test_the_kind_neutral_layers_name_no_kind() -> None:
    """What names a kind lives in its package, the registry, or a reference another kind declares."""
    kinds = set(descriptors())
    for folder in ("spec", "plan", "engine", "aws", "daemon", "."):
        for path in (PACKAGE / folder).glob("*.py"):
            named = _string_constants(path) & kinds
            assert not named, f"{folder}/{path.name} names {named}"


def _string_constants(path: Path) -> set[str]:
    """The string values a module's code uses, docstrings (examples in prose) left out."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    }
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    }


def test_the_registry_derives_the_lists_from_the_descriptors() -> None:
    models = spec_kinds().models
    assert list(models) == list(kinds_in_creation_order()) == list(descriptors())
    assert all(issubclass(model, KindSpec) for model in models.values())
    schema_kinds = {member["properties"]["kind"]["const"] for member in _schema_members(json_schema())}
    assert schema_kinds == set(models) | {TARGET_KIND}  # and the estate's Target, which is no kind
    services = {service for descriptor in descriptors().values() for service in descriptor.services}
    # Beyond the kinds': STS for the account, the Tagging API for the orphan sweep.
    assert set(engine_services()) == services | {"sts", "resourcegroupstaggingapi"}


def _schema_members(schema: dict) -> list[dict]:  # type: ignore[type-arg]
    definitions = schema.get("$defs", {})
    members = schema.get("oneOf") or schema.get("anyOf") or []
    return [definitions[member["$ref"].rsplit("/", 1)[-1]] for member in members]
