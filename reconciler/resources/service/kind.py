"""The Service kind: an ECS service, with its Application Auto Scaling (see `autoscaling`).

Observed with DescribeServices (10 names a call per cluster, tags included) and, for the
autoscaling part, the batched reads of `reconciler.resources.service.autoscaling`. Converged with one
CreateService, or one UpdateService carrying exactly the changed updatable fields, TagResource
for tag-only changes, and the autoscaling calls in a `(Service, name, "autoscaling")` group that
runs after the service. While a spec has `autoscaling`, the live desired count belongs to the
scaler: it is compared only with min..max (and put back within it), and a spec `desiredCount` that
differs from it is a note, never an update. A circuit-breaker rollback of the desired task definition is not
retried in a loop: the plan waits until a different revision is desired.

The latest rollout is reported in `LiveResource.details["rollout"]`, which `apply --wait` and the
daemon read through `reconciler.engine.reconcile.rollout_of` without knowing the kind;
`rollout_state` is the same view for a described service. Registered in
`reconciler.resources.registry`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Literal

from reconciler.aws.errors import AwsError
from reconciler.plan.delta import Delta, Owner, diff_trees
from reconciler.plan.normalise import canonical_json, map_to_tags, normalise_strategy, sort_by, tags_to_map
from reconciler.plan.rewrites import Handling, Rewrite
from reconciler.plan.steps import MAIN, Action, Call, GroupKey, Ref, ResourcePlan, StepGroup
from reconciler.resources.base import KindBase, LiveResource, ObserveContext, PlanContext, TaggedAs
from reconciler.resources.common import cluster_arns, ecs_tag_call, owned_by_instance, read_batches, tag_delta
from reconciler.resources.service import autoscaling
from reconciler.resources.service.model import ServiceSpec
from reconciler.spec import Document, SpecSet

DESCRIBE_BATCH = 10  # DescribeServices takes at most 10 names
LIST_PAGE_SIZE = 100  # ListServices maxResults is at most 100
AUTOSCALING = "autoscaling"
_INCLUDE = ["TAGS"]
_FARGATE_PROVIDERS = ("FARGATE", "FARGATE_SPOT")

UPDATABLE = (
    "taskDefinition",
    "desiredCount",
    "capacityProviderStrategy",
    "deploymentConfiguration",
    "networkConfiguration",
    "platformVersion",
    "healthCheckGracePeriodSeconds",
    "enableExecuteCommand",
    "loadBalancers",
    "propagateTags",
    "enableECSManagedTags",
)
"""Fields UpdateService changes in place; any other difference needs a new service."""

_DEPLOYMENT_DEFAULTS: dict[str, Any] = {
    "maximumPercent": 200,
    "minimumHealthyPercent": 100,
    "deploymentCircuitBreaker": {"enable": False, "rollback": False},
}
_DEPLOYMENT_REQUEST_KEYS = ("maximumPercent", "minimumHealthyPercent", "deploymentCircuitBreaker", "alarms")

RolloutState = Literal["COMPLETED", "IN_PROGRESS", "FAILED"]
_ROLLBACK_WINDOW = timedelta(minutes=2)
"""A PRIMARY deployment created this close to a circuit-breaker failure is the rollback ECS started."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# --- normalisers -----------------------------------------------------------------------------------


def _sort_key(value: Any) -> str:
    return str(value)


def _uses_fargate(launch_type: str | None, strategy: Sequence[Mapping[str, Any]] | None) -> bool:
    if launch_type == "FARGATE":
        return True
    return any(item.get("capacityProvider") in _FARGATE_PROVIDERS for item in strategy or ())


