"""Imports live ECS services, with their autoscaling, as Service documents: the roots of
`ecs-reconciler import` (`reconciler.engine.importing`), which follows what each service uses
(its cluster, task definition, target groups and security groups) to the other kinds' importers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from reconciler.aws.errors import AwsError
from reconciler.plan.normalise import tags_to_map
from reconciler.resources.common import batched
from reconciler.resources.importing import (
    DocumentNames,
    Found,
    ImportContext,
    ImportedSpec,
    ImporterBase,
    Uses,
    imported_strategy,
    imported_tags,
    without_none,
)
from reconciler.resources.service import autoscaling
from reconciler.resources.service.kind import _DEPLOYMENT_DEFAULTS, _INCLUDE, DESCRIBE_BATCH, live_tree

_CLUSTER = "Cluster"
_TASK_DEFINITION = "TaskDefinition"
_TARGET_GROUP = "TargetGroup"
_SECURITY_GROUP = "SecurityGroup"


class ServiceImporter(ImporterBase):
    kind: ClassVar[str] = "Service"

    async def roots(self, context: ImportContext) -> Sequence[Found]:
        ecs = context.clients.service("ecs")
        clusters = list(context.selection.clusters)
        if not clusters:
            pages = ecs.paginate("list_clusters")
            clusters = [arn async for page in pages for arn in page.get("clusterArns", [])]
        services: list[Mapping[str, Any]] = []
        for cluster in clusters:
            names = list(context.selection.services)
            if not names:
                pages = ecs.paginate("list_services", cluster=cluster)
                names = [arn async for page in pages for arn in page.get("serviceArns", [])]
            services.extend(await _describe(context, cluster, names))
        details = await autoscaling.observe_autoscaling(
            context.clients.service(autoscaling.SERVICE),
            all_ids=sorted({_resource_id(service) for service in services}),
            managed_ids=sorted({_resource_id(service) for service in services}),
        )
        return [
            Found(
                self.kind,
                service["serviceArn"],
                service["serviceName"],
                service,
                details=details.get(_resource_id(service)) or autoscaling.empty_details(),
                uses=tuple(_uses(service)),
            )
            for service in services
        ]

    async def read(self, identities: Sequence[str], context: ImportContext) -> Sequence[Found]:
        return ()  # nothing refers to a service: they are only ever roots

    def spec(self, found: Found, names: DocumentNames, context: ImportContext) -> ImportedSpec:
        state = found.state
        tree = live_tree(state)
        notes: list[str] = []
        cluster = names.document(_CLUSTER, state["clusterArn"])
        task_definition = names.document(_TASK_DEFINITION, state["taskDefinition"])
        load_balancers = []
        for item in tree["loadBalancers"]:
            target_group = names.document(_TARGET_GROUP, item.get("targetGroupArn") or "")
            if target_group is None:
                notes.append(
                    f"left out a load balancer of {found.aws_name}: its target group was not imported"
                )
                continue
            load_balancers.append(
                {
                    "targetGroup": target_group,
                    "containerName": item["containerName"],
                    "containerPort": item["containerPort"],
                }
            )
        unmanaged = _unmanaged_features(state)
        if unmanaged:
            notes.append(
                f"{found.aws_name} uses {', '.join(unmanaged)}, which the Service spec does not describe: "
                "left as it is and not managed"
            )
        return ImportedSpec(
            without_none(
                {
                    "cluster": cluster,
                    "taskDefinition": task_definition,
                    "desiredCount": tree["desiredCount"],
                    "launchType": tree.get("launchType"),
                    "capacityProviderStrategy": imported_strategy(tree.get("capacityProviderStrategy")),
                    "platformVersion": (
                        tree["platformVersion"]
                        if tree.get("platformVersion") not in (None, "LATEST")
                        else None
                    ),
                    "networkConfiguration": _network(tree, names, context),
                    "loadBalancers": load_balancers or None,
                    "deploymentConfiguration": _deployment(tree["deploymentConfiguration"]),
                    "healthCheckGracePeriodSeconds": tree["healthCheckGracePeriodSeconds"] or None,
                    "enableExecuteCommand": tree["enableExecuteCommand"] or None,
                    "propagateTags": tree["propagateTags"] if tree["propagateTags"] != "NONE" else None,
                    "enableECSManagedTags": tree["enableECSManagedTags"] or None,
                    "schedulingStrategy": (
                        tree["schedulingStrategy"] if tree["schedulingStrategy"] != "REPLICA" else None
                    ),
                    "tags": imported_tags(tags_to_map(state.get("tags"))),
                    "autoscaling": _autoscaling(found.details),
                }
            ),
            tuple(notes),
        )


_UNMANAGED_ON_SERVICE = ("serviceRegistries", "placementConstraints", "placementStrategy")
_UNMANAGED_ON_DEPLOYMENT = ("serviceConnectConfiguration", "volumeConfigurations", "vpcLatticeConfigurations")


def _unmanaged_features(state: Mapping[str, Any]) -> list[str]:
    """What a live service uses that the spec language has no field for. Adopting it changes none
    of these (fields a spec does not set are not managed), but the importer must say they exist:
    the documents alone would suggest the service has none. Service Connect, volumes and VPC
    Lattice are set per deployment; the primary one is what runs."""
    used = [field for field in _UNMANAGED_ON_SERVICE if state.get(field)]
    primary: Mapping[str, Any] = next(
        (
            deployment
            for deployment in state.get("deployments") or ()
            if deployment.get("status") == "PRIMARY"
        ),
        {},
    )
    connect = primary.get("serviceConnectConfiguration") or {}
    used += [
        field
        for field in _UNMANAGED_ON_DEPLOYMENT
        if primary.get(field) and (field != "serviceConnectConfiguration" or connect.get("enabled"))
    ]
    return used


async def _describe(context: ImportContext, cluster: str, names: Sequence[str]) -> list[Mapping[str, Any]]:
    ecs = context.clients.service("ecs")
    found: list[Mapping[str, Any]] = []
    for batch in batched(list(names), DESCRIBE_BATCH):
        try:
            response = await ecs.call("describe_services", cluster=cluster, services=batch, include=_INCLUDE)
        except AwsError as error:
            if error.code == "ClusterNotFoundException":
                return []  # `--cluster` names one that does not exist: nothing to import from it
            raise
        # ECS lists deleted (INACTIVE) services for a while; they are not what runs.
        found.extend(s for s in response.get("services", []) if s.get("status") == "ACTIVE")
    return found


def _resource_id(service: Mapping[str, Any]) -> str:
    return autoscaling.resource_id(service["clusterArn"].rsplit("/", 1)[-1], service["serviceName"])


def _uses(service: Mapping[str, Any]) -> list[Uses]:
    uses = [Uses(_CLUSTER, service["clusterArn"]), Uses(_TASK_DEFINITION, service["taskDefinition"])]
    uses += [
        Uses(_TARGET_GROUP, item["targetGroupArn"])
        for item in service.get("loadBalancers") or []
        if item.get("targetGroupArn")
    ]
    awsvpc = (service.get("networkConfiguration") or {}).get("awsvpcConfiguration") or {}
    uses += [Uses(_SECURITY_GROUP, group) for group in awsvpc.get("securityGroups") or []]
    return uses


def _network(tree: Mapping[str, Any], names: DocumentNames, context: ImportContext) -> dict[str, Any] | None:
    awsvpc = (tree.get("networkConfiguration") or {}).get("awsvpcConfiguration")
    if awsvpc is None:
        return None
    defaults = sorted(context.environment.default_subnet_ids)
    subnets: Any = "default" if defaults and awsvpc["subnets"] == defaults else awsvpc["subnets"]
    groups = [names.document(_SECURITY_GROUP, group) or group for group in awsvpc["securityGroups"]]
    return {
        "awsvpcConfiguration": without_none(
            {
                "subnets": subnets,
                "securityGroups": groups or None,
                "assignPublicIp": awsvpc["assignPublicIp"]
                if awsvpc["assignPublicIp"] != "DISABLED"
                else None,
            }
        )
    }


def _deployment(live: Mapping[str, Any]) -> dict[str, Any] | None:
    """Only what differs from ECS's defaults (200/100, no circuit breaker)."""
    changed = {
        key: live[key]
        for key in ("minimumHealthyPercent", "maximumPercent", "deploymentCircuitBreaker")
        if key in live and live[key] != _DEPLOYMENT_DEFAULTS.get(key)
    }
    return changed or None


