"""The executor under AWS's request budgets (issue 10): calls queued for a slow budget hold back
only calls of their own operation, so independent chains of work spend the other budgets at the
same time instead of waiting for the slowest one."""

from __future__ import annotations

import asyncio
from typing import Any

import boto3
import pytest

from reconciler.aws.clients import AwsClients
from reconciler.aws.settings import AwsSettings
from reconciler.engine.clients import EngineClients
from reconciler.engine.executor import execute
from reconciler.local import LocalAWS
from reconciler.plan.steps import MAIN, Action, Call, Plan, ResourcePlan, StepGroup

pytestmark = pytest.mark.aws

REGISTRATIONS = 24
"""RegisterTaskDefinition's bucket holds 20 and refills one a second: the last four wait."""


def registration(index: int) -> ResourcePlan:
    call = Call(
        "ecs",
        "register_task_definition",
        {
            "family": f"budget-{index}",
            "containerDefinitions": [
                {"name": "app", "image": "public.ecr.aws/nginx/nginx:1.27", "memory": 512}
            ],
        },
    )
    key = ("TaskDefinition", f"budget-{index}", MAIN)
    return ResourcePlan("TaskDefinition", f"budget-{index}", Action.CREATE, groups=(StepGroup(key, (call,)),))


def registered(local: LocalAWS) -> int:
    ecs = boto3.client("ecs", region_name=local.region, endpoint_url=local.endpoint_url)
    arns = ecs.list_task_definitions()["taskDefinitionArns"]
    return sum(1 for arn in arns if "task-definition/budget-" in arn)


def clusters(local: LocalAWS) -> list[Any]:
    ecs = boto3.client("ecs", region_name=local.region, endpoint_url=local.endpoint_url)
    return list(ecs.list_clusters()["clusterArns"])


def test_calls_waiting_for_a_slow_budget_do_not_hold_back_other_operations(aws: LocalAWS) -> None:
    create_cluster = Call("ecs", "create_cluster", {"clusterName": "independent"})
    cluster = ResourcePlan(
        "Cluster",
        "independent",
        Action.CREATE,
        groups=(StepGroup(("Cluster", "independent", MAIN), (create_cluster,)),),
    )
    # The cluster comes last, behind every registration, as a large plan's later chains do.
    plan = Plan((*(registration(index) for index in range(REGISTRATIONS)), cluster))

    async def scenario() -> int:
        async with AwsClients(AwsSettings(region=aws.region, endpoint_url=aws.endpoint_url)) as aws_clients:
            clients = await EngineClients.open(aws_clients)
            running = asyncio.create_task(execute(plan, clients=clients, known_outputs={}, concurrency=2))
            for _ in range(400):  # at most 20 s; the registrations alone take about 4
                if await asyncio.to_thread(clusters, aws):
                    break
                await asyncio.sleep(0.05)
            seen_with = await asyncio.to_thread(registered, aws)
            result = await running
            assert result.ok, result.failures
            return seen_with

    registered_when_the_cluster_was_created = asyncio.run(scenario())
    assert registered(aws) == REGISTRATIONS
    # The first 20 go at once; the cluster is created while the other four wait for their tokens.
    assert registered_when_the_cluster_was_created <= 21
