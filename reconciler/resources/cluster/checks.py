"""The Cluster kind's semantic checks: its default capacity provider strategy."""

from __future__ import annotations

from collections.abc import Iterator

from reconciler.resources.cluster.model import ClusterSpec
from reconciler.spec.checks import Check, CheckContext, strategy_errors
from reconciler.spec.errors import SpecError


def default_capacity_provider_strategy(context: CheckContext) -> Iterator[SpecError]:
    """One base per strategy; providers the cluster lists, when it lists them."""
    for document, cluster in context.of(ClusterSpec):
        available = set(cluster.capacity_providers) if cluster.capacity_providers is not None else None
        yield from strategy_errors(
            document,
            cluster.default_capacity_provider_strategy or (),
            ("spec", "defaultCapacityProviderStrategy"),
            available,
        )


CHECKS: tuple[Check, ...] = (default_capacity_provider_strategy,)
