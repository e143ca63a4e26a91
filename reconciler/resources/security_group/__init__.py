"""The SecurityGroup kind: VPC security groups and their rules.

`model` is its spec, `checks` what validation adds, `kind` how it is observed and planned.
"""

from reconciler.resources.base import KindDescriptor, ResourceKind
from reconciler.resources.security_group import checks
from reconciler.resources.security_group.model import SecurityGroupSpec


def _resource() -> ResourceKind:
    from reconciler.resources.security_group.kind import KIND

    return KIND


DESCRIPTOR = KindDescriptor(
    spec=SecurityGroupSpec,
    load_resource=_resource,
    services=("ec2",),
    checks=checks.CHECKS,
)
