"""Semantic validation: the rules a single model cannot see, and the one loading entry point.

``load_spec_set`` is what the CLI (``validate``, ``plan``, ``apply``) and the daemon call: it
loads the files (``reconciler.spec.loader``), runs every check here, and returns a ``SpecSet``
only when there is no error at all. Each check is a small function over a ``CheckContext``
yielding ``SpecError``s; ``CHECKS`` lists them all, so every problem is reported in one pass.
Pure: validation never calls AWS (``vpc: default`` and friends are resolved by the engine).
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from reconciler.spec.document import Document, DocumentKey, FieldPath, SpecSet
from reconciler.spec.errors import SpecError, render_path
from reconciler.spec.loader import load_documents
from reconciler.spec.models import (
    SPEC_TYPES,
    CapacityProviderStrategyItem,
    ClusterSpec,
    ContainerDefinition,
    ForwardAction,
    KindSpec,
    LoadBalancerSpec,
    RepositoryImage,
    SecurityGroupRule,
    SecurityGroupSpec,
    ServiceSpec,
    TargetGroupSpec,
    TaskDefinitionSpec,
)
from reconciler.spec.references import Reference, all_references, find_cycles
from reconciler.spec.secrets import plain_secret_warnings

SpecT = TypeVar("SpecT", bound=KindSpec)

FARGATE_CAPACITY_PROVIDERS = frozenset({"FARGATE", "FARGATE_SPOT"})

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


@dataclass(frozen=True)
class CheckContext:
    """What every check sees: the documents that passed their models, and what the loader knows.

    ``invalid_keys`` and ``complete`` come from the loader: a reference to a document that failed
    its model, or any reference while some file did not parse, is not reported as missing.
    """

    documents: tuple[Document, ...]
    invalid_keys: frozenset[DocumentKey] = frozenset()
    complete: bool = True
    references: tuple[Reference, ...] = field(default=())

    @cached_property
    def by_key(self) -> Mapping[DocumentKey, Document]:
        """The first document of each (kind, name); duplicates are ``duplicate_names``' concern."""
        index: dict[DocumentKey, Document] = {}
        for document in self.documents:
            index.setdefault(document.key, document)
        return index

    def of(self, spec_type: type[SpecT]) -> Iterator[tuple[Document, SpecT]]:
        """Documents whose spec is a ``spec_type``, in file order, with the spec narrowed."""
        for document in self.documents:
            if isinstance(document.spec, spec_type):
                yield document, document.spec

    def target(self, kind: str, name: str, spec_type: type[SpecT]) -> SpecT | None:
        """The spec of a referenced document when it exists and has that kind, else None."""
        document = self.by_key.get((kind, name))
        return document.spec if document is not None and isinstance(document.spec, spec_type) else None


def error(document: Document, path: FieldPath, message: str) -> SpecError:
    """A ``SpecError`` for ``path`` (from the document root) in ``document``, on that field's line."""
    return SpecError(
        file=document.file,
        line=document.line_of(path),
        kind=document.kind.value,
        name=document.name,
        path=render_path(path),
        message=message,
    )


Check = Callable[[CheckContext], Iterable[SpecError]]

# --- names ------------------------------------------------------------------------------------


def duplicate_names(context: CheckContext) -> Iterator[SpecError]:
    """Two documents of one kind with the same metadata.name."""
    first: dict[DocumentKey, Document] = {}
    for document in context.documents:
        earlier = first.setdefault(document.key, document)
        if earlier is not document:
            yield error(
                document,
                ("metadata", "name"),
                f"duplicate {document.kind.value} named {document.name!r} "
                f"(first at {earlier.file}:{earlier.line})",
            )


def _aws_identity(document: Document) -> tuple[Any, ...]:
    """What AWS keeps unique: the name per kind, per cluster for services, per VPC for groups."""
    spec = document.spec
    if isinstance(spec, ServiceSpec):
        return (spec.cluster, document.aws_name)
    if isinstance(spec, SecurityGroupSpec):
        return (spec.vpc, document.aws_name)
    return (document.aws_name,)


