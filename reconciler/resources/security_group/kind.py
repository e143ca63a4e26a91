"""The SecurityGroup kind: a VPC security group, its ingress and egress rules, and its tags.

Observed with one DescribeSecurityGroups call per 200 group names (rules and tags come with it).
Rules are compared one atomic rule at a time (one protocol, one port range, one source), so the
plan authorizes exactly the missing rules and revokes exactly the extra ones: at most one
Authorize, one Revoke and one UpdateSecurityGroupRuleDescriptions call per direction, and only for
the directions the spec sets. Rules live in their own step group, `(SecurityGroup, name, "rules")`,
which waits for this group's creation and for the creation of every group its rules name (the
design's "security groups → their rules"). Description and VPC cannot change: a difference is a
conflict. Registered in `reconciler.resources.registry`; LoadBalancer and Service documents refer
to its `id` output.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, NewType

from reconciler.plan.children import diff_children
from reconciler.plan.delta import Delta, Path, diff_trees
from reconciler.plan.normalise import map_to_tags, tags_to_map
from reconciler.plan.ownership import INSTANCE, MANAGED_BY, MANAGED_BY_VALUE, SOURCE
from reconciler.plan.rewrites import Handling, Rewrite
from reconciler.plan.steps import MAIN, Action, Call, GroupKey, Ref, ResourcePlan, StepGroup
from reconciler.resources.base import KindBase, LiveResource, ObserveContext, PlanContext, TaggedAs
from reconciler.resources.common import batched, owned_by_instance, tag_delta
from reconciler.resources.security_group.model import RULES_PART, SecurityGroupRule, SecurityGroupSpec
from reconciler.spec import Document
from reconciler.spec.models import is_security_group_id

DEFAULT_DESCRIPTION = "Managed by ecs-reconciler"
FILTER_VALUES = 200  # values per EC2 filter
PAGE_SIZE = 1000  # DescribeSecurityGroups MaxResults maximum
DIRECTIONS = (("ingress", "IpPermissions"), ("egress", "IpPermissionsEgress"))

# EC2 answers with names for these, but accepts (and some tools write) the IANA numbers.
_PROTOCOL_NUMBERS = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6", "all": "-1"}


@dataclass(frozen=True)
class AtomicRule:
    """One rule with one source: what EC2 authorizes and revokes as a unit.

    `source_type` is `cidr`, `ipv6Cidr`, `securityGroup` or `prefixListId`; `source` a CIDR, a
    group id (or a `Ref` to a group created in this pass) or a prefix list id. Ports are None
    for "all ports" (protocol -1, or ICMP with every type and code).
    """

    protocol: str
    from_port: int | None
    to_port: int | None
    source_type: str
    source: Any
    description: str | None = None

    @property
    def identity(self) -> tuple[Any, ...]:
        """What makes a rule the same rule for EC2: everything but the description."""
        return (self.protocol, self.from_port, self.to_port, self.source_type, self.source)

    @property
    def label(self) -> str:
        ports = "all ports" if self.from_port is None else f"{self.from_port}-{self.to_port}"
        return f"{self.protocol} {ports} {self.source_type} {self.source}"


def normalise_ports(
    protocol: str, from_port: int | None, to_port: int | None
) -> tuple[int | None, int | None]:
    if protocol == "-1" or (from_port in (None, -1) and to_port in (None, -1)):
        return None, None
    return from_port, to_port


def normalise_protocol(protocol: str) -> str:
    return _PROTOCOL_NUMBERS.get(protocol.lower(), protocol.lower())


def expand_spec_rules(rules: Sequence[SecurityGroupRule], group_id: Callable[[str], Any]) -> list[AtomicRule]:
    """The spec's rules as atomic rules; `group_id` turns a SecurityGroup document name into its id."""
    return _unique(_atomic(rule, group_id) for rule in rules)


