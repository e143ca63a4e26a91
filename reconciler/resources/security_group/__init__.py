"""The SecurityGroup kind: VPC security groups and their rules.

`model` is its spec, `checks` what validation adds, `kind` how it is observed and planned.
"""

from reconciler.resources.base import KindDescriptor
from reconciler.resources.security_group import checks
from reconciler.resources.security_group.model import SecurityGroupSpec

DESCRIPTOR = KindDescriptor(
    spec=SecurityGroupSpec,
    resource_module=f"{__name__}.kind",
    services=("ec2",),
    checks=checks.CHECKS,
    importer_module=f"{__name__}.importer",
)
