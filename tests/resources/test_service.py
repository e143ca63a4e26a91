"""The Service kind, pure: normalisation tables against real-AWS-shaped responses, planned calls, rollouts."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from reconciler.engine.planner import order_groups
from reconciler.plan.delta import diff_trees
from reconciler.plan.ownership import SPEC_HASH, ownership_tags
from reconciler.plan.steps import MAIN, Action, Ref
from reconciler.resources.base import (
    Environment,
    LiveResource,
    LiveState,
    PlanContext,
    PlanSettings,
)
from reconciler.resources.registry import spec_kinds
from reconciler.resources.service.kind import (
    AUTOSCALING_MARKER,
    KIND,
    client_token,
    desired_tree,
    failed_rollout,
    live_tree,
    rollout_state,
)
from reconciler.spec import Document, Metadata, SpecSet

ACCOUNT = "123456789012"
TD_ARN = f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/web:3"
TD_ARN_NEW = f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/web:4"
TG_ARN = f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:targetgroup/web/0123456789abcdef"
LB_ARN = f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:loadbalancer/app/web/fedcba9876543210"
SERVICE_ARN = f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/web/web"
SUBNETS = ("subnet-0bb", "subnet-0aa")
CREATED = datetime(2024, 5, 6, 11, 21, 46, tzinfo=UTC)

# A DescribeServices item as real AWS returns it (include=[TAGS]) for a Fargate service behind an
# ALB created without deploymentConfiguration, propagateTags or platformVersion: every server
# default is filled in, lists come in AWS's order, and server-only fields are present.
REAL_AWS_SERVICE: dict[str, Any] = {
    "serviceArn": SERVICE_ARN,
    "serviceName": "web",
    "clusterArn": f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/web",
    "loadBalancers": [{"targetGroupArn": TG_ARN, "containerName": "app", "containerPort": 3000}],
    "serviceRegistries": [],
    "status": "ACTIVE",
    "desiredCount": 2,
    "runningCount": 2,
    "pendingCount": 0,
    "launchType": "FARGATE",
    "platformVersion": "LATEST",
    "platformFamily": "Linux",
    "taskDefinition": TD_ARN,
    "deploymentConfiguration": {
        "deploymentCircuitBreaker": {"enable": False, "rollback": False},
        "maximumPercent": 200,
        "minimumHealthyPercent": 100,
    },
    "deployments": [
        {
            "id": "ecs-svc/1234567890123456789",
            "status": "PRIMARY",
            "taskDefinition": TD_ARN,
            "desiredCount": 2,
            "pendingCount": 0,
            "runningCount": 2,
            "failedTasks": 0,
            "createdAt": CREATED,
            "updatedAt": CREATED,
            "launchType": "FARGATE",
            "platformVersion": "1.4.0",
            "platformFamily": "Linux",
            "networkConfiguration": {
                "awsvpcConfiguration": {
                    "subnets": list(SUBNETS),
                    "securityGroups": ["sg-0123"],
                    "assignPublicIp": "ENABLED",
                }
            },
            "rolloutState": "COMPLETED",
            "rolloutStateReason": "ECS deployment ecs-svc/1234567890123456789 completed.",
        }
    ],
    "roleArn": f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS",
    "events": [],
    "createdAt": CREATED,
    "placementConstraints": [],
    "placementStrategy": [],
    "networkConfiguration": {
        "awsvpcConfiguration": {
            "subnets": list(SUBNETS),
            "securityGroups": ["sg-0123"],
            "assignPublicIp": "ENABLED",
        }
    },
    "healthCheckGracePeriodSeconds": 0,
    "schedulingStrategy": "REPLICA",
    "deploymentController": {"type": "ECS"},
    "createdBy": f"arn:aws:iam::{ACCOUNT}:role/admin",
    "enableECSManagedTags": False,
    "propagateTags": "NONE",
    "enableExecuteCommand": False,
    "availabilityZoneRebalancing": "ENABLED",
    "tags": [{"key": "team", "value": "web"}],
}

# The same service on a capacity provider strategy: real AWS then reports no launchType at all.
REAL_AWS_STRATEGY_SERVICE: dict[str, Any] = {
    **{key: value for key, value in REAL_AWS_SERVICE.items() if key != "launchType"},
    "capacityProviderStrategy": [
        {"capacityProvider": "FARGATE_SPOT", "weight": 3, "base": 0},
        {"capacityProvider": "FARGATE", "weight": 1, "base": 1},
    ],
}

# What moto (without the local AWS patches) leaves out: defaults a correct normaliser fills in.
SPARSE_SERVICE: dict[str, Any] = {
    key: value
    for key, value in REAL_AWS_SERVICE.items()
    if key
    not in (
        "deploymentConfiguration",
        "propagateTags",
        "enableECSManagedTags",
        "enableExecuteCommand",
        "healthCheckGracePeriodSeconds",
        "schedulingStrategy",
        "platformVersion",
    )
}


def document(
    kind: str, name: str, spec: dict[str, Any], annotations: dict[str, str] | None = None
) -> Document:
    return Document(
        kind=kind,
        metadata=Metadata(name=name, annotations=annotations or {}),
        spec=spec_kinds().models[kind].model_validate(spec),
        file=f"{kind.lower()}.yaml",
        line=1,
    )


BASE_SPEC: dict[str, Any] = {
    "cluster": "web",
    "taskDefinition": "web",
    "desiredCount": 2,
    "launchType": "FARGATE",
    "networkConfiguration": {
        "awsvpcConfiguration": {
            "subnets": "default",
            "securityGroups": ["sg-0123"],
            "assignPublicIp": "ENABLED",
        }
    },
    "loadBalancers": [{"targetGroup": "web", "containerName": "app", "containerPort": 3000}],
    "tags": {"team": "web"},
}


def context(
    *documents: Document,
    live: dict[tuple[str, str], LiveResource] | None = None,
    pending: frozenset[tuple[str, str, str]] = frozenset(),
) -> PlanContext:
    resources = {
        ("TaskDefinition", "web"): LiveResource("TaskDefinition", "web", TD_ARN, {}, outputs={"arn": TD_ARN}),
        ("TargetGroup", "web"): LiveResource("TargetGroup", "web", TG_ARN, {}, outputs={"arn": TG_ARN}),
        **(live or {}),
    }
    return PlanContext(
        spec_set=SpecSet(documents),
        live=LiveState(resources=resources),
        environment=Environment(
            account_id=ACCOUNT, region="us-east-1", default_vpc_id="vpc-1", default_subnet_ids=SUBNETS
        ),
        settings=PlanSettings(),
        pending_outputs=pending,
    )


def owned_tags(name: str = "web") -> list[dict[str, str]]:
    tags = {"team": "web", **ownership_tags(kind="Service", name=name, instance="default")}
    return [{"key": key, "value": value} for key, value in tags.items()]


def live_service(
    state: dict[str, Any], details: dict[str, Any] | None = None, *, marked: bool | None = None
) -> LiveResource:
    """A live service we own; `marked` (default: when it has a scalable target) means we set up
    its autoscaling, as the service's marker tag records."""
    tags = owned_tags()
    if marked if marked is not None else bool((details or {}).get("scalableTarget")):
        tags = [*tags, {"key": AUTOSCALING_MARKER, "value": "managed"}]
    state = {**state, "tags": tags}
    return LiveResource(
        kind="Service",
        name="web",
        identifier=state["serviceArn"],
        state=state,
        tags={tag["key"]: tag["value"] for tag in state["tags"]},
        outputs={"arn": state["serviceArn"], "name": state["serviceName"], "cluster": "web"},
        details=details or {},
    )