def _atomic(rule: SecurityGroupRule, group_id: Callable[[str], Any]) -> AtomicRule:
    port_range = rule.port_range
    from_port, to_port = normalise_ports(
        rule.protocol, *(port_range if port_range is not None else (None, None))
    )
    if rule.cidr is not None:
        source_type, source = "cidr", rule.cidr
    elif rule.ipv6_cidr is not None:
        source_type, source = "ipv6Cidr", rule.ipv6_cidr
    elif rule.security_group is not None:
        reference = rule.security_group
        source_type = "securityGroup"
        source = reference if is_security_group_id(reference) else group_id(reference)
    else:
        source_type, source = "prefixListId", str(rule.prefix_list_id)
    return AtomicRule(rule.protocol, from_port, to_port, source_type, source, rule.description)


def spec_rule_indexes(
    rules: Sequence[SecurityGroupRule], group_id: Callable[[str], Any]
) -> dict[tuple[Any, ...], int]:
    """Each atomic rule's identity → the index of the first spec rule that writes it."""
    indexes: dict[tuple[Any, ...], int] = {}
    for index, rule in enumerate(rules):
        indexes.setdefault(_atomic(rule, group_id).identity, index)
    return indexes


def expand_permissions(permissions: Iterable[Mapping[str, Any]] | None) -> list[AtomicRule]:
    """EC2's `IpPermissions` (several sources per entry) as atomic rules."""
    expanded = []
    for permission in permissions or ():
        protocol = normalise_protocol(str(permission.get("IpProtocol", "-1")))
        from_port, to_port = normalise_ports(protocol, permission.get("FromPort"), permission.get("ToPort"))
        sources: list[tuple[str, Any, str | None]] = [
            *(("cidr", item["CidrIp"], item.get("Description")) for item in permission.get("IpRanges") or ()),
            *(
                ("ipv6Cidr", item["CidrIpv6"], item.get("Description"))
                for item in permission.get("Ipv6Ranges") or ()
            ),
            *(
                ("securityGroup", item["GroupId"], item.get("Description"))
                for item in permission.get("UserIdGroupPairs") or ()
            ),
            *(
                ("prefixListId", item["PrefixListId"], item.get("Description"))
                for item in permission.get("PrefixListIds") or ()
            ),
        ]
        for source_type, source, description in sources:
            expanded.append(
                AtomicRule(protocol, from_port, to_port, source_type, source, description or None)
            )
    return _unique(expanded)


def _unique(rules: Iterable[AtomicRule]) -> list[AtomicRule]:
    by_identity: dict[tuple[Any, ...], AtomicRule] = {}
    for rule in rules:
        by_identity.setdefault(rule.identity, rule)
    return sorted(by_identity.values(), key=lambda rule: tuple(str(part) for part in rule.identity))


RuleIdentity = NewType("RuleIdentity", tuple[Any, ...])
"""An atomic rule's `identity`: its key among the rules of one direction of one group."""


@dataclass(frozen=True)
class RuleChanges:
    missing: tuple[AtomicRule, ...] = ()
    extra: tuple[AtomicRule, ...] = ()
    redescribed: tuple[AtomicRule, ...] = ()
    """Rules present on both sides whose description the spec sets differently (desired form)."""
    delta: Delta = field(default_factory=Delta)
    """The missing, then the extra, then the redescribed rules' diffs, each under its label."""

    def __bool__(self) -> bool:
        return bool(self.missing or self.extra or self.redescribed)