_NAME_FIELD_ALIASES: Mapping[type[KindSpec], str] = {
    spec_type: spec_type.model_fields[spec_type.AWS_NAME_FIELD].alias or spec_type.AWS_NAME_FIELD
    for spec_type in SPEC_TYPES.values()
}


def duplicate_aws_names(context: CheckContext) -> Iterator[SpecError]:
    """Two documents of one kind (different metadata.name) that would be the same AWS resource."""
    first: dict[tuple[str, tuple[Any, ...]], Document] = {}
    for document in context.documents:
        key = (document.kind.value, _aws_identity(document))
        earlier = first.setdefault(key, document)
        if earlier is not document and earlier.name != document.name:
            field_name = _NAME_FIELD_ALIASES[type(document.spec)]
            yield error(
                document,
                ("spec", field_name),
                f"{field_name} {document.aws_name!r} is also the AWS name of "
                f"{earlier.kind.value}/{earlier.name} ({earlier.file}:{earlier.line})",
            )


@functools.cache
def _name_adapter(spec_type: type[KindSpec]) -> TypeAdapter[Any]:
    """A validator of the spec's AWS name field alone, to check names defaulted from metadata.name."""
    annotation: Any = spec_type.model_fields[spec_type.AWS_NAME_FIELD].annotation
    return TypeAdapter(annotation)


def aws_name_rules(context: CheckContext) -> Iterator[SpecError]:
    """A name defaulted from metadata.name must still be a valid AWS name (ELB names: 32 characters)."""
    for document in context.documents:
        spec_type = type(document.spec)
        if getattr(document.spec, spec_type.AWS_NAME_FIELD) is not None:
            continue  # written explicitly, so its model already checked it
        try:
            _name_adapter(spec_type).validate_python(document.name)
        except ValidationError as failure:
            reason = failure.errors()[0]["msg"].removeprefix("Value error, ")
            field_name = _NAME_FIELD_ALIASES[spec_type]
            yield error(
                document,
                ("metadata", "name"),
                f"{document.name!r} is not a valid {field_name} ({reason}); set spec.{field_name}",
            )


# --- references -------------------------------------------------------------------------------


def dangling_references(context: CheckContext) -> Iterator[SpecError]:
    """References to documents that do not exist, or exist with another kind."""
    if not context.complete:
        return  # a file that did not parse may hold the target; its own error says what to fix
    kinds_by_name: dict[str, list[str]] = {}
    for kind, name in context.by_key:
        kinds_by_name.setdefault(name, []).append(kind)
    for reference in context.references:
        if reference.target in context.by_key or reference.target in context.invalid_keys:
            continue
        source = context.by_key.get(reference.source)
        if source is None:  # pragma: no cover - references come from loaded documents
            continue
        others = [
            kind for kind in kinds_by_name.get(reference.target_name, []) if kind != reference.target_kind
        ]
        hint = f" ({reference.target_name!r} is a {' and a '.join(others)})" if others else ""
        yield error(
            source,
            reference.path,
            f"no {reference.target_kind} document named {reference.target_name!r}{hint}",
        )


def reference_cycles(context: CheckContext) -> Iterator[SpecError]:
    """Documents that each need another created first, in a circle."""
    for cycle in find_cycles(context.references):
        document = context.by_key.get(cycle[0])
        if document is None:
            continue
        path = " -> ".join(f"{kind}/{name}" for kind, name in (*cycle, cycle[0]))
        yield error(document, ("metadata", "name"), f"reference cycle: {path}")


# --- task definitions ---------------------------------------------------------------------------


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
    """awslogs needs a group and a region (and a stream prefix on Fargate)."""
    for document, spec in context.of(TaskDefinitionSpec):
        required = ["awslogs-group", "awslogs-region"]
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


# --- security groups ---------------------------------------------------------------------------


def _rule_identity(rule: SecurityGroupRule) -> tuple[Any, ...]:
    return (
        rule.protocol,
        rule.port_range,
        rule.cidr,
        rule.ipv6_cidr,
        rule.security_group,
        rule.prefix_list_id,
    )