def plan(
    spec: dict[str, Any], state: dict[str, Any] | None, *, details: dict[str, Any] | None = None, **kw: Any
):  # type: ignore[no-untyped-def]
    service = document("Service", "web", spec)
    live = live_service(state, details) if state is not None else None
    return KIND.plan(service, live, context(service, document("Cluster", "web", {}), **kw))


# --- normalisation tables ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "state", "expected_paths"),
    [
        ({}, REAL_AWS_SERVICE, []),
        ({}, SPARSE_SERVICE, []),
        (
            {"deploymentConfiguration": {"maximumPercent": 200, "minimumHealthyPercent": 100}},
            SPARSE_SERVICE,
            [],
        ),
        (
            {"deploymentConfiguration": {"deploymentCircuitBreaker": {"enable": False, "rollback": False}}},
            SPARSE_SERVICE,
            [],
        ),
        (
            {"deploymentConfiguration": {"deploymentCircuitBreaker": {"enable": True, "rollback": True}}},
            REAL_AWS_SERVICE,
            [
                ("deploymentConfiguration", "deploymentCircuitBreaker", "enable"),
                ("deploymentConfiguration", "deploymentCircuitBreaker", "rollback"),
            ],
        ),
        ({"propagateTags": "NONE", "enableECSManagedTags": False}, SPARSE_SERVICE, []),
        ({"platformVersion": "LATEST"}, SPARSE_SERVICE, []),
        ({"schedulingStrategy": "REPLICA", "healthCheckGracePeriodSeconds": 0}, SPARSE_SERVICE, []),
        ({"enableExecuteCommand": False}, SPARSE_SERVICE, []),
        ({"enableExecuteCommand": True}, REAL_AWS_SERVICE, [("enableExecuteCommand",)]),
        ({"desiredCount": 3}, REAL_AWS_SERVICE, [("desiredCount",)]),
    ],
    ids=[
        "real-aws",
        "moto-sparse",
        "deployment-defaults",
        "breaker-off-default",
        "breaker-on",
        "tag-defaults",
        "fargate-latest",
        "replica-grace-0",
        "exec-default",
        "exec-on",
        "desired-count",
    ],
)
def test_server_defaults_and_list_order_never_show_as_drift(
    extra: dict[str, Any], state: dict[str, Any], expected_paths: list[tuple[str, ...]]
) -> None:
    service = document("Service", "web", {**BASE_SPEC, **extra})
    desired = desired_tree(service.spec, context(service))  # type: ignore[arg-type]
    assert [d.path for d in diff_trees(desired, live_tree(state))] == expected_paths


