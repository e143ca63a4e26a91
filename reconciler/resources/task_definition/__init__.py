"""The TaskDefinition kind: ECS task definition families: a revision per change, old revisions cleaned up.

`model` is its spec, `checks` what validation adds, `kind` how it is observed and planned.
"""

from reconciler.resources.base import KindDescriptor
from reconciler.resources.task_definition import checks
from reconciler.resources.task_definition.model import TaskDefinitionSpec

DESCRIPTOR = KindDescriptor(
    spec=TaskDefinitionSpec,
    resource_module=f"{__name__}.kind",
    services=("ecs", "ecr"),
    checks=checks.CHECKS,
    importer_module=f"{__name__}.importer",
    warnings=checks.WARNINGS,
)
