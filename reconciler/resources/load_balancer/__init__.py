"""The LoadBalancer kind: Application Load Balancers with their listeners, certificates and rules.

`model` is its spec, `checks` what validation adds, `kind` how it is observed and planned.
"""

from reconciler.resources.base import KindDescriptor, ResourceKind
from reconciler.resources.load_balancer import checks
from reconciler.resources.load_balancer.model import LoadBalancerSpec


def _resource() -> ResourceKind:
    from reconciler.resources.load_balancer.kind import KIND

    return KIND


DESCRIPTOR = KindDescriptor(
    spec=LoadBalancerSpec,
    load_resource=_resource,
    services=("elbv2",),
    checks=checks.CHECKS,
)