def rule_changes(
    desired: Sequence[AtomicRule], live: Sequence[AtomicRule], *, prefix: Path = ()
) -> RuleChanges:
    """Exactly what to authorize, revoke and re-describe; a description the spec leaves out is not
    managed. The delta names each rule by its label under `prefix` (its direction)."""
    desired_by_identity = {RuleIdentity(rule.identity): rule for rule in desired}
    live_by_identity = {RuleIdentity(rule.identity): rule for rule in live}
    # Both sides agree on every field of the identity; the only field left to differ is a
    # description the spec sets (a view leaves out what is None).
    changes = diff_children(
        {identity: _rule_view(rule) for identity, rule in desired_by_identity.items()},
        {identity: _rule_view(rule) for identity, rule in live_by_identity.items()},
        prefix=prefix,
        path_item=lambda identity: AtomicRule(*identity).label,
    )
    return RuleChanges(
        missing=tuple(desired_by_identity[identity] for identity in changes.added),
        extra=tuple(live_by_identity[identity] for identity in changes.removed),
        redescribed=tuple(desired_by_identity[identity] for identity in changes.changed),
        delta=changes.delta_of((*changes.added, *changes.removed, *changes.changed)),
    )


_SOURCE_FIELDS = {
    "cidr": ("IpRanges", "CidrIp"),
    "ipv6Cidr": ("Ipv6Ranges", "CidrIpv6"),
    "securityGroup": ("UserIdGroupPairs", "GroupId"),
    "prefixListId": ("PrefixListIds", "PrefixListId"),
}


def to_ip_permissions(rules: Iterable[AtomicRule]) -> list[dict[str, Any]]:
    """Atomic rules as EC2's request shape, one `IpPermissions` entry per protocol and port range."""
    permissions: dict[tuple[str, int | None, int | None], dict[str, Any]] = {}
    for rule in rules:
        key = (rule.protocol, rule.from_port, rule.to_port)
        if key not in permissions:
            permission: dict[str, Any] = {"IpProtocol": rule.protocol}
            if rule.protocol != "-1":
                permission["FromPort"] = -1 if rule.from_port is None else rule.from_port
                permission["ToPort"] = -1 if rule.to_port is None else rule.to_port
            permissions[key] = permission
        list_key, value_key = _SOURCE_FIELDS[rule.source_type]
        source: dict[str, Any] = {value_key: rule.source}
        if rule.description is not None:
            source["Description"] = rule.description
        permissions[key].setdefault(list_key, []).append(source)
    return list(permissions.values())


AWS_DEFAULT_EGRESS = AtomicRule("-1", None, None, "cidr", "0.0.0.0/0")
"""The rule EC2 adds to every new group: all traffic out to anywhere."""


# What EC2/ELBv2 answer unlike the spec's spelling, and how this kind keeps it from showing as a
# change: rendered to docs/aws-rewrites.md (see reconciler.plan.rewrites).
_EC2 = "botocore ec2 2016-11-15"
_SG_TABLE = (
    "tests/resources/test_network_rewrites.py::test_security_group_spellings_ec2_rewrites_plan_nothing"
)

