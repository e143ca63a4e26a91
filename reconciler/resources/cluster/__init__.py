"""The Cluster kind: ECS clusters and their capacity providers.

`model` is its spec, `checks` what validation adds, `kind` how it is observed and planned.
"""

from reconciler.resources.base import KindDescriptor, ResourceKind
from reconciler.resources.cluster import checks
from reconciler.resources.cluster.model import ClusterSpec


def _resource() -> ResourceKind:
    from reconciler.resources.cluster.kind import KIND

    return KIND


DESCRIPTOR = KindDescriptor(
    spec=ClusterSpec,
    load_resource=_resource,
    services=("ecs",),
    checks=checks.CHECKS,
)