def desired_tree(spec: ServiceSpec, context: PlanContext) -> dict[str, Any]:
    """The request-shaped fields the spec sets, references resolved (or `Ref`s), lists in canonical order."""
    fields: dict[str, Any] = spec.model_dump(
        by_alias=True,
        exclude_unset=True,
        mode="json",
        exclude={"service_name", "cluster", "task_definition", "tags", "autoscaling", "load_balancers"},
    )
    tree: dict[str, Any] = {
        "taskDefinition": context.output("TaskDefinition", spec.task_definition, "arn"),
        **fields,
    }
    if "capacityProviderStrategy" in tree:
        tree["capacityProviderStrategy"] = normalise_strategy(tree["capacityProviderStrategy"])
    if spec.network_configuration is not None:
        awsvpc = spec.network_configuration.awsvpc_configuration
        vpc: dict[str, Any] = {"subnets": context.subnet_ids(awsvpc.subnets)}
        if awsvpc.security_groups is not None:
            vpc["securityGroups"] = sorted(context.security_group_ids(awsvpc.security_groups), key=_sort_key)
        if awsvpc.assign_public_ip is not None:
            vpc["assignPublicIp"] = awsvpc.assign_public_ip
        tree["networkConfiguration"] = {"awsvpcConfiguration": vpc}
    if spec.load_balancers is not None:
        tree["loadBalancers"] = _sorted_load_balancers(
            {
                "targetGroupArn": context.output("TargetGroup", item.target_group, "arn"),
                "containerName": item.container_name,
                "containerPort": item.container_port,
            }
            for item in spec.load_balancers
        )
    return tree


def _sorted_load_balancers(items: Any) -> list[dict[str, Any]]:
    return sort_by(
        items, key=lambda lb: (lb["containerName"], lb["containerPort"], _sort_key(lb.get("targetGroupArn")))
    )


def live_tree(state: Mapping[str, Any]) -> dict[str, Any]:
    """A described service in `desired_tree`'s shape, AWS's server defaults made explicit."""
    strategy = state.get("capacityProviderStrategy") or None
    launch_type = None if strategy else state.get("launchType")
    tree: dict[str, Any] = {
        "taskDefinition": state.get("taskDefinition"),
        "desiredCount": state.get("desiredCount") or 0,
        "schedulingStrategy": state.get("schedulingStrategy") or "REPLICA",
        "propagateTags": state.get("propagateTags") or "NONE",
        "enableECSManagedTags": bool(state.get("enableECSManagedTags", False)),
        "enableExecuteCommand": bool(state.get("enableExecuteCommand", False)),
        "healthCheckGracePeriodSeconds": state.get("healthCheckGracePeriodSeconds") or 0,
        "loadBalancers": _sorted_load_balancers(
            {
                "targetGroupArn": lb.get("targetGroupArn"),
                "containerName": lb.get("containerName"),
                "containerPort": lb.get("containerPort"),
            }
            for lb in state.get("loadBalancers") or []
        ),
    }
    if launch_type is not None:
        tree["launchType"] = launch_type
    if strategy:
        tree["capacityProviderStrategy"] = normalise_strategy(strategy)
    platform = state.get("platformVersion")
    if platform is None and _uses_fargate(launch_type, strategy):
        platform = "LATEST"
    if platform is not None:
        tree["platformVersion"] = platform
    deployment = {k: v for k, v in (state.get("deploymentConfiguration") or {}).items() if v is not None}
    tree["deploymentConfiguration"] = {
        **_DEPLOYMENT_DEFAULTS,
        **deployment,
        "deploymentCircuitBreaker": {
            **_DEPLOYMENT_DEFAULTS["deploymentCircuitBreaker"],
            **(deployment.get("deploymentCircuitBreaker") or {}),
        },
    }
    awsvpc = (state.get("networkConfiguration") or {}).get("awsvpcConfiguration")
    if awsvpc is not None:
        tree["networkConfiguration"] = {
            "awsvpcConfiguration": {
                "subnets": sorted(awsvpc.get("subnets") or []),
                "securityGroups": sorted(awsvpc.get("securityGroups") or []),
                "assignPublicIp": awsvpc.get("assignPublicIp") or "DISABLED",
            }
        }
    return tree


def rollout_state(live: LiveResource | Mapping[str, Any] | None) -> RolloutState | None:
    """The state of a service's latest rollout: FAILED when the circuit breaker failed it (rolled
    back or not), else the PRIMARY deployment's `rolloutState`; None without ECS deployments."""
    if live is None:
        return None
    state = live.state if isinstance(live, LiveResource) else live
    if _listed_failure(state) is not None:
        return "FAILED"
    primary = _primary(state)
    if primary is None:
        return None
    value = primary.get("rolloutState")
    if value == "COMPLETED":
        return "COMPLETED"
    return "IN_PROGRESS" if value == "IN_PROGRESS" else None


