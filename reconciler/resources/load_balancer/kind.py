"""The LoadBalancer kind: an Application Load Balancer, its attributes, tags, listeners and rules.

Observed with DescribeLoadBalancers by name (one paginated listing instead when a name is missing,
see `reconciler.resources.elbv2`), DescribeTags (20 ARNs a call), DescribeLoadBalancerAttributes
only when the spec sets `attributes`, DescribeListeners only when it sets `listeners`,
DescribeRules (every page) only for listeners whose spec sets `rules`, and
DescribeListenerCertificates only for HTTPS listeners (the spec's HTTP listeners, the tutorial's,
read nothing more).

A listener's certificates are two things to ELBv2: the default certificate, the one
CreateListener and ModifyListener take and DescribeListeners shows, and a certificate list (SNI),
changed only with AddListenerCertificates / RemoveListenerCertificates and shown only by
DescribeListenerCertificates. The spec's first certificate is the default, the others the list:
a set keyed by ARN, converged with at most one Add and one Remove call per listener for exactly
the difference. The list is read for every HTTPS listener, not only those listing more than one
certificate, so that dropping certificates from a spec down to one still removes them.

The load balancer itself is converged in its MAIN step group (SetSecurityGroups, SetSubnets,
SetIpAddressType, ModifyLoadBalancerAttributes, AddTags); listeners and rules in a second group,
`(LoadBalancer, name, "listeners")`, which waits for the load balancer and for every TargetGroup its
actions forward to (CreateListener / ModifyListener / DeleteListener by port, CreateRule /
ModifyRule / DeleteRule by priority: exactly the differences). A Service waits for that group,
since ECS refuses a target group no listener uses. The scheme and type cannot change: a
difference is a conflict. Registered in `reconciler.resources.registry`.

ELBv2 answers a plain forward in two shapes (moto: `TargetGroupArn` only; AWS: `TargetGroupArn`
plus a `ForwardConfig` with weight 1 and stickiness off) and conditions in two (`Values`, and the
newer `PathPatternConfig`-style objects): `canonical_action` and `canonical_condition` map every
shape, and the spec, to one form.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, NewType

from reconciler.plan.children import diff_children
from reconciler.plan.delta import Delta, FieldDiff, Path, PathItem, diff_trees
from reconciler.plan.normalise import drop_empty, map_to_tags, pascal_keys, sort_by
from reconciler.plan.rewrites import Handling, Rewrite
from reconciler.plan.steps import MAIN, Action, Call, Ref, ResourcePlan, StepGroup
from reconciler.resources import elbv2
from reconciler.resources.base import KindBase, LiveResource, ObserveContext, PlanContext, TaggedAs
from reconciler.resources.common import tag_delta
from reconciler.resources.load_balancer.model import LISTENERS_PART, ForwardAction, Listener, LoadBalancerSpec
from reconciler.spec import Document

APPLICATION = "application"
IMMUTABLE = ("Scheme", "Type")

ListenerPort = NewType("ListenerPort", int)
"""A listener's port: its key among the listeners of one load balancer."""
RulePriority = NewType("RulePriority", int)
"""A listener rule's priority: its key among the rules of one listener."""

_CONDITION_CONFIGS = {
    "path-pattern": "PathPatternConfig",
    "host-header": "HostHeaderConfig",
    "http-header": "HttpHeaderConfig",
    "http-request-method": "HttpRequestMethodConfig",
    "query-string": "QueryStringConfig",
    "source-ip": "SourceIpConfig",
}
# What AWS fills into a redirect the request leaves partly unset.
_REDIRECT_DEFAULTS = {
    "Protocol": "#{protocol}",
    "Port": "#{port}",
    "Host": "#{host}",
    "Path": "/#{path}",
    "Query": "#{query}",
}


# --- normalisation (pure; table-tested) ----------------------------------------------------------


def canonical_action(action: Mapping[str, Any]) -> dict[str, Any]:
    """One form for an action, whichever shape ELBv2 or the spec wrote it in. `Order` is dropped:
    the spec allows one action per listener or rule, and AWS numbers it itself."""
    kind = action["Type"]
    if kind == "forward":
        config = action.get("ForwardConfig") or {}
        groups = config.get("TargetGroups") or (
            [{"TargetGroupArn": action["TargetGroupArn"]}] if action.get("TargetGroupArn") else []
        )
        stickiness = config.get("TargetGroupStickinessConfig") or {}
        enabled = bool(stickiness.get("Enabled", False))
        return {
            "Type": "forward",
            "ForwardConfig": {
                "TargetGroups": sort_by(
                    (
                        {"TargetGroupArn": group["TargetGroupArn"], "Weight": group.get("Weight", 1)}
                        for group in groups
                    ),
                    key=lambda group: str(group["TargetGroupArn"]),
                ),
                # A duration means nothing while stickiness is off; AWS may or may not echo one.
                "TargetGroupStickinessConfig": (
                    {"Enabled": True, **drop_empty({"DurationSeconds": stickiness.get("DurationSeconds")})}
                    if enabled
                    else {"Enabled": False}
                ),
            },
        }
    if kind == "redirect":
        return {
            "Type": kind,
            "RedirectConfig": {**_REDIRECT_DEFAULTS, **drop_empty(dict(action["RedirectConfig"]))},
        }
    if kind == "fixed-response":
        return {"Type": kind, "FixedResponseConfig": drop_empty(dict(action["FixedResponseConfig"]))}
    return drop_empty({key: value for key, value in action.items() if key != "Order"})  # type: ignore[no-any-return]