def test_assign_public_ip_defaults_to_disabled_and_subnet_order_is_free() -> None:
    spec = {**BASE_SPEC, "networkConfiguration": {"awsvpcConfiguration": {"subnets": list(SUBNETS)}}}
    state = copy.deepcopy(REAL_AWS_SERVICE)
    state["networkConfiguration"]["awsvpcConfiguration"] = {"subnets": ["subnet-0aa", "subnet-0bb"]}
    service = document("Service", "web", spec)
    assert not diff_trees(desired_tree(service.spec, context(service)), live_tree(state))  # type: ignore[arg-type]
    spec["networkConfiguration"]["awsvpcConfiguration"]["assignPublicIp"] = "DISABLED"
    service = document("Service", "web", spec)
    assert not diff_trees(desired_tree(service.spec, context(service)), live_tree(state))  # type: ignore[arg-type]


def test_a_capacity_provider_strategy_matches_without_launch_type_and_in_any_order() -> None:
    spec = {key: value for key, value in BASE_SPEC.items() if key != "launchType"}
    spec["capacityProviderStrategy"] = [
        {"capacityProvider": "FARGATE", "base": 1, "weight": 1},
        {"capacityProvider": "FARGATE_SPOT", "weight": 3},
    ]
    assert plan(spec, REAL_AWS_STRATEGY_SERVICE).calls == ()
    assert "launchType" not in live_tree(REAL_AWS_STRATEGY_SERVICE)
    assert live_tree(REAL_AWS_STRATEGY_SERVICE)["platformVersion"] == "LATEST"


# --- planned calls ----------------------------------------------------------------------------------


def test_in_sync_service_plans_nothing() -> None:
    planned = plan(BASE_SPEC, REAL_AWS_SERVICE)
    assert planned.action is Action.NONE
    assert planned.calls == ()
    assert not planned.delta


