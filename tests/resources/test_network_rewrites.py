"""What EC2 and ELBv2 answer differently from how the network kinds' specs say it, fed to the plan.

Each table row pairs a spelling a user writes with the answer real AWS gives (shaped per botocore's
DescribeSecurityGroups, DescribeLoadBalancers and Describe*Attributes output shapes) and asserts the
plan makes no call; the catalogue entries in `SecurityGroupKind.rewrites`, `TargetGroupKind.rewrites`
and `LoadBalancerKind.rewrites` point here or at the kind's own tests.
"""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.plan.steps import Action
from reconciler.resources.base import Environment, LiveResource, LiveState, PlanContext, PlanSettings
from reconciler.resources.load_balancer.kind import KIND as LOAD_BALANCER
from reconciler.resources.load_balancer.model import LoadBalancerSpec
from reconciler.resources.security_group.kind import KIND as SECURITY_GROUP
from reconciler.resources.security_group.model import SecurityGroupSpec
from reconciler.resources.target_group.kind import KIND as TARGET_GROUP
from reconciler.resources.target_group.model import TargetGroupSpec
from reconciler.spec import Document, Metadata, SpecSet

ACCOUNT = "123456789012"
OWNED = {
    "ecs-reconciler/managed-by": "ecs-reconciler",
    "ecs-reconciler/instance": "default",
    "ecs-reconciler/deletion-policy": "delete",
}


def plan_context(
    *documents: Document, live: dict[tuple[str, str], LiveResource] | None = None
) -> PlanContext:
    return PlanContext(
        spec_set=SpecSet(documents),
        live=LiveState(resources=live or {}),
        environment=Environment(
            account_id=ACCOUNT,
            region="us-east-1",
            default_vpc_id="vpc-0123",
            default_subnet_ids=("subnet-b", "subnet-a"),
        ),
        settings=PlanSettings(),
    )


# --- SecurityGroup --------------------------------------------------------------------------------


def permission(protocol: str, ports: tuple[int, int] | None = None, **sources: Any) -> dict[str, Any]:
    """One IpPermissions item as DescribeSecurityGroups answers it: every source list present."""
    item: dict[str, Any] = {
        "IpProtocol": protocol,
        "IpRanges": [],
        "Ipv6Ranges": [],
        "PrefixListIds": [],
        "UserIdGroupPairs": [],
        **sources,
    }
    if ports is not None:
        item["FromPort"], item["ToPort"] = ports
    return item


def security_group(ingress: list[dict[str, Any]]) -> LiveResource:
    group = {
        "GroupId": "sg-0bbb",
        "GroupName": "edge",
        "Description": "Managed by ecs-reconciler",
        "OwnerId": ACCOUNT,
        "VpcId": "vpc-0123",
        "IpPermissions": ingress,
        "IpPermissionsEgress": [permission("-1", IpRanges=[{"CidrIp": "0.0.0.0/0"}])],
        # Tags come back as a list in no particular order.
        "Tags": [
            *({"Key": key, "Value": value} for key, value in reversed(OWNED.items())),
            {"Key": "ecs-reconciler/source", "Value": "SecurityGroup/edge"},
        ],
    }
    tags = {tag["Key"]: tag["Value"] for tag in group["Tags"]}
    return LiveResource("SecurityGroup", "edge", "sg-0bbb", group, tags, {"id": "sg-0bbb"})


