"""Imports live ECS clusters as Cluster documents (`ecs-reconciler import`, through
`reconciler.engine.importing`): read with DescribeClusters, 100 a call, as `kind` observes them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from reconciler.plan.normalise import tags_to_map
from reconciler.resources.cluster.kind import _INCLUDE, DESCRIBE_BATCH, live_tree
from reconciler.resources.common import batched
from reconciler.resources.importing import (
    DocumentNames,
    Found,
    ImportContext,
    ImportedSpec,
    ImporterBase,
    imported_strategy,
    imported_tags,
    without_none,
)

_DEFAULT_SETTINGS = {"containerInsights": "disabled"}


class ClusterImporter(ImporterBase):
    kind: ClassVar[str] = "Cluster"

    async def read(self, identities: Sequence[str], context: ImportContext) -> Sequence[Found]:
        found: list[Found] = []
        for batch in batched(sorted(identities), DESCRIBE_BATCH):
            response = await context.clients.service("ecs").call(
                "describe_clusters", clusters=batch, include=_INCLUDE
            )
            found.extend(
                Found(self.kind, cluster["clusterArn"], cluster["clusterName"], cluster)
                for cluster in response.get("clusters", [])
                if cluster.get("status") == "ACTIVE"
            )
        return found

    def spec(self, found: Found, names: DocumentNames, context: ImportContext) -> ImportedSpec:
        tree = live_tree(found.state)
        settings = [
            {"name": name, "value": value}
            for name, value in sorted(tree.get("settings", {}).items())
            if _DEFAULT_SETTINGS.get(name) != value
        ]
        return ImportedSpec(
            without_none(
                {
                    "capacityProviders": tree["capacityProviders"] or None,
                    "defaultCapacityProviderStrategy": imported_strategy(
                        tree["defaultCapacityProviderStrategy"]
                    ),
                    "settings": settings or None,
                    "configuration": tree.get("configuration"),
                    "serviceConnectDefaults": tree.get("serviceConnectDefaults"),
                    "tags": imported_tags(tags_to_map(found.state.get("tags"))),
                }
            )
        )


IMPORTER = ClusterImporter()