def security_group_rules(context: CheckContext) -> Iterator[SpecError]:
    """Port ranges in order and in range for the protocol; no rule written twice."""
    for document, spec in context.of(SecurityGroupSpec):
        for direction in ("ingress", "egress"):
            seen: dict[tuple[Any, ...], int] = {}
            for index, rule in enumerate(getattr(spec, direction) or ()):
                path: FieldPath = ("spec", direction, index)
                low, high = rule.from_port, rule.to_port
                if low is not None and high is not None and rule.protocol in ("tcp", "udp") and low > high:
                    yield error(
                        document, (*path, "fromPort"), f"fromPort {low} is greater than toPort {high}"
                    )
                if rule.protocol in ("tcp", "udp"):
                    for key, value in (
                        ("port", rule.port),
                        ("fromPort", rule.from_port),
                        ("toPort", rule.to_port),
                    ):
                        if value is not None and value < 0:
                            yield error(
                                document, (*path, key), f"{rule.protocol} ports are 0-65535, not {value}"
                            )
                identity = _rule_identity(rule)
                if identity in seen:
                    yield error(document, path, f"the same rule as {direction}[{seen[identity]}]")
                else:
                    seen[identity] = index


# --- target groups and load balancers -------------------------------------------------------------


def target_group_shape(context: CheckContext) -> Iterator[SpecError]:
    """Non-lambda target groups need protocol, port and vpc; lambda ones take none of them."""
    for document, spec in context.of(TargetGroupSpec):
        if spec.target_type == "lambda":
            for key, value in (("protocol", spec.protocol), ("port", spec.port), ("vpc", spec.vpc)):
                if value is not None:
                    yield error(document, ("spec", key), f"a lambda target group takes no {key}")
            continue
        for key, value in (("protocol", spec.protocol), ("port", spec.port), ("vpc", spec.vpc)):
            if value is None:
                target_type = spec.target_type or "instance"
                yield error(
                    document, ("spec", key), f"a target group of targetType {target_type} needs {key}"
                )
        if spec.protocol_version is not None and spec.protocol not in ("HTTP", "HTTPS"):
            yield error(document, ("spec", "protocolVersion"), "protocolVersion needs protocol HTTP or HTTPS")
        matcher = spec.health_check.matcher if spec.health_check else None
        if matcher is not None and matcher.grpc_code is not None and spec.protocol_version != "GRPC":
            yield error(
                document,
                ("spec", "healthCheck", "matcher", "grpcCode"),
                "grpcCode needs protocolVersion GRPC",
            )


def _forward_target_groups(action: object, path: FieldPath) -> Iterator[tuple[str, FieldPath]]:
    if not isinstance(action, ForwardAction):
        return
    if action.target_group is not None:
        yield action.target_group, (*path, "targetGroup")
    for index, item in enumerate(action.forward_config.target_groups if action.forward_config else ()):
        yield item.target_group, (*path, "forwardConfig", "targetGroups", index, "targetGroup")


def _load_balancer_actions(spec: LoadBalancerSpec) -> Iterator[tuple[object, FieldPath]]:
    for listener_index, listener in enumerate(spec.listeners or ()):
        base: FieldPath = ("spec", "listeners", listener_index)
        yield listener.default_action, (*base, "defaultAction")
        for rule_index, rule in enumerate(listener.rules or ()):
            for action_index, action in enumerate(rule.actions):
                yield action, (*base, "rules", rule_index, "actions", action_index)


def listeners(context: CheckContext) -> Iterator[SpecError]:
    """Listener ports unique per load balancer; rule priorities unique per listener."""
    for document, spec in context.of(LoadBalancerSpec):
        ports: dict[int, int] = {}
        for index, listener in enumerate(spec.listeners or ()):
            if listener.port in ports:
                yield error(
                    document,
                    ("spec", "listeners", index, "port"),
                    f"port {listener.port} already has a listener (listeners[{ports[listener.port]}])",
                )
            ports.setdefault(listener.port, index)
            priorities: dict[int, int] = {}
            for rule_index, rule in enumerate(listener.rules or ()):
                if rule.priority in priorities:
                    yield error(
                        document,
                        ("spec", "listeners", index, "rules", rule_index, "priority"),
                        f"priority {rule.priority} is already used by rules[{priorities[rule.priority]}]",
                    )
                priorities.setdefault(rule.priority, rule_index)


