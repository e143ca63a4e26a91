"""The TargetGroup kind: an ELBv2 target group, its health check, attributes and tags.

Observed with one paginated DescribeTargetGroups listing (see `reconciler.resources.elbv2`),
DescribeTags (20 ARNs a call), DescribeTargetGroupAttributes only for documents that set
`attributes`, and DescribeTargetHealth only for a target group about to be deleted by a
replacement. Converged with ModifyTargetGroup (only the health-check fields that differ),
ModifyTargetGroupAttributes (only the keys that differ) and AddTags. Registered in
`reconciler.resources.registry`; LoadBalancer and Service documents refer to its `arn` output.

Port, protocol, protocol version, target type, VPC and IP address type cannot change in place: a
difference replaces the target group, create before destroy. Names are unique per account and
Region, so a document's target group alternates between two names, its AWS name `N` and
`alternate_name(N)` (`N-r`). Nothing is remembered between passes; each pass reads both names:

1. the live one does not match the spec: create the replacement under the other name in the MAIN
   group. Its `arn` output is then a `Ref` for this pass, so the LoadBalancer listeners and rules
   and the Services that use it plan ModifyListener / ModifyRule / UpdateService; a
   `(TargetGroup, name, "cleanup")` group deletes the old one after all of them;
2. both exist (a deletion could not happen yet): the one matching the spec is current (its outputs
   are the document's), the other is deleted after the same dependants.

The old one is deleted only once no target is registered in it (ECS deregisters the old tasks when
the new deployment has replaced them, so a rollback finds it in place until then) and no load
balancer outside the spec set forwards to it. A target group under the other name that is not this
document's (unowned, another instance's or another document's) is never touched: a replacement
that needs its name is a conflict. Symmetrically, a document whose own name is another document's
alternate never takes over that document's target group (a conflict too).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from reconciler.plan.delta import Delta, FieldDiff, Path, diff_trees
from reconciler.plan.normalise import drop_empty, map_to_tags
from reconciler.plan.ownership import Ownership, source_of
from reconciler.plan.rewrites import Handling, Rewrite
from reconciler.plan.steps import MAIN, Action, Call, Ref, ResourcePlan, StepGroup
from reconciler.resources import elbv2
from reconciler.resources.base import ApiClient, KindBase, LiveResource, ObserveContext, PlanContext, TaggedAs
from reconciler.resources.common import owned_by_instance, tag_delta
from reconciler.resources.target_group.model import TargetGroupSpec
from reconciler.spec import Document
from reconciler.spec.graph import CLEANUP_PART

IMMUTABLE = ("Protocol", "Port", "ProtocolVersion", "TargetType", "VpcId", "IpAddressType")
MAX_NAME = 32  # ELBv2 target group names
ALTERNATE_SUFFIX = "-r"
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


def alternate_name(name: str) -> str:
    """The name a document's target group alternates with when replaced: `N-r`, within 32 characters.

    Longer names are cut to make room; should that give back the name itself, `-s` is used instead.
    """
    base = name[: MAX_NAME - len(ALTERNATE_SUFFIX)]
    if len(base) < len(name):
        base = base.rstrip("-")
    return base + ALTERNATE_SUFFIX if base + ALTERNATE_SUFFIX != name else base + "-s"


def immutable_tree(spec: TargetGroupSpec, *, vpc_id: str | None) -> dict[str, Any]:
    """The fields the spec sets that only a replacement can change."""
    return {key: value for key, value in desired_tree(spec, vpc_id=vpc_id).items() if key in IMMUTABLE}


def matches(immutable: Mapping[str, Any], state: Mapping[str, Any]) -> bool:
    """Whether a described target group has every immutable field the spec sets."""
    return not diff_trees(dict(immutable), live_tree(state))


@dataclass(frozen=True)
class Selection:
    """A document's target groups under its two names, sorted out (see `select`)."""

    current: Mapping[str, Any] | None
    """The document's live target group: its outputs are the document's."""
    previous: Mapping[str, Any] | None = None
    """The document's other target group, left from a replacement: to be deleted."""
    blocked: Mapping[str, Any] | None = None
    """A target group under the other name that is not the document's: never touched."""


