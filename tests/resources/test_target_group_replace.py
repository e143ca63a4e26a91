"""Replacing a target group whose immutable fields change, pure: the alternating names, which of two
live target groups is current, the create-before-destroy plan and its cleanup ordering, the reads
of `observe`, and the whole planner moving a listener, a rule and a service to the new one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from reconciler.engine.planner import order_groups, plan_all
from reconciler.plan.ownership import SPEC_HASH, ownership_tags
from reconciler.plan.steps import MAIN, Action, Ref
from reconciler.resources.base import (
    Environment,
    LiveResource,
    LiveState,
    ObserveCache,
    ObserveContext,
    PlanContext,
    PlanSettings,
)
from reconciler.resources.target_group.kind import (
    KIND,
    alternate_name,
    immutable_tree,
    select,
)
from reconciler.resources.target_group.model import TargetGroupSpec
from reconciler.spec import Document, Metadata, SpecSet
from reconciler.spec.graph import CLEANUP_PART
from tests.harness import load

ACCOUNT = "123456789012"
VPC = "vpc-0123"
SUBNETS = ("subnet-0aa", "subnet-0bb")
PREFIX = f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}"
OLD_ARN = f"{PREFIX}:targetgroup/web/1111111111111111"
NEW_ARN = f"{PREFIX}:targetgroup/web-r/2222222222222222"
LB_ARN = f"{PREFIX}:loadbalancer/app/web/3333333333333333"
LISTENER_ARN = f"{PREFIX}:listener/app/web/3333333333333333/4444444444444444"
RULE_ARN = f"{PREFIX}:listener-rule/app/web/3333333333333333/4444444444444444/5555555555555555"
TD_ARN = f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/web:1"
SERVICE_ARN = f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/web/web"

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
  attributes: {deregistration_delay.timeout_seconds: 30}
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
  desiredCount: 2
  launchType: FARGATE
  networkConfiguration:
    awsvpcConfiguration: {subnets: default, assignPublicIp: ENABLED}
  loadBalancers: [{targetGroup: web, containerName: app, containerPort: 3000}]
"""


def stack(tmp_path: Path, port: int = 8080) -> SpecSet:
    (tmp_path / "stack.yaml").write_text(STACK.replace("PORT", str(port)))
    return load(tmp_path)


def owned(kind: str, name: str = "web") -> dict[str, str]:
    return ownership_tags(kind=kind, name=name, instance="default")


def group(name: str, arn: str, *, port: int = 3000, load_balancers: tuple[str, ...] = ()) -> dict[str, Any]:
    """A DescribeTargetGroups item shaped as real AWS returns it."""
    return {
        "TargetGroupArn": arn,
        "TargetGroupName": name,
        "Protocol": "HTTP",
        "Port": port,
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
        "LoadBalancerArns": list(load_balancers),
        "TargetType": "ip",
        "ProtocolVersion": "HTTP1",
        "IpAddressType": "ipv4",
    }


OLD = group("web", OLD_ARN, port=3000, load_balancers=(LB_ARN,))
NEW = group("web-r", NEW_ARN, port=8080)


def summary(state: Mapping[str, Any], targets: int = 0) -> dict[str, Any]:
    return {
        "arn": state["TargetGroupArn"],
        "name": state["TargetGroupName"],
        "loadBalancerArns": list(state["LoadBalancerArns"]),
        "targets": targets,
    }


def tg_live(state: Mapping[str, Any] = OLD, **details: Any) -> LiveResource:
    return LiveResource(
        "TargetGroup",
        "web",
        state["TargetGroupArn"],
        state,
        owned("TargetGroup"),
        {"arn": state["TargetGroupArn"], "name": state["TargetGroupName"]},
        {"attributes": {"deregistration_delay.timeout_seconds": "30"}, **details},
    )


def context(spec_set: SpecSet, *live: LiveResource) -> PlanContext:
    return PlanContext(
        spec_set=spec_set,
        live=LiveState(resources={resource.key: converged(resource, spec_set) for resource in live}),
        environment=Environment(
            account_id=ACCOUNT, region="us-east-1", default_vpc_id=VPC, default_subnet_ids=SUBNETS
        ),
        settings=PlanSettings(),
    )