def test_create_sends_every_set_field_with_full_arns_tags_and_a_stable_token() -> None:
    planned = plan(BASE_SPEC, None)
    assert planned.action is Action.CREATE
    (create,) = planned.calls
    assert create.operation == "create_service"
    params = dict(create.params)
    token = params.pop("clientToken")
    tags = params.pop("tags")
    assert params == {
        "serviceName": "web",
        "cluster": "web",
        "taskDefinition": TD_ARN,
        "desiredCount": 2,
        "launchType": "FARGATE",
        "networkConfiguration": {
            "awsvpcConfiguration": {
                "subnets": sorted(SUBNETS),
                "securityGroups": ["sg-0123"],
                "assignPublicIp": "ENABLED",
            }
        },
        "loadBalancers": [{"targetGroupArn": TG_ARN, "containerName": "app", "containerPort": 3000}],
    }
    assert {"key": "ecs-reconciler/source", "value": "Service/web"} in tags
    assert {"key": "team", "value": "web"} in tags
    assert 1 <= len(token) <= 36 and token == plan(BASE_SPEC, None).calls[0].params["clientToken"]
    assert token != plan({**BASE_SPEC, "desiredCount": 3}, None).calls[0].params["clientToken"]
    assert dict(create.outputs) == {"arn": ("service", "serviceArn")}


def test_client_token_depends_on_instance_cluster_name_and_request() -> None:
    base = {"instance": "default", "cluster": "c", "service": "s", "request": {"a": 1}}
    tokens = {
        client_token(**base),  # type: ignore[arg-type]
        client_token(**{**base, "instance": "other"}),  # type: ignore[arg-type]
        client_token(**{**base, "cluster": "d"}),  # type: ignore[arg-type]
        client_token(**{**base, "service": "t"}),  # type: ignore[arg-type]
        client_token(**{**base, "request": {"a": 2}}),  # type: ignore[arg-type]
    }
    assert len(tokens) == 5
    assert all(len(token) <= 36 for token in tokens)


def test_main_group_waits_for_cluster_task_definition_target_group_sgs_and_forwarding_listeners() -> None:
    spec = copy.deepcopy(BASE_SPEC)
    spec["networkConfiguration"]["awsvpcConfiguration"]["securityGroups"] = ["web-tasks", "sg-0123"]
    service = document("Service", "web", spec)
    forwarding = document(
        "LoadBalancer",
        "public",
        {
            "subnets": "default",
            "listeners": [
                {
                    "port": 80,
                    "protocol": "HTTP",
                    "defaultAction": {"type": "fixed-response", "fixedResponseConfig": {"statusCode": "404"}},
                    "rules": [
                        {
                            "priority": 1,
                            "conditions": [{"field": "path-pattern", "values": ["/*"]}],
                            "actions": [
                                {
                                    "type": "forward",
                                    "forwardConfig": {"targetGroups": [{"targetGroup": "web"}]},
                                }
                            ],
                        }
                    ],
                },
            ],
        },
    )
    other = document(
        "LoadBalancer",
        "other",
        {
            "subnets": "default",
            "listeners": [
                {"port": 80, "protocol": "HTTP", "defaultAction": {"type": "forward", "targetGroup": "api"}}
            ],
        },
    )
    plan_context = context(service, document("Cluster", "web", {}), forwarding, other)
    planned = order_groups(KIND.plan(service, None, plan_context), plan_context.spec_set)
    (main,) = planned.groups
    assert main.key == ("Service", "web", MAIN)
    assert main.after == {
        ("Cluster", "web", MAIN),
        ("TaskDefinition", "web", MAIN),
        ("TargetGroup", "web", MAIN),
        ("SecurityGroup", "web-tasks", MAIN),
        ("LoadBalancer", "public", "listeners"),
    }


def test_desired_count_drift_without_autoscaling_is_one_update_with_only_the_count() -> None:
    state = {**REAL_AWS_SERVICE, "desiredCount": 5}
    planned = plan(BASE_SPEC, state)
    assert planned.action is Action.UPDATE
    (update,) = planned.calls
    assert (update.operation, dict(update.params)) == (
        "update_service",
        {"cluster": "web", "service": "web", "desiredCount": 2},
    )


