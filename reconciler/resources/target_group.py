"""The TargetGroup kind: an ELBv2 target group, its health check, attributes and tags.

Observed with DescribeTargetGroups by name (falling back to one paginated listing when a name is
missing, see `reconciler.resources.elbv2`), DescribeTags (20 ARNs a call) and, only for documents
that set `attributes`, DescribeTargetGroupAttributes. Converged with ModifyTargetGroup (only the
health-check fields that differ), ModifyTargetGroupAttributes (only the keys that differ) and
AddTags. Port, protocol, protocol version, target type, VPC and IP address type cannot change in
place: a difference is planned as a replacement, without calls (see `plan`). Registered in
`reconciler.resources.registry`; LoadBalancer and Service documents refer to its `arn` output.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from reconciler.plan.delta import Delta, FieldDiff, Path, diff_trees
from reconciler.plan.normalise import drop_empty, map_to_tags
from reconciler.plan.steps import MAIN, Action, Call, Ref, ResourcePlan, StepGroup
from reconciler.resources import elbv2
from reconciler.resources.base import LiveResource, ObserveContext, PlanContext
from reconciler.resources.common import owned_by_instance, tag_delta
from reconciler.spec import Document
from reconciler.spec.models import TargetGroupSpec

IMMUTABLE = ("Protocol", "Port", "ProtocolVersion", "TargetType", "VpcId", "IpAddressType")
_IMMUTABLE_SPEC_FIELDS = {
    "Protocol": "protocol",
    "Port": "port",
    "ProtocolVersion": "protocolVersion",
    "TargetType": "targetType",
    "VpcId": "vpc",
    "IpAddressType": "ipAddressType",
}
HEALTH_CHECK = {
    # spec field of `healthCheck` -> the API's flat field
    "enabled": "HealthCheckEnabled",
    "path": "HealthCheckPath",
    "protocol": "HealthCheckProtocol",
    "port": "HealthCheckPort",
    "intervalSeconds": "HealthCheckIntervalSeconds",
    "timeoutSeconds": "HealthCheckTimeoutSeconds",
    "healthyThresholdCount": "HealthyThresholdCount",
    "unhealthyThresholdCount": "UnhealthyThresholdCount",
    "matcher": "Matcher",
}


def desired_tree(spec: TargetGroupSpec, *, vpc_id: str | None) -> dict[str, Any]:
    """The spec in the API's shape; only fields the user set, so unset ones are not managed."""
    fields = spec.model_dump(by_alias=True, exclude_unset=True, mode="json")
    tree: dict[str, Any] = {}
    for spec_key, api_key in (
        ("protocol", "Protocol"),
        ("port", "Port"),
        ("protocolVersion", "ProtocolVersion"),
        ("targetType", "TargetType"),
        ("ipAddressType", "IpAddressType"),
    ):
        if spec_key in fields:
            tree[api_key] = fields[spec_key]
    if vpc_id is not None:
        tree["VpcId"] = vpc_id
    for spec_key, value in fields.get("healthCheck", {}).items():
        if spec_key == "matcher":
            value = {
                {"httpCode": "HttpCode", "grpcCode": "GrpcCode"}[key]: code for key, code in value.items()
            }
        tree[HEALTH_CHECK[spec_key]] = value
    return tree


def spec_path(path: Path) -> Path:
    """Where an API-shaped diff path is written in the spec (`HealthCheckPath` is `healthCheck.path`),
    so the drift report names the field the user wrote and finds its line."""
    if not path:
        return path
    head, rest = path[0], path[1:]
    if head in _IMMUTABLE_SPEC_FIELDS:
        return (_IMMUTABLE_SPEC_FIELDS[str(head)], *rest)
    health_check = {api_key: spec_key for spec_key, api_key in HEALTH_CHECK.items()}
    if head in health_check:
        matcher = {"HttpCode": "httpCode", "GrpcCode": "grpcCode"}
        return ("healthCheck", health_check[str(head)], *(matcher.get(str(item), item) for item in rest))
    return path


def _in_spec_terms(delta: Delta) -> Delta:
    return Delta(tuple(FieldDiff(spec_path(d.path), d.desired, d.live, d.owner) for d in delta))


def live_tree(state: Mapping[str, Any]) -> dict[str, Any]:
    """A described target group in the same shape; the server's defaults stay (they are not drift
    unless the spec sets the field, and subset comparison only looks at fields the spec sets)."""
    keys = (*IMMUTABLE, *HEALTH_CHECK.values())
    tree: dict[str, Any] = drop_empty({key: state.get(key) for key in keys})
    if "HealthCheckPort" in tree:
        tree["HealthCheckPort"] = str(tree["HealthCheckPort"])
    return tree


