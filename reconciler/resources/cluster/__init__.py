"""The Cluster kind: ECS clusters and their capacity providers.

`model` is its spec, `checks` what validation adds, `kind` how it is observed and planned.
"""

from reconciler.resources.base import KindDescriptor
from reconciler.resources.cluster import checks
from reconciler.resources.cluster.model import ClusterSpec

DESCRIPTOR = KindDescriptor(
    spec=ClusterSpec,
    resource_module=f"{__name__}.kind",
    services=("ecs",),
    checks=checks.CHECKS,
    importer_module=f"{__name__}.importer",
)
