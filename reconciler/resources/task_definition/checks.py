"""The TaskDefinition kind's semantic checks (Fargate sizes, container resources and names, awsvpc
ports, logging, the execution role) and its warnings (plain environment values that look secret)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from reconciler.resources.task_definition.model import (
    ContainerDefinition,
    RepositoryImage,
    TaskDefinitionSpec,
)
from reconciler.spec.checks import Check, CheckContext, error
from reconciler.spec.document import FieldPath
from reconciler.spec.errors import SpecError
from reconciler.spec.secrets import plain_secret_warnings

# Fargate's valid task sizes: CPU units -> the memory sizes (MiB) allowed with it.
FARGATE_MEMORY_BY_CPU: Mapping[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}


def _is_fargate(spec: TaskDefinitionSpec) -> bool:
    return "FARGATE" in (spec.requires_compatibilities or ())


def fargate_task_size(context: CheckContext) -> Iterator[SpecError]:
    """Fargate needs awsvpc, task-level cpu and memory, and one of its allowed size pairs."""
    for document, spec in context.of(TaskDefinitionSpec):
        if not _is_fargate(spec):
            continue
        if spec.network_mode != "awsvpc":
            yield error(document, ("spec", "networkMode"), "Fargate tasks need networkMode awsvpc")
        if spec.cpu is None:
            yield error(document, ("spec", "cpu"), "Fargate tasks need a task-level cpu")
        if spec.memory is None:
            yield error(document, ("spec", "memory"), "Fargate tasks need a task-level memory")
        if spec.cpu is None or spec.memory is None:
            continue
        cpu, memory = int(spec.cpu), int(spec.memory)
        allowed = FARGATE_MEMORY_BY_CPU.get(cpu)
        if allowed is None:
            sizes = ", ".join(str(size) for size in FARGATE_MEMORY_BY_CPU)
            yield error(document, ("spec", "cpu"), f"Fargate has no cpu {cpu} (valid: {sizes})")
        elif memory not in allowed:
            yield error(
                document,
                ("spec", "memory"),
                f"Fargate cpu {cpu} allows memory {_describe_sizes(allowed)} MiB, not {memory}",
            )


def _describe_sizes(sizes: Sequence[int]) -> str:
    if len(sizes) <= 3:
        return "/".join(str(size) for size in sizes)
    return f"{sizes[0]}-{sizes[-1]} in steps of {sizes[1] - sizes[0]}"


def container_resources(context: CheckContext) -> Iterator[SpecError]:
    """Containers fit in the task: cpu sum and each memory within task-level values."""
    for document, spec in context.of(TaskDefinitionSpec):
        containers = spec.container_definitions
        if spec.cpu is not None:
            total = sum(container.cpu or 0 for container in containers)
            if total > int(spec.cpu):
                yield error(
                    document,
                    ("spec", "containerDefinitions"),
                    f"containers reserve {total} CPU units, more than the task's {spec.cpu}",
                )
        for index, container in enumerate(containers):
            path: FieldPath = ("spec", "containerDefinitions", index)
            for attribute, key in (("memory", "memory"), ("memory_reservation", "memoryReservation")):
                value = getattr(container, attribute)
                if spec.memory is not None and value is not None and value > int(spec.memory):
                    yield error(
                        document, (*path, key), f"{value} MiB is more than the task's {spec.memory} MiB"
                    )
            if (
                container.memory is not None
                and container.memory_reservation is not None
                and container.memory_reservation > container.memory
            ):
                yield error(
                    document, (*path, "memoryReservation"), "memoryReservation must not exceed memory"
                )
            if spec.memory is None and container.memory is None and container.memory_reservation is None:
                yield error(
                    document,
                    (*path, "memory"),
                    "without a task-level memory every container needs memory or memoryReservation",
                )


def container_names(context: CheckContext) -> Iterator[SpecError]:
    """Container names unique; dependsOn, mountPoints name containers and volumes that exist."""
    for document, spec in context.of(TaskDefinitionSpec):
        names = [container.name for container in spec.container_definitions]
        volumes = {volume.name for volume in spec.volumes or ()}
        seen: set[str] = set()
        for index, container in enumerate(spec.container_definitions):
            path: FieldPath = ("spec", "containerDefinitions", index)
            if container.name in seen:
                yield error(document, (*path, "name"), f"duplicate container name {container.name!r}")
            seen.add(container.name)
            for dependency_index, dependency in enumerate(container.depends_on or ()):
                if dependency.container_name not in names or dependency.container_name == container.name:
                    yield error(
                        document,
                        (*path, "dependsOn", dependency_index, "containerName"),
                        f"no other container named {dependency.container_name!r} in this task definition",
                    )
            for mount_index, mount in enumerate(container.mount_points or ()):
                if mount.source_volume not in volumes:
                    yield error(
                        document,
                        (*path, "mountPoints", mount_index, "sourceVolume"),
                        f"no volume named {mount.source_volume!r} in spec.volumes",
                    )
        if spec.container_definitions and all(c.essential is False for c in spec.container_definitions):
            yield error(
                document, ("spec", "containerDefinitions"), "at least one container must be essential"
            )


def awsvpc_host_ports(context: CheckContext) -> Iterator[SpecError]:
    """Under awsvpc (and so on Fargate) a hostPort, when written, must equal the containerPort."""
    for document, spec in context.of(TaskDefinitionSpec):
        if spec.network_mode != "awsvpc":
            continue
        for index, container in enumerate(spec.container_definitions):
            for mapping_index, mapping in enumerate(container.port_mappings or ()):
                if mapping.host_port is not None and mapping.host_port != mapping.container_port:
                    yield error(
                        document,
                        ("spec", "containerDefinitions", index, "portMappings", mapping_index, "hostPort"),
                        f"under awsvpc hostPort must equal containerPort ({mapping.container_port})",
                    )


def log_configuration(context: CheckContext) -> Iterator[SpecError]:
    """awslogs needs a group (and a stream prefix on Fargate); the Region defaults to the one the
    task definition is registered in."""
    for document, spec in context.of(TaskDefinitionSpec):
        required = ["awslogs-group"]
        if _is_fargate(spec):
            required.append("awslogs-stream-prefix")
        for index, container in enumerate(spec.container_definitions):
            logs = container.log_configuration
            if logs is None or logs.log_driver != "awslogs":
                continue
            missing = [option for option in required if option not in (logs.options or {})]
            if missing:
                yield error(
                    document,
                    ("spec", "containerDefinitions", index, "logConfiguration", "options"),
                    f"awslogs needs option(s) {', '.join(missing)}",
                )


def _needs_execution_role(container: ContainerDefinition) -> str | None:
    if isinstance(container.image, RepositoryImage):
        return "to pull its image from ECR"
    if container.log_configuration is not None and container.log_configuration.log_driver == "awslogs":
        return "to send awslogs"
    if container.secrets:
        return "to read its secrets"
    return None


def fargate_execution_role(context: CheckContext) -> Iterator[SpecError]:
    """On Fargate, the agent pulls from ECR, logs and reads secrets with the execution role."""
    for document, spec in context.of(TaskDefinitionSpec):
        if not _is_fargate(spec) or spec.execution_role_arn is not None:
            continue
        for container in spec.container_definitions:
            reason = _needs_execution_role(container)
            if reason is not None:
                yield error(
                    document,
                    ("spec", "executionRoleArn"),
                    f"container {container.name!r} needs an executionRoleArn {reason} on Fargate",
                )
                break  # one error per task definition: the fix is the same


def plain_secrets(context: CheckContext) -> Iterator[SpecError]:
    """Plain environment values that look like secrets, by name or by value: valid, but `validate`
    warns and says to give them through `secrets` (Secrets Manager or SSM) instead."""
    for document, spec in context.of(TaskDefinitionSpec):
        for position, container in enumerate(spec.container_definitions):
            pairs = [(pair.name, pair.value) for pair in container.environment or ()]
            for index, message in plain_secret_warnings(pairs):
                path = ("spec", "containerDefinitions", position, "environment", index, "value")
                yield error(document, path, message)


CHECKS: tuple[Check, ...] = (
    fargate_task_size,
    container_resources,
    container_names,
    awsvpc_host_ports,
    log_configuration,
    fargate_execution_role,
)
WARNINGS: tuple[Check, ...] = (plain_secrets,)