class TargetGroupKind:
    kind: ClassVar[str] = "TargetGroup"
    delete_rank: ClassVar[int] = 30

    async def observe(
        self, documents: Sequence[Document], context: ObserveContext
    ) -> Mapping[str, LiveResource]:
        client = context.clients.service("elbv2")
        by_aws_name = {document.aws_name: document for document in documents}
        groups = await elbv2.describe_by_names(
            client,
            operation="describe_target_groups",
            result_key="TargetGroups",
            name_key="TargetGroupName",
            not_found_code="TargetGroupNotFound",
            names=list(by_aws_name),
        )
        tags = await elbv2.describe_tags(client, [group["TargetGroupArn"] for group in groups.values()])
        found: dict[str, LiveResource] = {}
        for aws_name, group in groups.items():
            document = by_aws_name[aws_name]
            attributes: dict[str, str] | None = None
            if document.spec_as(TargetGroupSpec).attributes is not None:
                response = await client.call(
                    "describe_target_group_attributes", TargetGroupArn=group["TargetGroupArn"]
                )
                attributes = elbv2.attributes_to_map(response.get("Attributes"))
            found[document.name] = _live(
                document.name, group, tags.get(group["TargetGroupArn"], {}), attributes
            )
        return found

    async def observe_facts(
        self, documents: Sequence[Document], context: ObserveContext
    ) -> Mapping[str, Any]:
        return {}

    async def observe_owned(self, context: ObserveContext) -> Sequence[LiveResource]:
        client = context.clients.service("elbv2")
        groups = await elbv2.list_all(client, operation="describe_target_groups", result_key="TargetGroups")
        tags = await elbv2.describe_tags(client, [group["TargetGroupArn"] for group in groups])
        owned: list[LiveResource] = []
        for group in groups:
            group_tags = tags.get(group["TargetGroupArn"], {})
            source = owned_by_instance(group_tags, context.settings.instance, self.kind)
            if source is not None:
                owned.append(_live(source, group, group_tags, None))
        return owned

    def plan(self, document: Document, live: LiveResource | None, context: PlanContext) -> ResourcePlan:
        spec = document.spec_as(TargetGroupSpec)
        desired = desired_tree(spec, vpc_id=context.vpc_id(spec.vpc) if spec.vpc is not None else None)
        tags = context.desired_tags(document)
        main = (self.kind, document.name, MAIN)
        if live is None:
            calls: list[Call] = [
                Call(
                    "elbv2",
                    "create_target_group",
                    {
                        "Name": document.aws_name,
                        **desired,
                        "Tags": map_to_tags(tags, key="Key", value="Value"),
                    },
                    outputs={"arn": ("TargetGroups", 0, "TargetGroupArn")},
                    description=f"create target group {document.aws_name}",
                )
            ]
            if spec.attributes:
                calls.append(_modify_attributes(Ref(self.kind, document.name, "arn"), spec.attributes))
            delta = diff_trees(
                {**desired, **({"attributes": dict(spec.attributes)} if spec.attributes else {})}, None
            )
            return ResourcePlan(
                self.kind, document.name, Action.CREATE, delta, (StepGroup(main, tuple(calls)),)
            )

        current = live_tree(live.state)
        delta = diff_trees(desired, current)
        immutable = delta.without(*((key,) for key in HEALTH_CHECK.values()))
        if immutable:
            changes = ", ".join(f"{diff.dotted_path} {diff.live!r} -> {diff.desired!r}" for diff in immutable)
            return ResourcePlan(
                self.kind,
                document.name,
                Action.REPLACE,
                _in_spec_terms(delta),
                message=f"target group {document.aws_name} must be replaced to change {changes}; "
                "replacing in place is not supported yet: delete it (or rename the document) to apply",
            )
        live_attributes = live.details.get("attributes") or {}
        attribute_changes = elbv2.changed_attributes(spec.attributes, live_attributes)
        attribute_diffs = tuple(
            FieldDiff(("attributes", key), value, live_attributes.get(key))
            for key, value in sorted(attribute_changes.items())
        )
        tag_changes, tag_diffs = tag_delta(tags, live.tags)
        calls = []
        if delta:
            changed = {str(diff.path[0]) for diff in delta}
            calls.append(
                Call(
                    "elbv2",
                    "modify_target_group",
                    {"TargetGroupArn": live.identifier, **{key: desired[key] for key in sorted(changed)}},
                    description="modify target group health check",
                )
            )
        if attribute_changes:
            calls.append(_modify_attributes(live.identifier, attribute_changes))
        if tag_changes:
            calls.append(
                Call(
                    "elbv2",
                    "add_tags",
                    {
                        "ResourceArns": [live.identifier],
                        "Tags": map_to_tags(tag_changes, key="Key", value="Value"),
                    },
                    description="tag target group",
                )
            )
        full_delta = _in_spec_terms(delta) + Delta(attribute_diffs) + tag_diffs
        groups = (StepGroup(main, tuple(calls)),) if calls else ()
        return ResourcePlan(
            self.kind, document.name, Action.UPDATE if full_delta else Action.NONE, full_delta, groups
        )

    def plan_delete(self, live: LiveResource, context: PlanContext) -> ResourcePlan:
        delete = Call(
            "elbv2",
            "delete_target_group",
            {"TargetGroupArn": live.identifier},
            description="delete target group",
        )
        return ResourcePlan(
            self.kind, live.name, Action.DELETE, groups=(StepGroup((self.kind, live.name, MAIN), (delete,)),)
        )


def _modify_attributes(arn: Any, attributes: Mapping[str, str]) -> Call:
    return Call(
        "elbv2",
        "modify_target_group_attributes",
        {"TargetGroupArn": arn, "Attributes": elbv2.map_to_attributes(attributes)},
        description="set target group attributes",
    )


def _live(
    name: str, group: Mapping[str, Any], tags: Mapping[str, str], attributes: Mapping[str, str] | None
) -> LiveResource:
    return LiveResource(
        kind=TargetGroupKind.kind,
        name=name,
        identifier=group["TargetGroupArn"],
        state=group,
        tags=dict(tags),
        outputs={
            "arn": group["TargetGroupArn"],
            "name": group["TargetGroupName"],
            "loadBalancerArns": list(group.get("LoadBalancerArns") or []),
        },
        details={"attributes": dict(attributes)} if attributes is not None else {},
    )


KIND = TargetGroupKind()
