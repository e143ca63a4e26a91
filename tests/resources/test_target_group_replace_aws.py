"""Replacing a target group against the local AWS: an ALB listener and rule and a Fargate service use
it; changing its port moves all three to a new target group and deletes the old one in one apply,
the next plan is empty, and changing it back replaces it again under the first name. A stranger
under the alternate name is never touched, and an old target group with registered targets waits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest

from reconciler.local import LocalAWS
from reconciler.plan.steps import Action
from tests.harness import engine_pass, load

pytestmark = pytest.mark.aws

STACK = """\
apiVersion: ecs-reconciler/v1
kind: Cluster
metadata: {name: web}
spec: {}
---
apiVersion: ecs-reconciler/v1
kind: TaskDefinition
metadata: {name: web}
spec:
  requiresCompatibilities: [FARGATE]
  networkMode: awsvpc
  cpu: "256"
  memory: "512"
  containerDefinitions:
    - name: app
      image: public.ecr.aws/nginx/nginx:1.27
      portMappings: [{containerPort: 3000}]
---
apiVersion: ecs-reconciler/v1
kind: TargetGroup
metadata: {name: web}
spec:
  protocol: HTTP
  port: PORT
  targetType: ip
  vpc: default
  healthCheck: {path: /healthz}
  attributes: {deregistration_delay.timeout_seconds: "30"}
