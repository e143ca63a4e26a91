"""The tutorial's network part (two security groups, a target group, an ALB with a listener and a
rule) against the local AWS: created from empty in one apply, then console drift fixed with exactly
the minimal writes. Covers SecurityGroup, TargetGroup and LoadBalancer together, as users run them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

from reconciler.local import LocalAWS
from reconciler.plan.steps import Action
from tests.harness import engine_pass, load

NETWORK_YAML = """\
apiVersion: ecs-reconciler/v1
kind: SecurityGroup
metadata: {name: node-app-alb}
spec:
  vpc: default
  ingress:
    - {protocol: tcp, port: 80, cidr: 0.0.0.0/0}
---
apiVersion: ecs-reconciler/v1
kind: SecurityGroup
metadata: {name: node-app-tasks}
spec:
  vpc: default
  ingress:
    - {protocol: tcp, port: 3000, securityGroup: node-app-alb, description: from the load balancer}
  tags: {team: web}
---
apiVersion: ecs-reconciler/v1
kind: TargetGroup
metadata: {name: node-app}
spec:
  protocol: HTTP
  port: 3000
  targetType: ip
  vpc: default
  healthCheck: {path: /healthz, matcher: {httpCode: 200}}
  attributes: {deregistration_delay.timeout_seconds: 30}
  tags: {team: web}