def test_autoscaling_owns_the_desired_count() -> None:
    spec = {**BASE_SPEC, "autoscaling": {"minCapacity": 1, "maxCapacity": 10}}
    details = {
        "scalableTarget": {"ResourceId": "service/web/web", "MinCapacity": 1, "MaxCapacity": 10},
        "scalingPolicies": {},
        "scheduledActions": {},
    }
    planned = plan(spec, {**REAL_AWS_SERVICE, "desiredCount": 7}, details=details)
    assert planned.action is Action.NONE
    assert planned.calls == () and not planned.delta


def test_several_changed_fields_make_one_update_service_merging_unset_sub_fields() -> None:
    spec = {
        **BASE_SPEC,
        "desiredCount": 3,
        "enableExecuteCommand": True,
        "deploymentConfiguration": {"deploymentCircuitBreaker": {"enable": True, "rollback": True}},
    }
    (update,) = plan(spec, REAL_AWS_SERVICE).calls
    assert dict(update.params) == {
        "cluster": "web",
        "service": "web",
        "desiredCount": 3,
        "deploymentConfiguration": {
            "maximumPercent": 200,
            "minimumHealthyPercent": 100,
            "deploymentCircuitBreaker": {"enable": True, "rollback": True},
        },
        "enableExecuteCommand": True,
    }


def test_a_new_task_definition_revision_is_sent_as_a_reference_to_its_arn() -> None:
    planned = plan(BASE_SPEC, REAL_AWS_SERVICE, pending=frozenset({("TaskDefinition", "web", "arn")}))
    (update,) = planned.calls
    assert dict(update.params) == {
        "cluster": "web",
        "service": "web",
        "taskDefinition": Ref("TaskDefinition", "web", "arn"),
    }


def test_a_tag_only_change_is_one_tag_resource_and_no_update_service() -> None:
    state = {**REAL_AWS_SERVICE}
    service = document("Service", "web", BASE_SPEC)
    live = live_service(state)
    live = LiveResource(
        live.kind,
        live.name,
        live.identifier,
        live.state,
        # Converged to this very document (its spec hash recorded): only the tag is put back.
        tags={**{k: v for k, v in live.tags.items() if k != "team"}, SPEC_HASH: service.spec_hash},
        outputs=live.outputs,
        details=live.details,
    )
    planned = KIND.plan(service, live, context(service))
    (tag,) = planned.calls
    assert (tag.operation, dict(tag.params)) == (
        "tag_resource",
        {"resourceArn": SERVICE_ARN, "tags": [{"key": "team", "value": "web"}]},
    )


@pytest.mark.parametrize(
    ("spec_change", "state"),
    [
        ({"launchType": "EC2"}, REAL_AWS_SERVICE),
        ({"schedulingStrategy": "DAEMON"}, REAL_AWS_SERVICE),
        ({"launchType": "FARGATE"}, REAL_AWS_STRATEGY_SERVICE),
        (
            {"launchType": None, "capacityProviderStrategy": [{"capacityProvider": "my-asg", "weight": 1}]},
            REAL_AWS_SERVICE,
        ),
    ],
    ids=["launch-type", "scheduling-strategy", "strategy-to-launch-type", "launch-type-to-ec2-strategy"],
)
def test_fields_that_cannot_be_updated_are_a_conflict_without_calls(
    spec_change: dict[str, Any], state: dict[str, Any]
) -> None:
    spec = {key: value for key, value in {**BASE_SPEC, **spec_change}.items() if value is not None}
    planned = plan(spec, state)
    assert planned.action is Action.CONFLICT
    assert "requires replacing the service" in planned.message
    assert planned.calls == ()