REWRITES: tuple[Rewrite, ...] = (
    Rewrite(
        field="ingress[].ipv6Cidr, egress[].ipv6Cidr",
        sent="`2001:DB8:1234::/48`, `2001:db8:0:0::/64`, leading zeros",
        answered="the canonical form, `2001:db8:1234::/48`, `2001:db8::/64`; authorising another spelling "
        "of a stored block fails with InvalidPermission.Duplicate",
        handling=Handling.CANONICAL_AT_VALIDATION,
        how="the spec's block is rewritten with Python's `ipaddress` to the compressed lower-case form",
        source=f"{_EC2} Ipv6Range.CidrIpv6: AWS canonicalizes IPv4 and IPv6 CIDRs, describes return the "
        "canonicalized form, and adding a non-canonical duplicate throws a duplicate rule error",
        test="tests/resources/test_security_group_aws.py::test_non_canonical_ranges_converge_once_then_need_no_writes",
    ),
    Rewrite(
        field="ingress[].cidr, egress[].cidr",
        sent="`10.0.0.0/08`",
        answered="`10.0.0.0/8`",
        handling=Handling.CANONICAL_AT_VALIDATION,
        how="the spec's block is rewritten with Python's `ipaddress` to its canonical form",
        source=f"{_EC2} IpRange.CidrIp: AWS canonicalizes IPv4 and IPv6 CIDRs",
        test=_SG_TABLE,
    ),
    Rewrite(
        field="ingress[].cidr, egress[].cidr, and the ipv6Cidr fields",
        sent="a block with host bits set, `10.0.0.1/8`",
        answered="`10.0.0.0/8`",
        handling=Handling.REQUIRED_FORM,
        how="refused, with an error naming the block EC2 would store: a rule wider than it reads is "
        "more often a mistake than meant",
        source=f"{_EC2} IpRange.CidrIp: 100.68.0.18/18 is canonicalized to 100.68.0.0/18",
        test="tests/spec/test_bad_corpus.py::test_bad_spec_is_refused_at_the_expected_line",
    ),
    Rewrite(
        field="ingress[].protocol, egress[].protocol",
        sent="a protocol number, `6`, `17`, `1`, `58`",
        answered="assumed the name, `tcp`, `udp`, `icmp`, `icmpv6`",
        handling=Handling.CANONICAL_AT_VALIDATION,
        how="the spec's number becomes the name, and a number in EC2's answer is mapped to the name "
        "too, so either answer compares equal",
        source=f"undocumented: {_EC2} IpPermission.IpProtocol accepts a name or a number but does not "
        "say which one describes answer with",
        test=_SG_TABLE,
    ),
    Rewrite(
        field="ingress[].protocol, egress[].protocol",
        sent="`all`, `ALL`, the YAML number `-1`, or a name in upper case (`TCP`)",
        answered="`-1`; names in lower case",
        handling=Handling.CANONICAL_AT_VALIDATION,
        how="stored as `-1` and lower-case names when the spec loads; EC2's answer is lower-cased too",
        source=f"{_EC2} IpPermission.IpProtocol: names tcp, udp, icmp, icmpv6; use -1 for all protocols",
        test=_SG_TABLE,
    ),
    Rewrite(
        field="ingress[] / egress[] with protocol -1",
        sent="no ports (the spec refuses port fields with protocol -1)",
        answered="no `FromPort`/`ToPort`, or -1 for both",
        handling=Handling.NORMALISED,
        how="a rule for every protocol compares as all ports, whatever ports the answer carries",
        source=f"{_EC2} IpPermission.IpProtocol: -1 allows traffic on all ports, regardless of any port "
        "range you specify",
        test="tests/resources/test_security_group.py::test_live_protocol_and_ports_are_normalised",
    ),
    Rewrite(
        field="ingress[] / egress[] with protocol icmp or icmpv6",
        sent="no ports (every type and code)",
        answered="`FromPort: -1`, `ToPort: -1`",
        handling=Handling.NORMALISED,
        how="-1/-1 and no ports both mean every ICMP type and code on both sides",
        source=f"{_EC2} IpPermission.FromPort/ToPort: for ICMP the type and code, -1 for all",
        test=_SG_TABLE,
    ),
    Rewrite(
        field="ingress[], egress[]",
        sent="one rule per source, in any order",
        answered="rules merged per protocol and port range, each with lists of `IpRanges`, "
        "`Ipv6Ranges`, `PrefixListIds` and `UserIdGroupPairs` (empty lists included), in any order",
        handling=Handling.NORMALISED,
        how="both sides are expanded to one rule per source and sorted, and compared as a set; exactly "
        "the missing ones are authorised and the extra ones revoked",
        source=f"{_EC2} IpPermission: one protocol and port range with lists of sources",
        test=_SG_TABLE,
    ),
    Rewrite(
        field="ingress[].securityGroup, egress[].securityGroup",
        sent="a SecurityGroup document's name",
        answered="`UserIdGroupPairs[].GroupId` (an `sg-` id) with the owner's `UserId`",
        handling=Handling.RESOLVED,
        how="the name is resolved to the group id it has this pass; `UserId` is not compared",
        source=f"{_EC2} UserIdGroupPair.UserId: the account id of the referenced group is returned",
        test=_SG_TABLE,
    ),
    Rewrite(
        field="egress",
        sent="left out",
        answered="EC2's allow-all egress rule (`-1` to `0.0.0.0/0`), added to every new group",
        handling=Handling.NOT_MANAGED,
        how="egress a spec leaves out is not managed; a spec that sets egress is compared with the rule "
        "included, so a new group's plan revokes it at create when the spec does not list it",
        source="undocumented: no botocore ec2 documentation string or example states it; a new group "
        "has the rule on moto too (LOCAL-AWS-NOTES.md)",
        test="tests/resources/test_security_group.py::test_an_in_sync_real_aws_group_plans_nothing",
    ),
)


