"""`ecs-reconciler import` round-trips a hand-made estate (issue 13, "Onboarding what already
runs"): an estate built with plain boto3 calls, owned by no one, imports to documents whose first
`plan` plans only the adoption tags; `apply` adopts with nothing else; the next `plan` is empty."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from reconciler.cli import main
from reconciler.local import LocalAWS
from reconciler.resources.registry import load_spec_set
from tests.harness import Pass, engine_pass, load

TAG_WRITES = {
    "ecs.TagResource",
    "elbv2.AddTags",
    "ec2.CreateTags",
    "ecr.TagResource",
    "application-autoscaling.TagResource",
    "logs.TagResource",
}


def _client(service: str) -> Any:
    return boto3.client(service)  # endpoint, region and fake credentials from the `aws` fixture


def _hand_made_estate(aws: LocalAWS) -> None:
    """The tutorial's stack, clicked together without the reconciler, plus a path rule."""
    ec2, ecr, ecs = _client("ec2"), _client("ecr"), _client("ecs")
    elbv2, scaling = _client("elbv2"), _client("application-autoscaling")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnets = [
        subnet["SubnetId"]
        for subnet in ec2.describe_subnets(
            Filters=[{"Name": "vpc-id", "Values": [vpc]}, {"Name": "default-for-az", "Values": ["true"]}]
        )["Subnets"]
    ]
    alb_group = ec2.create_security_group(GroupName="Shop ALB", Description="http in", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=alb_group,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
        ],
    )
    task_group = ec2.create_security_group(GroupName="shop-tasks", Description="app port", VpcId=vpc)[
        "GroupId"
    ]
    ec2.authorize_security_group_ingress(
        GroupId=task_group,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 3000,
                "ToPort": 3000,
                "UserIdGroupPairs": [{"GroupId": alb_group}],
            }
        ],
    )
    repository = ecr.create_repository(
        repositoryName="acme/shop",
        imageScanningConfiguration={"scanOnPush": True},
        tags=[{"Key": "team", "Value": "web"}],
    )["repository"]
    aws.push_image("acme/shop", "v1")
    _client("logs").create_log_group(logGroupName="/ecs/shop")
    _client("logs").put_retention_policy(logGroupName="/ecs/shop", retentionInDays=14)
    ecs.create_cluster(
        clusterName="shop",
        capacityProviders=["FARGATE", "FARGATE_SPOT"],
        defaultCapacityProviderStrategy=[{"capacityProvider": "FARGATE", "weight": 1}],
    )
    task_definition = ecs.register_task_definition(
        family="shop_web",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        executionRoleArn=f"arn:aws:iam::{repository['registryId']}:role/ecsTaskExecutionRole",
        containerDefinitions=[
            {
                "name": "web",
                "image": f"{repository['repositoryUri']}:v1",
                "essential": True,
                "portMappings": [{"containerPort": 3000, "protocol": "tcp"}],
                "environment": [
                    {"name": "MODE", "value": "production"},
                    {"name": "API_TOKEN", "value": "s3cr3t-value"},
                ],
                "secrets": [
                    {"name": "DB_PASSWORD", "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/db"}
                ],
                "logConfiguration": {
                    "logDriver": "awslogs",
                    "options": {
                        "awslogs-group": "/ecs/shop",
                        "awslogs-region": "us-east-1",
                        "awslogs-stream-prefix": "web",
                    },
                },
            }
        ],
        tags=[{"key": "team", "value": "web"}],
    )["taskDefinition"]
    target_group = elbv2.create_target_group(
        Name="shop-web", Protocol="HTTP", Port=3000, VpcId=vpc, TargetType="ip", HealthCheckPath="/healthz"
    )["TargetGroups"][0]["TargetGroupArn"]
    balancer = elbv2.create_load_balancer(
        Name="shop", Subnets=subnets, SecurityGroups=[alb_group], Scheme="internet-facing", Type="application"
    )["LoadBalancers"][0]["LoadBalancerArn"]
    listener = elbv2.create_listener(
        LoadBalancerArn=balancer,
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": target_group}],
    )["Listeners"][0]["ListenerArn"]
    elbv2.create_rule(
        ListenerArn=listener,
        Priority=10,
        Conditions=[{"Field": "path-pattern", "Values": ["/api/*"]}],
        Actions=[{"Type": "forward", "TargetGroupArn": target_group}],
    )
    ecs.create_service(
        cluster="shop",
        serviceName="web",
        taskDefinition=task_definition["taskDefinitionArn"],
        desiredCount=2,
        launchType="FARGATE",
        networkConfiguration={
            "awsvpcConfiguration": {
                "subnets": subnets,
                "securityGroups": [task_group],
                "assignPublicIp": "ENABLED",
            }
        },
        loadBalancers=[{"targetGroupArn": target_group, "containerName": "web", "containerPort": 3000}],
        healthCheckGracePeriodSeconds=60,
        tags=[{"key": "team", "value": "web"}],
    )
    scaling.register_scalable_target(
        ServiceNamespace="ecs",
        ResourceId="service/shop/web",
        ScalableDimension="ecs:service:DesiredCount",
        MinCapacity=1,
        MaxCapacity=6,
    )
    scaling.put_scaling_policy(
        PolicyName="shop-cpu",
        ServiceNamespace="ecs",
        ResourceId="service/shop/web",
        ScalableDimension="ecs:service:DesiredCount",
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 60.0,
            "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"},
        },
    )


