"""The LogGroup kind: CloudWatch Logs log groups, their retention, KMS key and tags.

`model` is its spec, `kind` how it is observed and planned. Task definitions whose `awslogs-group`
names a LogGroup document are registered after it exists.
"""

from reconciler.resources.base import KindDescriptor, ResourceKind
from reconciler.resources.log_group.model import LogGroupSpec


def _resource() -> ResourceKind:
    from reconciler.resources.log_group.kind import KIND

    return KIND


DESCRIPTOR = KindDescriptor(
    spec=LogGroupSpec,
    load_resource=_resource,
    services=("logs",),
)