@pytest.mark.parametrize(
    ("rules", "answered"),
    [
        (
            [{"protocol": "tcp", "port": 443, "ipv6Cidr": "2001:DB8:1234::/48"}],
            [permission("tcp", (443, 443), Ipv6Ranges=[{"CidrIpv6": "2001:db8:1234::/48"}])],
        ),
        (
            [{"protocol": "tcp", "port": 443, "ipv6Cidr": "2001:0db8:0:0::/64"}],
            [permission("tcp", (443, 443), Ipv6Ranges=[{"CidrIpv6": "2001:db8::/64"}])],
        ),
        (
            [{"protocol": "tcp", "port": 22, "cidr": "10.0.0.0/08"}],
            [permission("tcp", (22, 22), IpRanges=[{"CidrIp": "10.0.0.0/8"}])],
        ),
        (
            [
                {"protocol": 6, "port": 22, "cidr": "10.0.0.0/8"},
                {"protocol": "UDP", "port": 53, "cidr": "10.0.0.0/8"},
            ],
            [
                permission("udp", (53, 53), IpRanges=[{"CidrIp": "10.0.0.0/8"}]),
                permission("tcp", (22, 22), IpRanges=[{"CidrIp": "10.0.0.0/8"}]),
            ],
        ),
        (
            [{"protocol": "all", "cidr": "10.0.0.0/8"}],
            [permission("-1", IpRanges=[{"CidrIp": "10.0.0.0/8"}])],
        ),
        (
            [{"protocol": "icmp", "cidr": "10.0.0.0/8"}],
            [permission("icmp", (-1, -1), IpRanges=[{"CidrIp": "10.0.0.0/8"}])],
        ),
        (
            # Two rules on one port range come back merged into one IpPermissions item.
            [
                {"protocol": "tcp", "port": 443, "cidr": "10.0.0.0/8"},
                {"protocol": "tcp", "port": 443, "ipv6Cidr": "::/0"},
                {"protocol": "tcp", "port": 443, "prefixListId": "pl-63a5400a"},
            ],
            [
                permission(
                    "tcp",
                    (443, 443),
                    IpRanges=[{"CidrIp": "10.0.0.0/8"}],
                    Ipv6Ranges=[{"CidrIpv6": "::/0"}],
                    PrefixListIds=[{"PrefixListId": "pl-63a5400a"}],
                )
            ],
        ),
        (
            # A group named by its document comes back as its id, with the owner's account.
            [{"protocol": "tcp", "port": 3000, "securityGroup": "alb"}],
            [permission("tcp", (3000, 3000), UserIdGroupPairs=[{"GroupId": "sg-0aaa", "UserId": ACCOUNT}])],
        ),
    ],
    ids=[
        "ipv6-upper-case",
        "ipv6-zeros",
        "ipv4-prefix-zero",
        "protocol-number-and-case",
        "all-protocols-no-ports",
        "icmp-all-types",
        "merged-per-port-range",
        "group-name-as-id",
    ],
)
def test_security_group_spellings_ec2_rewrites_plan_nothing(
    rules: list[dict[str, Any]], answered: list[dict[str, Any]]
) -> None:
    edge = Document(
        kind="SecurityGroup",
        metadata=Metadata(name="edge"),
        spec=SecurityGroupSpec.model_validate({"vpc": "default", "ingress": rules}),
        file="sg.yaml",
        line=1,
    )
    alb = LiveResource("SecurityGroup", "alb", "sg-0aaa", {}, {}, {"id": "sg-0aaa"})
    plan = SECURITY_GROUP.plan(
        edge, security_group(answered), plan_context(edge, live={("SecurityGroup", "alb"): alb})
    )
    assert (plan.action, plan.calls, list(plan.delta)) == (Action.NONE, (), [])


# --- TargetGroup ----------------------------------------------------------------------------------

# DescribeTargetGroupAttributes for an ip target group behind an ALB: every attribute, as strings.
REAL_AWS_TARGET_GROUP_ATTRIBUTES = {
    "deregistration_delay.timeout_seconds": "300",
    "stickiness.enabled": "false",
    "stickiness.type": "lb_cookie",
    "stickiness.lb_cookie.duration_seconds": "86400",
    "load_balancing.algorithm.type": "round_robin",
    "slow_start.duration_seconds": "0",
    "load_balancing.cross_zone.enabled": "use_load_balancer_configuration",
}