def converged(live: LiveResource, spec_set: SpecSet) -> LiveResource:
    """`live` as the reconciler leaves it: carrying the spec hash of the document it converged to."""
    document = spec_set.get(*live.key)
    if document is None or SPEC_HASH in live.tags:
        return live
    return replace(live, tags={**live.tags, SPEC_HASH: document.spec_hash})


def plan_target_group(spec_set: SpecSet, live: LiveResource, *others: LiveResource) -> Any:
    """The target group's plan, with the load balancer that forwards to it live (unless `others` say),
    its step groups ordered by the spec set's dependency graph as the planner orders them."""
    others = others or (lb_live(),)
    return order_groups(
        KIND.plan(spec_set["TargetGroup", "web"], live, context(spec_set, live, *others)), spec_set
    )


# --- names ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "alternate"),
    [
        ("web", "web-r"),
        ("web-r", "web-r-r"),
        ("a" * 30, "a" * 30 + "-r"),
        ("a" * 32, "a" * 30 + "-r"),
        ("a" * 29 + "-bc", "a" * 29 + "-r"),  # the cut leaves a trailing hyphen: dropped
        ("a" * 30 + "-r", "a" * 30 + "-s"),  # the cut would give the name itself back
    ],
)
def test_the_alternate_name_stays_within_32_characters_and_differs(name: str, alternate: str) -> None:
    assert alternate_name(name) == alternate
    assert len(alternate) <= 32 and alternate != name


# --- which target group is current --------------------------------------------------------------

EIGHTY = immutable_tree(TargetGroupSpec.model_validate({"port": 8080, "protocol": "HTTP"}), vpc_id=VPC)
MINE = {OLD_ARN, NEW_ARN}


def ours(group: Mapping[str, Any]) -> bool:
    return group["TargetGroupArn"] in MINE


P, A = OLD, NEW  # the primary name holds port 3000, the alternate port 8080
P_MATCHING, A_STALE = group("web", OLD_ARN, port=8080), group("web-r", NEW_ARN, port=3000)
STRANGER = group("web-r", f"{PREFIX}:targetgroup/web-r/9999999999999999", port=9000)


@pytest.mark.parametrize(
    ("primary", "alternate", "expected"),
    [
        (P, None, (P, None, None)),
        (None, A, (A, None, None)),
        (None, None, (None, None, None)),
        # Mid-replacement: the one with the spec's immutable fields is current, whichever name it has.
        (P, A, (A, P, None)),
        (P_MATCHING, A_STALE, (P_MATCHING, A_STALE, None)),
        # Neither matches (the spec changed again): the one a load balancer uses.
        (P, A_STALE, (P, A_STALE, None)),
        (group("web", OLD_ARN), group("web-r", NEW_ARN, load_balancers=(LB_ARN,)), None),
        # Both match: the primary, unless only the alternate is in use.
        (P_MATCHING, A, (P_MATCHING, A, None)),
        # Not ours under the alternate name: never current, never deleted; only reported.
        (P, STRANGER, (P, None, STRANGER)),
        (None, STRANGER, (None, None, STRANGER)),
    ],
)
def test_select_sorts_out_the_two_names(
    primary: dict[str, Any] | None, alternate: dict[str, Any] | None, expected: tuple[Any, ...] | None
) -> None:
    selection = select(primary=primary, alternate=alternate, is_ours=ours, immutable=EIGHTY)
    if expected is None:  # the in-use alternate case
        assert (selection.current, selection.previous) == (alternate, primary)
        return
    assert (selection.current, selection.previous, selection.blocked) == expected


def test_an_unowned_primary_stays_current_for_the_planner_to_judge_unless_ours_is_under_the_alternate() -> (
    None
):
    foreign = {OLD_ARN}

    def only_alternate(group: Mapping[str, Any]) -> bool:
        return group["TargetGroupArn"] not in foreign

    selection = select(primary=P, alternate=A, is_ours=only_alternate, immutable=EIGHTY)
    assert (selection.current, selection.previous, selection.blocked) == (A, None, P)
    selection = select(primary=P, alternate=None, is_ours=lambda _: False, immutable=EIGHTY)
    assert (selection.current, selection.blocked) == (P, None)


# --- the plan of one target group ---------------------------------------------------------------