def forward_targets(context: CheckContext) -> Iterator[SpecError]:
    """An ALB forwards to HTTP/HTTPS (or lambda) target groups, each once per action."""
    for document, spec in context.of(LoadBalancerSpec):
        for action, path in _load_balancer_actions(spec):
            names: list[str] = []
            for name, target_path in _forward_target_groups(action, path):
                if name in names:
                    yield error(document, target_path, f"target group {name!r} appears twice in this action")
                names.append(name)
                target = context.target("TargetGroup", name, TargetGroupSpec)
                if target is None or target.target_type == "lambda" or target.protocol is None:
                    continue
                if target.protocol not in ("HTTP", "HTTPS"):
                    yield error(
                        document,
                        target_path,
                        f"an application load balancer cannot forward to a {target.protocol} target group",
                    )


# --- services ------------------------------------------------------------------------------------


def _service_uses_fargate(spec: ServiceSpec, cluster: ClusterSpec | None) -> bool:
    if spec.launch_type is not None:
        return spec.launch_type == "FARGATE"
    strategy = spec.capacity_provider_strategy
    if strategy is None and cluster is not None:
        strategy = cluster.default_capacity_provider_strategy
    return any(item.capacity_provider in FARGATE_CAPACITY_PROVIDERS for item in strategy or ())


def service_network(context: CheckContext) -> Iterator[SpecError]:
    """awsvpc tasks need networkConfiguration, other modes refuse it; Fargate needs a Fargate task."""
    for document, spec in context.of(ServiceSpec):
        task = context.target("TaskDefinition", spec.task_definition, TaskDefinitionSpec)
        cluster = context.target("Cluster", spec.cluster, ClusterSpec)
        if task is None:
            continue
        fargate = _service_uses_fargate(spec, cluster)
        awsvpc = task.network_mode == "awsvpc"
        if awsvpc and spec.network_configuration is None:
            yield error(
                document,
                ("spec", "networkConfiguration"),
                f"task definition {spec.task_definition!r} uses awsvpc, "
                "so the service needs networkConfiguration",
            )
        if not awsvpc and spec.network_configuration is not None:
            yield error(
                document,
                ("spec", "networkConfiguration"),
                f"networkConfiguration needs an awsvpc task definition ({spec.task_definition!r} is "
                f"{task.network_mode or 'not awsvpc'})",
            )
        if fargate and not _is_fargate(task):
            yield error(
                document,
                ("spec", "taskDefinition"),
                f"the service runs on Fargate but {spec.task_definition!r} does not list FARGATE "
                "in requiresCompatibilities",
            )
        assign = (
            spec.network_configuration.awsvpc_configuration.assign_public_ip
            if spec.network_configuration
            else None
        )
        if assign == "ENABLED" and not fargate:
            yield error(
                document,
                ("spec", "networkConfiguration", "awsvpcConfiguration", "assignPublicIp"),
                "assignPublicIp ENABLED is only supported on Fargate",
            )


def service_load_balancers(context: CheckContext) -> Iterator[SpecError]:
    """Each load-balanced container and port exists, the target group's type fits, and a listener uses it."""
    listened: set[str] = set()
    for _, balancer in context.of(LoadBalancerSpec):
        for action, path in _load_balancer_actions(balancer):
            listened.update(name for name, _ in _forward_target_groups(action, path))
    for document, spec in context.of(ServiceSpec):
        task = context.target("TaskDefinition", spec.task_definition, TaskDefinitionSpec)
        for index, load_balancer in enumerate(spec.load_balancers or ()):
            item_path: FieldPath = ("spec", "loadBalancers", index)
            if task is not None:
                containers = {container.name: container for container in task.container_definitions}
                container = containers.get(load_balancer.container_name)
                if container is None:
                    yield error(
                        document,
                        (*item_path, "containerName"),
                        f"task definition {spec.task_definition!r} has no container "
                        f"{load_balancer.container_name!r}",
                    )
                elif load_balancer.container_port not in {
                    m.container_port for m in container.port_mappings or ()
                }:
                    yield error(
                        document,
                        (*item_path, "containerPort"),
                        f"container {container.name!r} has no port mapping for containerPort "
                        f"{load_balancer.container_port}",
                    )
            target = context.target("TargetGroup", load_balancer.target_group, TargetGroupSpec)
            if target is None:
                continue
            if task is not None and task.network_mode == "awsvpc" and target.target_type != "ip":
                yield error(
                    document,
                    (*item_path, "targetGroup"),
                    f"awsvpc tasks register by IP: target group {load_balancer.target_group!r} "
                    "needs targetType ip",
                )
            if task is not None and target.target_type == "ip" and task.network_mode != "awsvpc":
                yield error(
                    document,
                    (*item_path, "targetGroup"),
                    f"target group {load_balancer.target_group!r} has targetType ip, which needs an awsvpc "
                    "task definition",
                )
            if load_balancer.target_group not in listened:
                yield error(
                    document,
                    (*item_path, "targetGroup"),
                    f"no LoadBalancer listener forwards to target group {load_balancer.target_group!r} "
                    "(ECS refuses a target group without a load balancer)",
                )


