"""The Service kind: ECS services, with their Application Auto Scaling target, policies and scheduled actions.

`model` is its spec, `checks` what validation adds, `kind` how it is observed and planned.
"""

from reconciler.resources.base import KindDescriptor, ResourceKind
from reconciler.resources.service import checks
from reconciler.resources.service.model import ServiceSpec


def _resource() -> ResourceKind:
    from reconciler.resources.service.kind import KIND

    return KIND


DESCRIPTOR = KindDescriptor(
    spec=ServiceSpec,
    load_resource=_resource,
    services=("ecs", "application-autoscaling"),
    checks=checks.CHECKS,
)