def _autoscaling(details: Mapping[str, Any]) -> dict[str, Any] | None:
    target = details.get("scalableTarget")
    if not target:
        return None
    tracking: list[dict[str, Any]] = []
    steps: list[dict[str, Any]] = []
    for name, policy in sorted((details.get("scalingPolicies") or {}).items()):
        if policy.get("PolicyType") == "TargetTrackingScaling":
            tracking.append(_target_tracking(name, policy["TargetTrackingScalingPolicyConfiguration"]))
        elif policy.get("PolicyType") == "StepScaling":
            steps.append(_step_scaling(name, policy["StepScalingPolicyConfiguration"]))
    actions = [
        _scheduled_action(name, action)
        for name, action in sorted((details.get("scheduledActions") or {}).items())
    ]
    return without_none(
        {
            "minCapacity": target["MinCapacity"],
            "maxCapacity": target["MaxCapacity"],
            "targetTrackingPolicies": tracking or None,
            "stepScalingPolicies": steps or None,
            "scheduledActions": actions or None,
        }
    )


def _camel_keys(tree: Any) -> Any:
    if isinstance(tree, Mapping):
        return {key[:1].lower() + key[1:]: _camel_keys(value) for key, value in tree.items()}
    if isinstance(tree, list):
        return [_camel_keys(item) for item in tree]
    return tree


def _target_tracking(name: str, config: Mapping[str, Any]) -> dict[str, Any]:
    predefined = config.get("PredefinedMetricSpecification") or {}
    return without_none(
        {
            "policyName": name,
            "predefinedMetricType": predefined.get("PredefinedMetricType"),
            "resourceLabel": predefined.get("ResourceLabel"),
            "customizedMetricSpecification": _camel_keys(config.get("CustomizedMetricSpecification")),
            "targetValue": config["TargetValue"],
            "scaleInCooldown": config.get("ScaleInCooldown"),
            "scaleOutCooldown": config.get("ScaleOutCooldown"),
            "disableScaleIn": config.get("DisableScaleIn") or None,
        }
    )


def _step_scaling(name: str, config: Mapping[str, Any]) -> dict[str, Any]:
    return {"policyName": name, **_camel_keys(dict(config))}


def _scheduled_action(name: str, action: Mapping[str, Any]) -> dict[str, Any]:
    capacity = action.get("ScalableTargetAction") or {}
    timezone = action.get("Timezone")
    return without_none(
        {
            "scheduledActionName": name,
            "schedule": action["Schedule"],
            "timezone": timezone if timezone not in (None, "UTC") else None,
            "startTime": _iso(action.get("StartTime")),
            "endTime": _iso(action.get("EndTime")),
            "minCapacity": capacity.get("MinCapacity"),
            "maxCapacity": capacity.get("MaxCapacity"),
        }
    )


def _iso(value: Any) -> str | None:
    return None if value is None else value.isoformat() if hasattr(value, "isoformat") else str(value)


IMPORTER = ServiceImporter()