def _strategy_errors(
    document: Document,
    strategy: Sequence[CapacityProviderStrategyItem],
    path: FieldPath,
    available: set[str] | None,
) -> Iterator[SpecError]:
    with_base = [index for index, item in enumerate(strategy) if item.base]
    for index in with_base[1:]:
        yield error(
            document, (*path, index, "base"), "only one capacity provider in a strategy may have a base"
        )
    for index, item in enumerate(strategy):
        if available is not None and item.capacity_provider not in available:
            yield error(
                document,
                (*path, index, "capacityProvider"),
                f"{item.capacity_provider!r} is not in the cluster's capacityProviders",
            )


def capacity_provider_strategies(context: CheckContext) -> Iterator[SpecError]:
    """One base per strategy; providers the cluster lists, when its document lists them."""
    for document, cluster in context.of(ClusterSpec):
        available = set(cluster.capacity_providers) if cluster.capacity_providers is not None else None
        yield from _strategy_errors(
            document,
            cluster.default_capacity_provider_strategy or (),
            ("spec", "defaultCapacityProviderStrategy"),
            available,
        )
    for document, spec in context.of(ServiceSpec):
        target_cluster = context.target("Cluster", spec.cluster, ClusterSpec)
        providers = target_cluster.capacity_providers if target_cluster is not None else None
        yield from _strategy_errors(
            document,
            spec.capacity_provider_strategy or (),
            ("spec", "capacityProviderStrategy"),
            set(providers) if providers is not None else None,
        )


def service_scaling(context: CheckContext) -> Iterator[SpecError]:
    """Autoscaling bounds in order, desiredCount inside them, names unique, DAEMON not scaled."""
    for document, spec in context.of(ServiceSpec):
        if spec.scheduling_strategy == "DAEMON":
            if spec.desired_count is not None:
                yield error(document, ("spec", "desiredCount"), "a DAEMON service takes no desiredCount")
            if spec.autoscaling is not None:
                yield error(document, ("spec", "autoscaling"), "a DAEMON service cannot be autoscaled")
        scaling = spec.autoscaling
        if scaling is None:
            continue
        base: FieldPath = ("spec", "autoscaling")
        if scaling.min_capacity > scaling.max_capacity:
            yield error(
                document,
                (*base, "minCapacity"),
                f"minCapacity {scaling.min_capacity} is greater than maxCapacity {scaling.max_capacity}",
            )
        elif (
            spec.desired_count is not None
            and not scaling.min_capacity <= spec.desired_count <= scaling.max_capacity
        ):
            yield error(
                document,
                ("spec", "desiredCount"),
                f"desiredCount {spec.desired_count} is outside autoscaling "
                f"{scaling.min_capacity}-{scaling.max_capacity}",
            )
        policy_names = [policy.policy_name for policy in scaling.target_tracking_policies or ()] + [
            policy.policy_name for policy in scaling.step_scaling_policies or ()
        ]
        repeated = {name for name, count in Counter(policy_names).items() if count > 1}
        policies: list[tuple[str, int, str]] = [
            ("targetTrackingPolicies", index, policy.policy_name)
            for index, policy in enumerate(scaling.target_tracking_policies or ())
        ] + [
            ("stepScalingPolicies", index, policy.policy_name)
            for index, policy in enumerate(scaling.step_scaling_policies or ())
        ]
        reported: set[str] = set()
        for group, index, name in policies:
            if name in repeated and name in reported:
                yield error(document, (*base, group, index, "policyName"), f"duplicate policyName {name!r}")
            reported.add(name)
        for index, tracking in enumerate(scaling.target_tracking_policies or ()):
            if (
                tracking.predefined_metric_type == "ALBRequestCountPerTarget"
                and tracking.resource_label is None
                and len(spec.load_balancers or ()) != 1
            ):
                yield error(
                    document,
                    (*base, "targetTrackingPolicies", index, "predefinedMetricType"),
                    "ALBRequestCountPerTarget without resourceLabel needs exactly one entry in loadBalancers",
                )
        action_names: set[str] = set()
        for index, action in enumerate(scaling.scheduled_actions or ()):
            path: FieldPath = (*base, "scheduledActions", index)
            if action.scheduled_action_name in action_names:
                yield error(document, (*path, "scheduledActionName"), "duplicate scheduledActionName")
            action_names.add(action.scheduled_action_name)
            low, high = action.min_capacity, action.max_capacity
            if low is not None and high is not None and low > high:
                yield error(
                    document, (*path, "minCapacity"), f"minCapacity {low} is greater than maxCapacity {high}"
                )
            if (
                action.start_time is not None
                and action.end_time is not None
                and action.start_time > action.end_time
            ):
                yield error(document, (*path, "endTime"), "endTime is before startTime")


