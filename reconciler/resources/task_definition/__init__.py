"""The TaskDefinition kind: ECS task definition families: a revision per change, old revisions cleaned up.

`model` is its spec, `checks` what validation adds, `kind` how it is observed and planned.
"""

from reconciler.resources.base import KindDescriptor, ResourceKind
from reconciler.resources.task_definition import checks
from reconciler.resources.task_definition.model import TaskDefinitionSpec


def _resource() -> ResourceKind:
    from reconciler.resources.task_definition.kind import KIND

    return KIND


DESCRIPTOR = KindDescriptor(
    spec=TaskDefinitionSpec,
    load_resource=_resource,
    services=("ecs", "ecr"),
    checks=checks.CHECKS,
    warnings=checks.WARNINGS,
)
