"""The TargetGroup kind: ELBv2 target groups (replaced when a field AWS cannot change does).

`model` is its spec, `checks` what validation adds, `kind` how it is observed and planned.
"""

from reconciler.resources.base import KindDescriptor, ResourceKind
from reconciler.resources.target_group import checks
from reconciler.resources.target_group.model import TargetGroupSpec


def _resource() -> ResourceKind:
    from reconciler.resources.target_group.kind import KIND

    return KIND


DESCRIPTOR = KindDescriptor(
    spec=TargetGroupSpec,
    load_resource=_resource,
    services=("elbv2",),
    checks=checks.CHECKS,
)
