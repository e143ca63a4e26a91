"""From empty to converged through the CLI, for the example stack and the 20-service variant.

`apply` creates everything with one call per object, `plan` then has nothing to do, and a second
`apply` makes no write call at all: the steady state costs reads only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.acceptance.fleet import SERVICES
from tests.acceptance.support import NODE_APP, Console, run_cli

pytestmark = pytest.mark.aws

NODE_APP_CREATES = {
    "ecr.CreateRepository": 1,
    "logs.CreateLogGroup": 1,
    "logs.PutRetentionPolicy": 1,
    "ecs.CreateCluster": 1,
    "ec2.CreateSecurityGroup": 2,
    "ec2.AuthorizeSecurityGroupIngress": 2,
    "elbv2.CreateTargetGroup": 1,
    "elbv2.CreateLoadBalancer": 1,
    "elbv2.CreateListener": 1,
    "ecs.RegisterTaskDefinition": 1,
    "ecs.CreateService": 1,
    "application-autoscaling.RegisterScalableTarget": 1,
    "application-autoscaling.PutScalingPolicy": 1,
}

SCALED = SERVICES // 2
FLEET_CREATES = {
    "ecs.CreateCluster": 1,
    "ec2.CreateSecurityGroup": 2,
    "ec2.AuthorizeSecurityGroupIngress": 2,
    "elbv2.CreateTargetGroup": SERVICES,
    "elbv2.CreateLoadBalancer": 1,
    "elbv2.CreateListener": 1,
    "elbv2.CreateRule": SERVICES,
    "ecs.RegisterTaskDefinition": SERVICES,
    "ecs.CreateService": SERVICES,
    "application-autoscaling.RegisterScalableTarget": SCALED,
    "application-autoscaling.PutScalingPolicy": SCALED,
}


def test_the_example_stack_converges_from_empty_then_plans_nothing_and_applies_with_zero_writes(
    capsys: pytest.CaptureFixture[str], console: Console
) -> None:
    first = run_cli(capsys, "apply", str(NODE_APP))
    assert first.code == 0, first
    assert first.output["ok"] and first.output["errors"] == []
    assert first.writes == NODE_APP_CREATES
    assert {r["action"] for r in first.resources} == {"create"}
    assert len(first.resources) == 9

    service = console.service("node-app", "node-app")
    assert (service["status"], service["desiredCount"]) == ("ACTIVE", 3)
    assert service["loadBalancers"][0]["targetGroupArn"] == console.target_group("node-app")["TargetGroupArn"]
    target = console.scalable_target("node-app", "node-app")
    assert target is not None and (target["MinCapacity"], target["MaxCapacity"]) == (1, 10)

    plan = run_cli(capsys, "plan", str(NODE_APP))
    assert plan.code == 0, plan
    assert plan.changed == {}
    # Nothing is pushed yet: a missing tag is a warning, never drift (imagePinning: tag).
    assert plan.resource("TaskDefinition", "node-app")["warnings"] == [
        "tag latest not found in repository varuntd/node-app"
    ]

    second = run_cli(capsys, "apply", str(NODE_APP))
    assert second.code == 0, second
    assert second.writes == {}
    assert second.calls  # it did observe
    assert {r["status"] for r in second.resources} == {"in-sync"}


def test_the_twenty_service_stack_converges_from_empty_then_plans_nothing_and_applies_with_zero_writes(
    capsys: pytest.CaptureFixture[str], console: Console, fleet: Path
) -> None:
    first = run_cli(capsys, "apply", str(fleet))
    assert first.code == 0, first
    assert first.writes == FLEET_CREATES
    assert len(first.resources) == 4 + 3 * SERVICES

    assert console.active_services("fleet") == {f"svc-{n}" for n in range(1, SERVICES + 1)}
    listener = console.listener("fleet")
    assert listener["DefaultActions"][0]["Type"] == "fixed-response"
    assert listener["DefaultActions"][0]["FixedResponseConfig"]["StatusCode"] == "404"
    rules = console.elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]
    routes = {
        _path_pattern(rule["Conditions"][0]): rule["Actions"][0]["TargetGroupArn"]
        for rule in rules
        if not rule["IsDefault"]
    }
    assert routes == {
        f"/svc-{n}/*": console.target_group(f"svc-{n}")["TargetGroupArn"] for n in range(1, SERVICES + 1)
    }

    plan = run_cli(capsys, "plan", str(fleet))
    assert plan.code == 0, plan
    assert plan.changed == {}

    second = run_cli(capsys, "apply", str(fleet))
    assert second.code == 0, second
    assert second.writes == {}
    # Reads are batched: 20 services in two DescribeServices, one DescribeScalableTargets.
    assert second.calls["ecs.DescribeServices"] == 2
    assert second.calls["application-autoscaling.DescribeScalableTargets"] == 1


def _path_pattern(condition: dict[str, Any]) -> str:
    # AWS answers with both forms; the older flat Values may be absent.
    values = condition.get("Values") or condition["PathPatternConfig"]["Values"]
    return str(values[0])


def test_looking_for_orphans_is_one_tagging_sweep_and_reads_nothing_more_of_what_documents_resolved_to(
    capsys: pytest.CaptureFixture[str], console: Console, fleet: Path
) -> None:
    """Issue 10: `plan` always looks for orphans. One Resource Groups Tagging API sweep lists what
    this instance owns; what the documents already resolved to is never an orphan, so no kind lists
    the account and nothing more is read of it: no ListServices, no second DescribeServices,
    DescribeClusters, ELBv2 DescribeTags or task definition read."""
    assert run_cli(capsys, "apply", str(fleet)).code == 0
    without = run_cli(capsys, "apply", str(fleet))  # observes the documents only
    assert without.writes == {}
    planned = run_cli(capsys, "plan", str(fleet))
    assert planned.code == 0, planned
    more = {
        call: count - without.calls.get(call, 0)
        for call, count in planned.calls.items()
        if count != without.calls.get(call, 0)
    }
    assert more == {"resourcegroupstaggingapi.GetResources": 1}