class SecurityGroupKind(KindBase):
    kind: ClassVar[str] = "SecurityGroup"
    # Listed by ARN (`...:security-group/sg-...`); observations know a group by its id.
    tagged_as: ClassVar[TaggedAs | None] = TaggedAs(
        "ec2:security-group", identity=lambda arn: arn.rpartition("/")[2]
    )
    rewrites: ClassVar[tuple[Rewrite, ...]] = REWRITES

    async def observe(
        self, documents: Sequence[Document], context: ObserveContext
    ) -> Mapping[str, LiveResource]:
        ec2 = context.clients.service("ec2")
        by_aws_name: dict[str, list[Document]] = {}
        for document in documents:
            by_aws_name.setdefault(document.aws_name, []).append(document)
        candidates: dict[str, list[dict[str, Any]]] = {}
        for names in batched(sorted(by_aws_name), FILTER_VALUES):
            async for page in ec2.paginate(
                "describe_security_groups",
                Filters=[{"Name": "group-name", "Values": names}],
                MaxResults=PAGE_SIZE,
            ):
                for group in page.get("SecurityGroups", []):
                    candidates.setdefault(group["GroupName"], []).append(group)
        found: dict[str, LiveResource] = {}
        for aws_name, named in by_aws_name.items():
            for document in named:
                group = _match(document, candidates.get(aws_name, []), context.environment.default_vpc_id)
                if group is not None:
                    found[document.name] = _live(document.name, group)
        return found

    async def observe_owned(self, context: ObserveContext) -> Sequence[LiveResource]:
        owned: list[LiveResource] = []
        async for page in context.clients.service("ec2").paginate(
            "describe_security_groups",
            Filters=[
                {"Name": f"tag:{MANAGED_BY}", "Values": [MANAGED_BY_VALUE]},
                {"Name": f"tag:{INSTANCE}", "Values": [context.settings.instance]},
            ],
            MaxResults=PAGE_SIZE,
        ):
            for group in page.get("SecurityGroups", []):
                tags = tags_to_map(group.get("Tags"), key="Key", value="Value")
                source = owned_by_instance(
                    tags, context.settings.instance, self.kind, context.settings.namespace
                )
                if source is not None:
                    owned.append(_live(source, group))
        return owned

    def plan(self, document: Document, live: LiveResource | None, context: PlanContext) -> ResourcePlan:
        spec = document.spec_as(SecurityGroupSpec)
        vpc_id = context.vpc_id(spec.vpc)
        if live is not None:
            conflict = _immutable_conflict(self.kind, document.name, spec, vpc_id, live)
            if conflict is not None:
                return conflict
        group_id: Any = Ref(self.kind, document.name, "id") if live is None else live.identifier

        def referenced_id(name: str) -> Any:
            return group_id if name == document.name else context.output(self.kind, name, "id")

        rule_calls, rule_delta = _plan_rules(spec, live, group_id, referenced_id)
        rules_group = (
            (StepGroup((self.kind, document.name, RULES_PART), tuple(rule_calls)),) if rule_calls else ()
        )
        main: GroupKey = (self.kind, document.name, MAIN)
        tags = context.desired_tags(document)
        if live is None:
            create = _create_group(document, spec, vpc_id, tags)
            delta = diff_trees({"groupName": document.aws_name, "vpc": vpc_id}, None) + rule_delta
            groups = (StepGroup(main, (create,)), *rules_group)
            return ResourcePlan(self.kind, document.name, Action.CREATE, delta, groups)

        tag_changes, tag_diffs = tag_delta(tags, live.tags)
        main_calls = (_tag_group(live.identifier, tag_changes),) if tag_changes else ()
        groups = (*((StepGroup(main, main_calls),) if main_calls else ()), *rules_group)
        delta = rule_delta + tag_diffs
        return ResourcePlan(self.kind, document.name, Action.UPDATE if delta else Action.NONE, delta, groups)

    def tag_call(self, live: LiveResource, tags: Mapping[str, str]) -> Call:
        """The call that sets `tags` on the live object (how the planner records a spec hash)."""
        return _tag_group(live.identifier, tags)

    def plan_delete(self, live: LiveResource, context: PlanContext) -> ResourcePlan:
        """Revoke the rules that name other groups first (EC2 refuses to delete a group another
        group's rule still names), then delete once every other group's rule changes are done."""
        rules_key: GroupKey = (self.kind, live.name, RULES_PART)
        referencing = {
            direction: [
                rule
                for rule in expand_permissions(live.state.get(field))
                if rule.source_type == "securityGroup" and rule.source != live.identifier
            ]
            for direction, field in DIRECTIONS
        }
        revokes = tuple(
            _revoke(direction, live.identifier, rules) for direction, rules in referencing.items() if rules
        )
        delete = Call(
            "ec2", "delete_security_group", {"GroupId": live.identifier}, description="delete security group"
        )
        groups = (
            *((StepGroup(rules_key, revokes),) if revokes else ()),
            StepGroup((self.kind, live.name, MAIN), (delete,)),
        )
        return ResourcePlan(self.kind, live.name, Action.DELETE, groups=groups)