def action_request(canonical: Mapping[str, Any]) -> dict[str, Any]:
    """The request shape of a canonical action: a plain forward as `TargetGroupArn`, as people write it."""
    if canonical["Type"] == "forward":
        config = canonical["ForwardConfig"]
        groups = config["TargetGroups"]
        if (
            len(groups) == 1
            and groups[0]["Weight"] == 1
            and not config["TargetGroupStickinessConfig"]["Enabled"]
        ):
            return {"Type": "forward", "TargetGroupArn": groups[0]["TargetGroupArn"]}
    return dict(canonical)


def canonical_condition(condition: Mapping[str, Any]) -> dict[str, Any]:
    """`{Field, Values[, HttpHeaderName]}` with values sorted (they are alternatives)."""
    field = condition["Field"]
    config = condition.get(_CONDITION_CONFIGS.get(field, "")) or {}
    if field == "query-string":
        values = [
            f"{pair['Key']}={pair['Value']}" if pair.get("Key") else pair["Value"]
            for pair in config.get("Values", [])
        ]
    else:
        values = list(config.get("Values") or condition.get("Values") or [])
    canonical: dict[str, Any] = {"Field": field, "Values": sorted(values)}
    if field == "http-header":
        canonical["HttpHeaderName"] = config.get("HttpHeaderName")
    return canonical


def condition_request(canonical: Mapping[str, Any]) -> dict[str, Any]:
    field = canonical["Field"]
    config: dict[str, Any] = {"Values": list(canonical["Values"])}
    if field == "query-string":
        config["Values"] = [
            {"Key": key, "Value": value} if sep else {"Value": key}
            for key, sep, value in (item.partition("=") for item in canonical["Values"])
        ]
    if field == "http-header":
        config["HttpHeaderName"] = canonical["HttpHeaderName"]
    return {"Field": field, _CONDITION_CONFIGS[field]: config}


