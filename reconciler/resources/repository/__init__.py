"""The Repository kind: ECR repositories: their settings, lifecycle and repository policies.

`model` is its spec, `checks` what validation adds, `kind` how it is observed and planned.
"""

from reconciler.resources.base import KindDescriptor, ResourceKind
from reconciler.resources.repository.model import RepositorySpec


def _resource() -> ResourceKind:
    from reconciler.resources.repository.kind import KIND

    return KIND


DESCRIPTOR = KindDescriptor(
    spec=RepositorySpec,
    load_resource=_resource,
    services=("ecr",),
)