def select(
    *,
    primary: Mapping[str, Any] | None,
    alternate: Mapping[str, Any] | None,
    is_ours: Any,
    immutable: Mapping[str, Any],
) -> Selection:
    """Which of the target groups found under a document's two names is current.

    `is_ours(group)` says whether a group carries this instance's ownership tags with this
    document as source. When both are ours, the one matching the spec's immutable fields is
    current; when both or neither match, the one a load balancer uses, else the primary.
    An alternate that is not ours is ignored, only reported as blocking its name; a primary that
    is not ours stays current unless an alternate of ours exists (the planner then decides
    between conflict and adoption).
    """
    ours = [group for group in (primary, alternate) if group is not None and is_ours(group)]
    if len(ours) < 2:
        if ours and ours[0] is alternate:
            return Selection(current=alternate, blocked=primary)
        return Selection(current=primary, blocked=alternate)
    assert primary is not None and alternate is not None
    fitting = [group for group in (primary, alternate) if matches(immutable, group)]
    if len(fitting) == 1:
        current = fitting[0]
    else:
        in_use = [group for group in (primary, alternate) if group.get("LoadBalancerArns")]
        current = in_use[0] if len(in_use) == 1 else primary
    return Selection(current=current, previous=alternate if current is primary else primary)


# What EC2/ELBv2 answer unlike the spec's spelling, and how this kind keeps it from showing as a
# change: rendered to docs/aws-rewrites.md (see reconciler.plan.rewrites).
_ELBV2 = "botocore elbv2 2015-12-01"
_TG_DEFAULTS = "tests/resources/test_target_group.py::test_real_aws_defaults_never_show_as_drift"
_TG_ATTRIBUTES = (
    "tests/resources/test_network_rewrites.py::"
    "test_target_group_attributes_aws_answers_as_strings_and_in_full_plan_nothing"
)

REWRITES: tuple[Rewrite, ...] = (
    Rewrite(
        field="healthCheck.port",
        sent="left out",
        answered="`traffic-port` (port 80 for GENEVE)",
        handling=Handling.NOT_MANAGED,
        how="a health-check field the spec leaves out is not compared",
        source=f"{_ELBV2} CreateTargetGroupInput.HealthCheckPort: the default is traffic-port",
        test=_TG_DEFAULTS,
    ),
    Rewrite(
        field="healthCheck.port",
        sent="a YAML number, `3000`",
        answered='the string `"3000"`',
        handling=Handling.CANONICAL_AT_VALIDATION,
        how="stored as AWS's string when the spec loads; a number in an answer is compared as its string",
        source=f"{_ELBV2} TargetGroup.HealthCheckPort is a string shape",
        test="tests/resources/test_target_group.py::test_a_numeric_health_check_port_from_the_api_compares_as_its_string",
    ),
    Rewrite(
        field="healthCheck.matcher",
        sent="left out",
        answered='`{HttpCode: "200"}` for an ALB target group (`12` as GrpcCode for GRPC)',
        handling=Handling.NOT_MANAGED,
        how="not compared when the spec leaves it out",
        source=f"{_ELBV2} Matcher.HttpCode: for Application Load Balancers the default value is 200",
        test=_TG_DEFAULTS,
    ),
    Rewrite(
        field="healthCheck.matcher.httpCode, healthCheck.matcher.grpcCode",
        sent="a YAML number, `200`",
        answered='the string `"200"`',
        handling=Handling.CANONICAL_AT_VALIDATION,
        how="stored as AWS's string when the spec loads",
        source=f"{_ELBV2} Matcher.HttpCode is a string shape",
        test=_TG_DEFAULTS,
    ),
    Rewrite(
        field="healthCheck.intervalSeconds, timeoutSeconds, healthyThresholdCount, unhealthyThresholdCount",
        sent="left out",
        answered="defaults per protocol and target type (HTTP: 30, 6, 5, 2; lambda: 35, 30, 5, 5)",
        handling=Handling.NOT_MANAGED,
        how="not compared when the spec leaves them out",
        source=f"{_ELBV2} CreateTargetGroupInput.HealthCheckIntervalSeconds, HealthCheckTimeoutSeconds, "
        "HealthyThresholdCount, UnhealthyThresholdCount",
        test=_TG_DEFAULTS,
    ),
    Rewrite(
        field="healthCheck.path, healthCheck.protocol, healthCheck.enabled",
        sent="left out",
        answered="`/` (`/AWS.ALB/healthcheck` for GRPC), `HTTP`, `true` (`false` for lambda)",
        handling=Handling.NOT_MANAGED,
        how="not compared when the spec leaves them out",
        source=f"{_ELBV2} CreateTargetGroupInput.HealthCheckPath, HealthCheckProtocol, HealthCheckEnabled",
        test=_TG_DEFAULTS,
    ),
    Rewrite(
        field="protocolVersion, ipAddressType, targetType",
        sent="left out",
        answered="`HTTP1`, `ipv4`, `instance`",
        handling=Handling.NOT_MANAGED,
        how="compared (and a difference replaces the target group) only when the spec sets them",
        source=f"{_ELBV2} CreateTargetGroupInput.ProtocolVersion, IpAddressType, TargetType",
        test=_TG_DEFAULTS,
    ),
    Rewrite(
        field="attributes",
        sent="YAML numbers and booleans, `30`, `true`",
        answered='strings, `"30"`, `"true"`',
        handling=Handling.CANONICAL_AT_VALIDATION,
        how="values are stored as AWS's strings when the spec loads",
        source=f"{_ELBV2} TargetGroupAttribute.Value is a string shape",
        test=_TG_ATTRIBUTES,
    ),
    Rewrite(
        field="attributes",
        sent="some keys",
        answered="every attribute of the target group, with its default",
        handling=Handling.NOT_MANAGED,
        how="only the keys the spec sets are compared and sent",
        source=f"{_ELBV2} TargetGroupAttribute.Key documents each attribute with its default",
        test=_TG_ATTRIBUTES,
    ),
    Rewrite(
        field="vpc",
        sent="`default`",
        answered="`VpcId`, the default VPC's id",
        handling=Handling.RESOLVED,
        how="the account's default VPC is looked up once per pass",
        source=f"{_ELBV2} TargetGroup.VpcId",
        test="tests/resources/test_target_group.py::test_in_sync_real_aws_target_group_plans_nothing",
    ),
)


