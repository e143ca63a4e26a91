"""The registry of resource kinds: the only place that lists them.

Each kind is a package (`reconciler.resources.<kind>`) declaring a `DESCRIPTOR`; adding a kind is
adding a package and one line in `_descriptors`. Everything else that needs the list of kinds
derives it from here: the loader and checks (`spec_kinds`, `load_spec_set`), the JSON Schema, the
clients the engine opens (`engine_services`), the rewrite catalogue, and the order between kinds
(`kinds_in_creation_order`), which comes from what each kind's spec declares it references.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from reconciler.plan.rewrites import Rewrite
from reconciler.resources.base import KindDescriptor, ResourceKind
from reconciler.spec import SpecError, SpecKinds, SpecSet
from reconciler.spec import load_spec_set as load_with_kinds
from reconciler.spec.estate import Estate
from reconciler.spec.estate import load_estate as load_estate_with_kinds
from reconciler.spec.schema import json_schema as schema_of


@cache
def _descriptors() -> tuple[KindDescriptor, ...]:
    from reconciler.resources import (
        cluster,
        load_balancer,
        log_group,
        repository,
        security_group,
        service,
        target_group,
        task_definition,
    )

    return (
        repository.DESCRIPTOR,
        log_group.DESCRIPTOR,
        task_definition.DESCRIPTOR,
        cluster.DESCRIPTOR,
        security_group.DESCRIPTOR,
        target_group.DESCRIPTOR,
        load_balancer.DESCRIPTOR,
        service.DESCRIPTOR,
    )


@cache
def descriptors() -> dict[str, KindDescriptor]:
    """Every kind's descriptor by kind name, in creation order (what a kind refers to first)."""
    by_kind = {descriptor.kind: descriptor for descriptor in _descriptors()}
    return {kind: by_kind[kind] for kind in kinds_in_creation_order()}


def kind_module(kind: str) -> ResourceKind:
    return descriptors()[kind].resource


def all_kinds() -> list[ResourceKind]:
    return [descriptor.resource for descriptor in descriptors().values()]


@cache
def kinds_in_creation_order() -> tuple[str, ...]:
    """Kinds ordered so that every kind comes after the kinds its documents may refer to (a
    topological order of the declared `REFERENCED_KINDS`, ties in registry order). Planning walks
    it forwards, so a reference to something this pass creates is a `Ref`; deletion walks it
    backwards, so nothing is deleted while what refers to it remains."""
    declared = [descriptor.kind for descriptor in _descriptors()]
    needs = {
        descriptor.kind: set(descriptor.spec.REFERENCED_KINDS) - {descriptor.kind}
        for descriptor in _descriptors()
    }
    ordered: list[str] = []
    while len(ordered) < len(declared):
        ready = [kind for kind in declared if kind not in ordered and needs[kind] <= set(ordered)]
        if not ready:
            raise AssertionError(
                f"the kinds' REFERENCED_KINDS form a cycle among {set(declared) - set(ordered)}"
            )
        ordered.append(ready[0])
    return tuple(ordered)


@cache
def spec_kinds() -> SpecKinds:
    """What the spec layer needs of every kind: models, checks and warnings."""
    return SpecKinds(
        models={kind: descriptor.spec for kind, descriptor in descriptors().items()},
        checks=tuple(check for descriptor in descriptors().values() for check in descriptor.checks),
        warnings=tuple(check for descriptor in descriptors().values() for check in descriptor.warnings),
    )


def load_spec_set(
    paths: Sequence[Path | str], *, allow_empty: bool = False
) -> tuple[SpecSet | None, list[SpecError]]:
    """Load and validate the spec files under `paths` (`reconciler.spec.validate.load_spec_set`)
    with every registered kind."""
    return load_with_kinds(paths, spec_kinds(), allow_empty=allow_empty)


def load_estate(
    paths: Sequence[Path | str], *, allow_empty: bool = False
) -> tuple[Estate | None, list[SpecError]]:
    """Load and validate the spec tree under `paths` as an estate of namespaces and Targets
    (`reconciler.spec.estate.load_estate`) with every registered kind."""
    return load_estate_with_kinds(paths, spec_kinds(), allow_empty=allow_empty)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a document of any registered kind."""
    return schema_of(spec_kinds().models)


def engine_services() -> tuple[str, ...]:
    """The AWS services the engine opens clients for: every kind's, STS for the account, and the
    Resource Groups Tagging API for the orphan sweep (`reconciler.engine.tagging`)."""
    services = {service for descriptor in descriptors().values() for service in descriptor.services}
    return tuple(sorted(services | {"sts", "resourcegroupstaggingapi"}))


def rewrite_catalogue() -> dict[str, tuple[Rewrite, ...]]:
    """Every kind's rewrites of AWS, by kind, in registry order (see `reconciler.plan.rewrites`)."""
    return {kind: descriptor.rewrites for kind, descriptor in descriptors().items()}