def test_an_immutable_change_creates_under_the_other_name_then_deletes_the_old_after_its_users(
    tmp_path: Path,
) -> None:
    spec_set = stack(tmp_path)
    plan = plan_target_group(spec_set, tg_live(targets=0))
    assert plan.action is Action.REPLACE
    assert [(d.path, d.desired, d.live) for d in plan.delta] == [(("port",), 8080, 3000)]
    assert "Port 3000 -> 8080" in plan.message and "web-r" in plan.message
    main, cleanup = plan.groups
    assert main.key == ("TargetGroup", "web", MAIN) and main.after == frozenset()
    create, attributes = main.calls
    assert create.name == "elbv2.CreateTargetGroup"
    assert {key: value for key, value in create.params.items() if key != "Tags"} == {
        "Name": "web-r",
        "Protocol": "HTTP",
        "Port": 8080,
        "TargetType": "ip",
        "VpcId": VPC,
        "HealthCheckPath": "/healthz",
    }
    assert {"Key": "ecs-reconciler/source", "Value": "TargetGroup/web"} in create.params["Tags"]
    assert create.outputs == {"arn": ("TargetGroups", 0, "TargetGroupArn")}
    assert (attributes.name, attributes.params["TargetGroupArn"]) == (
        "elbv2.ModifyTargetGroupAttributes",
        Ref("TargetGroup", "web", "arn"),
    )
    assert cleanup.key == ("TargetGroup", "web", CLEANUP_PART)
    assert [(call.name, dict(call.params)) for call in cleanup.calls] == [
        ("elbv2.DeleteTargetGroup", {"TargetGroupArn": OLD_ARN})
    ]
    assert cleanup.after == {
        ("TargetGroup", "web", MAIN),
        ("LoadBalancer", "web", "listeners"),
        ("Service", "web", MAIN),
    }


def test_a_target_group_living_under_the_alternate_name_is_replaced_back_under_the_first(
    tmp_path: Path,
) -> None:
    spec_set = stack(tmp_path, port=3000)
    plan = plan_target_group(spec_set, tg_live(NEW, targets=0))
    assert plan.action is Action.REPLACE
    assert plan.groups[0].calls[0].params["Name"] == "web"
    assert plan.groups[1].calls[0].params == {"TargetGroupArn": NEW_ARN}


def test_the_old_target_group_is_kept_while_targets_are_registered_in_it(tmp_path: Path) -> None:
    plan = plan_target_group(stack(tmp_path), tg_live(targets=2))
    assert plan.action is Action.REPLACE
    assert [call.name for call in plan.calls] == [
        "elbv2.CreateTargetGroup",
        "elbv2.ModifyTargetGroupAttributes",
    ]
    assert "2 registered targets" in plan.message


def test_the_old_target_group_is_kept_while_a_load_balancer_outside_the_spec_forwards_to_it(
    tmp_path: Path,
) -> None:
    elsewhere = f"{PREFIX}:loadbalancer/app/other/6666666666666666"
    state = group("web", OLD_ARN, port=3000, load_balancers=(LB_ARN, elsewhere))
    lb = LiveResource("LoadBalancer", "web", LB_ARN, {}, owned("LoadBalancer"), {"arn": LB_ARN})
    plan = plan_target_group(stack(tmp_path), tg_live(state, targets=0), lb)
    assert [call.name for call in plan.calls] == [
        "elbv2.CreateTargetGroup",
        "elbv2.ModifyTargetGroupAttributes",
    ]
    assert elsewhere in plan.message


def test_a_stranger_holding_the_other_name_makes_the_replacement_a_conflict(tmp_path: Path) -> None:
    plan = plan_target_group(stack(tmp_path), tg_live(targets=0, blocked=summary(STRANGER)))
    assert plan.action is Action.CONFLICT and plan.calls == ()
    assert STRANGER["TargetGroupArn"] in plan.message and "web-r" in plan.message


def test_a_stranger_under_the_other_name_does_not_matter_while_no_replacement_is_needed(
    tmp_path: Path,
) -> None:
    plan = plan_target_group(stack(tmp_path, port=3000), tg_live(blocked=summary(STRANGER)))
    assert (plan.action, plan.calls, bool(plan.delta)) == (Action.NONE, (), False)