class TargetGroupKind(KindBase):
    kind: ClassVar[str] = "TargetGroup"
    tagged_as: ClassVar[TaggedAs | None] = TaggedAs("elasticloadbalancing:targetgroup")
    rewrites: ClassVar[tuple[Rewrite, ...]] = REWRITES

    async def observe(
        self, documents: Sequence[Document], context: ObserveContext
    ) -> Mapping[str, LiveResource]:
        client = context.clients.service("elbv2")
        names = {
            document.name: (document.aws_name, alternate_name(document.aws_name)) for document in documents
        }
        groups = await elbv2.find_by_names(
            client,
            operation="describe_target_groups",
            result_key="TargetGroups",
            name_key="TargetGroupName",
            names=sorted({name for pair in names.values() for name in pair}),
        )
        tags = await elbv2.describe_tags(client, [group["TargetGroupArn"] for group in groups.values()])
        found: dict[str, LiveResource] = {}
        for document in documents:
            spec = document.spec_as(TargetGroupSpec)
            primary, alternate = names[document.name]
            vpc_id = context.environment.default_vpc_id if spec.vpc == "default" else spec.vpc
            immutable = immutable_tree(spec, vpc_id=vpc_id)

            def is_ours(group: Mapping[str, Any], document: Document = document) -> bool:
                owner = owned_by_instance(
                    tags.get(group["TargetGroupArn"], {}),
                    context.settings.instance,
                    self.kind,
                    context.settings.namespace,
                )
                return owner == document.name

            selection = select(
                primary=groups.get(primary),
                alternate=groups.get(alternate),
                is_ours=is_ours,
                immutable=immutable,
            )
            current = selection.current
            if current is None:
                continue
            details: dict[str, Any] = {}
            if spec.attributes is not None:
                response = await client.call(
                    "describe_target_group_attributes", TargetGroupArn=current["TargetGroupArn"]
                )
                details["attributes"] = elbv2.attributes_to_map(response.get("Attributes"))
            if selection.previous is None and not matches(immutable, current):
                details["targets"] = await _registered_targets(client, current["TargetGroupArn"])
            if selection.previous is not None:
                details["previous"] = {
                    **_summary(selection.previous),
                    "targets": await _registered_targets(client, selection.previous["TargetGroupArn"]),
                }
            if selection.blocked is not None:
                details["blocked"] = _summary(selection.blocked)
            live = _live(document.name, current, tags.get(current["TargetGroupArn"], {}), details)
            if selection.previous is not None:
                live = replace(live, also_identifies=frozenset({selection.previous["TargetGroupArn"]}))
            found[document.name] = live
        return found

    async def observe_owned(self, context: ObserveContext) -> Sequence[LiveResource]:
        client = context.clients.service("elbv2")
        groups = await elbv2.list_all(client, operation="describe_target_groups", result_key="TargetGroups")
        found = await elbv2.owned(
            client,
            groups,
            arn_key="TargetGroupArn",
            instance=context.settings.instance,
            kind=self.kind,
            claimed=context.claimed(self.kind),
            namespace=context.settings.namespace,
        )
        return [_live(source, group, tags, {}) for source, group, tags in found]

    def plan(self, document: Document, live: LiveResource | None, context: PlanContext) -> ResourcePlan:
        spec = document.spec_as(TargetGroupSpec)
        desired = desired_tree(spec, vpc_id=context.vpc_id(spec.vpc) if spec.vpc is not None else None)
        tags = context.desired_tags(document)
        main = (self.kind, document.name, MAIN)
        if live is None:
            create = _create_calls(document, document.aws_name, desired, tags, spec.attributes)
            delta = diff_trees(
                {**desired, **({"attributes": dict(spec.attributes)} if spec.attributes else {})}, None
            )
            return ResourcePlan(self.kind, document.name, Action.CREATE, delta, (StepGroup(main, create),))

        source = source_of(live.tags)
        if (
            source is not None
            and source != (self.kind, document.name)
            and source in context.spec_set
            and live.ownership(context.settings.instance, context.settings.namespace) is Ownership.OWNED
        ):
            # Another document's target group under this one's name: its alternate name during
            # a replacement (`web` replaced into `web-r`, and a document named `web-r`).
            return ResourcePlan(
                self.kind,
                document.name,
                Action.CONFLICT,
                message=f"{live.identifier} belongs to {source[0]}/{source[1]}, which may use the name "
                f"{live.state['TargetGroupName']} to replace its target group: rename one of the two",
            )
        delta = diff_trees(desired, live_tree(live.state))
        live_attributes = live.details.get("attributes") or {}
        attribute_changes = elbv2.changed_attributes(spec.attributes, live_attributes)
        attribute_diffs = Delta(
            tuple(
                FieldDiff(("attributes", key), value, live_attributes.get(key))
                for key, value in sorted(attribute_changes.items())
            )
        )
        immutable = delta.without(*((key,) for key in HEALTH_CHECK.values()))
        if immutable:
            return _plan_replacement(
                document, live, desired, tags, _in_spec_terms(delta) + attribute_diffs, immutable, context
            )

        tag_changes, tag_diffs = tag_delta(tags, live.tags)
        calls: list[Call] = []
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
            calls.append(elbv2.modify_attributes("target_group", live.identifier, attribute_changes))
        if tag_changes:
            calls.append(_tag_call(live, tag_changes))
        full_delta = _in_spec_terms(delta) + attribute_diffs + tag_diffs
        groups: tuple[StepGroup, ...] = (StepGroup(main, tuple(calls)),) if calls else ()
        previous = live.details.get("previous")
        if previous is None:
            return ResourcePlan(
                self.kind, document.name, Action.UPDATE if full_delta else Action.NONE, full_delta, groups
            )
        # A replacement's old target group is still there: finish the replacement.
        cleanup, note = _cleanup(document, previous, context)
        return ResourcePlan(
            self.kind,
            document.name,
            Action.REPLACE,
            full_delta + Delta((FieldDiff(("replacedTargetGroup",), None, previous["name"]),)),
            (*groups, *cleanup),
            message=f"target group {live.state['TargetGroupName']} replaced {previous['name']}; {note}",
        )

    def tag_call(self, live: LiveResource, tags: Mapping[str, str]) -> Call:
        """The call that sets `tags` on the live object (how the planner records a spec hash)."""
        return _tag_call(live, tags)

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


