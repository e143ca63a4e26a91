"""Fixtures for the local AWS's own tests: synchronous aiobotocore clients and a small ECS stack.

``clients`` (session) are aiobotocore clients on the session's local AWS (see ``tests/aws_helpers.py``);
``stack`` builds, per test, what most ECS tests need: a Fargate cluster and two task definition revisions.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from reconciler.local import LocalAWS
from tests.aws_helpers import SyncAioClients


@pytest.fixture(scope="session")
def clients(local_aws: LocalAWS) -> Iterator[SyncAioClients]:
    aio = SyncAioClients(endpoint_url=local_aws.endpoint_url, region=local_aws.region)
    try:
        yield aio
    finally:
        aio.close()


@dataclass(frozen=True)
class Stack:
    cluster: str
    revision_1: str
    revision_2: str
    subnets: list[str]
    vpc_id: str
    security_group: str


@pytest.fixture
def stack(aws: LocalAWS, clients: SyncAioClients) -> Stack:
    clients.ecs.create_cluster(
        clusterName="web",
        capacityProviders=["FARGATE", "FARGATE_SPOT"],
        defaultCapacityProviderStrategy=[{"capacityProvider": "FARGATE", "weight": 1}],
    )
    arns = [
        clients.ecs.register_task_definition(
            family="app",
            requiresCompatibilities=["FARGATE"],
            networkMode="awsvpc",
            cpu="256",
            memory="512",
            containerDefinitions=[
                {"name": "app", "image": f"app:{tag}", "portMappings": [{"containerPort": 3000}]}
            ],
        )["taskDefinition"]["taskDefinitionArn"]
        for tag in ("v1", "v2")
    ]
    vpc = clients.ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]
    default_for_az = [{"Name": "default-for-az", "Values": ["true"]}]
    subnets = clients.ec2.describe_subnets(Filters=default_for_az)["Subnets"]
    default_group = [
        {"Name": "vpc-id", "Values": [vpc["VpcId"]]},
        {"Name": "group-name", "Values": ["default"]},
    ]
    group = clients.ec2.describe_security_groups(Filters=default_group)["SecurityGroups"][0]["GroupId"]
    return Stack(
        cluster="web",
        revision_1=arns[0],
        revision_2=arns[1],
        subnets=sorted(s["SubnetId"] for s in subnets),
        vpc_id=vpc["VpcId"],
        security_group=group,
    )


def create_service(clients: SyncAioClients, stack: Stack, name: str = "api", **overrides: Any) -> Any:
    """CreateService for a Fargate service of revision 1 with two tasks; keyword arguments override."""
    request: dict[str, Any] = {
        "cluster": stack.cluster,
        "serviceName": name,
        "taskDefinition": stack.revision_1,
        "desiredCount": 2,
        "launchType": "FARGATE",
        "networkConfiguration": {
            "awsvpcConfiguration": {"subnets": stack.subnets[:2], "securityGroups": [stack.security_group]}
        },
        **overrides,
    }
    request = {key: value for key, value in request.items() if value is not None}
    return clients.ecs.create_service(**request)["service"]


def describe_service(clients: SyncAioClients, stack: Stack, name: str = "api") -> Any:
    return clients.ecs.describe_services(cluster=stack.cluster, services=[name])["services"][0]