def _immutable_conflict(
    kind: str, name: str, spec: SecurityGroupSpec, vpc_id: Any, live: LiveResource
) -> ResourcePlan | None:
    """A conflict plan when the spec asks for another VPC or description, which EC2 cannot change."""
    immutable = diff_trees(
        {"vpc": vpc_id, **({"description": spec.description} if spec.description else {})},
        {"vpc": live.state.get("VpcId"), "description": live.state.get("Description")},
    )
    if not immutable:
        return None
    changes = ", ".join(f"{d.dotted_path} {d.live!r} -> {d.desired!r}" for d in immutable)
    return ResourcePlan(
        kind,
        name,
        Action.CONFLICT,
        immutable,
        message=f"security group {live.identifier} cannot change {changes} in place; "
        "delete it or rename the group to apply",
    )


def _plan_rules(
    spec: SecurityGroupSpec,
    live: LiveResource | None,
    group_id: Any,
    referenced_id: Callable[[str], Any],
) -> tuple[list[Call], Delta]:
    """The rules group's calls and delta, direction by direction."""
    # A new group starts with no ingress and EC2's allow-all egress rule.
    live_rules = {
        "ingress": expand_permissions(live.state.get("IpPermissions")) if live else [],
        "egress": expand_permissions(live.state.get("IpPermissionsEgress")) if live else [AWS_DEFAULT_EGRESS],
    }
    calls: list[Call] = []
    delta = Delta()
    for direction, spec_rules in (("ingress", spec.ingress), ("egress", spec.egress)):
        if spec_rules is None:
            continue  # a direction the spec leaves out (AWS's default egress, say) is not managed
        desired = expand_spec_rules(spec_rules, referenced_id)
        changes = rule_changes(desired, live_rules[direction], prefix=(direction,))
        calls += _rule_calls(direction, group_id, changes)
        # A spec rule is reported at its item (`ingress[0]`); an extra live rule, which no item
        # writes, by its label under the list (the `(direction, label)` path already says that).
        written = spec_rule_indexes(spec_rules, referenced_id)
        delta += changes.delta.with_spec_paths(
            _at_items({rule.label: written[rule.identity] for rule in desired})
        )
    return calls, delta


