"""Elastic Load Balancing v2 behaves like AWS on the local AWS: idempotent creates, one listener per port,
target groups' load balancers always reported. Each test fails against raw moto 5.2.5.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from reconciler.local import LocalAWS
from tests.aws_helpers import SyncAioClients

pytestmark = pytest.mark.aws


def error_code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def default_vpc(clients: SyncAioClients) -> tuple[str, list[str]]:
    vpc = clients.ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnets = clients.ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]
    return vpc, sorted(subnet["SubnetId"] for subnet in subnets)


def create_load_balancer(clients: SyncAioClients, subnets: list[str], **overrides: Any) -> Any:
    request = {"Name": "web", "Subnets": subnets[:2], "Scheme": "internet-facing", "Type": "application"}
    return clients.elbv2.create_load_balancer(**{**request, **overrides})["LoadBalancers"][0]


def create_target_group(clients: SyncAioClients, vpc: str, **overrides: Any) -> Any:
    request = {
        "Name": "web",
        "Protocol": "HTTP",
        "Port": 3000,
        "VpcId": vpc,
        "TargetType": "ip",
        "HealthCheckPath": "/healthz",
    }
    return clients.elbv2.create_target_group(**{**request, **overrides})["TargetGroups"][0]


def forward_to(target_group_arn: str) -> list[dict[str, Any]]:
    return [{"Type": "forward", "TargetGroupArn": target_group_arn}]


def test_create_load_balancer_with_identical_settings_returns_the_existing_one(
    aws: LocalAWS, clients: SyncAioClients
) -> None:
    _, subnets = default_vpc(clients)
    first = create_load_balancer(clients, subnets)

    again = create_load_balancer(clients, list(reversed(subnets[:2])))

    assert again["LoadBalancerArn"] == first["LoadBalancerArn"]
    assert len(clients.elbv2.describe_load_balancers(Names=["web"])["LoadBalancers"]) == 1


def test_create_load_balancer_with_other_settings_is_a_duplicate_name(
    aws: LocalAWS, clients: SyncAioClients
) -> None:
    _, subnets = default_vpc(clients)
    create_load_balancer(clients, subnets)

    with pytest.raises(ClientError) as error:
        create_load_balancer(clients, subnets, Scheme="internal")

    assert error_code(error) == "DuplicateLoadBalancerName"


def test_create_target_group_with_identical_settings_returns_the_existing_one(
    aws: LocalAWS, clients: SyncAioClients
) -> None:
    vpc, _ = default_vpc(clients)
    first = create_target_group(clients, vpc, Tags=[{"Key": "team", "Value": "web"}])

    # Spelling out a default (the 30 s interval) is still the same settings, as AWS judges it.
    again = create_target_group(clients, vpc, HealthCheckIntervalSeconds=30)

    assert again["TargetGroupArn"] == first["TargetGroupArn"]
    assert len(clients.elbv2.describe_target_groups()["TargetGroups"]) == 1
    tags = clients.elbv2.describe_tags(ResourceArns=[first["TargetGroupArn"]])["TagDescriptions"][0]["Tags"]
    assert tags == [{"Key": "team", "Value": "web"}]


def test_create_target_group_with_other_settings_is_a_duplicate_name(
    aws: LocalAWS, clients: SyncAioClients
) -> None:
    vpc, _ = default_vpc(clients)
    create_target_group(clients, vpc)

    with pytest.raises(ClientError) as error:
        create_target_group(clients, vpc, HealthCheckPath="/other")

    assert error_code(error) == "DuplicateTargetGroupName"
    assert len(clients.elbv2.describe_target_groups()["TargetGroups"]) == 1


def test_a_second_listener_on_a_used_port_is_a_duplicate_unless_identical(
    aws: LocalAWS, clients: SyncAioClients
) -> None:
    vpc, subnets = default_vpc(clients)
    balancer = create_load_balancer(clients, subnets)["LoadBalancerArn"]
    blue = create_target_group(clients, vpc, Name="blue")["TargetGroupArn"]
    green = create_target_group(clients, vpc, Name="green")["TargetGroupArn"]
    listener = clients.elbv2.create_listener(
        LoadBalancerArn=balancer, Protocol="HTTP", Port=80, DefaultActions=forward_to(blue)
    )["Listeners"][0]

    again = clients.elbv2.create_listener(
        LoadBalancerArn=balancer, Protocol="HTTP", Port=80, DefaultActions=forward_to(blue)
    )["Listeners"][0]
    with pytest.raises(ClientError) as error:
        clients.elbv2.create_listener(
            LoadBalancerArn=balancer, Protocol="HTTP", Port=80, DefaultActions=forward_to(green)
        )

    assert again["ListenerArn"] == listener["ListenerArn"]
    assert error_code(error) == "DuplicateListener"
    assert len(clients.elbv2.describe_listeners(LoadBalancerArn=balancer)["Listeners"]) == 1


def test_target_groups_of_a_load_balancer_without_listeners_are_an_empty_list(
    aws: LocalAWS, clients: SyncAioClients
) -> None:
    vpc, subnets = default_vpc(clients)
    balancer = create_load_balancer(clients, subnets)["LoadBalancerArn"]
    group = create_target_group(clients, vpc)["TargetGroupArn"]

    assert clients.elbv2.describe_target_groups(LoadBalancerArn=balancer)["TargetGroups"] == []

    listener = clients.elbv2.create_listener(
        LoadBalancerArn=balancer, Protocol="HTTP", Port=80, DefaultActions=forward_to(group)
    )["Listeners"][0]
    used = clients.elbv2.describe_target_groups(LoadBalancerArn=balancer)["TargetGroups"]
    assert [tg["TargetGroupArn"] for tg in used] == [group]
    assert used[0]["LoadBalancerArns"] == [balancer]

    clients.elbv2.delete_listener(ListenerArn=listener["ListenerArn"])
    assert clients.elbv2.describe_target_groups(LoadBalancerArn=balancer)["TargetGroups"] == []
    assert (
        clients.elbv2.describe_target_groups(TargetGroupArns=[group])["TargetGroups"][0]["LoadBalancerArns"]
        == []
    )


def test_a_target_group_reports_its_load_balancers_even_when_there_are_none(
    aws: LocalAWS, clients: SyncAioClients
) -> None:
    vpc, _ = default_vpc(clients)

    created = create_target_group(clients, vpc)

    assert created["LoadBalancerArns"] == []
    assert clients.elbv2.describe_target_groups(Names=["web"])["TargetGroups"][0]["LoadBalancerArns"] == []


def test_a_load_balancer_forwarding_through_a_rule_counts_as_using_the_target_group(
    aws: LocalAWS, clients: SyncAioClients
) -> None:
    vpc, subnets = default_vpc(clients)
    balancer = create_load_balancer(clients, subnets)["LoadBalancerArn"]
    default = create_target_group(clients, vpc, Name="default")["TargetGroupArn"]
    api = create_target_group(clients, vpc, Name="api")["TargetGroupArn"]
    listener = clients.elbv2.create_listener(
        LoadBalancerArn=balancer, Protocol="HTTP", Port=80, DefaultActions=forward_to(default)
    )["Listeners"][0]["ListenerArn"]

    clients.elbv2.create_rule(
        ListenerArn=listener,
        Priority=10,
        Conditions=[{"Field": "path-pattern", "Values": ["/api/*"]}],
        Actions=forward_to(api),
    )

    used = clients.elbv2.describe_target_groups(LoadBalancerArn=balancer)["TargetGroups"]
    assert sorted(tg["TargetGroupArn"] for tg in used) == sorted([default, api])
