"""The Service kind's semantic checks: network mode and Fargate against its task definition,
load balancing against its task definition, target group and load balancers, capacity provider
strategies against its cluster, and autoscaling bounds.

The documents a service refers to are read through the Protocols below, which name the fields
these checks need; the Service kind never imports another kind.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Protocol, cast

from reconciler.resources.service.model import ServiceSpec
from reconciler.spec.checks import Check, CheckContext, error, strategy_errors
from reconciler.spec.document import FieldPath
from reconciler.spec.errors import SpecError
from reconciler.spec.models import CapacityProviderStrategyItem


class _PortMapping(Protocol):
    @property
    def container_port(self) -> int | None: ...


class _Container(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def port_mappings(self) -> Sequence[_PortMapping] | None: ...


class _TaskDefinition(Protocol):
    """What these checks read of a TaskDefinition document's spec."""

    @property
    def network_mode(self) -> str | None: ...
    @property
    def requires_compatibilities(self) -> Sequence[str] | None: ...
    @property
    def container_definitions(self) -> Sequence[_Container]: ...


class _Cluster(Protocol):
    """What these checks read of a Cluster document's spec."""

    @property
    def capacity_providers(self) -> Sequence[str] | None: ...
    @property
    def default_capacity_provider_strategy(self) -> Sequence[CapacityProviderStrategyItem] | None: ...


class _TargetGroup(Protocol):
    """What these checks read of a TargetGroup document's spec."""

    @property
    def target_type(self) -> str | None: ...


def _is_fargate(task: _TaskDefinition) -> bool:
    return "FARGATE" in (task.requires_compatibilities or ())


FARGATE_CAPACITY_PROVIDERS = frozenset({"FARGATE", "FARGATE_SPOT"})


def _service_uses_fargate(spec: ServiceSpec, cluster: _Cluster | None) -> bool:
    if spec.launch_type is not None:
        return spec.launch_type == "FARGATE"
    strategy: Sequence[CapacityProviderStrategyItem] | None = spec.capacity_provider_strategy
    if strategy is None and cluster is not None:
        strategy = cluster.default_capacity_provider_strategy
    return any(item.capacity_provider in FARGATE_CAPACITY_PROVIDERS for item in strategy or ())


def service_network(context: CheckContext) -> Iterator[SpecError]:
    """awsvpc tasks need networkConfiguration, other modes refuse it; Fargate needs a Fargate task."""
    for document, spec in context.of(ServiceSpec):
        task = cast("_TaskDefinition | None", context.target("TaskDefinition", spec.task_definition))
        cluster = cast("_Cluster | None", context.target("Cluster", spec.cluster))
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
    listened = {
        reference.target_name
        for reference in context.references
        if reference.source_kind == "LoadBalancer" and reference.target_kind == "TargetGroup"
    }
    for document, spec in context.of(ServiceSpec):
        task = cast("_TaskDefinition | None", context.target("TaskDefinition", spec.task_definition))
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
            target = cast("_TargetGroup | None", context.target("TargetGroup", load_balancer.target_group))
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


def capacity_provider_strategies(context: CheckContext) -> Iterator[SpecError]:
    """One base per strategy; providers the cluster lists, when its document lists them."""
    for document, spec in context.of(ServiceSpec):
        target_cluster = cast("_Cluster | None", context.target("Cluster", spec.cluster))
        providers = target_cluster.capacity_providers if target_cluster is not None else None
        yield from strategy_errors(
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
    service_network,
    service_load_balancers,
    capacity_provider_strategies,
    service_scaling,
)