def test_once_the_new_one_is_current_only_the_old_one_is_deleted_after_the_same_users(
    tmp_path: Path,
) -> None:
    plan = plan_target_group(stack(tmp_path), tg_live(NEW, previous=summary(OLD)))
    assert plan.action is Action.REPLACE
    (cleanup,) = plan.groups
    assert cleanup.key == ("TargetGroup", "web", CLEANUP_PART)
    assert [(call.name, dict(call.params)) for call in cleanup.calls] == [
        ("elbv2.DeleteTargetGroup", {"TargetGroupArn": OLD_ARN})
    ]
    assert ("LoadBalancer", "web", "listeners") in cleanup.after and ("Service", "web", MAIN) in cleanup.after
    assert [(d.path, d.desired, d.live) for d in plan.delta] == [(("replacedTargetGroup",), None, "web")]


def test_a_draining_old_one_waits_with_no_call(tmp_path: Path) -> None:
    plan = plan_target_group(stack(tmp_path), tg_live(NEW, previous=summary(OLD, targets=1)))
    assert (plan.action, plan.calls) == (Action.REPLACE, ())
    assert "1 registered targets" in plan.message


def test_when_neither_matches_the_unused_one_is_deleted_first_to_free_its_name(tmp_path: Path) -> None:
    spec_set = stack(tmp_path, port=9090)
    plan = plan_target_group(spec_set, tg_live(OLD, previous=summary(A_STALE)))
    assert plan.action is Action.REPLACE
    assert [(call.name, dict(call.params)) for call in plan.calls] == [
        ("elbv2.DeleteTargetGroup", {"TargetGroupArn": NEW_ARN})
    ]
    assert "Port 3000 -> 9090" in plan.message


def test_without_users_the_cleanup_waits_only_for_the_new_target_group(tmp_path: Path) -> None:
    spec_set = stack(tmp_path)
    alone = SpecSet((spec_set["TargetGroup", "web"],))
    plan = plan_target_group(alone, tg_live(group("web", OLD_ARN), targets=0))
    assert plan.groups[1].after == {("TargetGroup", "web", MAIN)}


def test_a_document_named_like_another_ones_alternate_does_not_take_its_target_group(
    tmp_path: Path,
) -> None:
    spec_set = stack(tmp_path)
    web = spec_set["TargetGroup", "web"]
    twin = Document(
        kind="TargetGroup", metadata=Metadata(name="web-r"), spec=web.spec, file="twin.yaml", line=1
    )
    both = SpecSet((web, twin))
    # `web` lives under web-r after a replacement; the document `web-r` finds it under its own name.
    found = LiveResource(
        "TargetGroup",
        "web-r",
        NEW_ARN,
        NEW,
        owned("TargetGroup"),
        {"arn": NEW_ARN},
        {"attributes": {"deregistration_delay.timeout_seconds": "30"}},
    )
    plan = KIND.plan(twin, found, context(both, found))
    assert plan.action is Action.CONFLICT and plan.calls == ()
    assert "TargetGroup/web" in plan.message
    # A source document no longer in the spec set is a rename: the target group is simply retagged.
    renamed = KIND.plan(twin, found, context(SpecSet((twin,)), found))
    assert renamed.action is Action.UPDATE
    assert [call.name for call in renamed.calls] == ["elbv2.AddTags"]


# --- the whole planner --------------------------------------------------------------------------