def test_a_fargate_service_moves_to_fargate_capacity_providers_in_place() -> None:
    spec = {key: value for key, value in BASE_SPEC.items() if key != "launchType"}
    spec["capacityProviderStrategy"] = [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]
    (update,) = plan(spec, REAL_AWS_SERVICE).calls
    assert dict(update.params) == {
        "cluster": "web",
        "service": "web",
        "capacityProviderStrategy": [{"capacityProvider": "FARGATE_SPOT", "base": 0, "weight": 1}],
    }


def test_a_draining_service_waits() -> None:
    planned = plan(BASE_SPEC, {**REAL_AWS_SERVICE, "status": "DRAINING"})
    assert planned.action is Action.WAITING
    assert planned.calls == ()


def test_prune_deregisters_the_target_then_scales_to_zero_and_deletes() -> None:
    live = live_service(
        REAL_AWS_SERVICE,
        {"scalableTarget": {"ResourceId": "service/web/web"}, "scalingPolicies": {}, "scheduledActions": {}},
    )
    planned = order_groups(KIND.plan_delete(live, context()), spec_set=None)
    assert planned.action is Action.DELETE
    scaling, main = planned.groups
    assert [(c.name, dict(c.params)) for c in scaling.calls] == [
        (
            "application-autoscaling.DeregisterScalableTarget",
            {
                "ServiceNamespace": "ecs",
                "ScalableDimension": "ecs:service:DesiredCount",
                "ResourceId": "service/web/web",
            },
        )
    ]
    assert [(c.name, dict(c.params)) for c in main.calls] == [
        ("ecs.UpdateService", {"cluster": "web", "service": "web", "desiredCount": 0}),
        ("ecs.DeleteService", {"cluster": "web", "service": "web"}),
    ]
    assert main.after == {scaling.key}
    plain = KIND.plan_delete(live_service(REAL_AWS_SERVICE), context())
    assert [c.name for c in plain.calls] == ["ecs.UpdateService", "ecs.DeleteService"]


# --- rollouts -----------------------------------------------------------------------------------------


def _deployment(td: str, status: str, state: str, minutes: int, reason: str = "") -> dict[str, Any]:
    at = CREATED.replace(minute=minutes)
    return {
        "id": f"ecs-svc/{minutes}",
        "status": status,
        "taskDefinition": td,
        "rolloutState": state,
        "rolloutStateReason": reason,
        "createdAt": at,
        "updatedAt": at,
    }


BREAKER_REASON = "ECS deployment circuit breaker: tasks failed to start."
ROLLING_BACK = {
    **REAL_AWS_SERVICE,
    "deployments": [
        _deployment(TD_ARN, "PRIMARY", "IN_PROGRESS", 30, "ECS deployment circuit breaker: rolling back"),
        _deployment(TD_ARN_NEW, "ACTIVE", "FAILED", 25, BREAKER_REASON),
    ],
}
ROLLED_BACK = {
    **REAL_AWS_SERVICE,
    "deployments": [_deployment(TD_ARN, "PRIMARY", "COMPLETED", 30)],
    "events": [
        {
            "id": "3",
            "createdAt": CREATED.replace(minute=31),
            "message": "(service web) has reached a steady state.",
        },
        {
            "id": "2",
            "createdAt": CREATED.replace(minute=30),
            "message": "(service web) rolling back to deployment ecs-svc/1.",
        },
        {
            "id": "1",
            "createdAt": CREATED.replace(minute=30),
            "message": "(service web) (deployment ecs-svc/25) deployment failed: tasks failed to start.",
        },
    ],
}


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (REAL_AWS_SERVICE, "COMPLETED"),
        (
            {**REAL_AWS_SERVICE, "deployments": [_deployment(TD_ARN, "PRIMARY", "IN_PROGRESS", 1)]},
            "IN_PROGRESS",
        ),
        (ROLLING_BACK, "FAILED"),
        # Rolled back and drained: the service is steady on the old revision. Whether that failure
        # concerns the revision the spec wants is the plan's call (WAITING), not this view's.
        (ROLLED_BACK, "COMPLETED"),
        ({**ROLLED_BACK, "deployments": [_deployment(TD_ARN_NEW, "PRIMARY", "COMPLETED", 50)]}, "COMPLETED"),
        ({**REAL_AWS_SERVICE, "deployments": []}, None),
    ],
    ids=["completed", "in-progress", "rolling-back", "rolled-back", "later-deployment", "no-deployments"],
)
def test_rollout_state(state: dict[str, Any], expected: str | None) -> None:
    assert rollout_state(state) == expected
    assert rollout_state(live_service(state)) == expected


