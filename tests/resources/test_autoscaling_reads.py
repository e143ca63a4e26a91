"""Application Auto Scaling reads: one filtered read per service or one sweep of the namespace,
chosen from what the last sweep found the namespace to hold (other tools' services share it)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from reconciler.aws.clients import AwsClients
from reconciler.aws.settings import AwsSettings
from reconciler.engine.clients import EngineClients
from reconciler.local import LocalAWS
from reconciler.resources.service.autoscaling import (
    ACTIONS_PAGE,
    POLICIES_PAGE,
    observe_policies_and_actions,
    sweep_is_cheaper,
)
from tests.aws_helpers import SyncAioClients

DIMENSION = "ecs:service:DesiredCount"


@pytest.mark.parametrize(
    ("wanted", "namespace_size", "page", "sweep"),
    [
        (5, None, 10, False),  # nothing learnt yet: a few services are read one by one
        (11, None, 10, True),  # ... many with one sweep
        (20, 15, 10, True),  # 2 sweep pages beat 20 filtered reads
        (20, 10_000, 10, False),  # 1,000 sweep pages of other tools' policies do not
        (3, 0, 10, True),  # an empty namespace is one read
        (2, 10, 10, True),  # 1 page < 2 reads
        (1, 10, 10, False),  # equal cost: the filtered read names exactly what is wanted
        (30, 400, 50, True),  # scheduled actions page at 50
    ],
)
def test_the_cheaper_way_is_chosen_from_the_namespace_size(
    wanted: int, namespace_size: int | None, page: int, sweep: bool
) -> None:
    assert sweep_is_cheaper(wanted=wanted, namespace_size=namespace_size, page=page) is sweep


def _register(clients: SyncAioClients, resource_id: str, *, policy: bool, action: bool) -> None:
    """An ECS service (the local AWS, as AWS, scales only services that exist) with a scalable
    target, and a policy and a scheduled action when asked."""
    _, cluster, service = resource_id.split("/")
    clients.ecs.create_cluster(clusterName=cluster)
    task = clients.ecs.register_task_definition(
        family="reads", containerDefinitions=[{"name": "app", "image": "app:1", "memory": 128}]
    )["taskDefinition"]["taskDefinitionArn"]
    clients.ecs.create_service(cluster=cluster, serviceName=service, taskDefinition=task, desiredCount=1)
    aas = clients.application_autoscaling
    aas.register_scalable_target(
        ServiceNamespace="ecs",
        ResourceId=resource_id,
        ScalableDimension=DIMENSION,
        MinCapacity=1,
        MaxCapacity=4,
    )
    if policy:
        aas.put_scaling_policy(
            PolicyName="cpu",
            ServiceNamespace="ecs",
            ResourceId=resource_id,
            ScalableDimension=DIMENSION,
            PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": 50.0,
                "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"},
            },
        )
    if action:
        aas.put_scheduled_action(
            ServiceNamespace="ecs",
            ScheduledActionName="night",
            ResourceId=resource_id,
            ScalableDimension=DIMENSION,
            Schedule="cron(0 22 * * ? *)",
            ScalableTargetAction={"MinCapacity": 1, "MaxCapacity": 2},
        )


def _observe(aws: LocalAWS, ids: list[str], sizes: dict[str, int]) -> tuple[dict[str, Any], dict[str, int]]:
    async def run() -> tuple[dict[str, Any], dict[str, int]]:
        settings = AwsSettings(region=aws.region, endpoint_url=aws.endpoint_url)
        async with AwsClients(settings) as aws_clients:
            clients = await EngineClients.open(aws_clients)
            found = await observe_policies_and_actions(clients.service("application-autoscaling"), ids, sizes)
            return found, aws_clients.counter.snapshot()

    return asyncio.run(run())


def test_a_crowded_namespace_is_swept_once_then_read_per_service(aws: LocalAWS) -> None:
    clients = SyncAioClients(endpoint_url=aws.endpoint_url, region=aws.region)
    try:
        ours = [f"service/ours/web-{index}" for index in range(12)]
        for resource_id in ours:
            _register(clients, resource_id, policy=True, action=True)
        for index in range(200):  # another tool's services, in the same namespace
            _register(clients, f"service/theirs/api-{index}", policy=True, action=index < 20)
    finally:
        clients.close()
    sizes: dict[str, int] = {}

    first, calls = _observe(aws, ours, sizes)
    # Nothing learnt: 12 services > 10, so one sweep of each, paging through everyone's items.
    assert calls["application-autoscaling.DescribeScalingPolicies"] == -(-212 // POLICIES_PAGE)
    assert calls["application-autoscaling.DescribeScheduledActions"] == -(-32 // ACTIONS_PAGE)
    assert sizes == {"scalingPolicies": 212, "scheduledActions": 32}
    assert all(set(first[rid]["scalingPolicies"]) == {"cpu"} for rid in ours)
    assert all(set(first[rid]["scheduledActions"]) == {"night"} for rid in ours)

    second, calls = _observe(aws, ours, sizes)
    # 22 sweep pages of policies now cost more than 12 filtered reads; 1 page of actions does not.
    assert calls["application-autoscaling.DescribeScalingPolicies"] == 12
    assert calls["application-autoscaling.DescribeScheduledActions"] == 1
    assert second == first
