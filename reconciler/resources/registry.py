"""The registry of resource kinds: the only place that lists them.

The engine asks it for a kind's module by name and for the deletion order; adding a kind is
adding a module with a `KIND` instance and one line in `_builtin_kinds`.
"""

from __future__ import annotations

from functools import cache

from reconciler.plan.rewrites import Rewrite
from reconciler.resources.base import ResourceKind


@cache
def _builtin_kinds() -> dict[str, ResourceKind]:
    from reconciler.resources import (
        cluster,
        load_balancer,
        repository,
        security_group,
        service,
        target_group,
        task_definition,
    )

    modules: list[ResourceKind] = [cluster.KIND, repository.KIND, task_definition.KIND]
    modules += [security_group.KIND, target_group.KIND, load_balancer.KIND]
    modules += [service.KIND]
    return {module.kind: module for module in modules}


def kind_module(kind: str) -> ResourceKind:
    return _builtin_kinds()[kind]


def all_kinds() -> list[ResourceKind]:
    return list(_builtin_kinds().values())


def kinds_in_delete_order() -> list[str]:
    return [module.kind for module in sorted(all_kinds(), key=lambda module: module.delete_rank)]


def rewrite_catalogue() -> dict[str, tuple[Rewrite, ...]]:
    """Every kind's rewrites of AWS, by kind, in registry order (see `reconciler.plan.rewrites`)."""
    return {module.kind: module.rewrites for module in all_kinds()}