def canonical_conditions(conditions: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return sort_by(canonical_condition(condition) for condition in conditions)


def spec_action(action: Any, target_group_arn: Callable[[str], Any]) -> dict[str, Any]:
    """A spec action (a model) in canonical form, target group names resolved to ARNs."""
    fields = action.model_dump(by_alias=True, exclude_none=True, mode="json")
    if isinstance(action, ForwardAction):
        if action.target_group is not None:
            return canonical_action(
                {"Type": "forward", "TargetGroupArn": target_group_arn(action.target_group)}
            )
        forward = fields["forwardConfig"]
        return canonical_action(
            {
                "Type": "forward",
                "ForwardConfig": {
                    "TargetGroups": [
                        {
                            "TargetGroupArn": target_group_arn(item["targetGroup"]),
                            "Weight": item.get("weight", 1),
                        }
                        for item in forward["targetGroups"]
                    ],
                    "TargetGroupStickinessConfig": pascal_keys(
                        forward.get("targetGroupStickinessConfig") or {}
                    ),
                },
            }
        )
    return canonical_action(pascal_keys(fields))


def desired_listener(listener: Listener, target_group_arn: Callable[[str], Any]) -> dict[str, Any]:
    tree: dict[str, Any] = {
        "Protocol": listener.protocol,
        "DefaultAction": spec_action(listener.default_action, target_group_arn),
    }
    if listener.ssl_policy is not None:
        tree["SslPolicy"] = listener.ssl_policy
    if listener.certificates:
        # DescribeListeners shows only the default certificate, the first one.
        tree["Certificates"] = [listener.certificates[0].certificate_arn]
    return tree


def additional_certificates(listener: Listener) -> frozenset[str]:
    """The spec's certificates after the default: the listener's certificate list, a set by ARN."""
    arns = [certificate.certificate_arn for certificate in listener.certificates or ()]
    return frozenset(arns[1:]) - frozenset(arns[:1])


def live_additional_certificates(
    described: Sequence[Mapping[str, Any]], *, default: str | None
) -> frozenset[str]:
    """DescribeListenerCertificates' answer as the certificate list: the entry with `IsDefault` is
    the default certificate, not a member; and the default certificate may also be listed as a
    member (AWS then shows it twice), which says nothing the spec can differ on."""
    members = {item["CertificateArn"] for item in described if not item.get("IsDefault")}
    return frozenset(members - {default})


def live_listener(listener: Mapping[str, Any]) -> dict[str, Any]:
    actions = listener.get("DefaultActions") or []
    tree: dict[str, Any] = {"Protocol": listener.get("Protocol")}
    if len(actions) == 1:
        tree["DefaultAction"] = canonical_action(actions[0])
    else:
        tree["DefaultActions"] = [canonical_action(action) for action in actions]
    if listener.get("SslPolicy"):
        tree["SslPolicy"] = listener["SslPolicy"]
    certificates = [item["CertificateArn"] for item in listener.get("Certificates") or ()]
    if certificates:
        tree["Certificates"] = certificates[:1]
    return tree


def desired_rule(rule: Any, target_group_arn: Callable[[str], Any]) -> dict[str, Any]:
    conditions = [
        {
            "Field": condition.field,
            "Values": list(condition.values),
            **({"HttpHeaderName": condition.http_header_name} if condition.http_header_name else {}),
        }
        for condition in rule.conditions
    ]
    return {
        "Conditions": sort_by(_as_canonical_from_flat(condition) for condition in conditions),
        "Action": spec_action(rule.actions[0], target_group_arn),
    }


def _as_canonical_from_flat(condition: Mapping[str, Any]) -> dict[str, Any]:
    canonical: dict[str, Any] = {"Field": condition["Field"], "Values": sorted(condition["Values"])}
    if condition["Field"] == "http-header":
        canonical["HttpHeaderName"] = condition.get("HttpHeaderName")
    return canonical


def live_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    actions = rule.get("Actions") or []
    tree: dict[str, Any] = {"Conditions": canonical_conditions(rule.get("Conditions") or [])}
    if len(actions) == 1:
        tree["Action"] = canonical_action(actions[0])
    else:
        tree["Actions"] = [canonical_action(action) for action in actions]
    return tree


def live_tree(state: Mapping[str, Any]) -> dict[str, Any]:
    tree: dict[str, Any] = drop_empty(
        {
            "Subnets": sorted(
                zone["SubnetId"] for zone in state.get("AvailabilityZones") or () if zone.get("SubnetId")
            ),
            "SecurityGroups": sorted(state.get("SecurityGroups") or []),
            "Scheme": state.get("Scheme"),
            "Type": state.get("Type"),
            "IpAddressType": state.get("IpAddressType"),
        }
    )
    return tree


def desired_tree(
    spec: LoadBalancerSpec, *, subnets: list[str], security_groups: list[Any] | None
) -> dict[str, Any]:
    tree: dict[str, Any] = {"Subnets": sorted(subnets), "Type": APPLICATION}
    if security_groups is not None:
        tree["SecurityGroups"] = sorted(security_groups, key=str)
    if spec.scheme is not None:
        tree["Scheme"] = spec.scheme
    if spec.ip_address_type is not None:
        tree["IpAddressType"] = spec.ip_address_type
    return tree


def _spec_key(item: PathItem) -> PathItem:
    if not isinstance(item, str):
        return item
    # A listener has one default action in the spec; DescribeListeners may answer several.
    return "defaultAction" if item == "DefaultActions" else item[:1].lower() + item[1:]


def spec_path(path: Path, spec: LoadBalancerSpec) -> Path | None:
    """Where an API-shaped diff path is written in the spec: keys in camelCase, a listener by its
    index rather than its port, a rule by its index rather than its priority (its one action is
    `actions[0]`). A listener or rule the spec does not have is named by its port or priority
    under the spec's list. None for paths already in spec terms (`tags`, `attributes`)."""
    if not path or path[0] in ("tags", "attributes"):
        return None
    if path[0] != "listeners":
        return tuple(_spec_key(item) for item in path)
    listeners = {listener.port: index for index, listener in enumerate(spec.listeners or ())}
    port, rest = path[1], path[2:]
    if port not in listeners:
        return ("listeners", f"port {port}")
    index = listeners[port]
    if rest[:1] == ("certificates",) and len(rest) == 2:
        arns = [item.certificate_arn for item in (spec.listeners or [])[index].certificates or ()]
        return ("listeners", index, "certificates", arns.index(rest[1]) if rest[1] in arns else rest[1])
    if rest[:1] != ("rules",):
        return ("listeners", index, *(_spec_key(item) for item in rest))
    rules = {
        rule.priority: position for position, rule in enumerate((spec.listeners or [])[index].rules or ())
    }
    priority, tail = rest[1], rest[2:]
    if priority not in rules:
        return ("listeners", index, "rules", f"priority {priority}")
    if tail[:1] == ("Action",):
        tail = ("actions", 0, *tail[1:])
    return ("listeners", index, "rules", rules[priority], *(_spec_key(item) for item in tail))


# --- the kind --------------------------------------------------------------------------------------


# What EC2/ELBv2 answer unlike the spec's spelling, and how this kind keeps it from showing as a
# change: rendered to docs/aws-rewrites.md (see reconciler.plan.rewrites).
_ELBV2 = "botocore elbv2 2015-12-01"
_LB_DEFAULTS = (
    "tests/resources/test_network_rewrites.py::"
    "test_load_balancer_defaults_and_attributes_aws_fills_in_plan_nothing"
)
_ACTIONS = "tests/resources/test_load_balancer.py::test_listener_default_actions_compare_in_canonical_form"
_CERTIFICATES = (
    "tests/resources/test_listener_certificates.py::"
    "test_a_real_aws_certificate_list_matching_the_spec_plans_nothing"
)
_RULE = "tests/resources/test_load_balancer.py::test_a_real_aws_rule_matches_its_spec_in_any_order"
_RULE_PAGES = "tests/resources/test_load_balancer.py::test_every_page_of_rules_is_read"

REWRITES: tuple[Rewrite, ...] = (
    Rewrite(
        field="scheme",
        sent="left out",
        answered="`internet-facing`",
        handling=Handling.NOT_MANAGED,
        how="compared only when the spec sets it",
        source=f"{_ELBV2} CreateLoadBalancerInput.Scheme: the default is an Internet-facing load balancer",
        test=_LB_DEFAULTS,
    ),
    Rewrite(
        field="ipAddressType",
        sent="left out",
        answered="assumed `ipv4`",
        handling=Handling.NOT_MANAGED,
        how="compared only when the spec sets it, so whatever AWS fills in is never a difference",
        source=f"undocumented: {_ELBV2} CreateLoadBalancerInput.IpAddressType lists the values but names "
        "no default",
        test=_LB_DEFAULTS,
    ),
    Rewrite(
        field="type",
        sent="left out",
        answered="`application`",
        handling=Handling.NORMALISED,
        how="the engine always sends and compares `application`, the only type the spec allows",
        source=f"{_ELBV2} CreateLoadBalancerInput.Type: the default is application",
        test=_LB_DEFAULTS,
    ),
    Rewrite(
        field="subnets",
        sent="subnet ids in any order, or `default`",
        answered="`AvailabilityZones[]`, one `{ZoneName, SubnetId, LoadBalancerAddresses}` per subnet, in "
        "any order",
        handling=Handling.NORMALISED,
        how="both sides become the sorted list of subnet ids; `default` is resolved to the default "
        "VPC's default-for-AZ subnets once per pass",
        source=f"{_ELBV2} LoadBalancer.AvailabilityZones: the subnets for the load balancer",
        test="tests/resources/test_load_balancer.py::test_load_balancer_subnets_and_groups_compare_sorted",
    ),
    Rewrite(
        field="securityGroups",
        sent="SecurityGroup document names (or `sg-` ids), in any order",
        answered="`SecurityGroups`, group ids in any order",
        handling=Handling.RESOLVED,
        how="names are resolved to the groups' ids and both sides sorted",
        source=f"{_ELBV2} LoadBalancer.SecurityGroups: the IDs of the security groups",
        test="tests/resources/test_load_balancer.py::test_in_sync_real_aws_load_balancer_plans_nothing",
    ),
    Rewrite(
        field="attributes",
        sent="YAML numbers and booleans, `60`, `true`",
        answered='strings, `"60"`, `"true"`',
        handling=Handling.CANONICAL_AT_VALIDATION,
        how="values are stored as AWS's strings when the spec loads",
        source=f"{_ELBV2} LoadBalancerAttribute.Value is a string shape",
        test=_LB_DEFAULTS,
    ),
    Rewrite(
        field="attributes",
        sent="some keys",
        answered="every attribute of the load balancer, with its default (`idle_timeout.timeout_seconds` 60, "
        "`deletion_protection.enabled` false, ...)",
        handling=Handling.NOT_MANAGED,
        how="only the keys the spec sets are compared and sent",
        source=f"{_ELBV2} LoadBalancerAttribute.Key documents each attribute with its default",
        test=_LB_DEFAULTS,
    ),
    Rewrite(
        field="listeners[].sslPolicy",
        sent="left out",
        answered="a security policy AWS chooses",
        handling=Handling.NOT_MANAGED,
        how="compared only when the spec sets it",
        source=f"undocumented: {_ELBV2} CreateListenerInput.SslPolicy names no default, yet "
        "Listener.SslPolicy is answered for every HTTPS listener",
        test="tests/resources/test_load_balancer.py::test_https_listener_manages_the_default_certificate_and_policy_only_when_set",
    ),
    Rewrite(
        field="listeners[].certificates",
        sent="several certificates",
        answered="DescribeListeners: the default certificate alone; DescribeListenerCertificates: the "
        "default (`IsDefault: true`) and the certificate list",
        handling=Handling.NORMALISED,
        how="the first certificate is compared with the default; the others, as a set, with "
        "DescribeListenerCertificates' entries that are not `IsDefault`, read for HTTPS listeners only",
        source=f"{_ELBV2} Listener.Certificates: the default certificate for the listener; "
        "Certificate.IsDefault is included only when describing listener certificates",
        test=_CERTIFICATES,
    ),
    Rewrite(
        field="listeners[].certificates",
        sent="the default certificate also after the first",
        answered="DescribeListenerCertificates lists it twice, once with `IsDefault` true and once false",
        handling=Handling.NORMALISED,
        how="the default certificate is never a member of the compared set",
        source=f"{_ELBV2} DescribeListenerCertificates: if the default certificate is also in the "
        "certificate list, it appears twice in the results",
        test=_CERTIFICATES,
    ),
    Rewrite(
        field="listeners[].defaultAction, listeners[].rules[].actions[]",
        sent="one action, no `order`",
        answered="`Order: 1`",
        handling=Handling.NORMALISED,
        how="`Order` is dropped on both sides: the spec allows one action per listener or rule",
        source=f"undocumented: {_ELBV2} Action.Order says it is required with several actions, not "
        "that AWS numbers a single one",
        test=_ACTIONS,
    ),
    Rewrite(
        field="listeners[].defaultAction, listeners[].rules[].actions[]",
        sent="`{type: forward, targetGroup: NAME}` (sent as `TargetGroupArn`)",
        answered="`TargetGroupArn` plus an echoed `ForwardConfig` with that target group at `Weight` 1 and "
        "`TargetGroupStickinessConfig` `{Enabled: false}`",
        handling=Handling.NORMALISED,
        how="every shape of a forward becomes one `ForwardConfig` with weights and stickiness spelt out; "
        "a plain forward is sent back as `TargetGroupArn`",
        source="https://github.com/hashicorp/terraform-provider-aws/issues/40916",
        test="tests/resources/test_load_balancer.py::test_every_shape_of_a_plain_forward_is_one_canonical_form",
    ),
    Rewrite(
        field="listeners[].defaultAction.forwardConfig (and rules' actions)",
        sent="target groups in any order, `weight` left out, stickiness disabled",
        answered="target groups in any order, `Weight` 1, a `DurationSeconds` even while stickiness is off",
        handling=Handling.NORMALISED,
        how="target groups sorted by ARN, a missing weight is 1, and the duration is dropped while "
        "stickiness is off",
        source="https://github.com/hashicorp/terraform-provider-aws/issues/40916",
        test=_ACTIONS,
    ),
    Rewrite(
        field="listeners[].defaultAction.redirectConfig (and rules' actions)",
        sent="some of protocol, port, host, path, query left out; `port` as a YAML number",
        answered="the parts left out as `#{protocol}`, `#{port}`, `#{host}`, `/#{path}`, `#{query}`; the "
        'port as a string, `"443"`',
        handling=Handling.NORMALISED,
        how="the keywords that keep each part are filled in on both sides; `port` is stored as a "
        "string when the spec loads",
        source=f"undocumented: {_ELBV2} RedirectActionConfig names the #{{...}} keywords and types Port "
        "as a string, but not the values AWS fills in for parts left unset",
        test=_ACTIONS,
    ),
    Rewrite(
        field="listeners[].defaultAction.fixedResponseConfig (and rules' actions)",
        sent="`statusCode` as a YAML number; `contentType` left out",
        answered='`StatusCode` as a string, `"503"`; a `ContentType` may be answered',
        handling=Handling.NOT_MANAGED,
        how="`statusCode` is stored as a string when the spec loads; a `contentType` the spec leaves out "
        "is not compared",
        source=f"undocumented: {_ELBV2} FixedResponseActionConfig types StatusCode as a string and names "
        "no ContentType default",
        test=_ACTIONS,
    ),
    Rewrite(
        field="listeners[].rules[].conditions",
        sent="`{field, values}` in any order, values in any order",
        answered="`Values` and the field's `...Config` object (`PathPatternConfig`, `HostHeaderConfig`, ...) "
        "both, or only the config object; in any order",
        handling=Handling.NORMALISED,
        how="every shape becomes `{Field, Values}` with sorted values, and the conditions are sorted",
        source=f"{_ELBV2} RuleCondition.Values: specify only for host-header or path-pattern, "
        "alternatively HostHeaderConfig or PathPatternConfig",
        test=_RULE,
    ),
    Rewrite(
        field="listeners[].rules[].conditions (query-string)",
        sent="`key=value` strings",
        answered="`QueryStringConfig.Values[]` of `{Key, Value}` pairs",
        handling=Handling.NORMALISED,
        how="pairs become `key=value` (a value alone without `=`) on both sides",
        source=f"{_ELBV2} QueryStringConditionConfig.Values: the key/value pairs or values",
        test="tests/resources/test_load_balancer.py::test_conditions_of_every_shape_normalise_to_sorted_values",
    ),
    Rewrite(
        field="listeners[].rules[].priority",
        sent="a number, `10`",
        answered='a string, `"10"`; DescribeRules also answers the default rule (`IsDefault`, priority '
        '`"default"`)',
        handling=Handling.NORMALISED,
        how="rules are keyed by the priority parsed as a number; the default rule is skipped (it is the "
        "listener's default action)",
        source=f"{_ELBV2} Rule.Priority is a string shape; Rule.IsDefault",
        test=_RULE_PAGES,
    ),
)


class LoadBalancerKind(KindBase):
    kind: ClassVar[str] = "LoadBalancer"
    tagged_as: ClassVar[TaggedAs | None] = TaggedAs("elasticloadbalancing:loadbalancer")
    rewrites: ClassVar[tuple[Rewrite, ...]] = REWRITES

    async def observe(
        self, documents: Sequence[Document], context: ObserveContext
    ) -> Mapping[str, LiveResource]:
        client = context.clients.service("elbv2")
        by_aws_name = {document.aws_name: document for document in documents}
        balancers = await elbv2.describe_by_names(
            client,
            operation="describe_load_balancers",
            result_key="LoadBalancers",
            name_key="LoadBalancerName",
            not_found_code="LoadBalancerNotFound",
            names=list(by_aws_name),
        )
        tags = await elbv2.describe_tags(client, [item["LoadBalancerArn"] for item in balancers.values()])
        found: dict[str, LiveResource] = {}
        for aws_name, balancer in balancers.items():
            document = by_aws_name[aws_name]
            spec = document.spec_as(LoadBalancerSpec)
            arn = balancer["LoadBalancerArn"]
            details: dict[str, Any] = {}
            if spec.attributes is not None:
                response = await client.call("describe_load_balancer_attributes", LoadBalancerArn=arn)
                details["attributes"] = elbv2.attributes_to_map(response.get("Attributes"))
            if spec.listeners is not None:
                with_rules = {listener.port for listener in spec.listeners if listener.rules is not None}
                https = frozenset(
                    listener.port for listener in spec.listeners if listener.protocol == "HTTPS"
                )
                details["listeners"] = await _observe_listeners(client, arn, with_rules, https)
            found[document.name] = _live(document.name, balancer, tags.get(arn, {}), details)
        return found

    async def observe_owned(self, context: ObserveContext) -> Sequence[LiveResource]:
        client = context.clients.service("elbv2")
        balancers = [
            item
            for item in await elbv2.list_all(
                client, operation="describe_load_balancers", result_key="LoadBalancers"
            )
            if item.get("Type") == APPLICATION
        ]
        found = await elbv2.owned(
            client,
            balancers,
            arn_key="LoadBalancerArn",
            instance=context.settings.instance,
            kind=self.kind,
            claimed=context.claimed(self.kind),
            namespace=context.settings.namespace,
        )
        return [_live(source, balancer, tags, {}) for source, balancer, tags in found]

    def plan(self, document: Document, live: LiveResource | None, context: PlanContext) -> ResourcePlan:
        spec = document.spec_as(LoadBalancerSpec)
        security_groups = (
            context.security_group_ids(spec.security_groups) if spec.security_groups is not None else None
        )
        desired = desired_tree(
            spec, subnets=context.subnet_ids(spec.subnets), security_groups=security_groups
        )
        if live is None:
            return self._plan_create(document, spec, desired, context)
        return self._plan_update(document, spec, desired, live, context)

    def _plan_create(
        self, document: Document, spec: LoadBalancerSpec, desired: Mapping[str, Any], context: PlanContext
    ) -> ResourcePlan:
        name = document.name
        arn = Ref(self.kind, name, "arn")
        tags = context.desired_tags(document)
        main_calls = [
            Call(
                "elbv2",
                "create_load_balancer",
                {"Name": document.aws_name, **desired, "Tags": map_to_tags(tags, key="Key", value="Value")},
                outputs={
                    "arn": ("LoadBalancers", 0, "LoadBalancerArn"),
                    "dnsName": ("LoadBalancers", 0, "DNSName"),
                    "canonicalHostedZoneId": ("LoadBalancers", 0, "CanonicalHostedZoneId"),
                },
                description=f"create load balancer {document.aws_name}",
            )
        ]
        if spec.attributes:
            main_calls.append(elbv2.modify_attributes("load_balancer", arn, spec.attributes))
        listener_calls, listener_delta = _listener_calls(name, arn, spec, None, _target_group_arns(context))
        groups = (
            StepGroup((self.kind, name, MAIN), tuple(main_calls)),
            *_listeners_group(name, listener_calls),
        )
        attributes = {"attributes": dict(spec.attributes)} if spec.attributes else {}
        delta = diff_trees({**desired, **attributes}, None) + listener_delta
        return ResourcePlan(self.kind, name, Action.CREATE, delta.with_spec_paths(_written_in(spec)), groups)

    def _plan_update(
        self,
        document: Document,
        spec: LoadBalancerSpec,
        desired: Mapping[str, Any],
        live: LiveResource,
        context: PlanContext,
    ) -> ResourcePlan:
        name = document.name
        delta = diff_trees(desired, live_tree(live.state))
        immutable = Delta(tuple(diff for diff in delta if diff.path[0] in IMMUTABLE))
        if immutable:
            changes = ", ".join(f"{d.dotted_path} {d.live!r} -> {d.desired!r}" for d in immutable)
            return ResourcePlan(
                self.kind,
                name,
                Action.CONFLICT,
                delta.with_spec_paths(_written_in(spec)),
                message=f"load balancer {document.aws_name} cannot change {changes} in place; "
                "delete it or rename the load balancer to apply",
            )
        main_calls, main_delta = _main_update_calls(
            spec, desired, delta, live, tags=context.desired_tags(document)
        )
        listener_calls, listener_delta = _listener_calls(
            name, live.identifier, spec, live.details.get("listeners"), _target_group_arns(context)
        )
        groups = (
            *((StepGroup((self.kind, name, MAIN), tuple(main_calls)),) if main_calls else ()),
            *_listeners_group(name, listener_calls),
        )
        full_delta = (main_delta + listener_delta).with_spec_paths(_written_in(spec))
        return ResourcePlan(self.kind, name, Action.UPDATE if full_delta else Action.NONE, full_delta, groups)

    def tag_call(self, live: LiveResource, tags: Mapping[str, str]) -> Call:
        """The call that sets `tags` on the live object (how the planner records a spec hash)."""
        return _tag_call(live, tags)

    def plan_delete(self, live: LiveResource, context: PlanContext) -> ResourcePlan:
        delete = Call(
            "elbv2",
            "delete_load_balancer",
            {"LoadBalancerArn": live.identifier},
            description="delete load balancer (its listeners and rules go with it)",
        )
        return ResourcePlan(
            self.kind, live.name, Action.DELETE, groups=(StepGroup((self.kind, live.name, MAIN), (delete,)),)
        )


def _target_group_arns(context: PlanContext) -> Callable[[str], Any]:
    def target_group_arn(target_group: str) -> Any:
        return context.output("TargetGroup", target_group, "arn")

    return target_group_arn


def _written_in(spec: LoadBalancerSpec) -> Callable[[Path], Path | None]:
    def written(path: Path) -> Path | None:
        return spec_path(path, spec)

    return written


def _listeners_group(name: str, calls: Sequence[Call]) -> tuple[StepGroup, ...]:
    return (StepGroup((LoadBalancerKind.kind, name, LISTENERS_PART), tuple(calls)),) if calls else ()


# The load balancer's own setters, one per field group that differs, in this order.
_SETTERS = (
    ("SecurityGroups", "set_security_groups", "set load balancer security groups"),
    ("Subnets", "set_subnets", "set load balancer subnets"),
    ("IpAddressType", "set_ip_address_type", "set load balancer IP address type"),
)


def _main_update_calls(
    spec: LoadBalancerSpec,
    desired: Mapping[str, Any],
    delta: Delta,
    live: LiveResource,
    *,
    tags: Mapping[str, str],
) -> tuple[list[Call], Delta]:
    """The MAIN group's calls on an existing load balancer, and its delta: fields, attributes, tags."""
    arn = live.identifier
    calls = [
        Call("elbv2", operation, {"LoadBalancerArn": arn, field: desired[field]}, description=description)
        for field, operation, description in _SETTERS
        if delta.touches((field,))
    ]
    live_attributes = live.details.get("attributes") or {}
    attribute_changes = elbv2.changed_attributes(spec.attributes, live_attributes)
    if attribute_changes:
        calls.append(elbv2.modify_attributes("load_balancer", arn, attribute_changes))
    tag_changes, tag_diffs = tag_delta(tags, live.tags)
    if tag_changes:
        calls.append(_tag_call(live, tag_changes))
    attribute_diffs = Delta(
        tuple(
            FieldDiff(("attributes", key), value, live_attributes.get(key))
            for key, value in sorted(attribute_changes.items())
        )
    )
    return calls, delta + attribute_diffs + tag_diffs


def _listener_calls(
    name: str,
    load_balancer_arn: Any,
    spec: LoadBalancerSpec,
    live_listeners: Mapping[int, Mapping[str, Any]] | None,
    target_group_arn: Callable[[str], Any],
) -> tuple[list[Call], Delta]:
    """Exactly the listener and rule changes: by port, then by priority. Listeners the spec no
    longer names go first; then, port by port, the listener, its certificates and its rules."""
    if spec.listeners is None:
        return [], Delta()
    live_listeners = live_listeners or {}
    listeners = {
        ListenerPort(listener.port): listener
        for listener in sorted(spec.listeners, key=lambda item: item.port)
    }
    desired = {port: desired_listener(listener, target_group_arn) for port, listener in listeners.items()}
    changes = diff_children(
        desired,
        {
            ListenerPort(port): live_listener(observed["listener"])
            for port, observed in sorted(live_listeners.items())
        },
        prefix=("listeners",),
    )
    calls = [
        Call(
            "elbv2",
            "delete_listener",
            {"ListenerArn": live_listeners[port]["arn"]},
            description=f"delete listener :{port}",
        )
        for port in changes.removed
    ]
    delta = changes.delta_of(changes.removed)
    for port, listener in listeners.items():
        observed = live_listeners.get(port)
        if observed is None:
            listener_arn: Any = Ref(LoadBalancerKind.kind, name, f"listener:{port}")
            calls.append(_create_listener(load_balancer_arn, port, desired[port]))
        else:
            listener_arn = observed["arn"]
            if port in changes.changed:
                calls.append(_modify_listener(listener_arn, port, desired[port], changes.deltas[port]))
        child_calls, child_delta = _listener_children(
            listener, listener_arn, observed, desired[port], target_group_arn
        )
        calls += child_calls
        delta += changes.delta_of((port,)) + child_delta
    return calls, delta


def _create_listener(load_balancer_arn: Any, port: ListenerPort, desired: Mapping[str, Any]) -> Call:
    return Call(
        "elbv2",
        "create_listener",
        {"LoadBalancerArn": load_balancer_arn, "Port": port, **_listener_request(desired)},
        outputs={f"listener:{port}": ("Listeners", 0, "ListenerArn")},
        description=f"create listener :{port}",
    )


def _modify_listener(listener_arn: Any, port: ListenerPort, desired: Mapping[str, Any], delta: Delta) -> Call:
    """ModifyListener with the fields that differ, and what ELBv2 needs alongside them."""
    changed = {str(diff.path[2]) for diff in delta}
    request = _listener_request(desired)
    fields = {"DefaultActions"} if "DefaultAction" in changed or "DefaultActions" in changed else set()
    if "Protocol" in changed:
        fields |= set(request)  # a protocol change needs its certificates and policy alongside
    fields |= changed & {"SslPolicy", "Certificates"}
    return Call(
        "elbv2",
        "modify_listener",
        {"ListenerArn": listener_arn, **{key: request[key] for key in sorted(fields) if key in request}},
        description=f"modify listener :{port}",
    )


def _listener_children(
    listener: Listener,
    listener_arn: Any,
    observed: Mapping[str, Any] | None,
    desired: Mapping[str, Any],
    target_group_arn: Callable[[str], Any],
) -> tuple[list[Call], Delta]:
    """A listener's certificate list (HTTPS only) and its rules (when the spec sets them)."""
    calls: list[Call] = []
    diffs: list[FieldDiff] = []
    if listener.protocol == "HTTPS":
        live_certificates = (
            live_additional_certificates(
                observed.get("certificates") or (), default=(desired.get("Certificates") or [None])[0]
            )
            if observed is not None
            else frozenset()
        )
        certificate_calls, certificate_diffs = _certificate_calls(
            listener.port, listener_arn, additional_certificates(listener), live_certificates
        )
        calls += certificate_calls
        diffs += certificate_diffs
    if listener.rules is None:
        return calls, Delta(tuple(diffs))
    live_rules = (observed.get("rules") or {}) if observed is not None else {}
    rule_calls, rule_delta = _rule_calls(listener, listener_arn, live_rules, target_group_arn)
    return calls + rule_calls, Delta(tuple(diffs)) + rule_delta


def _certificate_calls(
    port: int, listener_arn: Any, desired: frozenset[str], live: frozenset[str]
) -> tuple[list[Call], list[FieldDiff]]:
    """Exactly the certificate list's difference: one Add, then one Remove, each only when needed."""
    missing, extra = sorted(desired - live), sorted(live - desired)
    diffs = [FieldDiff(("listeners", port, "certificates", arn), arn, None) for arn in missing]
    diffs += [FieldDiff(("listeners", port, "certificates", arn), None, arn) for arn in extra]
    calls = [
        Call(
            "elbv2",
            f"{operation}_listener_certificates",
            {"ListenerArn": listener_arn, "Certificates": [{"CertificateArn": arn} for arn in arns]},
            description=f"{verb} {len(arns)} certificate(s) on :{port}",
        )
        for operation, verb, arns in (("add", "add", missing), ("remove", "remove", extra))
        if arns
    ]
    return calls, diffs


def _rule_calls(
    listener: Listener,
    listener_arn: Any,
    live_rules: Mapping[int, Mapping[str, Any]],
    target_group_arn: Callable[[str], Any],
) -> tuple[list[Call], Delta]:
    port = listener.port
    desired = {
        RulePriority(rule.priority): desired_rule(rule, target_group_arn)
        for rule in sorted(listener.rules or (), key=lambda item: item.priority)
    }
    changes = diff_children(
        desired,
        {RulePriority(priority): live_rule(rule) for priority, rule in sorted(live_rules.items())},
        prefix=("listeners", port, "rules"),
    )
    # Deletions first, so a priority freed here is never the reason a create fails.
    calls = [
        Call(
            "elbv2",
            "delete_rule",
            {"RuleArn": live_rules[priority]["RuleArn"]},
            description=f"delete rule {priority} on :{port}",
        )
        for priority in changes.removed
    ]
    for priority in changes.puts:
        request = {
            "Conditions": [condition_request(condition) for condition in desired[priority]["Conditions"]],
            "Actions": [action_request(desired[priority]["Action"])],
        }
        if changes.is_added(priority):
            calls.append(
                Call(
                    "elbv2",
                    "create_rule",
                    {"ListenerArn": listener_arn, "Priority": priority, **request},
                    description=f"create rule {priority} on :{port}",
                )
            )
        else:
            calls.append(
                Call(
                    "elbv2",
                    "modify_rule",
                    {"RuleArn": live_rules[priority]["RuleArn"], **request},
                    description=f"modify rule {priority} on :{port}",
                )
            )
    return calls, changes.delta_of(changes.removed) + changes.delta_of(changes.puts)


def _listener_request(desired: Mapping[str, Any]) -> dict[str, Any]:
    request: dict[str, Any] = {
        "Protocol": desired["Protocol"],
        "DefaultActions": [action_request(desired["DefaultAction"])],
    }
    if "SslPolicy" in desired:
        request["SslPolicy"] = desired["SslPolicy"]
    if "Certificates" in desired:
        request["Certificates"] = [{"CertificateArn": arn} for arn in desired["Certificates"]]
    return request


async def _observe_listeners(
    client: Any, load_balancer_arn: str, with_rules: set[int], with_certificates: frozenset[int] = frozenset()
) -> dict[int, dict[str, Any]]:
    """Listeners by port; rules by priority (every page: a first page alone would make the plan
    re-create rules that exist) for the ports whose spec manages rules; the described certificates
    (default and list) for the ports whose spec and live listener are both HTTPS."""
    listeners: dict[int, dict[str, Any]] = {}
    async for page in client.paginate(
        "describe_listeners", LoadBalancerArn=load_balancer_arn, PageSize=elbv2.PAGE_SIZE
    ):
        for listener in page.get("Listeners", []):
            listeners[int(listener["Port"])] = {"arn": listener["ListenerArn"], "listener": listener}
    for port in sorted(with_rules & set(listeners)):
        rules: dict[int, dict[str, Any]] = {}
        async for page in client.paginate(
            "describe_rules", ListenerArn=listeners[port]["arn"], PageSize=elbv2.PAGE_SIZE
        ):
            for rule in page.get("Rules", []):
                if not rule.get("IsDefault") and str(rule.get("Priority", "")).isdigit():
                    rules[int(rule["Priority"])] = rule
        listeners[port]["rules"] = rules
    for port in sorted(with_certificates & set(listeners)):
        if listeners[port]["listener"].get("Protocol") != "HTTPS":
            continue  # not HTTPS yet: it has no certificate list to read
        listeners[port]["certificates"] = [
            certificate
            async for page in client.paginate(
                "describe_listener_certificates", ListenerArn=listeners[port]["arn"], PageSize=elbv2.PAGE_SIZE
            )
            for certificate in page.get("Certificates", [])
        ]
    return listeners


def _live(
    name: str, balancer: Mapping[str, Any], tags: Mapping[str, str], details: Mapping[str, Any]
) -> LiveResource:
    return LiveResource(
        kind=LoadBalancerKind.kind,
        name=name,
        identifier=balancer["LoadBalancerArn"],
        state=balancer,
        tags=dict(tags),
        outputs={
            "arn": balancer["LoadBalancerArn"],
            "dnsName": balancer.get("DNSName"),
            "name": balancer["LoadBalancerName"],
            "canonicalHostedZoneId": balancer.get("CanonicalHostedZoneId"),
        },
        details=details,
    )


def _tag_call(live: LiveResource, tags: Mapping[str, str]) -> Call:
    return elbv2.add_tags_call(live.identifier, tags, description="tag load balancer")


KIND = LoadBalancerKind()