def _primary(state: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for deployment in state.get("deployments") or []:
        if deployment.get("status") == "PRIMARY":
            return deployment  # type: ignore[no-any-return]
    return None


def failed_rollout(state: Mapping[str, Any]) -> dict[str, Any] | None:
    """The circuit-breaker failure of the latest rollout: {"taskDefinition": arn or None, "reason"}.

    While the failed deployment is still listed its task definition is known. Once ECS has rolled
    back and drained it, only the events tell: a "deployment failed" event and a PRIMARY created
    right then (the rollback); the failed revision is then None, meaning "not the running one".
    """
    listed = _listed_failure(state)
    if listed is not None:
        return listed
    primary = _primary(state)
    if primary is None:
        return None
    created = _time(primary.get("createdAt"))
    for event in state.get("events") or []:  # newest first
        message = str(event.get("message", ""))
        if "deployment failed" not in message:
            continue
        at = _time(event.get("createdAt"))
        if created is None or at is None or abs(created - at) > _ROLLBACK_WINDOW:
            return None
        return {"taskDefinition": None, "reason": message}
    return None


def _time(value: Any) -> datetime | None:
    """botocore's aware datetimes, or ISO text; naive values are UTC, as ECS reports them."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return None


def rollout_details(state: Mapping[str, Any]) -> dict[str, Any]:
    """What `apply --wait` and the daemon read without knowing the kind. `failed` is only a
    FAILED deployment ECS still lists: whether a past failure concerns the revision the spec wants
    needs the desired revision, so only the plan decides that (and says WAITING)."""
    primary = _primary(state) or {}
    return {
        "rolloutState": primary.get("rolloutState"),
        "taskDefinition": primary.get("taskDefinition"),
        "failed": _listed_failure(state),
    }


def _listed_failure(state: Mapping[str, Any]) -> dict[str, Any] | None:
    failed = [d for d in state.get("deployments") or [] if d.get("rolloutState") == "FAILED"]
    if not failed:
        return None
    newest = max(failed, key=lambda d: _time(d.get("createdAt")) or _EPOCH)
    return {
        "taskDefinition": newest.get("taskDefinition"),
        "reason": newest.get("rolloutStateReason") or "deployment failed",
    }


def client_token(*, instance: str, cluster: str, service: str, request: Mapping[str, Any]) -> str:
    """A CreateService token that is the same for a retried create of the same request (≤36 chars)."""
    text = canonical_json({"instance": instance, "cluster": cluster, "service": service, "request": request})
    return hashlib.sha256(text.encode()).hexdigest()[:32]


AUTOSCALING_MARKER = "ecs-reconciler/autoscaling"
"""Service tag saying the reconciler set up its scalable target: Application Auto Scaling cannot
tag targets everywhere, and without a mark a spec that drops `autoscaling` could not be told from
one that never managed it (an adopted service keeps the scaling someone else set up)."""


# --- the kind --------------------------------------------------------------------------------------


def cluster_name(spec: ServiceSpec, spec_set: SpecSet) -> str:
    document = spec_set.get("Cluster", spec.cluster)
    return document.aws_name if document is not None else spec.cluster


# What AWS answers differently from what it was sent, and how each is kept from being a change.
REWRITES: tuple[Rewrite, ...] = (
    Rewrite(
        field="deploymentConfiguration",
        sent="maximumPercent, minimumHealthyPercent absent; no circuit breaker",
        answered="200, 100; deploymentCircuitBreaker enable/rollback false",
        handling=Handling.NORMALISED,
        how="unset fields are not managed; the documented defaults equal absence",
        source="https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeploymentConfiguration.html",
        test="tests/resources/test_service.py::test_server_defaults_and_list_order_never_show_as_drift",
    ),
    Rewrite(
        field="platformVersion",
        sent="absent (Fargate)",
        answered="`LATEST`",
        handling=Handling.NORMALISED,
        how="LATEST equals absence",
        source="https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateService.html",
        test="tests/resources/test_service.py::test_server_defaults_and_list_order_never_show_as_drift",
    ),
    Rewrite(
        field="propagateTags, enableECSManagedTags",
        sent="absent",
        answered="`NONE`, `false`",
        handling=Handling.NORMALISED,
        how="the defaults equal absence",
        source="https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateService.html",
        test="tests/resources/test_service.py::test_server_defaults_and_list_order_never_show_as_drift",
    ),
    Rewrite(
        field="schedulingStrategy, healthCheckGracePeriodSeconds, enableExecuteCommand",
        sent="absent",
        answered="`REPLICA`, `0`, `false`",
        handling=Handling.NORMALISED,
        how="the defaults equal absence",
        source="https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateService.html",
        test="tests/resources/test_service.py::test_server_defaults_and_list_order_never_show_as_drift",
    ),
    Rewrite(
        field="networkConfiguration.awsvpcConfiguration.assignPublicIp",
        sent="absent",
        answered="`DISABLED`",
        handling=Handling.NORMALISED,
        how="DISABLED equals absence",
        source="https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_AwsVpcConfiguration.html",
        test="tests/resources/test_service.py::test_assign_public_ip_defaults_to_disabled_and_subnet_order_is_free",
    ),
    Rewrite(
        field="networkConfiguration.awsvpcConfiguration.subnets, securityGroups",
        sent="any order; `subnets: default`; security group document names",
        answered="an order of its own; subnet and group ids",
        handling=Handling.NORMALISED,
        how="sorted on both sides; names and `default` resolved to ids before comparing",
        source="undocumented: sets to ECS",
        test="tests/resources/test_service.py::test_assign_public_ip_defaults_to_disabled_and_subnet_order_is_free",
    ),
    Rewrite(
        field="capacityProviderStrategy",
        sent="any order; base and weight absent; no launchType",
        answered="an order of its own; base 0, weight 0; launchType absent",
        handling=Handling.NORMALISED,
        how="sorted by provider with 0 filled in on both sides; launchType is not compared under a strategy",
        source="https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CapacityProviderStrategyItem.html",
        test="tests/resources/test_service.py::test_a_capacity_provider_strategy_matches_without_launch_type_and_in_any_order",
    ),
    Rewrite(
        field="taskDefinition",
        sent="a TaskDefinition document name",
        answered="the revision's full ARN",
        handling=Handling.RESOLVED,
        how=(
            "always sent as the full ARN of the revision (CreateService takes family:revision but "
            "answers the ARN)"
        ),
        source="https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateService.html",
        test="tests/resources/test_service.py::test_a_new_task_definition_revision_is_sent_as_a_reference_to_its_arn",
    ),
    Rewrite(
        field="desiredCount (with autoscaling)",
        sent="the spec's count",
        answered="the scaler's count",
        handling=Handling.NOT_MANAGED,
        how="used at creation only; the scaler owns it",
        source="https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_UpdateService.html",
        test="tests/resources/test_service.py::test_autoscaling_owns_the_desired_count",
    ),
    Rewrite(
        field="autoscaling.targetTrackingPolicies[]",
        sent="disableScaleIn absent; cooldowns absent",
        answered="`false`; AWS's cooldowns",
        handling=Handling.NORMALISED,
        how="false equals absence; unset cooldowns are not managed",
        source="https://docs.aws.amazon.com/autoscaling/application/APIReference/API_TargetTrackingScalingPolicyConfiguration.html",
        test="tests/resources/test_autoscaling.py::test_real_aws_fills_and_orders_never_show_as_drift",
    ),
    Rewrite(
        field="autoscaling.stepScalingPolicies[].stepAdjustments",
        sent="any order; bounds as integers",
        answered="AWS's order; bounds as floats",
        handling=Handling.NORMALISED,
        how="sorted by lower bound, numbers compared as numbers",
        source="undocumented: the bounds are doubles in botocore's shape (StepAdjustment)",
        test="tests/resources/test_autoscaling.py::test_real_aws_fills_and_orders_never_show_as_drift",
    ),
    Rewrite(
        field="autoscaling.scheduledActions[]",
        sent="timezone absent; a time with an offset",
        answered="`UTC`; the instant in UTC",
        handling=Handling.NORMALISED,
        how="UTC equals absence; times compared as instants",
        source="https://docs.aws.amazon.com/autoscaling/application/APIReference/API_PutScheduledAction.html",
        test="tests/resources/test_autoscaling.py::test_real_aws_fills_and_orders_never_show_as_drift",
    ),
)


class ServiceKind(KindBase):
    kind: ClassVar[str] = "Service"
    tagged_as: ClassVar[TaggedAs | None] = TaggedAs("ecs:service")
    rewrites: ClassVar[tuple[Rewrite, ...]] = REWRITES

    async def observe(
        self, documents: Sequence[Document], context: ObserveContext
    ) -> Mapping[str, LiveResource]:
        by_cluster: dict[str, dict[str, Document]] = {}
        for document in documents:
            cluster = cluster_name(document.spec_as(ServiceSpec), context.spec_set)
            by_cluster.setdefault(cluster, {})[document.aws_name] = document
        found: list[tuple[str, str, Mapping[str, Any]]] = []
        for cluster, names in sorted(by_cluster.items()):
            for service in await _describe(context, cluster, sorted(names)):
                owner = names.get(service["serviceName"])
                if owner is not None:
                    found.append((owner.name, cluster, service))
        managed = {
            name
            for name, _, _ in found
            if context.spec_set["Service", name].spec_as(ServiceSpec).autoscaling is not None
        }
        # A rollout changes the service's deployments, never its scalable target or policies.
        followed = {
            name: previous
            for name, _, _ in found
            if (previous := context.followed((self.kind, name))) is not None
        }
        observed = await _with_autoscaling(context, [f for f in found if f[0] not in followed], managed)
        refreshed = [_with_rollout(followed[name], service) for name, _, service in found if name in followed]
        return {live.name: live for live in (*observed, *refreshed)}

    async def observe_owned(self, context: ObserveContext) -> Sequence[LiveResource]:
        ecs = context.clients.service("ecs")
        pages = {"PaginationConfig": {"PageSize": LIST_PAGE_SIZE}}
        clusters = await cluster_arns(context)
        # Services the documents resolved to are never orphans: only the others are described.
        claimed = context.claimed(self.kind)
        found: list[tuple[str, str, Mapping[str, Any]]] = []
        for cluster_arn in clusters:
            cluster = cluster_arn.rsplit("/", 1)[-1]
            arns = [
                arn
                async for page in ecs.paginate("list_services", cluster=cluster_arn, **pages)
                for arn in page.get("serviceArns", [])
                if arn not in claimed
            ]
            for service in await _describe(context, cluster, arns):
                source = owned_by_instance(
                    tags_to_map(service.get("tags")),
                    context.settings.instance,
                    self.kind,
                    context.settings.namespace,
                )
                if source is not None:
                    found.append((source, cluster, service))
        # An owned service may have a scalable target to deregister first; its policies go with it.
        return await _with_autoscaling(context, found, set())

    def plan(self, document: Document, live: LiveResource | None, context: PlanContext) -> ResourcePlan:
        spec = document.spec_as(ServiceSpec)
        cluster = cluster_name(spec, context.spec_set)
        resource = autoscaling.resource_id(cluster, document.aws_name)
        desired = desired_tree(spec, context)
        tags = context.desired_tags(document)
        if spec.autoscaling is not None:
            tags[AUTOSCALING_MARKER] = "managed"
        label = _resource_label(document, spec, context)

        if live is None:
            return self._plan_create(document, spec, desired, tags, cluster, resource, label, context)
        if live.state.get("status") == "DRAINING":
            return ResourcePlan(
                self.kind,
                document.name,
                Action.WAITING,
                message=f"{live.identifier} is being deleted (DRAINING); it is created again once it is gone",
            )

        current = live_tree(live.state)
        compared, notes = _scaled_count(spec, desired, current)
        delta = _owned_by_the_scaler(diff_trees(compared, current), spec)
        conflict = _replacement_reason(desired, current, delta)
        if conflict:
            return ResourcePlan(
                self.kind,
                document.name,
                Action.CONFLICT,
                delta,
                message=f"{conflict}: that requires replacing the service {live.identifier}",
            )

        changed, held = _fields_to_update(compared, delta, live)
        action = Action.WAITING if held else Action.UPDATE if delta else Action.NONE
        tag_changes, tag_diffs = tag_delta(tags, live.tags)
        calls = _update_calls(document.aws_name, cluster, changed, compared, live, tag_changes)
        scaling_calls, scaling_delta = _scaling_calls(
            spec, live, service=document.aws_name, resource=resource, resource_label=label
        )
        full_delta = delta + tag_diffs + scaling_delta
        if action is Action.NONE and full_delta:
            action = Action.UPDATE
        groups = _update_groups((self.kind, document.name, MAIN), calls, scaling_calls)
        return ResourcePlan(self.kind, document.name, action, full_delta, groups, held, notes=notes)

    def _plan_create(
        self,
        document: Document,
        spec: ServiceSpec,
        desired: Mapping[str, Any],
        tags: Mapping[str, str],
        cluster: str,
        resource: str,
        label: str | None,
        context: PlanContext,
    ) -> ResourcePlan:
        request: dict[str, Any] = {"serviceName": document.aws_name, "cluster": cluster, **desired}
        if "desiredCount" not in request and spec.autoscaling is not None:
            request["desiredCount"] = spec.autoscaling.min_capacity
        request["tags"] = map_to_tags(tags)
        request["clientToken"] = client_token(
            instance=context.settings.instance, cluster=cluster, service=document.aws_name, request=request
        )
        create = Call(
            "ecs",
            "create_service",
            request,
            outputs={"arn": ("service", "serviceArn")},
            description=f"create service {document.aws_name} in {cluster}",
        )
        main_key: GroupKey = (self.kind, document.name, MAIN)
        groups = [StepGroup(main_key, (create,))]
        delta = diff_trees(desired, None)
        if spec.autoscaling is not None:
            scaling_calls, scaling_delta = autoscaling.plan_autoscaling(
                spec.autoscaling, None, resource=resource, resource_label=label
            )
            groups.append(StepGroup((self.kind, document.name, AUTOSCALING), tuple(scaling_calls)))
            delta = delta + scaling_delta
        return ResourcePlan(self.kind, document.name, Action.CREATE, delta, tuple(groups))

    def tag_call(self, live: LiveResource, tags: Mapping[str, str]) -> Call:
        """The call that sets `tags` on the live object (how the planner records a spec hash)."""
        return _tag_call(live, tags)

    def plan_delete(self, live: LiveResource, context: PlanContext) -> ResourcePlan:
        cluster = str(live.outputs.get("cluster"))
        service = str(live.outputs.get("name"))
        main_key: GroupKey = (self.kind, live.name, MAIN)
        groups: list[StepGroup] = []
        scaling_calls, _ = autoscaling.plan_deregister(
            live.details, resource=autoscaling.resource_id(cluster, service)
        )
        if scaling_calls:
            groups.append(StepGroup((self.kind, live.name, AUTOSCALING), tuple(scaling_calls)))
        target = {"cluster": cluster, "service": service}
        calls = (
            Call("ecs", "update_service", {**target, "desiredCount": 0}, description=f"scale {service} to 0"),
            Call("ecs", "delete_service", target, description=f"delete service {service}"),
        )
        groups.append(StepGroup(main_key, calls))
        return ResourcePlan(self.kind, live.name, Action.DELETE, groups=tuple(groups))


async def _describe(context: ObserveContext, cluster: str, names: Sequence[str]) -> list[Mapping[str, Any]]:
    """ACTIVE and DRAINING services of one cluster; missing (failures) and INACTIVE ones are absent."""
    ecs = context.clients.service("ecs")

    async def describe(batch: list[str]) -> list[Mapping[str, Any]]:
        response = await ecs.call("describe_services", cluster=cluster, services=batch, include=_INCLUDE)
        return [s for s in response.get("services", []) if s.get("status") in ("ACTIVE", "DRAINING")]

    try:
        described = await read_batches(list(names), DESCRIBE_BATCH, describe)
    except AwsError as error:
        if error.code == "ClusterNotFoundException":
            return []  # no cluster yet: every service in it is absent
        raise
    return [service for batch in described for service in batch]


async def _with_autoscaling(
    context: ObserveContext, found: Sequence[tuple[str, str, Mapping[str, Any]]], managed: set[str]
) -> list[LiveResource]:
    """Live services (document name, cluster, described service) with their autoscaling details.

    Scalable targets are read for every ACTIVE service; policies and actions only for `managed`
    names (whose spec sets `autoscaling`).
    """
    ids = {
        index: autoscaling.resource_id(cluster, service["serviceName"])
        for index, (_, cluster, service) in enumerate(found)
        if service.get("status") == "ACTIVE"
    }
    details = (
        await autoscaling.observe_autoscaling(
            context.clients.service(autoscaling.SERVICE),
            all_ids=sorted(set(ids.values())),
            managed_ids=sorted(
                {ids[i] for i, (name, _, _) in enumerate(found) if name in managed and i in ids}
            ),
            namespace_sizes=context.cache.autoscaling_namespace,
        )
        if ids
        else {}
    )
    return [
        LiveResource(
            kind=ServiceKind.kind,
            name=name,
            identifier=service["serviceArn"],
            state=service,
            tags=tags_to_map(service.get("tags")),
            outputs={"arn": service["serviceArn"], "name": service["serviceName"], "cluster": cluster},
            details={
                **(details.get(ids.get(index, "")) or autoscaling.empty_details()),
                "rollout": rollout_details(service),
            },
        )
        for index, (name, cluster, service) in enumerate(found)
    ]


def _with_rollout(previous: LiveResource, service: Mapping[str, Any]) -> LiveResource:
    """What was last seen of a service, with its description (and so its rollout) read afresh."""
    return replace(
        previous,
        state=service,
        tags=tags_to_map(service.get("tags")),
        details={**previous.details, "rollout": rollout_details(service)},
    )


def _scaled_count(
    spec: ServiceSpec, desired: Mapping[str, Any], current: Mapping[str, Any]
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """What an existing service is compared with, and what to tell the reader about its count.

    With autoscaling the live desired count is the scaler's: the spec's `desiredCount` is used at
    creation only, so a different live count is no difference, only a note saying so. The scaler
    keeps the count within min..max, and so does the reconciler: a live count outside the range
    (set by hand, or left from before the range moved) is a difference, and the desired value is
    the nearest bound, which one UpdateService sets."""
    if spec.autoscaling is None:
        return dict(desired), ()
    compared = {key: value for key, value in desired.items() if key != "desiredCount"}
    low, high = spec.autoscaling.min_capacity, spec.autoscaling.max_capacity
    live_count = int(current.get("desiredCount") or 0)
    kept = min(max(live_count, low), high)
    if kept != live_count:
        compared["desiredCount"] = kept
    notes: tuple[str, ...] = ()
    if spec.desired_count is not None and spec.desired_count != live_count:
        notes = (
            f"desiredCount {spec.desired_count} is used at creation; the scaler owns it "
            f"({low}..{high}), live {live_count}",
        )
    return compared, notes


def _owned_by_the_scaler(delta: Delta, spec: ServiceSpec) -> Delta:
    """The delta with a desired count kept within min..max shown as the scaler's field (`owner`
    autoscaling): the value comes from the range, not from a `desiredCount` the spec may not set."""
    if spec.autoscaling is None or not delta.touches(("desiredCount",)):
        return delta
    return Delta(
        tuple(
            replace(diff, owner=Owner.AUTOSCALING) if diff.path == ("desiredCount",) else diff
            for diff in delta
        )
    )


def _fields_to_update(desired: Mapping[str, Any], delta: Delta, live: LiveResource) -> tuple[list[str], str]:
    """The UpdateService fields that differ, and why a task definition change is held back: a
    rollout of that very revision failed (a message, empty when nothing is held)."""
    changed = [field for field in UPDATABLE if delta.touches((field,))]
    failure = failed_rollout(live.state)
    if "taskDefinition" in changed and failure is not None:
        wanted = desired["taskDefinition"]
        if failure["taskDefinition"] == wanted or (
            failure["taskDefinition"] is None and not isinstance(wanted, Ref)
        ):
            changed.remove("taskDefinition")
            return changed, f"rollout of {wanted} failed: {failure['reason']}"
    return changed, ""


def _update_calls(
    service: str,
    cluster: str,
    changed: Sequence[str],
    desired: Mapping[str, Any],
    live: LiveResource,
    tag_changes: Mapping[str, str],
) -> list[Call]:
    """The MAIN group of an existing service: one UpdateService for every changed field, one
    TagResource for the tags that differ."""
    calls: list[Call] = []
    if changed:
        update: dict[str, Any] = {"cluster": cluster, "service": service}
        for field in changed:
            update[field] = _request_value(field, desired, live.state)
        calls.append(
            Call(
                "ecs", "update_service", update, description=f"update service {service}: {', '.join(changed)}"
            )
        )
    if tag_changes:
        calls.append(_tag_call(live, tag_changes))
    return calls


def _tag_call(live: LiveResource, tags: Mapping[str, str]) -> Call:
    return ecs_tag_call(
        live.identifier, tags, description=f"tag service {live.outputs.get('name', live.name)}"
    )


def _update_groups(
    main_key: GroupKey, calls: Sequence[Call], scaling_calls: Sequence[Call]
) -> tuple[StepGroup, ...]:
    """The non-empty groups of an update; the autoscaling group waits for the service's own."""
    kind, name, _ = main_key
    groups: list[StepGroup] = []
    if calls:
        groups.append(StepGroup(main_key, tuple(calls)))
    if scaling_calls:
        groups.append(StepGroup((kind, name, AUTOSCALING), tuple(scaling_calls), frozenset({main_key})))
    return tuple(groups)