def test_a_failed_rollout_of_the_desired_revision_waits_instead_of_updating_again() -> None:
    new_td = LiveResource("TaskDefinition", "web", TD_ARN_NEW, {}, outputs={"arn": TD_ARN_NEW})
    for state in (ROLLING_BACK, ROLLED_BACK):
        planned = plan(BASE_SPEC, state, live={("TaskDefinition", "web"): new_td})
        assert planned.action is Action.WAITING
        assert planned.calls == ()
        assert planned.message == f"rollout of {TD_ARN_NEW} failed: {failed_rollout(state)['reason']}"  # type: ignore[index]


def test_a_different_desired_revision_after_a_failure_is_tried() -> None:
    planned = plan(BASE_SPEC, ROLLED_BACK, pending=frozenset({("TaskDefinition", "web", "arn")}))
    (update,) = planned.calls
    assert update.params["taskDefinition"] == Ref("TaskDefinition", "web", "arn")
    newer = f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/web:5"
    new_td = LiveResource("TaskDefinition", "web", newer, {}, outputs={"arn": newer})
    (update,) = plan(BASE_SPEC, ROLLING_BACK, live={("TaskDefinition", "web"): new_td}).calls
    assert update.params["taskDefinition"] == newer


def test_alb_request_count_label_comes_from_the_forwarding_load_balancer_and_target_group() -> None:
    spec = {
        **BASE_SPEC,
        "autoscaling": {
            "minCapacity": 1,
            "maxCapacity": 4,
            "targetTrackingPolicies": [
                {"policyName": "rps", "predefinedMetricType": "ALBRequestCountPerTarget", "targetValue": 100}
            ],
        },
    }
    service = document("Service", "web", spec)
    balancer = document(
        "LoadBalancer",
        "public",
        {
            "subnets": "default",
            "listeners": [
                {"port": 80, "protocol": "HTTP", "defaultAction": {"type": "forward", "targetGroup": "web"}}
            ],
        },
    )
    live_lb = LiveResource("LoadBalancer", "public", LB_ARN, {}, outputs={"arn": LB_ARN})
    planned = KIND.plan(service, None, context(service, balancer, live={("LoadBalancer", "public"): live_lb}))
    (put,) = [call for call in planned.calls if call.operation == "put_scaling_policy"]
    metric = put.params["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"]
    assert metric == {
        "PredefinedMetricType": "ALBRequestCountPerTarget",
        "ResourceLabel": "app/web/fedcba9876543210/targetgroup/web/0123456789abcdef",
    }


TARGET_DETAILS: dict[str, Any] = {
    "scalableTarget": {"ResourceId": "service/web/web", "MinCapacity": 1, "MaxCapacity": 10},
    "scalingPolicies": {},
    "scheduledActions": {},
}


def test_dropping_autoscaling_we_set_up_deregisters_the_target_and_the_marker() -> None:
    service = document("Service", "web", BASE_SPEC)
    live = live_service(REAL_AWS_SERVICE, TARGET_DETAILS, marked=True)
    planned = KIND.plan(service, live, context(service, document("Cluster", "web", {})))
    assert [call.name for call in planned.calls] == [
        "application-autoscaling.DeregisterScalableTarget",
        "ecs.UntagResource",
    ]


def test_a_scalable_target_we_did_not_set_up_is_left_alone() -> None:
    """An adopted service keeps the autoscaling someone else configured: not in the spec, not ours."""
    service = document("Service", "web", BASE_SPEC)
    live = live_service(REAL_AWS_SERVICE, TARGET_DETAILS, marked=False)
    planned = KIND.plan(service, live, context(service, document("Cluster", "web", {})))
    assert planned.calls == ()
    assert planned.action is Action.NONE