def _plan_replacement(
    document: Document,
    live: LiveResource,
    desired: Mapping[str, Any],
    tags: Mapping[str, str],
    delta: Delta,
    immutable: Delta,
    context: PlanContext,
) -> ResourcePlan:
    """Create before destroy: the new target group under the other name, the old one deleted after
    every load balancer and service that used it has moved to the new one."""
    kind, name = TargetGroupKind.kind, document.name
    current = str(live.state["TargetGroupName"])
    other = alternate_name(document.aws_name) if current == document.aws_name else document.aws_name
    changes = ", ".join(f"{diff.dotted_path} {diff.live!r} -> {diff.desired!r}" for diff in immutable)
    blocked = live.details.get("blocked")
    if blocked is not None:
        return ResourcePlan(
            kind,
            name,
            Action.CONFLICT,
            delta,
            message=f"target group {current} must be replaced to change {changes}, under the name "
            f"{other}; but {blocked['arn']} has that name and is not this document's: "
            "delete or rename it",
        )
    previous = live.details.get("previous")
    if previous is not None:
        # Neither of the two matches the spec (it changed again mid-replacement): free the other
        # name first; the next pass replaces the current one.
        cleanup, note = _cleanup(document, previous, context)
        return ResourcePlan(
            kind,
            name,
            Action.REPLACE,
            delta,
            cleanup,
            message=f"target group {current} must be replaced to change {changes}; the name {other} "
            f"is freed first: {note}",
        )
    spec = document.spec_as(TargetGroupSpec)
    create = StepGroup((kind, name, MAIN), _create_calls(document, other, desired, tags, spec.attributes))
    cleanup, note = _cleanup(document, _summary(live.state, targets=live.details.get("targets", 0)), context)
    return ResourcePlan(
        kind,
        name,
        Action.REPLACE,
        delta,
        (create, *cleanup),
        message=f"target group {current} is replaced by {other} to change {changes}; {note}",
        warnings=(REPLACEMENT_WARNING,),
    )


