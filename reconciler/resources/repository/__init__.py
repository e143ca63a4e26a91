"""The Repository kind: ECR repositories: their settings, lifecycle and repository policies.

`model` is its spec, `checks` what validation adds, `kind` how it is observed and planned.
"""

from reconciler.resources.base import KindDescriptor
from reconciler.resources.repository.model import RepositorySpec

DESCRIPTOR = KindDescriptor(
    spec=RepositorySpec,
    resource_module=f"{__name__}.kind",
    services=("ecr",),
    importer_module=f"{__name__}.importer",
)