def _scaling_calls(
    spec: ServiceSpec, live: LiveResource, *, service: str, resource: str, resource_label: str | None
) -> tuple[list[Call], Delta]:
    """The autoscaling group of an existing service."""
    if spec.autoscaling is not None:
        return autoscaling.plan_autoscaling(
            spec.autoscaling, live.details, resource=resource, resource_label=resource_label
        )
    if live.tags.get(AUTOSCALING_MARKER) != "managed":
        # A scalable target we did not set up (an adopted service's, say) is not ours to remove.
        return [], Delta()
    # The spec dropped `autoscaling` we had set up: take the target away, and the marker.
    calls, delta = autoscaling.plan_deregister(live.details, resource=resource)
    calls.append(
        Call(
            "ecs",
            "untag_resource",
            {"resourceArn": live.identifier, "tagKeys": [AUTOSCALING_MARKER]},
            description=f"untag service {service}: autoscaling no longer managed",
        )
    )
    return calls, delta


def _replacement_reason(desired: Mapping[str, Any], current: Mapping[str, Any], delta: Delta) -> str:
    if delta.touches(("schedulingStrategy",)):
        return f"schedulingStrategy {current.get('schedulingStrategy')} → {desired['schedulingStrategy']}"
    if "launchType" in desired:
        if "capacityProviderStrategy" in current:
            return f"switching from a capacity provider strategy to launchType {desired['launchType']}"
        if delta.touches(("launchType",)):
            return f"launchType {current.get('launchType')} → {desired['launchType']}"
    if "capacityProviderStrategy" in desired and "launchType" in current:
        providers = {item["capacityProvider"] for item in desired["capacityProviderStrategy"]}
        # ECS moves a Fargate service onto Fargate capacity providers in place; nothing else.
        if current["launchType"] != "FARGATE" or not providers <= set(_FARGATE_PROVIDERS):
            return f"switching from launchType {current['launchType']} to a capacity provider strategy"
    return ""


