"""What each kind's importer writes for an object as real AWS describes it (botocore's documented
shapes, server defaults filled in as AWS fills them, which the local AWS often omits): AWS's
defaults are left out, references become document names, and the result is a valid spec."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import pytest

from reconciler.resources.base import Clients, Environment
from reconciler.resources.importing import DocumentNames, Found, ImportContext, ImportSelection
from reconciler.resources.registry import descriptors

ACCOUNT = "123456789012"
VPC = "vpc-0a1b2c3d"
SUBNETS = ("subnet-0aaa", "subnet-0bbb")
CLUSTER_ARN = f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/shop"
TASK_ARN = f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/shop_web:7"
TARGET_GROUP_ARN = f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:targetgroup/shop-web/73e2d6bc24d8a067"
LOAD_BALANCER_ARN = f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:loadbalancer/app/shop/50dc6c495c0c9188"
CONTEXT = ImportContext(
    clients=cast(Clients, None),  # spec() is pure: it never calls AWS
    environment=Environment(
        account_id=ACCOUNT, region="us-east-1", default_vpc_id=VPC, default_subnet_ids=SUBNETS
    ),
    selection=ImportSelection(),
)


class Names:
    def __init__(self, names: Mapping[tuple[str, str], str]) -> None:
        self._names = names

    def document(self, kind: str, identity: str) -> str | None:
        return self._names.get((kind, identity))


NAMES: DocumentNames = Names(
    {
        ("Cluster", CLUSTER_ARN): "shop",
        ("TaskDefinition", TASK_ARN): "shop-web",
        ("TargetGroup", TARGET_GROUP_ARN): "shop-web",
        ("SecurityGroup", "sg-0tasks"): "shop-tasks",
        ("Repository", "acme/shop"): "acme-shop",
    }
)


def _imported(
    kind: str, state: Mapping[str, Any], details: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    importer = descriptors()[kind].importer
    assert importer is not None
    found = Found(kind, "identity", "aws-name", state, details or {})
    spec = dict(importer.spec(found, NAMES, CONTEXT).spec)
    descriptors()[kind].spec.model_validate(spec)  # what the import writes is a valid spec
    return spec


def test_a_service_as_aws_describes_it_keeps_only_what_differs_from_ecs_defaults() -> None:
    service = {
        "serviceArn": f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/shop/web",
        "serviceName": "web",
        "clusterArn": CLUSTER_ARN,
        "taskDefinition": TASK_ARN,
        "desiredCount": 2,
        "capacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1, "base": 0}],
        "platformVersion": "LATEST",
        "platformFamily": "Linux",
        "deploymentConfiguration": {
            "deploymentCircuitBreaker": {"enable": False, "rollback": False},
            "maximumPercent": 200,
            "minimumHealthyPercent": 100,
        },
        "networkConfiguration": {
            "awsvpcConfiguration": {
                "subnets": list(reversed(SUBNETS)),
                "securityGroups": ["sg-0tasks", "sg-0foreign"],
                "assignPublicIp": "DISABLED",
            }
        },
        "loadBalancers": [
            {"targetGroupArn": TARGET_GROUP_ARN, "containerName": "web", "containerPort": 3000}
        ],
        "healthCheckGracePeriodSeconds": 0,
        "schedulingStrategy": "REPLICA",
        "enableECSManagedTags": False,
        "propagateTags": "NONE",
        "enableExecuteCommand": False,
        "tags": [{"key": "ecs-reconciler/managed-by", "value": "x"}, {"key": "team", "value": "web"}],
    }
    assert _imported("Service", service) == {
        "cluster": "shop",
        "taskDefinition": "shop-web",
        "desiredCount": 2,
        "capacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1}],
        "networkConfiguration": {
            "awsvpcConfiguration": {"subnets": "default", "securityGroups": ["sg-0foreign", "shop-tasks"]}
        },
        "loadBalancers": [{"targetGroup": "shop-web", "containerName": "web", "containerPort": 3000}],
        "tags": {"team": "web"},
    }


def test_what_a_service_uses_beyond_the_spec_language_is_named_in_a_note() -> None:
    service = {
        "serviceArn": f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/shop/web",
        "serviceName": "web",
        "clusterArn": CLUSTER_ARN,
        "taskDefinition": TASK_ARN,
        "desiredCount": 1,
        "launchType": "FARGATE",
        "serviceRegistries": [
            {"registryArn": "arn:aws:servicediscovery:us-east-1:123456789012:service/srv-1"}
        ],
        "placementConstraints": [],
        "deployments": [
            {
                "status": "PRIMARY",
                "serviceConnectConfiguration": {"enabled": True, "namespace": "shop"},
            },
            {"status": "ACTIVE", "volumeConfigurations": [{"name": "data"}]},
        ],
    }
    importer = descriptors()["Service"].importer
    assert importer is not None
    imported = importer.spec(Found("Service", "identity", "web", service, {}), NAMES, CONTEXT)
    assert imported.notes == (
        "web uses serviceRegistries, serviceConnectConfiguration, which the Service spec does not "
        "describe: left as it is and not managed",
    )
    assert not {"serviceRegistries", "serviceConnectConfiguration"} & set(imported.spec)


def test_a_target_group_as_aws_describes_it_keeps_only_what_differs_from_elbv2_defaults() -> None:
    group = {
        "TargetGroupArn": TARGET_GROUP_ARN,
        "TargetGroupName": "shop-web",
        "Protocol": "HTTP",
        "Port": 3000,
        "VpcId": VPC,
        "HealthCheckProtocol": "HTTP",
        "HealthCheckPort": "traffic-port",
        "HealthCheckEnabled": True,
        "HealthCheckIntervalSeconds": 30,
        "HealthCheckTimeoutSeconds": 5,
        "HealthyThresholdCount": 5,
        "UnhealthyThresholdCount": 2,
        "HealthCheckPath": "/healthz",
        "Matcher": {"HttpCode": "200"},
        "LoadBalancerArns": [LOAD_BALANCER_ARN],
        "TargetType": "ip",
        "ProtocolVersion": "HTTP1",
        "IpAddressType": "ipv4",
        "Tags": {},
    }
    assert _imported("TargetGroup", group) == {
        "protocol": "HTTP",
        "port": 3000,
        "targetType": "ip",
        "vpc": "default",
        "healthCheck": {"path": "/healthz"},
    }


def test_a_load_balancers_listener_and_rules_as_aws_describes_them_become_spec_actions() -> None:
    forward = {
        "Type": "forward",
        "TargetGroupArn": TARGET_GROUP_ARN,
        "Order": 1,
        "ForwardConfig": {
            "TargetGroups": [{"TargetGroupArn": TARGET_GROUP_ARN, "Weight": 1}],
            "TargetGroupStickinessConfig": {"Enabled": False},
        },
    }
    redirect = {
        "Type": "redirect",
        "Order": 1,
        "RedirectConfig": {
            "Protocol": "HTTPS",
            "Port": "443",
            "Host": "#{host}",
            "Path": "/#{path}",
            "Query": "#{query}",
            "StatusCode": "HTTP_301",
        },
    }
    balancer = {
        "LoadBalancerArn": LOAD_BALANCER_ARN,
        "LoadBalancerName": "shop",
        "Scheme": "internet-facing",
        "Type": "application",
        "IpAddressType": "ipv4",
        "AvailabilityZones": [
            {"ZoneName": "us-east-1a", "SubnetId": SUBNETS[0]},
            {"ZoneName": "us-east-1b", "SubnetId": "subnet-0ccc"},
        ],
        "SecurityGroups": ["sg-0alb"],
        "Tags": {},
    }
    listeners = {
        80: {
            "listener": {"Port": 80, "Protocol": "HTTP", "DefaultActions": [forward]},
            "rules": {
                10: {
                    "Priority": "10",
                    "Conditions": [
                        {
                            "Field": "path-pattern",
                            "PathPatternConfig": {"Values": ["/old/*"]},
                            "Values": ["/old/*"],
                        }
                    ],
                    "Actions": [redirect],
                }
            },
        }
    }
    assert _imported("LoadBalancer", balancer, {"listeners": listeners}) == {
        "subnets": [SUBNETS[0], "subnet-0ccc"],  # not the default subnets: written as they are
        "securityGroups": ["sg-0alb"],
        "listeners": [
            {
                "port": 80,
                "protocol": "HTTP",
                "defaultAction": {"type": "forward", "targetGroup": "shop-web"},
                "rules": [
                    {
                        "priority": 10,
                        "conditions": [{"field": "path-pattern", "values": ["/old/*"]}],
                        "actions": [
                            {
                                "type": "redirect",
                                "redirectConfig": {
                                    "protocol": "HTTPS",
                                    "port": "443",
                                    "statusCode": "HTTP_301",
                                },
                            }
                        ],
                    }
                ],
            }
        ],
    }


def test_listeners_forwarding_to_a_target_group_not_imported_are_left_out_not_deleted() -> None:
    balancer = {
        "LoadBalancerArn": LOAD_BALANCER_ARN,
        "LoadBalancerName": "shop",
        "AvailabilityZones": [],
        "Tags": {},
    }
    listeners = {
        80: {
            "listener": {
                "Port": 80,
                "Protocol": "HTTP",
                "DefaultActions": [{"Type": "forward", "TargetGroupArn": "arn:unknown"}],
            }
        }
    }
    importer = descriptors()["LoadBalancer"].importer
    assert importer is not None
    imported = importer.spec(
        Found("LoadBalancer", "x", "shop", balancer, {"listeners": listeners}), NAMES, CONTEXT
    )
    assert "listeners" not in imported.spec
    assert imported.notes == (
        "listeners left out (not managed): an action forwards to arn:unknown, which was not imported",
    )


def test_a_task_definition_as_aws_describes_it_keeps_secrets_as_references_and_flags_plain_ones() -> None:
    revision = {
        "taskDefinitionArn": TASK_ARN,
        "family": "shop_web",
        "revision": 7,
        "status": "ACTIVE",
        "networkMode": "awsvpc",
        "cpu": "256",
        "memory": "512",
        "requiresCompatibilities": ["FARGATE"],
        "compatibilities": ["EC2", "FARGATE"],
        "requiresAttributes": [{"name": "com.amazonaws.ecs.capability.docker-remote-api.1.18"}],
        "registeredAt": "2024-01-01T00:00:00Z",
        "registeredBy": f"arn:aws:iam::{ACCOUNT}:root",
        "volumes": [],
        "placementConstraints": [],
        "containerDefinitions": [
            {
                "name": "web",
                "image": f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/acme/shop:v1",
                "cpu": 0,
                "essential": True,
                "portMappings": [{"containerPort": 3000, "hostPort": 3000, "protocol": "tcp"}],
                "environment": [{"name": "DATABASE_URL", "value": "postgres://app:hunter2@db/app"}],
                "secrets": [
                    {"name": "API_KEY", "valueFrom": f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/api"}
                ],
                "mountPoints": [],
                "volumesFrom": [],
                "systemControls": [],
            },
            {
                "name": "sidecar",
                "image": "public.ecr.aws/nginx/nginx:1.27",
                "cpu": 0,
                "essential": False,
                "command": ["serve", "--password=hunter2"],
            },
        ],
        "tags": [{"key": "team", "value": "web"}],
    }
    importer = descriptors()["TaskDefinition"].importer
    assert importer is not None
    imported = importer.spec(Found("TaskDefinition", TASK_ARN, "shop_web", revision), NAMES, CONTEXT)
    descriptors()["TaskDefinition"].spec.model_validate(imported.spec)
    assert imported.spec == {
        "networkMode": "awsvpc",
        "cpu": "256",
        "memory": "512",
        "requiresCompatibilities": ["FARGATE"],
        "containerDefinitions": [
            {
                "name": "web",
                "image": {"repository": "acme-shop", "tag": "v1"},
                "portMappings": [{"containerPort": 3000, "hostPort": 3000, "protocol": "tcp"}],
                "environment": [{"name": "DATABASE_URL", "value": "postgres://app:hunter2@db/app"}],
                "secrets": [
                    {"name": "API_KEY", "valueFrom": f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/api"}
                ],
            },
            {
                "name": "sidecar",
                "image": "public.ecr.aws/nginx/nginx:1.27",
                "essential": False,
                "command": ["serve", "--password=hunter2"],
            },
        ],
        "tags": {"team": "web"},
    }
    assert imported.notes == (
        "container web: DATABASE_URL looks like a secret in plain text: give it through `secrets` "
        "(Secrets Manager or SSM Parameter Store) instead of `environment`",
        "container sidecar: an argument of command looks like a secret in plain text",
    )


@pytest.mark.parametrize(
    ("egress", "expected"),
    [
        ([{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}], None),
        (
            [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}],
            [{"protocol": "tcp", "port": 443, "cidr": "10.0.0.0/8"}],
        ),
    ],
)
def test_a_security_group_writes_egress_only_when_it_is_not_ec2s_default(
    egress: list[dict[str, Any]], expected: list[dict[str, Any]] | None
) -> None:
    group = {
        "GroupId": "sg-0tasks",
        "GroupName": "shop-tasks",
        "Description": "app port",
        "VpcId": VPC,
        "IpPermissions": [
            {
                "IpProtocol": "tcp",
                "FromPort": 3000,
                "ToPort": 3001,
                "UserIdGroupPairs": [
                    {"GroupId": "sg-0tasks", "Description": "itself"},
                    {"GroupId": "sg-0other"},
                ],
            }
        ],
        "IpPermissionsEgress": egress,
    }
    spec = _imported("SecurityGroup", group)
    assert spec["ingress"] == [
        {"protocol": "tcp", "fromPort": 3000, "toPort": 3001, "securityGroup": "sg-0other"},
        {
            "protocol": "tcp",
            "fromPort": 3000,
            "toPort": 3001,
            "securityGroup": "shop-tasks",
            "description": "itself",
        },
    ]
    assert spec.get("egress") == expected
    assert spec["vpc"] == "default"
