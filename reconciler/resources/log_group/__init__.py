"""The LogGroup kind: CloudWatch Logs log groups, their retention, KMS key and tags.

`model` is its spec, `kind` how it is observed and planned. Task definitions whose `awslogs-group`
names a LogGroup document are registered after it exists.
"""

from reconciler.resources.base import KindDescriptor
from reconciler.resources.log_group.model import LogGroupSpec

DESCRIPTOR = KindDescriptor(
    spec=LogGroupSpec,
    resource_module=f"{__name__}.kind",
    services=("logs",),
    importer_module=f"{__name__}.importer",
)