@pytest.mark.parametrize(
    "attributes",
    [
        {"deregistration_delay.timeout_seconds": 300, "stickiness.enabled": False},
        {"stickiness.type": "lb_cookie", "slow_start.duration_seconds": "0"},
        {},
    ],
    ids=["yaml-number-and-boolean", "strings", "none-set"],
)
def test_target_group_attributes_aws_answers_as_strings_and_in_full_plan_nothing(
    attributes: dict[str, Any],
) -> None:
    arn = f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:targetgroup/web/73e2d6bc24d8a067"
    group = {
        "TargetGroupArn": arn,
        "TargetGroupName": "web",
        "Protocol": "HTTP",
        "Port": 3000,
        "VpcId": "vpc-0123",
        "TargetType": "ip",
        "HealthCheckPort": "traffic-port",
        "HealthCheckPath": "/",
        "Matcher": {"HttpCode": "200"},
        "ProtocolVersion": "HTTP1",
        "IpAddressType": "ipv4",
    }
    web = Document(
        kind="TargetGroup",
        metadata=Metadata(name="web"),
        spec=TargetGroupSpec.model_validate(
            {"protocol": "HTTP", "port": 3000, "targetType": "ip", "vpc": "default", "attributes": attributes}
        ),
        file="tg.yaml",
        line=1,
    )
    live = LiveResource(
        "TargetGroup",
        "web",
        arn,
        group,
        {**OWNED, "ecs-reconciler/source": "TargetGroup/web"},
        {"arn": arn},
        {"attributes": REAL_AWS_TARGET_GROUP_ATTRIBUTES},
    )
    plan = TARGET_GROUP.plan(web, live, plan_context(web))
    assert (plan.action, plan.calls, list(plan.delta)) == (Action.NONE, (), [])


# --- LoadBalancer ---------------------------------------------------------------------------------

LB = f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:loadbalancer/app/web/50dc6c495c0c9188"
# DescribeLoadBalancers for an ALB created with only Name and Subnets: AWS's defaults filled in.
REAL_AWS_LOAD_BALANCER: dict[str, Any] = {
    "LoadBalancerArn": LB,
    "DNSName": "web-1234.us-east-1.elb.amazonaws.com",
    "CanonicalHostedZoneId": "Z35SXDOTRQ7X7K",
    "LoadBalancerName": "web",
    "Scheme": "internet-facing",
    "VpcId": "vpc-0123",
    "State": {"Code": "active"},
    "Type": "application",
    "AvailabilityZones": [
        {"ZoneName": "us-east-1b", "SubnetId": "subnet-b", "LoadBalancerAddresses": []},
        {"ZoneName": "us-east-1a", "SubnetId": "subnet-a", "LoadBalancerAddresses": []},
    ],
    "SecurityGroups": ["sg-0def"],
    "IpAddressType": "ipv4",
}
# DescribeLoadBalancerAttributes for an ALB: every attribute, as strings.
REAL_AWS_LOAD_BALANCER_ATTRIBUTES = {
    "access_logs.s3.enabled": "false",
    "access_logs.s3.bucket": "",
    "access_logs.s3.prefix": "",
    "idle_timeout.timeout_seconds": "60",
    "deletion_protection.enabled": "false",
    "routing.http2.enabled": "true",
    "routing.http.drop_invalid_header_fields.enabled": "false",
    "routing.http.desync_mitigation_mode": "defensive",
    "load_balancing.cross_zone.enabled": "true",
}


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"scheme": "internet-facing", "ipAddressType": "ipv4", "type": "application"},
        {"attributes": {"idle_timeout.timeout_seconds": 60, "routing.http2.enabled": True}},
        {"subnets": ["subnet-b", "subnet-a"]},
    ],
    ids=["defaults-unset", "defaults-spelt-out", "yaml-number-and-boolean", "subnets-in-another-order"],
)
def test_load_balancer_defaults_and_attributes_aws_fills_in_plan_nothing(fields: dict[str, Any]) -> None:
    web = Document(
        kind="LoadBalancer",
        metadata=Metadata(name="web"),
        spec=LoadBalancerSpec.model_validate({"subnets": "default", **fields}),
        file="lb.yaml",
        line=1,
    )
    live = LiveResource(
        "LoadBalancer",
        "web",
        LB,
        REAL_AWS_LOAD_BALANCER,
        {**OWNED, "ecs-reconciler/source": "LoadBalancer/web"},
        {"arn": LB},
        {"attributes": REAL_AWS_LOAD_BALANCER_ATTRIBUTES},
    )
    plan = LOAD_BALANCER.plan(web, live, plan_context(web))
    assert (plan.action, plan.calls, list(plan.delta)) == (Action.NONE, (), [])
