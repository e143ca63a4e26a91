"""A service's autoscaling, pure: policy and action normalisation on real-AWS shapes, planned calls."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from reconciler.resources.service.autoscaling import (
    live_action_tree,
    live_policy_tree,
    plan_autoscaling,
    plan_deregister,
)
from reconciler.resources.service.model import Autoscaling

RID = "service/web/web"
TARGET_KEYS = {"ServiceNamespace": "ecs", "ScalableDimension": "ecs:service:DesiredCount", "ResourceId": RID}
CREATED = datetime(2024, 5, 6, 12, 11, 39, tzinfo=UTC)

# DescribeScalableTargets / DescribeScalingPolicies / DescribeScheduledActions items as real AWS
# returns them (botocore's examples, with AWS's fills: DisableScaleIn false, alarms, ARNs).
REAL_TARGET: dict[str, Any] = {
    "ServiceNamespace": "ecs",
    "ResourceId": RID,
    "ScalableDimension": "ecs:service:DesiredCount",
    "MinCapacity": 1,
    "MaxCapacity": 4,
    "RoleARN": "arn:aws:iam::123456789012:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/"
    "AWSServiceRoleForApplicationAutoScaling_ECSService",
    "CreationTime": CREATED,
    "SuspendedState": {
        "DynamicScalingInSuspended": False,
        "DynamicScalingOutSuspended": False,
        "ScheduledScalingSuspended": False,
    },
}
REAL_CPU_POLICY: dict[str, Any] = {
    "PolicyARN": "arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:6d8972f3"
    ":resource/ecs/service/web/web:policyName/cpu",
    "PolicyName": "cpu",
    "ServiceNamespace": "ecs",
    "ResourceId": RID,
    "ScalableDimension": "ecs:service:DesiredCount",
    "PolicyType": "TargetTrackingScaling",
    "TargetTrackingScalingPolicyConfiguration": {
        "TargetValue": 50.0,
        "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"},
        "ScaleOutCooldown": 60,
        "ScaleInCooldown": 120,
        "DisableScaleIn": False,
    },
    "Alarms": [
        {"AlarmName": "TargetTracking-service/web/web-AlarmHigh-1", "AlarmARN": "arn:aws:cloudwatch:...:1"},
        {"AlarmName": "TargetTracking-service/web/web-AlarmLow-2", "AlarmARN": "arn:aws:cloudwatch:...:2"},
    ],
    "CreationTime": CREATED,
}
REAL_STEP_POLICY: dict[str, Any] = {
    "PolicyARN": "arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:1"
    ":resource/ecs/service/web/web:policyName/step",
    "PolicyName": "step",
    "ServiceNamespace": "ecs",
    "ResourceId": RID,
    "ScalableDimension": "ecs:service:DesiredCount",
    "PolicyType": "StepScaling",
    "StepScalingPolicyConfiguration": {
        "AdjustmentType": "PercentChangeInCapacity",
        "Cooldown": 60,
        "MetricAggregationType": "Average",
        "StepAdjustments": [
            {"MetricIntervalLowerBound": 10.0, "ScalingAdjustment": 200},
            {"MetricIntervalLowerBound": 0.0, "MetricIntervalUpperBound": 10.0, "ScalingAdjustment": 100},
        ],
    },
    "Alarms": [],
    "CreationTime": CREATED,
}
REAL_ACTION: dict[str, Any] = {
    "ScheduledActionName": "night",
    "ScheduledActionARN": "arn:aws:autoscaling:us-east-1:123456789012:scheduledAction:1"
    ":resource/ecs/service/web/web:scheduledActionName/night",
    "ServiceNamespace": "ecs",
    "Schedule": "cron(0 22 * * ? *)",
    "Timezone": "UTC",
    "ResourceId": RID,
    "ScalableDimension": "ecs:service:DesiredCount",
    "StartTime": datetime(2030, 1, 1, tzinfo=UTC),
    "ScalableTargetAction": {"MinCapacity": 1, "MaxCapacity": 2},
    "CreationTime": CREATED,
}

CPU = {
    "policyName": "cpu",
    "predefinedMetricType": "ECSServiceAverageCPUUtilization",
    "targetValue": 50,
    "scaleOutCooldown": 60,
    "scaleInCooldown": 120,
}
STEP = {
    "policyName": "step",
    "adjustmentType": "PercentChangeInCapacity",
    "cooldown": 60,
    "stepAdjustments": [
        {"metricIntervalLowerBound": 0, "metricIntervalUpperBound": 10, "scalingAdjustment": 100},
        {"metricIntervalLowerBound": 10, "scalingAdjustment": 200},
    ],
}
NIGHT = {
    "scheduledActionName": "night",
    "schedule": "cron(0 22 * * ? *)",
    "startTime": "2030-01-01T00:00:00Z",
    "minCapacity": 1,
    "maxCapacity": 2,
}


def details(**overrides: Any) -> dict[str, Any]:
    return {
        "scalableTarget": REAL_TARGET,
        "scalingPolicies": {"cpu": REAL_CPU_POLICY, "step": REAL_STEP_POLICY},
        "scheduledActions": {"night": REAL_ACTION},
        **overrides,
    }


def spec(**overrides: Any) -> Autoscaling:
    return Autoscaling.model_validate(
        {
            "minCapacity": 1,
            "maxCapacity": 4,
            "targetTrackingPolicies": [CPU],
            "stepScalingPolicies": [STEP],
            "scheduledActions": [NIGHT],
            **overrides,
        }
    )


def calls(autoscaling: Autoscaling, live: dict[str, Any] | None) -> list[tuple[str, dict[str, Any]]]:
    planned, _ = plan_autoscaling(autoscaling, live, resource=RID)
    return [(call.name, dict(call.params)) for call in planned]


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        # AWS fills DisableScaleIn; a spec that leaves cooldowns out does not manage them.
        {"targetTrackingPolicies": [{**CPU, "disableScaleIn": False}]},
        {"targetTrackingPolicies": [{k: v for k, v in CPU.items() if "Cooldown" not in k}]},
        # Steps in any order, bounds as ints or floats; aggregation type left to AWS.
        {"stepScalingPolicies": [{**STEP, "stepAdjustments": list(reversed(STEP["stepAdjustments"]))}]},
        # A timezone left out is UTC; a time given with an offset is the same instant.
        {"scheduledActions": [{**NIGHT, "timezone": "UTC", "startTime": "2030-01-01T01:00:00+01:00"}]},
    ],
    ids=["as-written", "disable-scale-in-default", "cooldowns-unset", "step-order", "utc"],
)
def test_real_aws_fills_and_orders_never_show_as_drift(overrides: dict[str, Any]) -> None:
    planned, delta = plan_autoscaling(spec(**overrides), details(), resource=RID)
    assert planned == [] and not delta


def test_live_policy_tree_makes_aws_fills_explicit() -> None:
    tree = live_policy_tree(
        {**REAL_CPU_POLICY, "TargetTrackingScalingPolicyConfiguration": {"TargetValue": 50}}
    )
    assert tree == {
        "PolicyType": "TargetTrackingScaling",
        "TargetTrackingScalingPolicyConfiguration": {"TargetValue": 50.0, "DisableScaleIn": False},
    }
    assert live_action_tree({**REAL_ACTION, "Timezone": None})["Timezone"] == "UTC"


def test_everything_missing_registers_then_puts_each_policy_and_action() -> None:
    made = calls(spec(), None)
    assert [name for name, _ in made] == [
        "application-autoscaling.RegisterScalableTarget",
        "application-autoscaling.PutScalingPolicy",
        "application-autoscaling.PutScalingPolicy",
        "application-autoscaling.PutScheduledAction",
    ]
    assert made[0][1] == {**TARGET_KEYS, "MinCapacity": 1, "MaxCapacity": 4}
    assert made[1][1] == {
        **TARGET_KEYS,
        "PolicyName": "cpu",
        "PolicyType": "TargetTrackingScaling",
        "TargetTrackingScalingPolicyConfiguration": {
            "TargetValue": 50.0,
            "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"},
            "ScaleInCooldown": 120,
            "ScaleOutCooldown": 60,
        },
    }
    assert made[2][1]["StepScalingPolicyConfiguration"]["StepAdjustments"] == [
        {"MetricIntervalLowerBound": 0.0, "MetricIntervalUpperBound": 10.0, "ScalingAdjustment": 100},
        {"MetricIntervalLowerBound": 10.0, "ScalingAdjustment": 200},
    ]
    assert made[3][1] == {
        **TARGET_KEYS,
        "ScheduledActionName": "night",
        "Schedule": "cron(0 22 * * ? *)",
        "StartTime": datetime(2030, 1, 1, tzinfo=UTC),
        "ScalableTargetAction": {"MinCapacity": 1, "MaxCapacity": 2},
    }


@pytest.mark.parametrize(
    ("autoscaling", "live", "expected"),
    [
        (
            spec(maxCapacity=10),
            details(),
            [
                (
                    "application-autoscaling.RegisterScalableTarget",
                    {**TARGET_KEYS, "MinCapacity": 1, "MaxCapacity": 10},
                )
            ],
        ),
        (
            spec(),
            details(scalingPolicies={"step": REAL_STEP_POLICY}),
            ["application-autoscaling.PutScalingPolicy"],
        ),
        (
            spec(targetTrackingPolicies=[{**CPU, "targetValue": 70}]),
            details(),
            ["application-autoscaling.PutScalingPolicy"],
        ),
        (
            spec(stepScalingPolicies=None),
            details(),
            [("application-autoscaling.DeleteScalingPolicy", {**TARGET_KEYS, "PolicyName": "step"})],
        ),
        (
            spec(scheduledActions=[{**NIGHT, "maxCapacity": 3}]),
            details(),
            ["application-autoscaling.PutScheduledAction"],
        ),
        (
            spec(scheduledActions=None),
            details(),
            [
                (
                    "application-autoscaling.DeleteScheduledAction",
                    {**TARGET_KEYS, "ScheduledActionName": "night"},
                )
            ],
        ),
    ],
    ids=["range", "policy-deleted", "policy-changed", "policy-dropped", "action-changed", "action-dropped"],
)
def test_each_difference_is_one_call(
    autoscaling: Autoscaling, live: dict[str, Any], expected: list[Any]
) -> None:
    made = calls(autoscaling, live)
    if expected and isinstance(expected[0], str):
        assert [name for name, _ in made] == expected
    else:
        assert made == expected


def test_a_policy_of_another_type_with_the_same_name_is_replaced() -> None:
    live = details(
        scalingPolicies={"cpu": {**REAL_STEP_POLICY, "PolicyName": "cpu"}, "step": REAL_STEP_POLICY}
    )
    assert [name for name, _ in calls(spec(), live)] == ["application-autoscaling.PutScalingPolicy"]


def test_deregister_only_when_a_target_exists() -> None:
    made, delta = plan_deregister(details(), resource=RID)
    assert [(call.name, dict(call.params)) for call in made] == [
        ("application-autoscaling.DeregisterScalableTarget", TARGET_KEYS)
    ]
    assert delta
    assert plan_deregister(None, resource=RID) == ([], plan_deregister(None, resource=RID)[1])
    assert not plan_deregister(None, resource=RID)[1]