CHECKS: tuple[Check, ...] = (
    duplicate_names,
    duplicate_aws_names,
    aws_name_rules,
    dangling_references,
    reference_cycles,
    fargate_task_size,
    container_resources,
    container_names,
    awsvpc_host_ports,
    log_configuration,
    fargate_execution_role,
    security_group_rules,
    target_group_shape,
    listeners,
    forward_targets,
    service_network,
    service_load_balancers,
    capacity_provider_strategies,
    service_scaling,
)
"""Every semantic check, run in this order; each is independent of the others."""


def validate_spec_set(
    documents: Iterable[Document],
    *,
    invalid_keys: frozenset[DocumentKey] = frozenset(),
    complete: bool = True,
) -> list[SpecError]:
    """Every semantic error in ``documents`` (already model-valid), sorted by file and line."""
    loaded = tuple(documents)
    context = CheckContext(
        documents=loaded,
        invalid_keys=invalid_keys,
        complete=complete,
        references=all_references(loaded),
    )
    errors: set[SpecError] = set()
    for check in CHECKS:
        errors.update(check(context))
    return sorted(errors)


def load_spec_set(paths: Sequence[Path | str]) -> tuple[SpecSet | None, list[SpecError]]:
    """Load, model-validate and semantically validate the spec files under ``paths``.

    Returns the ``SpecSet`` and no errors, or None and every error found (sorted by file and
    line). Never raises on bad input and never calls AWS.
    """
    loaded = load_documents(paths)
    errors = list(loaded.errors)
    errors.extend(
        validate_spec_set(loaded.documents, invalid_keys=loaded.invalid_keys, complete=loaded.complete)
    )
    errors.sort()
    if errors:
        return None, errors
    return SpecSet(documents=loaded.documents), []


__all__ = [
    "CHECKS",
    "FARGATE_MEMORY_BY_CPU",
    "CheckContext",
    "error",
    "load_spec_set",
    "validate_spec_set",
]


def secret_warnings(spec_set: SpecSet) -> list[SpecError]:
    """Plain environment values that look like secrets, by name or by value: valid, but `validate`
    warns and says to give them through `secrets` (Secrets Manager or SSM) instead."""
    warnings: list[SpecError] = []
    for document in spec_set.of_kind("TaskDefinition"):
        spec = document.spec_as(TaskDefinitionSpec)
        for position, container in enumerate(spec.container_definitions):
            pairs = [(pair.name, pair.value) for pair in container.environment or ()]
            for index, message in plain_secret_warnings(pairs):
                path = ("spec", "containerDefinitions", position, "environment", index, "value")
                warnings.append(error(document, path, message))
    return warnings