def _request_value(field: str, desired: Mapping[str, Any], state: Mapping[str, Any]) -> Any:
    """The UpdateService value of a changed field. The call replaces a structure whole, so the
    live values of sub-fields the spec leaves unset are sent back unchanged."""
    if field == "deploymentConfiguration":
        live = {
            k: v
            for k, v in (state.get("deploymentConfiguration") or {}).items()
            if k in _DEPLOYMENT_REQUEST_KEYS
        }
        return {**live, **desired[field]}
    if field == "networkConfiguration":
        live_vpc = (state.get("networkConfiguration") or {}).get("awsvpcConfiguration") or {}
        return {"awsvpcConfiguration": {**live_vpc, **desired[field]["awsvpcConfiguration"]}}
    return desired[field]


def _resource_label(document: Document, spec: ServiceSpec, context: PlanContext) -> str | None:
    """ALBRequestCountPerTarget's label `app/<lb>/<id>/targetgroup/<tg>/<id>`, from the service's
    single target group and the load balancer whose listener forwards to it by default, once both
    ARNs are known."""
    policies = spec.autoscaling.target_tracking_policies if spec.autoscaling else None
    if not policies or not any(
        p.predefined_metric_type == "ALBRequestCountPerTarget" and p.resource_label is None for p in policies
    ):
        return None
    if not spec.load_balancers or len(spec.load_balancers) != 1:
        return None
    target_group = spec.load_balancers[0].target_group
    tg_arn = context.output("TargetGroup", target_group, "arn")
    for forward in context.spec_set.graph.referrers(("TargetGroup", target_group), of_kind="LoadBalancer"):
        if "defaultAction" not in forward.path:
            continue
        lb_arn = context.output("LoadBalancer", forward.source_name, "arn")
        if isinstance(lb_arn, str) and isinstance(tg_arn, str):
            return f"{lb_arn.split(':loadbalancer/', 1)[-1]}/{tg_arn.split(':', 5)[-1]}"
    return None


KIND = ServiceKind()
