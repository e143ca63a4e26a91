"""The Service document's `spec`: its pydantic model, the references it makes, its AWS identity.

Conventions are those of `reconciler.spec.models` (camelCase aliases, no server defaults, values
normalised to the form AWS returns). Pure: no I/O, no AWS SDK.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import (
    Field,
    StringConstraints,
    model_validator,
)

from reconciler.spec.document import FieldPath
from reconciler.spec.models import (
    AWS_NAME_255,
    CapacityProviderStrategyItem,
    KindSpec,
    MetadataName,
    Port,
    ReferenceTo,
    SecurityGroupRef,
    ServiceSubnets,
    SpecModel,
    is_security_group_id,
)


class AwsVpcConfiguration(SpecModel):
    subnets: ServiceSubnets
    security_groups: Annotated[list[SecurityGroupRef], Field(max_length=5)] | None = None
    assign_public_ip: Literal["ENABLED", "DISABLED"] | None = None


class NetworkConfiguration(SpecModel):
    awsvpc_configuration: AwsVpcConfiguration


class ServiceLoadBalancer(SpecModel):
    target_group: MetadataName
    container_name: str
    container_port: Port


class DeploymentCircuitBreaker(SpecModel):
    enable: bool
    rollback: bool


class DeploymentConfiguration(SpecModel):
    minimum_healthy_percent: Annotated[int, Field(ge=0, le=100)] | None = None
    maximum_percent: Annotated[int, Field(ge=100, le=200)] | None = None
    deployment_circuit_breaker: DeploymentCircuitBreaker | None = None


class MetricDimension(SpecModel):
    name: str
    value: str


class CustomizedMetricSpecification(SpecModel):
    metric_name: str
    namespace: str
    statistic: Literal["Average", "Minimum", "Maximum", "SampleCount", "Sum"]
    unit: str | None = None
    dimensions: list[MetricDimension] | None = None


class TargetTrackingPolicy(SpecModel):
    """Application Auto Scaling target tracking; the metric is predefined or customised.

    For ``ALBRequestCountPerTarget`` without ``resourceLabel`` the reconciler derives the label
    from the service's (single) load-balanced target group.
    """

    policy_name: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    predefined_metric_type: (
        Literal[
            "ECSServiceAverageCPUUtilization",
            "ECSServiceAverageMemoryUtilization",
            "ALBRequestCountPerTarget",
        ]
        | None
    ) = None
    resource_label: str | None = None
    customized_metric_specification: CustomizedMetricSpecification | None = None
    target_value: float
    scale_in_cooldown: Annotated[int, Field(ge=0)] | None = None
    scale_out_cooldown: Annotated[int, Field(ge=0)] | None = None
    disable_scale_in: bool | None = None

    @model_validator(mode="after")
    def _one_metric(self) -> Self:
        if (self.predefined_metric_type is None) == (self.customized_metric_specification is None):
            raise ValueError(
                "a policy needs exactly one of predefinedMetricType or customizedMetricSpecification"
            )
        if self.resource_label is not None and self.predefined_metric_type != "ALBRequestCountPerTarget":
            raise ValueError("resourceLabel is only allowed with ALBRequestCountPerTarget")
        return self


class StepAdjustment(SpecModel):
    metric_interval_lower_bound: float | None = None
    metric_interval_upper_bound: float | None = None
    scaling_adjustment: int


class StepScalingPolicy(SpecModel):
    policy_name: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    adjustment_type: Literal["ChangeInCapacity", "PercentChangeInCapacity", "ExactCapacity"]
    cooldown: Annotated[int, Field(ge=0)] | None = None
    metric_aggregation_type: Literal["Average", "Minimum", "Maximum"] | None = None
    min_adjustment_magnitude: int | None = None
    step_adjustments: Annotated[list[StepAdjustment], Field(min_length=1)]


class ScheduledAction(SpecModel):
    scheduled_action_name: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    schedule: Annotated[str, StringConstraints(pattern=r"^(at|rate|cron)\(.+\)$")]
    timezone: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    min_capacity: Annotated[int, Field(ge=0)] | None = None
    max_capacity: Annotated[int, Field(ge=0)] | None = None


class Autoscaling(SpecModel):
    """The service's scalable target (ecs:service:DesiredCount) and its policies.

    Not one AWS object: the resource turns it into RegisterScalableTarget, PutScalingPolicy and
    PutScheduledAction calls. While it is present, the live desired count belongs to the scaler.
    """

    min_capacity: Annotated[int, Field(ge=0)]
    max_capacity: Annotated[int, Field(ge=0)]
    target_tracking_policies: list[TargetTrackingPolicy] | None = None
    step_scaling_policies: list[StepScalingPolicy] | None = None
    scheduled_actions: list[ScheduledAction] | None = None


class ServiceSpec(KindSpec):
    """An ECS service. ``cluster``, ``taskDefinition`` and ``targetGroup`` name documents."""

    AWS_NAME_FIELD: ClassVar[str] = "service_name"
    KIND: ClassVar[str] = "Service"
    REFERENCED_KINDS: ClassVar[frozenset[str]] = frozenset(
        {"Cluster", "TaskDefinition", "SecurityGroup", "TargetGroup", "LoadBalancer"}
    )

    service_name: AWS_NAME_255 | None = None
    cluster: MetadataName
    task_definition: MetadataName
    desired_count: Annotated[int, Field(ge=0)] | None = None
    launch_type: Literal["FARGATE", "EC2", "EXTERNAL"] | None = None
    capacity_provider_strategy: Annotated[list[CapacityProviderStrategyItem], Field(min_length=1)] | None = (
        None
    )
    platform_version: str | None = None
    network_configuration: NetworkConfiguration | None = None
    load_balancers: list[ServiceLoadBalancer] | None = None
    deployment_configuration: DeploymentConfiguration | None = None
    health_check_grace_period_seconds: Annotated[int, Field(ge=0, le=2147483647)] | None = None
    enable_execute_command: bool | None = None
    propagate_tags: Literal["TASK_DEFINITION", "SERVICE", "NONE"] | None = None
    enable_ecs_managed_tags: bool | None = Field(default=None, alias="enableECSManagedTags")
    scheduling_strategy: Literal["REPLICA", "DAEMON"] | None = None
    autoscaling: Autoscaling | None = None

    def references(self) -> Iterator[ReferenceTo]:
        yield ReferenceTo("Cluster", self.cluster, ("spec", "cluster"))
        yield ReferenceTo("TaskDefinition", self.task_definition, ("spec", "taskDefinition"))
        if self.network_configuration is not None:
            path: FieldPath = ("spec", "networkConfiguration", "awsvpcConfiguration", "securityGroups")
            groups = self.network_configuration.awsvpc_configuration.security_groups
            for index, name in enumerate(groups or ()):
                if not is_security_group_id(name):
                    yield ReferenceTo("SecurityGroup", name, (*path, index))
        for index, load_balancer in enumerate(self.load_balancers or ()):
            # ECS refuses a target group no listener forwards to: the service waits for the
            # listeners of every load balancer that forwards to its target group, too.
            yield ReferenceTo(
                "TargetGroup",
                load_balancer.target_group,
                ("spec", "loadBalancers", index, "targetGroup"),
                also_after=("LoadBalancer", "listeners"),  # the LoadBalancer kind's LISTENERS_PART
            )

    def aws_identity(self, aws_name: str) -> tuple[Any, ...]:
        return (self.cluster, aws_name)  # service names are unique per cluster

    def uses_default_network(self) -> bool:
        network = self.network_configuration
        return network is not None and network.awsvpc_configuration.subnets == "default"

    @model_validator(mode="after")
    def _launch_type_xor_strategy(self) -> Self:
        if self.launch_type is not None and self.capacity_provider_strategy is not None:
            raise ValueError("use either launchType or capacityProviderStrategy, not both")
        return self
