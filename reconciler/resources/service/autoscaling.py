"""A service's Application Auto Scaling: its scalable target, scaling policies and scheduled actions.

Not a kind of its own: `reconciler.resources.service` calls it to observe the autoscaling of many
services with batched reads (`observe_autoscaling`) and to plan the calls of a service's
`(Service, name, "autoscaling")` group (`plan_autoscaling`, `plan_deregister`). Ownership follows
the service (Application Auto Scaling tagging is not reliable everywhere), so nothing here reads
tags.

Reads: DescribeScalableTargets by `ResourceIds` (50 a call, never the namespace-wide paginator);
DescribeScalingPolicies and DescribeScheduledActions either per `ResourceId` (their filter takes
one) for a few services, or one namespace-wide sweep (10 policies / 50 actions a page) for many,
whichever costs fewer calls. Results are always filtered client-side on the exact ResourceId: a
server-side match may be a substring one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from datetime import UTC, datetime
from typing import Any, NewType

from reconciler.plan.children import diff_children
from reconciler.plan.delta import Delta, FieldDiff, Path, PathItem, diff_trees
from reconciler.plan.normalise import drop_empty, pascal_keys, sort_by
from reconciler.plan.steps import Call
from reconciler.resources.base import ApiClient
from reconciler.resources.common import concurrently, read_batches, spec_fields
from reconciler.resources.service.model import (
    Autoscaling,
    ScheduledAction,
    StepScalingPolicy,
    TargetTrackingPolicy,
)

SERVICE = "application-autoscaling"
NAMESPACE = "ecs"
DIMENSION = "ecs:service:DesiredCount"
TARGETS_BATCH = 50  # DescribeScalableTargets: at most 50 ResourceIds
POLICIES_PAGE = 10  # DescribeScalingPolicies: MaxResults 1-10
ACTIONS_PAGE = 50  # DescribeScheduledActions: MaxResults 1-50
PER_RESOURCE_LIMIT = 10
"""Before any sweep has shown how many policies the namespace holds: up to this many services, one
filtered read per service, beyond it one sweep of the whole namespace."""

_TARGET = {"ServiceNamespace": NAMESPACE, "ScalableDimension": DIMENSION}

PolicyName = NewType("PolicyName", str)
"""A scaling policy's `PolicyName`: its key among the policies of one scalable target."""
ScheduledActionName = NewType("ScheduledActionName", str)
"""A scheduled action's `ScheduledActionName`: its key among the actions of one scalable target."""


def resource_id(cluster: str, service: str) -> str:
    """Application Auto Scaling's name of an ECS service's desired count."""
    return f"service/{cluster}/{service}"


def empty_details() -> dict[str, Any]:
    return {"scalableTarget": None, "scalingPolicies": {}, "scheduledActions": {}}


# --- observe ---------------------------------------------------------------------------------------