def _at_items(items: Mapping[str, int]) -> Callable[[Path], Path | None]:
    """`(direction, label, ...)` as `(direction, index, ...)` for the rules the spec writes."""

    def at_item(path: Path) -> Path | None:
        index = items.get(str(path[1]))
        return None if index is None else (path[0], index, *path[2:])

    return at_item


def _create_group(document: Document, spec: SecurityGroupSpec, vpc_id: Any, tags: Mapping[str, str]) -> Call:
    return Call(
        "ec2",
        "create_security_group",
        {
            "GroupName": document.aws_name,
            "Description": spec.description or DEFAULT_DESCRIPTION,
            "VpcId": vpc_id,
            "TagSpecifications": [
                {"ResourceType": "security-group", "Tags": map_to_tags(tags, key="Key", value="Value")}
            ],
        },
        outputs={"id": ("GroupId",)},
        description=f"create security group {document.aws_name}",
    )


def _tag_group(group_id: str, tags: Mapping[str, str]) -> Call:
    return Call(
        "ec2",
        "create_tags",
        {"Resources": [group_id], "Tags": map_to_tags(tags, key="Key", value="Value")},
        description="tag security group",
    )


def _rule_view(rule: AtomicRule) -> dict[str, Any]:
    return {
        key: value
        for key, value in {
            "protocol": rule.protocol,
            "fromPort": rule.from_port,
            "toPort": rule.to_port,
            rule.source_type: rule.source,
            "description": rule.description,
        }.items()
        if value is not None
    }


def _revoke(direction: str, group_id: Any, rules: Sequence[AtomicRule]) -> Call:
    return Call(
        "ec2",
        f"revoke_security_group_{direction}",
        {"GroupId": group_id, "IpPermissions": to_ip_permissions(rules)},
        description=f"revoke {len(rules)} {direction} rule(s)",
    )


def _rule_calls(direction: str, group_id: Any, changes: RuleChanges) -> list[Call]:
    """Authorize before revoking, so a rule being replaced never leaves a gap in access."""
    calls = []
    if changes.missing:
        calls.append(
            Call(
                "ec2",
                f"authorize_security_group_{direction}",
                {"GroupId": group_id, "IpPermissions": to_ip_permissions(changes.missing)},
                description=f"authorize {len(changes.missing)} {direction} rule(s)",
            )
        )
    if changes.extra:
        calls.append(_revoke(direction, group_id, changes.extra))
    if changes.redescribed:
        calls.append(
            Call(
                "ec2",
                f"update_security_group_rule_descriptions_{direction}",
                {"GroupId": group_id, "IpPermissions": to_ip_permissions(changes.redescribed)},
                description=f"describe {len(changes.redescribed)} {direction} rule(s)",
            )
        )
    return calls


def _match(document: Document, candidates: Sequence[Mapping[str, Any]], default_vpc: str | None) -> Any:
    """The group of this document: same name in the spec's VPC, else (a VPC change) a group this
    document created in another VPC, which `plan` then reports as a conflict."""
    spec = document.spec_as(SecurityGroupSpec)
    vpc_id = default_vpc if spec.vpc == "default" else spec.vpc
    for group in candidates:
        if group.get("VpcId") == vpc_id:
            return group
    source = f"{SecurityGroupKind.kind}/{document.name}"
    for group in candidates:
        if tags_to_map(group.get("Tags"), key="Key", value="Value").get(SOURCE) == source:
            return group
    return None


def _live(name: str, group: Mapping[str, Any]) -> LiveResource:
    outputs = {"id": group["GroupId"], "name": group["GroupName"]}
    if group.get("SecurityGroupArn"):
        outputs["arn"] = group["SecurityGroupArn"]
    return LiveResource(
        kind=SecurityGroupKind.kind,
        name=name,
        identifier=group["GroupId"],
        state=group,
        tags=tags_to_map(group.get("Tags"), key="Key", value="Value"),
        outputs=outputs,
    )


KIND = SecurityGroupKind()