---
apiVersion: ecs-reconciler/v1
kind: LoadBalancer
metadata: {name: node-app}
spec:
  scheme: internet-facing
  subnets: default
  securityGroups: [node-app-alb]
  listeners:
    - port: 80
      protocol: HTTP
      defaultAction: {type: forward, targetGroup: node-app}
      rules:
        - priority: 10
          conditions: [{field: path-pattern, values: [/api/*, /v1/*]}]
          actions: [{type: forward, targetGroup: node-app}]
  tags: {team: web}
"""


@pytest.fixture
def network_specs(tmp_path: Path) -> Path:
    (tmp_path / "network.yaml").write_text(NETWORK_YAML)
    return tmp_path


def client(local: LocalAWS, service: str) -> Any:
    return boto3.client(service, region_name=local.region, endpoint_url=local.endpoint_url)


def group_id(ec2: Any, name: str) -> str:
    groups = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [name]}])[
        "SecurityGroups"
    ]
    return str(groups[0]["GroupId"])


def target_group_arn(elbv2: Any) -> str:
    return str(elbv2.describe_target_groups(Names=["node-app"])["TargetGroups"][0]["TargetGroupArn"])


def listener(elbv2: Any) -> dict[str, Any]:
    arn = elbv2.describe_load_balancers(Names=["node-app"])["LoadBalancers"][0]["LoadBalancerArn"]
    (found,) = elbv2.describe_listeners(LoadBalancerArn=arn)["Listeners"]
    return dict(found)


@pytest.mark.aws
def test_network_converges_from_empty_in_one_apply_then_needs_no_writes(
    aws: LocalAWS, network_specs: Path
) -> None:
    spec_set = load(network_specs)
    first = engine_pass(aws, spec_set)
    assert first.result.ok
    assert first.writes == {
        "ec2.CreateSecurityGroup": 2,
        "ec2.AuthorizeSecurityGroupIngress": 2,
        "elbv2.CreateTargetGroup": 1,
        "elbv2.ModifyTargetGroupAttributes": 1,
        "elbv2.CreateLoadBalancer": 1,
        "elbv2.CreateListener": 1,
        "elbv2.CreateRule": 1,
    }

    ec2, elbv2 = client(aws, "ec2"), client(aws, "elbv2")
    alb_group, task_group = group_id(ec2, "node-app-alb"), group_id(ec2, "node-app-tasks")
    (tasks,) = ec2.describe_security_groups(GroupIds=[task_group])["SecurityGroups"]
    assert [
        (p["FromPort"], [pair["GroupId"] for pair in p["UserIdGroupPairs"]]) for p in tasks["IpPermissions"]
    ] == [(3000, [alb_group])]
    (balancer,) = elbv2.describe_load_balancers(Names=["node-app"])["LoadBalancers"]
    assert balancer["SecurityGroups"] == [alb_group]
    assert len(balancer["AvailabilityZones"]) >= 2
    found = listener(elbv2)
    assert found["Port"] == 80 and found["DefaultActions"][0]["TargetGroupArn"] == target_group_arn(elbv2)
    rules = elbv2.describe_rules(ListenerArn=found["ListenerArn"])["Rules"]
    assert [rule["Priority"] for rule in rules] == ["10", "default"]

    second = engine_pass(aws, spec_set)
    assert second.writes == {}
    assert not second.result.plan.has_changes
    # Steady-state reads of the four documents (plus the account facts every pass reads).
    assert {
        key: count
        for key, count in second.calls.items()
        if key.startswith(("ec2.DescribeSecurity", "elbv2."))
    } == {
        "ec2.DescribeSecurityGroups": 1,
        "elbv2.DescribeTargetGroups": 1,
        "elbv2.DescribeTargetGroupAttributes": 1,
        "elbv2.DescribeLoadBalancers": 1,
        "elbv2.DescribeTags": 2,
        "elbv2.DescribeListeners": 1,
        "elbv2.DescribeRules": 1,
    }


def _change_health_check(local: LocalAWS) -> None:
    elbv2 = client(local, "elbv2")
    elbv2.modify_target_group(TargetGroupArn=target_group_arn(elbv2), HealthCheckPath="/")


def _change_default_action(local: LocalAWS) -> None:
    elbv2 = client(local, "elbv2")
    elbv2.modify_listener(
        ListenerArn=listener(elbv2)["ListenerArn"],
        DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "503"}}],
    )


def _revoke_task_rule(local: LocalAWS) -> None:
    ec2 = client(local, "ec2")
    ec2.revoke_security_group_ingress(
        GroupId=group_id(ec2, "node-app-tasks"),
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 3000,
                "ToPort": 3000,
                "UserIdGroupPairs": [
                    {"GroupId": group_id(ec2, "node-app-alb"), "Description": "from the load balancer"}
                ],
            }
        ],
    )


def _untag_target_group(local: LocalAWS) -> None:
    elbv2 = client(local, "elbv2")
    elbv2.remove_tags(ResourceArns=[target_group_arn(elbv2)], TagKeys=["team"])


def _untag_security_group(local: LocalAWS) -> None:
    ec2 = client(local, "ec2")
    ec2.delete_tags(Resources=[group_id(ec2, "node-app-tasks")], Tags=[{"Key": "team"}])


def _delete_rule(local: LocalAWS) -> None:
    elbv2 = client(local, "elbv2")
    (rule, _default) = elbv2.describe_rules(ListenerArn=listener(elbv2)["ListenerArn"])["Rules"]
    elbv2.delete_rule(RuleArn=rule["RuleArn"])


def _add_unwanted_ingress(local: LocalAWS) -> None:
    ec2 = client(local, "ec2")
    ec2.authorize_security_group_ingress(
        GroupId=group_id(ec2, "node-app-alb"),
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
        ],
    )


@pytest.mark.aws
@pytest.mark.parametrize(
    ("drift", "expected_writes", "drifted"),
    [
        (_change_health_check, {"elbv2.ModifyTargetGroup": 1}, ("TargetGroup", "node-app")),
        (_change_default_action, {"elbv2.ModifyListener": 1}, ("LoadBalancer", "node-app")),
        (_revoke_task_rule, {"ec2.AuthorizeSecurityGroupIngress": 1}, ("SecurityGroup", "node-app-tasks")),
        (_untag_target_group, {"elbv2.AddTags": 1}, ("TargetGroup", "node-app")),
        (_untag_security_group, {"ec2.CreateTags": 1}, ("SecurityGroup", "node-app-tasks")),
        (_delete_rule, {"elbv2.CreateRule": 1}, ("LoadBalancer", "node-app")),
        (_add_unwanted_ingress, {"ec2.RevokeSecurityGroupIngress": 1}, ("SecurityGroup", "node-app-alb")),
    ],
    ids=[
        "health-check-path",
        "listener-default-action",
        "revoked-rule",
        "target-group-tag",
        "security-group-tag",
        "deleted-listener-rule",
        "extra-ingress",
    ],
)
def test_console_drift_is_seen_on_one_resource_and_fixed_with_the_minimal_writes(
    aws: LocalAWS,
    network_specs: Path,
    drift: Callable[[LocalAWS], None],
    expected_writes: dict[str, int],
    drifted: tuple[str, str],
) -> None:
    spec_set = load(network_specs)
    assert engine_pass(aws, spec_set).result.ok
    drift(aws)
    fixed = engine_pass(aws, spec_set)
    assert {resource.key for resource in fixed.result.plan if resource.delta} == {drifted}
    assert fixed.writes == expected_writes
    assert fixed.result.ok
    assert not engine_pass(aws, spec_set, apply=False).result.plan.has_changes


TARGET_GROUP_ONLY = NETWORK_YAML.split("---\n")[2]


@pytest.mark.aws
def test_an_unowned_target_group_with_the_spec_name_is_a_conflict_and_untouched(
    aws: LocalAWS, tmp_path: Path
) -> None:
    (tmp_path / "tg.yaml").write_text(TARGET_GROUP_ONLY)
    elbv2, ec2 = client(aws, "elbv2"), client(aws, "ec2")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    elbv2.create_target_group(
        Name="node-app", Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="ip", HealthCheckPath="/theirs"
    )
    result = engine_pass(aws, load(tmp_path))
    (resource,) = result.result.plan.resources
    assert resource.action is Action.CONFLICT
    assert "unowned" in resource.message
    assert result.writes == {}
    (group,) = elbv2.describe_target_groups(Names=["node-app"])["TargetGroups"]
    assert (group["Port"], group["HealthCheckPath"]) == (8080, "/theirs")
    assert elbv2.describe_tags(ResourceArns=[group["TargetGroupArn"]])["TagDescriptions"][0]["Tags"] == []


@pytest.mark.aws
def test_an_immutable_target_group_change_replaces_it_and_moves_the_listener(
    aws: LocalAWS, network_specs: Path
) -> None:
    # The replacement itself is covered in test_target_group_replace.py; here, its network writes.
    engine_pass(aws, load(network_specs))
    (network_specs / "network.yaml").write_text(NETWORK_YAML.replace("port: 3000\n", "port: 8080\n"))
    result = engine_pass(aws, load(network_specs))
    plan = result.result.plan.get("TargetGroup", "node-app")
    assert plan is not None and plan.action is Action.REPLACE
    assert "Port 3000 -> 8080" in plan.message
    assert result.result.ok, result.result.execution
    assert result.writes == {
        "elbv2.CreateTargetGroup": 1,
        "elbv2.ModifyTargetGroupAttributes": 1,
        "elbv2.ModifyListener": 1,
        "elbv2.ModifyRule": 1,
        "elbv2.DeleteTargetGroup": 1,
    }
    assert not engine_pass(aws, load(network_specs), apply=False).result.plan.has_changes


@pytest.mark.aws
def test_prune_deletes_the_owned_network_in_dependency_order(aws: LocalAWS, network_specs: Path) -> None:
    engine_pass(aws, load(network_specs))
    (network_specs / "network.yaml").write_text(TARGET_GROUP_ONLY)
    pruned = engine_pass(aws, load(network_specs), prune=True, allow_mass_prune=True)
    assert pruned.result.ok, pruned.result.execution
    assert pruned.writes == {
        "elbv2.DeleteLoadBalancer": 1,
        "ec2.RevokeSecurityGroupIngress": 1,
        "ec2.DeleteSecurityGroup": 2,
    }
    ec2 = client(aws, "ec2")
    names = {group["GroupName"] for group in ec2.describe_security_groups()["SecurityGroups"]}
    assert not names & {"node-app-alb", "node-app-tasks"}
    assert client(aws, "elbv2").describe_load_balancers()["LoadBalancers"] == []