async def observe_targets(client: ApiClient, resource_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Scalable targets by ResourceId; an unregistered target is simply absent."""
    wanted = set(resource_ids)

    async def describe(batch: list[str]) -> list[dict[str, Any]]:
        return [
            target
            async for page in client.paginate(
                "describe_scalable_targets", ResourceIds=batch, MaxResults=TARGETS_BATCH, **_TARGET
            )
            for target in page.get("ScalableTargets", [])
        ]

    return {
        target["ResourceId"]: target
        for batch in await read_batches(sorted(wanted), TARGETS_BATCH, describe)
        for target in batch
        if target.get("ResourceId") in wanted and target.get("ScalableDimension") == DIMENSION
    }


def sweep_is_cheaper(*, wanted: int, namespace_size: int | None, page: int) -> bool:
    """Whether one namespace-wide sweep (every ECS item in the account, `page` a read) costs fewer
    reads than one filtered read per wanted service, from the size the last sweep found. Other
    tools' services share the namespace: with 10,000 foreign policies, a sweep is 1,000 reads where
    20 services need 20. Unknown size: the fixed guess (`PER_RESOURCE_LIMIT`)."""
    if namespace_size is None:
        return wanted > PER_RESOURCE_LIMIT
    return max(1, math.ceil(namespace_size / page)) < wanted


async def observe_policies_and_actions(
    client: ApiClient, resource_ids: Sequence[str], namespace_sizes: MutableMapping[str, int] | None = None
) -> dict[str, dict[str, Any]]:
    """Scaling policies and scheduled actions of these targets: {ResourceId: {"scalingPolicies":
    {name: policy}, "scheduledActions": {name: action}}}.

    Each is read with a filter per service or with one sweep of the namespace, whichever
    `sweep_is_cheaper` says from `namespace_sizes` (what the last sweeps found: a process-wide
    memory, `ObserveCache.autoscaling_namespace`), which a sweep updates."""
    wanted = set(resource_ids)
    result: dict[str, dict[str, Any]] = {
        rid: {"scalingPolicies": {}, "scheduledActions": {}} for rid in wanted
    }
    if not wanted:
        return result
    sizes = namespace_sizes if namespace_sizes is not None else {}

    async def listing(
        operation: str, listed: str, page: int, query: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        return [
            item
            async for response in client.paginate(operation, MaxResults=page, **query)
            for item in response.get(listed, [])
        ]

    async def read_children(operation: str, listed: str, page: int, key: str, name_field: str) -> None:
        sweep = sweep_is_cheaper(wanted=len(wanted), namespace_size=sizes.get(key), page=page)
        # AWS refuses a ScalableDimension without a ResourceId: the sweep names the namespace only
        # and keeps the dimension it wants itself.
        queries: list[dict[str, Any]] = (
            [{"ServiceNamespace": NAMESPACE}]
            if sweep
            else [{**_TARGET, "ResourceId": rid} for rid in sorted(wanted)]
        )
        items = [
            item
            for found in await concurrently(listing(operation, listed, page, q) for q in queries)
            for item in found
        ]
        for item in items:
            rid = item.get("ResourceId")
            if rid in wanted and item.get("ScalableDimension") == DIMENSION:
                result[rid][key][item[name_field]] = item
        if sweep:
            sizes[key] = len(items)

    # Policies and scheduled actions, and each service's own query, are read at once.
    await concurrently(
        [
            read_children(
                "describe_scaling_policies", "ScalingPolicies", POLICIES_PAGE, "scalingPolicies", "PolicyName"
            ),
            read_children(
                "describe_scheduled_actions",
                "ScheduledActions",
                ACTIONS_PAGE,
                "scheduledActions",
                "ScheduledActionName",
            ),
        ]
    )
    return result


async def observe_autoscaling(
    client: ApiClient,
    *,
    all_ids: Sequence[str],
    managed_ids: Sequence[str],
    namespace_sizes: MutableMapping[str, int] | None = None,
) -> dict[str, dict[str, Any]]:
    """Autoscaling details by ResourceId.

    Targets are read for `all_ids` (every observed service: a target on a service whose spec has
    no `autoscaling` is one to deregister); policies and actions only for `managed_ids` (services
    whose spec sets `autoscaling`) that have a target.
    """
    targets = await observe_targets(client, all_ids)
    with_target = [rid for rid in managed_ids if rid in targets]
    children = await observe_policies_and_actions(client, with_target, namespace_sizes)
    details: dict[str, dict[str, Any]] = {}
    for rid, target in targets.items():
        details[rid] = {
            "scalableTarget": target,
            "scalingPolicies": children.get(rid, {}).get("scalingPolicies", {}),
            "scheduledActions": children.get(rid, {}).get("scheduledActions", {}),
        }
    return details


# --- normalise -------------------------------------------------------------------------------------


def _sorted_dimensions(metric: Mapping[str, Any]) -> dict[str, Any]:
    if "Dimensions" not in metric:
        return dict(metric)
    return {**metric, "Dimensions": sort_by(metric["Dimensions"], key=lambda d: (d["Name"], d["Value"]))}


def desired_target_tracking(policy: TargetTrackingPolicy, *, resource_label: str | None) -> dict[str, Any]:
    """`TargetTrackingScalingPolicyConfiguration` of the fields the spec sets."""
    fields = spec_fields(policy, exclude={"policyName"})
    config: dict[str, Any] = {"TargetValue": float(policy.target_value)}
    if policy.predefined_metric_type is not None:
        metric: dict[str, Any] = {"PredefinedMetricType": policy.predefined_metric_type}
        label = policy.resource_label or resource_label
        if label is not None:
            metric["ResourceLabel"] = label
        config["PredefinedMetricSpecification"] = metric
    if "customizedMetricSpecification" in fields:
        config["CustomizedMetricSpecification"] = _sorted_dimensions(
            pascal_keys(fields["customizedMetricSpecification"])
        )
    for key in ("scaleInCooldown", "scaleOutCooldown", "disableScaleIn"):
        if key in fields:
            config[key[:1].upper() + key[1:]] = fields[key]
    return config


def desired_step_scaling(policy: StepScalingPolicy) -> dict[str, Any]:
    """`StepScalingPolicyConfiguration` of the fields the spec sets, steps in bound order."""
    config: dict[str, Any] = pascal_keys(spec_fields(policy, exclude={"policyName"}))
    config["StepAdjustments"] = _sorted_steps(config["StepAdjustments"])
    return config


def _sorted_steps(steps: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    def bound(step: Mapping[str, Any]) -> float:
        lower = step.get("MetricIntervalLowerBound")
        return float("-inf") if lower is None else float(lower)

    return [
        {key: (float(value) if key.startswith("MetricInterval") else value) for key, value in step.items()}
        for step in sorted(steps, key=bound)
    ]


def live_policy_tree(policy: Mapping[str, Any]) -> dict[str, Any]:
    """A described policy in the shape `desired_policy_tree` makes, AWS's fills made explicit."""
    tree: dict[str, Any] = {"PolicyType": policy.get("PolicyType")}
    tracking = policy.get("TargetTrackingScalingPolicyConfiguration")
    if tracking is not None:
        config = {"DisableScaleIn": False, **tracking}
        config["TargetValue"] = float(config["TargetValue"])
        if "CustomizedMetricSpecification" in config:
            config["CustomizedMetricSpecification"] = _sorted_dimensions(
                config["CustomizedMetricSpecification"]
            )
        tree["TargetTrackingScalingPolicyConfiguration"] = config
    step = policy.get("StepScalingPolicyConfiguration")
    if step is not None:
        tree["StepScalingPolicyConfiguration"] = {
            **step,
            "StepAdjustments": _sorted_steps(step.get("StepAdjustments") or []),
        }
    return tree


def desired_policy_tree(
    policy: TargetTrackingPolicy | StepScalingPolicy, *, resource_label: str | None = None
) -> dict[str, Any]:
    if isinstance(policy, TargetTrackingPolicy):
        return {
            "PolicyType": "TargetTrackingScaling",
            "TargetTrackingScalingPolicyConfiguration": desired_target_tracking(
                policy, resource_label=resource_label
            ),
        }
    return {"PolicyType": "StepScaling", "StepScalingPolicyConfiguration": desired_step_scaling(policy)}


def _timestamp(value: Any) -> Any:
    """Datetimes (spec: aware or naive UTC; botocore: aware) as one ISO form in UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat(timespec="seconds")
    return value


def desired_action_tree(action: ScheduledAction) -> dict[str, Any]:
    fields = spec_fields(action, exclude={"scheduledActionName"})
    tree: dict[str, Any] = {"Schedule": fields["schedule"]}
    if "timezone" in fields:
        tree["Timezone"] = fields["timezone"]
    for key in ("startTime", "endTime"):
        if key in fields:
            tree[key[:1].upper() + key[1:]] = _timestamp(fields[key])
    capacity = {
        name: fields[key]
        for key, name in (("minCapacity", "MinCapacity"), ("maxCapacity", "MaxCapacity"))
        if key in fields
    }
    if capacity:
        tree["ScalableTargetAction"] = capacity
    return tree


def live_action_tree(action: Mapping[str, Any]) -> dict[str, Any]:
    tree: dict[str, Any] = drop_empty(
        {
            "Schedule": action.get("Schedule"),
            # AWS reports the zone it applied; none given means UTC.
            "Timezone": action.get("Timezone") or "UTC",
            "StartTime": _timestamp(action.get("StartTime")),
            "EndTime": _timestamp(action.get("EndTime")),
            "ScalableTargetAction": action.get("ScalableTargetAction"),
        }
    )
    return tree


# --- where the spec writes a field ------------------------------------------------------------------

_POLICY_LISTS = {"TargetTrackingScaling": "targetTrackingPolicies", "StepScaling": "stepScalingPolicies"}
_POLICY_CONFIGS = ("TargetTrackingScalingPolicyConfiguration", "StepScalingPolicyConfiguration")


def _camel(items: Path) -> Path:
    return tuple(item[:1].lower() + item[1:] if isinstance(item, str) else item for item in items)


def _policy_field(rest: Path) -> Path:
    """A path below one policy (`TargetTrackingScalingPolicyConfiguration.TargetValue`) as the
    spec's fields of that policy (`targetValue`); the type or a whole configuration is the item."""
    if len(rest) < 2 or rest[0] not in _POLICY_CONFIGS:
        return ()
    field = rest[1:]
    if field[0] == "PredefinedMetricSpecification":
        # The spec writes a predefined metric as two flat fields of the policy.
        return ("resourceLabel",) if field[1:2] == ("ResourceLabel",) else ("predefinedMetricType",)
    return _camel(field)


def spec_path(path: Path, spec: Autoscaling) -> Path | None:
    """Where a policy or scheduled action diff is written under `autoscaling`: the item by its index
    in `targetTrackingPolicies`, `stepScalingPolicies` or `scheduledActions`, keys in camelCase.
    None for paths already in spec terms (the range) and for items the spec does not have."""
    if path[:2] == ("autoscaling", "policies") and len(path) > 2:
        policies: dict[PathItem, Path] = {
            **{
                policy.policy_name: ("targetTrackingPolicies", index)
                for index, policy in enumerate(spec.target_tracking_policies or ())
            },
            **{
                policy.policy_name: ("stepScalingPolicies", index)
                for index, policy in enumerate(spec.step_scaling_policies or ())
            },
        }
        item = policies.get(path[2])
        return None if item is None else ("autoscaling", *item, *_policy_field(path[3:]))
    if path[:2] == ("autoscaling", "scheduledActions") and len(path) > 2:
        actions = {
            action.scheduled_action_name: index for index, action in enumerate(spec.scheduled_actions or ())
        }
        if path[2] not in actions:
            return None
        # MinCapacity and MaxCapacity are the action's own fields in the spec.
        rest = tuple(item for item in path[3:] if item != "ScalableTargetAction")
        return ("autoscaling", "scheduledActions", actions[path[2]], *_camel(rest))
    return None


# --- plan ------------------------------------------------------------------------------------------


def plan_autoscaling(
    spec: Autoscaling,
    details: Mapping[str, Any] | None,
    *,
    resource: str,
    resource_label: str | None = None,
) -> tuple[list[Call], Delta]:
    """Calls of the `autoscaling` group: register the target when missing or its range differs,
    put each missing or different policy and scheduled action, delete those the spec no longer
    names. `details` is None when nothing is registered (or the service does not exist yet)."""
    details = details or empty_details()
    target_calls, target_delta = _plan_target(spec, details.get("scalableTarget"), resource=resource)
    policy_calls, policy_delta = _plan_policies(
        spec, details.get("scalingPolicies") or {}, resource=resource, resource_label=resource_label
    )
    action_calls, action_delta = _plan_actions(spec, details.get("scheduledActions") or {}, resource=resource)
    delta = target_delta + policy_delta + action_delta
    return (
        [*target_calls, *policy_calls, *action_calls],
        delta.with_spec_paths(lambda path: spec_path(path, spec)),
    )


def _plan_target(
    spec: Autoscaling, target: Mapping[str, Any] | None, *, resource: str
) -> tuple[list[Call], Delta]:
    # Compared under the spec's names, so the drift report says `autoscaling.minCapacity` and finds its line.
    live_range = (
        {"minCapacity": target.get("MinCapacity"), "maxCapacity": target.get("MaxCapacity")}
        if target
        else None
    )
    spec_range = {"minCapacity": spec.min_capacity, "maxCapacity": spec.max_capacity}
    delta = diff_trees(spec_range, live_range, path=("autoscaling",))
    if not delta:
        return [], delta
    # Registering an existing target with a new range clamps the current count into it.
    register = Call(
        SERVICE,
        "register_scalable_target",
        {
            **_TARGET,
            "ResourceId": resource,
            "MinCapacity": spec.min_capacity,
            "MaxCapacity": spec.max_capacity,
        },
        description=f"register scalable target {resource} [{spec.min_capacity}, {spec.max_capacity}]",
    )
    return [register], delta


def _plan_policies(
    spec: Autoscaling,
    live_policies: Mapping[str, Mapping[str, Any]],
    *,
    resource: str,
    resource_label: str | None,
) -> tuple[list[Call], Delta]:
    desired = {
        PolicyName(policy.policy_name): desired_policy_tree(policy, resource_label=resource_label)
        for policy in (*(spec.target_tracking_policies or ()), *(spec.step_scaling_policies or ()))
    }
    live = {PolicyName(name): live_policy_tree(policy) for name, policy in sorted(live_policies.items())}

    def listed_under(name: PolicyName) -> Path | None:
        # Not in the spec: named under the list a policy of its type would be written in.
        listed = _POLICY_LISTS.get(str(live_policies[name].get("PolicyType")))
        return ("autoscaling", listed, name) if listed is not None else None

    changes = diff_children(
        desired,
        live,
        prefix=("autoscaling", "policies"),
        removed_value=lambda name: live_policies[name].get("PolicyType"),
        removed_spec_path=listed_under,
    )
    target = {**_TARGET, "ResourceId": resource}
    calls = [
        Call(
            SERVICE,
            "put_scaling_policy",
            {**target, "PolicyName": name, **desired[name]},
            description=f"put scaling policy {name}",
        )
        for name in changes.puts
    ]
    calls += [
        Call(
            SERVICE,
            "delete_scaling_policy",
            {**target, "PolicyName": name},
            description=f"delete scaling policy {name}",
        )
        for name in changes.removed
    ]
    return calls, changes.delta


def _plan_actions(
    spec: Autoscaling, live_actions: Mapping[str, Mapping[str, Any]], *, resource: str
) -> tuple[list[Call], Delta]:
    wanted = {
        ScheduledActionName(action.scheduled_action_name): action for action in spec.scheduled_actions or ()
    }
    changes = diff_children(
        {name: desired_action_tree(action) for name, action in wanted.items()},
        {
            ScheduledActionName(name): live_action_tree(action)
            for name, action in sorted(live_actions.items())
        },
        prefix=("autoscaling", "scheduledActions"),
        removed_value=lambda name: live_actions[name].get("Schedule"),
    )
    target = {**_TARGET, "ResourceId": resource}
    calls = [
        Call(
            SERVICE,
            "put_scheduled_action",
            {**target, "ScheduledActionName": name, **_action_request(wanted[name])},
            description=f"put scheduled action {name}",
        )
        for name in changes.puts
    ]
    calls += [
        Call(
            SERVICE,
            "delete_scheduled_action",
            {**target, "ScheduledActionName": name},
            description=f"delete scheduled action {name}",
        )
        for name in changes.removed
    ]
    return calls, changes.delta


def _action_request(action: ScheduledAction) -> dict[str, Any]:
    tree = desired_action_tree(action)
    for key in ("StartTime", "EndTime"):
        if key in tree:
            # botocore serialises a datetime; an ISO string would be sent as text.
            tree[key] = datetime.fromisoformat(tree[key])
    return tree


def plan_deregister(details: Mapping[str, Any] | None, *, resource: str) -> tuple[list[Call], Delta]:
    """Deregister a target the spec no longer asks for; AWS deletes its policies and actions with it."""
    if not details or not details.get("scalableTarget"):
        return [], Delta()
    target = details["scalableTarget"]
    diff = FieldDiff(
        ("autoscaling",),
        None,
        {"minCapacity": target.get("MinCapacity"), "maxCapacity": target.get("MaxCapacity")},
    )
    call = Call(
        SERVICE,
        "deregister_scalable_target",
        {**_TARGET, "ResourceId": resource},
        description=f"deregister scalable target {resource}",
    )
    return [call], Delta((diff,))
