"""Application Auto Scaling behaves like AWS on the local AWS: exact filters, policies updated in place,
deregistration cascading, tags on scalable targets, forward-moving pages. Each test fails against raw
moto 5.2.5.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.aws_helpers import SyncAioClients
from tests.local.conftest import Stack, create_service, describe_service

pytestmark = pytest.mark.aws

DIMENSION = "ecs:service:DesiredCount"


def error_code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def register(clients: SyncAioClients, stack: Stack, service: str, **extra: Any) -> str:
    create_service(clients, stack, service)
    resource_id = f"service/{stack.cluster}/{service}"
    clients.application_autoscaling.register_scalable_target(
        ServiceNamespace="ecs",
        ResourceId=resource_id,
        ScalableDimension=DIMENSION,
        MinCapacity=1,
        MaxCapacity=4,
        **extra,
    )
    return resource_id


def put_cpu_policy(clients: SyncAioClients, resource_id: str, name: str = "cpu", target: float = 50.0) -> Any:
    return clients.application_autoscaling.put_scaling_policy(
        PolicyName=name,
        ServiceNamespace="ecs",
        ResourceId=resource_id,
        ScalableDimension=DIMENSION,
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": target,
            "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"},
        },
    )


def policies(clients: SyncAioClients, **filters: Any) -> list[tuple[str, str]]:
    found = clients.application_autoscaling.describe_scaling_policies(ServiceNamespace="ecs", **filters)
    return sorted((p["ResourceId"], p["PolicyName"]) for p in found["ScalingPolicies"])


def alarm_names(clients: SyncAioClients) -> list[str]:
    return sorted(alarm["AlarmName"] for alarm in clients.cloudwatch.describe_alarms()["MetricAlarms"])


def test_describe_scaling_policies_matches_the_resource_id_exactly(
    clients: SyncAioClients, stack: Stack
) -> None:
    api = register(clients, stack, "api")
    api_1 = register(clients, stack, "api-1")
    put_cpu_policy(clients, api)
    put_cpu_policy(clients, api_1)

    assert policies(clients, ResourceId=api_1) == [(api_1, "cpu")]
    assert policies(clients, ResourceId=api) == [(api, "cpu")]


def test_describe_scaling_policies_honours_policy_names(clients: SyncAioClients, stack: Stack) -> None:
    api = register(clients, stack, "api")
    put_cpu_policy(clients, api, "cpu")
    put_cpu_policy(clients, api, "cpu-burst", target=80.0)

    assert policies(clients, ResourceId=api, PolicyNames=["cpu-burst"]) == [(api, "cpu-burst")]


def test_put_scaling_policy_again_keeps_the_policy_arn_and_replaces_its_alarms(
    clients: SyncAioClients, stack: Stack
) -> None:
    api = register(clients, stack, "api")
    first = put_cpu_policy(clients, api, target=50.0)

    second = put_cpu_policy(clients, api, target=70.0)

    assert second["PolicyARN"] == first["PolicyARN"]
    assert alarm_names(clients) == sorted(alarm["AlarmName"] for alarm in second["Alarms"])
    assert len(alarm_names(clients)) == 2
    described = clients.application_autoscaling.describe_scaling_policies(
        ServiceNamespace="ecs", ResourceId=api
    )
    policy = described["ScalingPolicies"][0]
    assert policy["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] == 70.0
    assert policy["PolicyARN"] == first["PolicyARN"]


def test_deregister_scalable_target_deletes_its_policies_alarms_and_scheduled_actions(
    clients: SyncAioClients, stack: Stack
) -> None:
    api = register(clients, stack, "api")
    put_cpu_policy(clients, api)
    clients.application_autoscaling.put_scheduled_action(
        ServiceNamespace="ecs",
        ScheduledActionName="night",
        ResourceId=api,
        ScalableDimension=DIMENSION,
        Schedule="cron(0 22 * * ? *)",
        ScalableTargetAction={"MinCapacity": 1, "MaxCapacity": 1},
    )

    clients.application_autoscaling.deregister_scalable_target(
        ServiceNamespace="ecs", ResourceId=api, ScalableDimension=DIMENSION
    )

    assert policies(clients) == []
    assert alarm_names(clients) == []
    scheduled = clients.application_autoscaling.describe_scheduled_actions(ServiceNamespace="ecs")
    assert scheduled["ScheduledActions"] == []


def test_missing_targets_and_policies_are_object_not_found(clients: SyncAioClients, stack: Stack) -> None:
    api = register(clients, stack, "api")
    clients.application_autoscaling.deregister_scalable_target(
        ServiceNamespace="ecs", ResourceId=api, ScalableDimension=DIMENSION
    )

    with pytest.raises(ClientError) as target:
        clients.application_autoscaling.deregister_scalable_target(
            ServiceNamespace="ecs", ResourceId=api, ScalableDimension=DIMENSION
        )
    with pytest.raises(ClientError) as policy:
        clients.application_autoscaling.delete_scaling_policy(
            PolicyName="cpu", ServiceNamespace="ecs", ResourceId=api, ScalableDimension=DIMENSION
        )

    assert error_code(target) == "ObjectNotFoundException"
    assert error_code(policy) == "ObjectNotFoundException"


def test_scalable_targets_take_tags(clients: SyncAioClients, stack: Stack) -> None:
    autoscaling = clients.application_autoscaling
    register(clients, stack, "api", Tags={"team": "web", "tier": "front"})
    arn = autoscaling.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"][0][
        "ScalableTargetARN"
    ]
    assert autoscaling.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"team": "web", "tier": "front"}

    autoscaling.tag_resource(ResourceARN=arn, Tags={"owner": "platform"})
    autoscaling.untag_resource(ResourceARN=arn, TagKeys=["tier"])

    assert autoscaling.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"team": "web", "owner": "platform"}
    with pytest.raises(ClientError) as error:
        autoscaling.list_tags_for_resource(ResourceARN=arn + "-absent")
    assert error_code(error) == "ResourceNotFoundException"


def test_describe_scalable_targets_pages_move_forward(clients: SyncAioClients, stack: Stack) -> None:
    registered = sorted(register(clients, stack, f"svc-{index}") for index in range(7))

    async def every_page() -> list[str]:
        paginator = clients.raw("application-autoscaling").get_paginator("describe_scalable_targets")
        found: list[str] = []
        async for page in paginator.paginate(ServiceNamespace="ecs", PaginationConfig={"PageSize": 3}):
            found.extend(target["ResourceId"] for target in page["ScalableTargets"])
        return found

    assert sorted(clients.run(every_page())) == registered


def test_registering_a_target_brings_the_desired_count_into_its_range(
    clients: SyncAioClients, stack: Stack
) -> None:
    api = register(clients, stack, "api")  # desiredCount 2 within [1, 4]
    assert describe_service(clients, stack)["desiredCount"] == 2

    for minimum, maximum, expected in ((3, 6, 3), (1, 1, 1)):
        clients.application_autoscaling.register_scalable_target(
            ServiceNamespace="ecs",
            ResourceId=api,
            ScalableDimension=DIMENSION,
            MinCapacity=minimum,
            MaxCapacity=maximum,
        )
        service = describe_service(clients, stack)
        assert (service["desiredCount"], service["runningCount"]) == (expected, expected)


@pytest.mark.parametrize(
    ("operation", "filters"),
    [
        ("describe_scaling_policies", {}),
        ("describe_scheduled_actions", {}),
        ("describe_scalable_targets", {}),
    ],
)
def test_a_scalable_dimension_without_a_resource_is_refused(
    clients: SyncAioClients, operation: str, filters: dict[str, Any]
) -> None:
    """AWS's API reference: "If you specify a scalable dimension, you must also specify a resource
    ID". A namespace-wide sweep that names the dimension is refused on AWS, so it is refused here."""
    with pytest.raises(ClientError) as refused:
        getattr(clients.application_autoscaling, operation)(
            ServiceNamespace="ecs", ScalableDimension=DIMENSION, **filters
        )
    assert error_code(refused) == "ValidationException"
    # The namespace alone, or the dimension with a resource, is fine.
    getattr(clients.application_autoscaling, operation)(ServiceNamespace="ecs")