REPLACEMENT_WARNING = (
    "listeners move to the new, empty target group before the service's new tasks are healthy in "
    "it: expect 5xx responses while ECS deploys; plan the change for a quiet moment"
)


def _cleanup(
    document: Document, old: Mapping[str, Any], context: PlanContext
) -> tuple[tuple[StepGroup, ...], str]:
    """The group deleting a replaced target group (none while it cannot go yet), and why."""
    if context.deletions_allowed < 1:
        return (), f"{old['name']} is deleted in a later pass: this pass's delete budget is spent"
    if old["targets"]:
        return (), (
            f"{old['name']} is deleted once its {old['targets']} registered targets are gone "
            "(ECS deregisters them when the new deployment has replaced the old tasks)"
        )
    balancers = [
        forward.source_name
        for forward in context.spec_set.graph.referrers(
            (document.kind, document.name), of_kind="LoadBalancer"
        )
    ]
    known = {
        live.identifier
        for live in (context.live_of("LoadBalancer", balancer) for balancer in dict.fromkeys(balancers))
        if live is not None
    }
    others = sorted(set(old["loadBalancerArns"]) - known)
    if others:
        return (), (
            f"{old['name']} is kept: {', '.join(others)} forwards to it, and no LoadBalancer document "
            "that forwards to this target group manages it"
        )
    delete = Call(
        "elbv2",
        "delete_target_group",
        {"TargetGroupArn": old["arn"]},
        description=f"delete replaced target group {old['name']}",
    )
    # The graph runs a cleanup group after every document that refers to this one has moved.
    group = StepGroup((TargetGroupKind.kind, document.name, CLEANUP_PART), (delete,))
    return (group,), f"{old['name']} is deleted after the load balancers and services using it have moved"


def _create_calls(
    document: Document,
    aws_name: str,
    desired: Mapping[str, Any],
    tags: Mapping[str, str],
    attributes: Mapping[str, str] | None,
) -> tuple[Call, ...]:
    calls = [
        Call(
            "elbv2",
            "create_target_group",
            {"Name": aws_name, **desired, "Tags": map_to_tags(tags, key="Key", value="Value")},
            outputs={"arn": ("TargetGroups", 0, "TargetGroupArn")},
            description=f"create target group {aws_name}",
        )
    ]
    if attributes:
        calls.append(
            elbv2.modify_attributes(
                "target_group", Ref(TargetGroupKind.kind, document.name, "arn"), attributes
            )
        )
    return tuple(calls)


def _summary(group: Mapping[str, Any], *, targets: int = 0) -> dict[str, Any]:
    return {
        "arn": group["TargetGroupArn"],
        "name": group["TargetGroupName"],
        "loadBalancerArns": list(group.get("LoadBalancerArns") or []),
        "targets": targets,
    }


async def _registered_targets(client: ApiClient, arn: str) -> int:
    """How many targets are registered (in any state, draining included) in a target group."""
    response = await client.call("describe_target_health", TargetGroupArn=arn)
    return len(response.get("TargetHealthDescriptions") or [])


def _live(
    name: str, group: Mapping[str, Any], tags: Mapping[str, str], details: Mapping[str, Any]
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
        details=details,
    )


def _tag_call(live: LiveResource, tags: Mapping[str, str]) -> Call:
    return elbv2.add_tags_call(live.identifier, tags, description="tag target group")


KIND = TargetGroupKind()
