"""The Service kind: ECS services, with their Application Auto Scaling target, policies and scheduled actions.

`model` is its spec, `checks` what validation adds, `kind` how it is observed and planned.
"""

from reconciler.resources.base import KindDescriptor
from reconciler.resources.service import checks
from reconciler.resources.service.model import ServiceSpec

DESCRIPTOR = KindDescriptor(
    spec=ServiceSpec,
    resource_module=f"{__name__}.kind",
    services=("ecs", "application-autoscaling"),
    checks=checks.CHECKS,
    importer_module=f"{__name__}.importer",
)