def _command(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, dict[str, Any], str]:
    code = main([*arguments, "--output", "json"])
    captured = capsys.readouterr()
    return code, json.loads(captured.out), captured.err


def _planned_calls(planned: Pass) -> set[tuple[str, str, str]]:
    return {
        (resource.kind, resource.name, f"{call.service}.{call.operation}")
        for resource in planned.result.plan
        for group in resource.groups
        for call in group.calls
    }


def _writes(calls: dict[str, int]) -> dict[str, int]:
    reads = ("Describe", "List", "Get", "BatchGet")
    return {call: count for call, count in calls.items() if not call.split(".", 1)[1].startswith(reads)}


def test_an_imported_estate_plans_only_adoption_tags_and_is_in_sync_after_apply(
    aws: LocalAWS, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _hand_made_estate(aws)
    out = tmp_path / "imported"

    code, imported, _ = _command(capsys, "import", "--cluster", "shop", "--out", str(out))

    assert code == 0, json.dumps(imported["errors"])
    assert set(_writes(imported["calls"])) == set(), "an import only reads"
    spec_set, errors = load_spec_set([out])
    assert not errors and spec_set is not None
    kinds = {(document.kind, document.name) for document in spec_set}
    assert kinds == {
        ("Cluster", "shop"),
        ("Repository", "acme-shop"),
        ("TaskDefinition", "shop-web"),
        ("SecurityGroup", "shop-alb"),
        ("SecurityGroup", "shop-tasks"),
        ("TargetGroup", "shop-web"),
        ("LoadBalancer", "shop"),
        ("Service", "web"),
        ("LogGroup", "ecs-shop"),
    }
    assert all(document.metadata.annotations == {"ecs-reconciler/adopt": "true"} for document in spec_set)
    text = "\n".join(path.read_text() for path in sorted(out.iterdir()))
    assert "arn:aws:ssm:us-east-1:123456789012:parameter/db" in text  # a secret stays a reference
    assert "# container web: API_TOKEN looks like a secret in plain text" in text
    assert (
        "repositoryName: acme/shop" in text and "groupName: Shop ALB" in text and "family: shop_web" in text
    )

    planned = engine_pass(aws, load(out), apply=False)
    assert planned.writes == {}
    assert _planned_calls(planned) == {
        ("Cluster", "shop", "ecs.tag_resource"),
        ("Repository", "acme-shop", "ecr.tag_resource"),
        ("TaskDefinition", "shop-web", "ecs.tag_resource"),
        ("SecurityGroup", "shop-alb", "ec2.create_tags"),
        ("SecurityGroup", "shop-tasks", "ec2.create_tags"),
        ("TargetGroup", "shop-web", "elbv2.add_tags"),
        ("LoadBalancer", "shop", "elbv2.add_tags"),
        ("Service", "web", "ecs.tag_resource"),
        ("LogGroup", "ecs-shop", "logs.tag_resource"),
    }

    code, applied, _ = _command(capsys, "apply", str(out))
    assert code == 0, applied
    assert set(_writes(applied["calls"])) <= TAG_WRITES, applied["calls"]

    code, again, _ = _command(capsys, "plan", str(out))
    assert code == 0, again
    assert _writes(again["calls"]) == {}