def lb_live() -> LiveResource:
    forward = [{"Type": "forward", "TargetGroupArn": OLD_ARN, "Order": 1}]
    return LiveResource(
        "LoadBalancer",
        "web",
        LB_ARN,
        {
            "LoadBalancerArn": LB_ARN,
            "LoadBalancerName": "web",
            "Scheme": "internet-facing",
            "Type": "application",
            "IpAddressType": "ipv4",
            "AvailabilityZones": [{"SubnetId": subnet} for subnet in SUBNETS],
            "SecurityGroups": ["sg-0123"],
        },
        owned("LoadBalancer"),
        {"arn": LB_ARN, "name": "web"},
        {
            "listeners": {
                80: {
                    "arn": LISTENER_ARN,
                    "listener": {
                        "ListenerArn": LISTENER_ARN,
                        "Port": 80,
                        "Protocol": "HTTP",
                        "DefaultActions": forward,
                    },
                    "rules": {
                        10: {
                            "RuleArn": RULE_ARN,
                            "Priority": "10",
                            "Conditions": [
                                {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*"]}}
                            ],
                            "Actions": forward,
                            "IsDefault": False,
                        }
                    },
                }
            }
        },
    )


def service_live() -> LiveResource:
    return LiveResource(
        "Service",
        "web",
        SERVICE_ARN,
        {
            "serviceArn": SERVICE_ARN,
            "serviceName": "web",
            "status": "ACTIVE",
            "taskDefinition": TD_ARN,
            "desiredCount": 2,
            "launchType": "FARGATE",
            "platformVersion": "LATEST",
            "loadBalancers": [{"targetGroupArn": OLD_ARN, "containerName": "app", "containerPort": 3000}],
            "networkConfiguration": {
                "awsvpcConfiguration": {
                    "subnets": list(SUBNETS),
                    "securityGroups": [],
                    "assignPublicIp": "ENABLED",
                }
            },
        },
        owned("Service"),
        {"arn": SERVICE_ARN, "name": "web", "cluster": "web"},
    )


def test_the_planner_moves_listener_rule_and_service_to_the_new_target_group_before_deleting_the_old(
    tmp_path: Path,
) -> None:
    # The cluster and task definition are in sync; only their outputs matter here.
    spec_set = SpecSet(tuple(d for d in stack(tmp_path) if d.kind not in ("Cluster", "TaskDefinition")))
    task = LiveResource("TaskDefinition", "web", TD_ARN, {}, owned("TaskDefinition"), {"arn": TD_ARN})
    plan = plan_all(context(spec_set, task, tg_live(targets=0), lb_live(), service_live()))
    new = Ref("TargetGroup", "web", "arn")
    balancer, service = plan.get("LoadBalancer", "web"), plan.get("Service", "web")
    assert balancer is not None and service is not None
    assert [(call.name, dict(call.params)) for call in balancer.calls] == [
        (
            "elbv2.ModifyListener",
            {"ListenerArn": LISTENER_ARN, "DefaultActions": [{"Type": "forward", "TargetGroupArn": new}]},
        ),
        (
            "elbv2.ModifyRule",
            {
                "RuleArn": RULE_ARN,
                "Conditions": [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*"]}}],
                "Actions": [{"Type": "forward", "TargetGroupArn": new}],
            },
        ),
    ]
    assert [(call.name, dict(call.params)) for call in service.calls] == [
        (
            "ecs.UpdateService",
            {
                "cluster": "web",
                "service": "web",
                "loadBalancers": [{"targetGroupArn": new, "containerName": "app", "containerPort": 3000}],
            },
        )
    ]
    groups = {group.key: group for resource in plan for group in resource.groups}
    cleanup = groups[("TargetGroup", "web", CLEANUP_PART)]
    # Every group the deletion waits for is in the plan, and each of those waits for the new one.
    assert cleanup.after <= set(groups)
    assert ("TargetGroup", "web", MAIN) in groups[("LoadBalancer", "web", "listeners")].after
    assert ("TargetGroup", "web", MAIN) in groups[("Service", "web", MAIN)].after
    assert ("LoadBalancer", "web", "listeners") in groups[("Service", "web", MAIN)].after


# --- observe ------------------------------------------------------------------------------------


class FakeElbv2:
    """DescribeTargetGroups as pages, tags, attributes and target health, with every call recorded."""

    def __init__(
        self, groups: list[dict[str, Any]], tags: dict[str, dict[str, str]], targets: dict[str, int]
    ):
        self.groups, self.tags, self.targets = groups, tags, targets
        self.calls: list[str] = []

    async def call(self, operation: str, /, **params: Any) -> dict[str, Any]:
        self.calls.append(operation)
        if operation == "describe_tags":
            return {
                "TagDescriptions": [
                    {
                        "ResourceArn": arn,
                        "Tags": [{"Key": k, "Value": v} for k, v in self.tags.get(arn, {}).items()],
                    }
                    for arn in params["ResourceArns"]
                ]
            }
        if operation == "describe_target_group_attributes":
            return {"Attributes": [{"Key": "deregistration_delay.timeout_seconds", "Value": "30"}]}
        assert operation == "describe_target_health"
        count = self.targets.get(params["TargetGroupArn"], 0)
        return {"TargetHealthDescriptions": [{"Target": {"Id": f"10.0.0.{i}"}} for i in range(count)]}

    async def paginate(self, operation: str, /, **params: Any) -> AsyncIterator[dict[str, Any]]:
        assert (operation, params) == ("describe_target_groups", {"PageSize": 400})
        self.calls.append("describe_target_groups page")
        yield {"TargetGroups": self.groups}


class FakeClients:
    def __init__(self, elbv2: FakeElbv2) -> None:
        self.elbv2 = elbv2

    def service(self, name: str, /) -> FakeElbv2:
        assert name == "elbv2"
        return self.elbv2


def observe(spec_set: SpecSet, client: FakeElbv2) -> Mapping[str, LiveResource]:
    observe_context = ObserveContext(
        clients=FakeClients(client),
        spec_set=spec_set,
        environment=Environment(account_id=ACCOUNT, region="us-east-1", default_vpc_id=VPC),
        settings=PlanSettings(),
        cache=ObserveCache(),
    )
    return asyncio.run(KIND.observe(spec_set.of_kind("TargetGroup"), observe_context))


def test_steady_state_reads_are_one_listing_and_the_tags_no_target_health(tmp_path: Path) -> None:
    client = FakeElbv2([OLD], {OLD_ARN: owned("TargetGroup")}, {OLD_ARN: 2})
    found = observe(stack(tmp_path, port=3000), client)
    assert found["web"].identifier == OLD_ARN and "targets" not in found["web"].details
    assert client.calls == [
        "describe_target_groups page",
        "describe_tags",
        "describe_target_group_attributes",
    ]


def test_a_live_target_group_that_needs_replacing_has_its_targets_counted(tmp_path: Path) -> None:
    client = FakeElbv2([OLD], {OLD_ARN: owned("TargetGroup")}, {OLD_ARN: 2})
    found = observe(stack(tmp_path), client)
    assert found["web"].details["targets"] == 2
    assert client.calls[-1] == "describe_target_health"


def test_mid_replacement_the_new_one_is_live_and_the_old_one_is_previous(tmp_path: Path) -> None:
    client = FakeElbv2(
        [OLD, NEW], {OLD_ARN: owned("TargetGroup"), NEW_ARN: owned("TargetGroup")}, {OLD_ARN: 1}
    )
    live = observe(stack(tmp_path), client)["web"]
    assert (live.identifier, live.outputs["arn"], live.outputs["name"]) == (NEW_ARN, NEW_ARN, "web-r")
    assert live.details["previous"] == summary(OLD, targets=1)
    assert client.calls.count("describe_target_health") == 1


@pytest.mark.parametrize(
    "tags",
    [
        {},  # unowned
        ownership_tags(kind="TargetGroup", name="web", instance="other"),  # another instance's
        ownership_tags(kind="TargetGroup", name="web-r", instance="default"),  # another document's
    ],
)
def test_a_target_group_under_the_alternate_name_that_is_not_ours_is_only_reported(
    tmp_path: Path, tags: dict[str, str]
) -> None:
    spec_set = stack(tmp_path)
    client = FakeElbv2([OLD, NEW], {OLD_ARN: owned("TargetGroup"), NEW_ARN: tags}, {})
    live = observe(spec_set, client)["web"]
    assert live.identifier == OLD_ARN and "previous" not in live.details
    assert live.details["blocked"] == summary(NEW)
    plan = plan_target_group(spec_set, live)
    assert plan.action is Action.CONFLICT and plan.calls == ()


def test_the_old_target_group_waits_for_a_pass_with_delete_budget_left(tmp_path: Path) -> None:
    """Deleting a replaced target group spends the pass's one delete budget, as orphans and old
    revisions do: with none left, the new one is created and the old one stays for a later pass."""
    spec_set = stack(tmp_path)
    live = tg_live(targets=0)
    spent = replace(context(spec_set, live, lb_live()), delete_budget=0)
    plan = KIND.plan(spec_set["TargetGroup", "web"], live, spent)
    assert [group.key[2] for group in plan.groups] == [MAIN]
    assert "delete budget is spent" in plan.message
    assert [group.key[2] for group in plan_target_group(spec_set, live).groups] == [MAIN, CLEANUP_PART]
