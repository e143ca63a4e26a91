"""The LoadBalancer kind: Application Load Balancers with their listeners, certificates and rules.

`model` is its spec, `checks` what validation adds, `kind` how it is observed and planned.
"""

from reconciler.resources.base import KindDescriptor
from reconciler.resources.load_balancer import checks
from reconciler.resources.load_balancer.model import LoadBalancerSpec

DESCRIPTOR = KindDescriptor(
    spec=LoadBalancerSpec,
    resource_module=f"{__name__}.kind",
    services=("elbv2",),
    checks=checks.CHECKS,
    importer_module=f"{__name__}.importer",
)
