"""deploy/specs against the local AWS: the bootstrap deploy/README.md describes, pass by pass.

First apply: the repository, cluster and security group are created, and the digest-pinned task
definition and its service wait for the image. After the push: the task definition pins the
image's digest and the one-task service is created. Then a pass needs no writes.
"""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from reconciler.local import LocalAWS
from reconciler.plan.steps import Action
from tests.harness import engine_pass, load

pytestmark = pytest.mark.aws

ROOT = Path(__file__).resolve().parents[2]
NAME = "ecs-reconciler"


def test_the_daemon_stack_waits_for_its_image_then_converges(aws: LocalAWS) -> None:
    spec_set = load(ROOT / "deploy" / "specs")

    first = engine_pass(aws, spec_set)
    actions = {resource.key: resource.action for resource in first.result.plan}
    assert actions[("Repository", NAME)] is Action.CREATE
    assert actions[("TaskDefinition", NAME)] is Action.WAITING
    assert "ecs.CreateService" not in first.writes
    assert first.writes["ecr.CreateRepository"] == 1 and first.writes["ecs.CreateCluster"] == 1

    digest = aws.push_image(NAME, "0.1.0")
    second = engine_pass(aws, spec_set)
    assert second.result.ok, second.result.execution
    assert second.writes["ecs.RegisterTaskDefinition"] == 1 and second.writes["ecs.CreateService"] == 1
    ecs = boto3.client("ecs", region_name=aws.region, endpoint_url=aws.endpoint_url)
    (service,) = ecs.describe_services(cluster=NAME, services=[NAME])["services"]
    assert service["desiredCount"] == 1
    assert service["loadBalancers"] == []
    task_definition = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
    (container,) = task_definition["containerDefinitions"]
    assert container["image"].endswith(f"/{NAME}@{digest}")
    assert task_definition["taskRoleArn"].endswith(f":role/{NAME}")

    aws.settle()
    third = engine_pass(aws, spec_set)
    assert third.writes == {}, third.result.plan
