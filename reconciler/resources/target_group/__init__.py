"""The TargetGroup kind: ELBv2 target groups (replaced when a field AWS cannot change does).

`model` is its spec, `checks` what validation adds, `kind` how it is observed and planned.
"""

from reconciler.resources.base import KindDescriptor
from reconciler.resources.target_group import checks
from reconciler.resources.target_group.model import TargetGroupSpec

DESCRIPTOR = KindDescriptor(
    spec=TargetGroupSpec,
    resource_module=f"{__name__}.kind",
    services=("elbv2",),
    checks=checks.CHECKS,
    importer_module=f"{__name__}.importer",
)