---
apiVersion: ecs-reconciler/v1
kind: LoadBalancer
metadata: {name: web}
spec:
  subnets: default
  listeners:
    - port: 80
      protocol: HTTP
      defaultAction: {type: forward, targetGroup: web}
      rules:
        - priority: 10
          conditions: [{field: path-pattern, values: [/api/*]}]
          actions: [{type: forward, targetGroup: web}]
---
apiVersion: ecs-reconciler/v1
kind: Service
metadata: {name: web}
spec:
  cluster: web
  taskDefinition: web
  desiredCount: 1
  launchType: FARGATE
  networkConfiguration:
    awsvpcConfiguration: {subnets: default, assignPublicIp: ENABLED}
  loadBalancers: [{targetGroup: web, containerName: app, containerPort: 3000}]
"""

REPLACEMENT_WRITES = {
    "elbv2.CreateTargetGroup": 1,
    "elbv2.ModifyTargetGroupAttributes": 1,
    "elbv2.ModifyListener": 1,
    "elbv2.ModifyRule": 1,
    "ecs.UpdateService": 1,
    "elbv2.DeleteTargetGroup": 1,
}


def write(folder: Path, port: int) -> Path:
    (folder / "stack.yaml").write_text(STACK.replace("PORT", str(port)))
    return folder


def client(local: LocalAWS, service: str) -> Any:
    return boto3.client(service, region_name=local.region, endpoint_url=local.endpoint_url)


def target_groups(local: LocalAWS) -> dict[str, dict[str, Any]]:
    return {
        group["TargetGroupName"]: group
        for group in client(local, "elbv2").describe_target_groups()["TargetGroups"]
    }


def forwarded_to(local: LocalAWS) -> set[str]:
    """Every target group ARN the listener's default action and its rule forward to."""
    elbv2 = client(local, "elbv2")
    balancer = elbv2.describe_load_balancers(Names=["web"])["LoadBalancers"][0]["LoadBalancerArn"]
    (listener,) = elbv2.describe_listeners(LoadBalancerArn=balancer)["Listeners"]
    rules = elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]
    return {
        action["TargetGroupArn"]
        for actions in [
            listener["DefaultActions"],
            *(rule["Actions"] for rule in rules if not rule["IsDefault"]),
        ]
        for action in actions
    }


def service_target_groups(local: LocalAWS) -> list[str]:
    (service,) = client(local, "ecs").describe_services(cluster="web", services=["web"])["services"]
    return [item["targetGroupArn"] for item in service["loadBalancers"]]


def test_changing_the_port_moves_listener_rule_and_service_then_deletes_the_old_one(
    aws: LocalAWS, tmp_path: Path
) -> None:
    assert engine_pass(aws, load(write(tmp_path, 3000))).result.ok
    old = target_groups(aws)["web"]["TargetGroupArn"]

    replaced = engine_pass(aws, load(write(tmp_path, 8080)))
    assert replaced.result.ok, replaced.result.execution
    plan = replaced.result.plan.get("TargetGroup", "web")
    assert plan is not None and plan.action is Action.REPLACE
    assert [(d.path, d.desired, d.live) for d in plan.delta] == [(("port",), 8080, 3000)]
    assert replaced.writes == REPLACEMENT_WRITES

    groups = target_groups(aws)
    assert sorted(groups) == ["web-r"] and groups["web-r"]["Port"] == 8080
    new = groups["web-r"]["TargetGroupArn"]
    assert new != old
    assert forwarded_to(aws) == {new}
    assert service_target_groups(aws) == [new]
    attributes = client(aws, "elbv2").describe_target_group_attributes(TargetGroupArn=new)["Attributes"]
    assert {"Key": "deregistration_delay.timeout_seconds", "Value": "30"} in attributes

    steady = engine_pass(aws, load(tmp_path))
    assert steady.writes == {} and not steady.result.plan.has_changes
    assert steady.calls["elbv2.DescribeTargetGroups"] == 1
    assert "elbv2.DescribeTargetHealth" not in steady.calls

    back = engine_pass(aws, load(write(tmp_path, 3000)))
    assert back.result.ok, back.result.execution
    assert back.writes == REPLACEMENT_WRITES
    groups = target_groups(aws)
    assert sorted(groups) == ["web"] and groups["web"]["Port"] == 3000
    assert forwarded_to(aws) == {groups["web"]["TargetGroupArn"]}
    assert service_target_groups(aws) == [groups["web"]["TargetGroupArn"]]
    assert not engine_pass(aws, load(tmp_path), apply=False).result.plan.has_changes


def test_a_stranger_under_the_alternate_name_is_a_conflict_and_is_left_alone(
    aws: LocalAWS, tmp_path: Path
) -> None:
    assert engine_pass(aws, load(write(tmp_path, 3000))).result.ok
    vpc = target_groups(aws)["web"]["VpcId"]
    stranger = client(aws, "elbv2").create_target_group(
        Name="web-r", Protocol="HTTP", Port=9000, VpcId=vpc, TargetType="ip"
    )["TargetGroups"][0]["TargetGroupArn"]

    # While nothing needs replacing, a stranger under the other name changes nothing.
    assert not engine_pass(aws, load(tmp_path), apply=False).result.plan.has_changes

    blocked = engine_pass(aws, load(write(tmp_path, 8080)))
    plan = blocked.result.plan.get("TargetGroup", "web")
    assert plan is not None and plan.action is Action.CONFLICT
    assert stranger in plan.message and "web-r" in plan.message
    assert blocked.writes == {}
    assert sorted(target_groups(aws)) == ["web", "web-r"]
    assert target_groups(aws)["web-r"]["Port"] == 9000


def test_an_old_target_group_with_registered_targets_is_deleted_once_they_are_gone(
    aws: LocalAWS, tmp_path: Path
) -> None:
    assert engine_pass(aws, load(write(tmp_path, 3000))).result.ok
    elbv2 = client(aws, "elbv2")
    old = target_groups(aws)["web"]["TargetGroupArn"]
    # The old deployment's task, as ECS registers it (the local AWS runs no tasks of its own).
    elbv2.register_targets(TargetGroupArn=old, Targets=[{"Id": "172.31.0.10", "Port": 3000}])

    moved = engine_pass(aws, load(write(tmp_path, 8080)))
    assert moved.result.ok, moved.result.execution
    assert moved.writes == {
        key: value for key, value in REPLACEMENT_WRITES.items() if key != "elbv2.DeleteTargetGroup"
    }
    plan = moved.result.plan.get("TargetGroup", "web")
    assert plan is not None and "1 registered targets" in plan.message
    new = target_groups(aws)["web-r"]["TargetGroupArn"]
    assert forwarded_to(aws) == {new} and service_target_groups(aws) == [new]

    waiting = engine_pass(aws, load(tmp_path))
    assert waiting.writes == {}
    plan = waiting.result.plan.get("TargetGroup", "web")
    assert plan is not None and plan.action is Action.REPLACE and plan.calls == ()

    elbv2.deregister_targets(TargetGroupArn=old, Targets=[{"Id": "172.31.0.10", "Port": 3000}])
    cleaned = engine_pass(aws, load(tmp_path))
    assert cleaned.result.ok, cleaned.result.execution
    assert cleaned.writes == {"elbv2.DeleteTargetGroup": 1}
    assert sorted(target_groups(aws)) == ["web-r"]
    assert not engine_pass(aws, load(tmp_path), apply=False).result.plan.has_changes
