"""The SecurityGroup kind's pure parts: rule expansion and normalisation tables, and planned calls."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from reconciler.engine.planner import order_groups, plan_all
from reconciler.plan.ownership import SPEC_HASH
from reconciler.plan.steps import MAIN, Action, Ref
from reconciler.resources.base import Environment, LiveResource, LiveState, PlanContext, PlanSettings
from reconciler.resources.security_group.kind import KIND as SECURITY_GROUP
from reconciler.resources.security_group.kind import (
    AtomicRule,
    expand_permissions,
    expand_spec_rules,
    rule_changes,
    to_ip_permissions,
)
from reconciler.resources.security_group.model import SecurityGroupRule, SecurityGroupSpec
from reconciler.spec import Document, Metadata, SpecSet

OWNERSHIP = {
    "ecs-reconciler/managed-by": "ecs-reconciler",
    "ecs-reconciler/instance": "default",
    "ecs-reconciler/deletion-policy": "delete",
}

# A DescribeSecurityGroups item as real AWS returns it: every list present (often empty), the
# default egress rule, a group reference carrying the owner's UserId, rules merged per port range.
REAL_AWS_GROUP: dict[str, Any] = {
    "Description": "Managed by ecs-reconciler",
    "GroupName": "app",
    "IpPermissions": [
        {
            "FromPort": 3000,
            "IpProtocol": "tcp",
            "IpRanges": [],
            "Ipv6Ranges": [],
            "PrefixListIds": [],
            "ToPort": 3000,
            "UserIdGroupPairs": [
                {"GroupId": "sg-0aaa", "UserId": "123456789012", "Description": "from the alb"}
            ],
        },
        {
            "FromPort": 22,
            "IpProtocol": "tcp",
            "IpRanges": [{"CidrIp": "10.0.0.0/8"}, {"CidrIp": "192.168.0.0/16", "Description": "vpn"}],
            "Ipv6Ranges": [],
            "PrefixListIds": [],
            "ToPort": 22,
            "UserIdGroupPairs": [],
        },
        {
            "FromPort": -1,
            "IpProtocol": "icmp",
            "IpRanges": [{"CidrIp": "10.0.0.0/8"}],
            "Ipv6Ranges": [],
            "PrefixListIds": [],
            "ToPort": -1,
            "UserIdGroupPairs": [],
        },
    ],
    "OwnerId": "123456789012",
    "GroupId": "sg-0bbb",
    "IpPermissionsEgress": [
        {
            "IpProtocol": "-1",
            "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
            "Ipv6Ranges": [],
            "PrefixListIds": [],
            "UserIdGroupPairs": [],
        }
    ],
    "Tags": [
        {"Key": "ecs-reconciler/source", "Value": "SecurityGroup/app"},
        *({"Key": k, "Value": v} for k, v in OWNERSHIP.items()),
    ],
    "VpcId": "vpc-0123",
    "SecurityGroupArn": "arn:aws:ec2:us-east-1:123456789012:security-group/sg-0bbb",
}

IDS = {"alb": "sg-0aaa", "app": "sg-0bbb"}


def rules(*items: dict[str, Any]) -> list[SecurityGroupRule]:
    return [SecurityGroupRule.model_validate(item) for item in items]


@pytest.mark.parametrize(
    ("spec_rules", "missing", "extra"),
    [
        # Same rules in another order, ports as `port` or a range, protocol spelled differently.
        (
            [
                {"protocol": "icmp", "cidr": "10.0.0.0/8"},
                {
                    "protocol": "TCP",
                    "fromPort": 22,
                    "toPort": 22,
                    "cidr": "192.168.0.0/16",
                    "description": "vpn",
                },
                {"protocol": "tcp", "port": 22, "cidr": "10.0.0.0/8"},
                {"protocol": "tcp", "port": 3000, "securityGroup": "alb"},
            ],
            0,
            0,
        ),
        # A description the spec leaves out is not managed.
        (
            [
                {"protocol": "tcp", "port": 3000, "securityGroup": "alb"},
                {"protocol": "tcp", "port": 22, "cidr": "10.0.0.0/8"},
                {"protocol": "tcp", "port": 22, "cidr": "192.168.0.0/16"},
                {"protocol": "icmp", "fromPort": -1, "toPort": -1, "cidr": "10.0.0.0/8"},
            ],
            0,
            0,
        ),
        # One port changed: exactly one to authorize and one to revoke.
        (
            [
                {"protocol": "tcp", "port": 3001, "securityGroup": "alb"},
                {"protocol": "tcp", "port": 22, "cidr": "10.0.0.0/8"},
                {"protocol": "tcp", "port": 22, "cidr": "192.168.0.0/16"},
                {"protocol": "icmp", "cidr": "10.0.0.0/8"},
            ],
            1,
            1,
        ),
        ([], 0, 4),
    ],
    ids=["reordered-respelled", "description-unmanaged", "one-port-changed", "all-removed"],
)
def test_rules_compare_one_atomic_rule_at_a_time(
    spec_rules: list[dict[str, Any]], missing: int, extra: int
) -> None:
    changes = rule_changes(
        expand_spec_rules(rules(*spec_rules), IDS.__getitem__),
        expand_permissions(REAL_AWS_GROUP["IpPermissions"]),
    )
    assert (len(changes.missing), len(changes.extra), len(changes.redescribed)) == (missing, extra, 0)


@pytest.mark.parametrize(
    ("permission", "expected"),
    [
        (
            {"IpProtocol": "-1", "FromPort": -1, "ToPort": -1, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
            ("-1", None, None),
        ),
        ({"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}, ("-1", None, None)),
        (
            {"IpProtocol": "6", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
            ("tcp", 80, 80),
        ),
        (
            {"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
            ("icmp", None, None),
        ),
        (
            {"IpProtocol": "icmp", "FromPort": 8, "ToPort": -1, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
            ("icmp", 8, -1),
        ),
    ],
)
def test_live_protocol_and_ports_are_normalised(
    permission: dict[str, Any], expected: tuple[Any, ...]
) -> None:
    (rule,) = expand_permissions([permission])
    assert (rule.protocol, rule.from_port, rule.to_port) == expected


def test_spec_all_protocol_matches_the_live_default_egress() -> None:
    desired = expand_spec_rules(rules({"protocol": "all", "cidr": "0.0.0.0/0"}), IDS.__getitem__)
    assert not rule_changes(desired, expand_permissions(REAL_AWS_GROUP["IpPermissionsEgress"]))


def test_a_changed_description_is_updated_not_revoked() -> None:
    desired = expand_spec_rules(
        rules({"protocol": "tcp", "port": 22, "cidr": "192.168.0.0/16", "description": "office"}),
        IDS.__getitem__,
    )
    changes = rule_changes(desired, expand_permissions(REAL_AWS_GROUP["IpPermissions"][1:2]))
    assert changes.redescribed == (AtomicRule("tcp", 22, 22, "cidr", "192.168.0.0/16", "office"),)
    assert [rule.source for rule in changes.extra] == ["10.0.0.0/8"]


@pytest.mark.parametrize(
    ("desired", "live", "diffs"),
    [
        (
            [AtomicRule("tcp", 80, 80, "cidr", "0.0.0.0/0")],
            [],
            [
                (
                    ("ingress", "tcp 80-80 cidr 0.0.0.0/0"),
                    {"protocol": "tcp", "fromPort": 80, "toPort": 80, "cidr": "0.0.0.0/0"},
                    None,
                )
            ],
        ),
        (
            [],
            [AtomicRule("-1", None, None, "securityGroup", "sg-1", "old")],
            [
                (
                    ("ingress", "-1 all ports securityGroup sg-1"),
                    None,
                    {"protocol": "-1", "securityGroup": "sg-1", "description": "old"},
                )
            ],
        ),
        (
            [AtomicRule("tcp", 22, 22, "cidr", "10.0.0.0/8", "office")],
            [AtomicRule("tcp", 22, 22, "cidr", "10.0.0.0/8")],
            [(("ingress", "tcp 22-22 cidr 10.0.0.0/8", "description"), "office", None)],
        ),
        (
            [AtomicRule("tcp", 22, 22, "cidr", "10.0.0.0/8")],
            [AtomicRule("tcp", 22, 22, "cidr", "10.0.0.0/8", "by hand")],
            [],
        ),
    ],
    ids=["missing", "extra", "redescribed", "description-unmanaged"],
)
def test_rule_changes_name_each_rule_by_its_label_under_its_direction(
    desired: list[AtomicRule], live: list[AtomicRule], diffs: list[tuple[Any, ...]]
) -> None:
    changes = rule_changes(desired, live, prefix=("ingress",))
    assert [(diff.path, diff.desired, diff.live) for diff in changes.delta] == diffs


def test_request_shape_groups_sources_per_port_range() -> None:
    permissions = to_ip_permissions(
        [
            AtomicRule("tcp", 80, 80, "cidr", "0.0.0.0/0"),
            AtomicRule("tcp", 80, 80, "ipv6Cidr", "::/0", "v6"),
            AtomicRule("-1", None, None, "securityGroup", "sg-1"),
            AtomicRule("icmp", None, None, "prefixListId", "pl-1"),
        ]
    )
    assert permissions == [
        {
            "IpProtocol": "tcp",
            "FromPort": 80,
            "ToPort": 80,
            "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
            "Ipv6Ranges": [{"CidrIpv6": "::/0", "Description": "v6"}],
        },
        {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": "sg-1"}]},
        {"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1, "PrefixListIds": [{"PrefixListId": "pl-1"}]},
    ]


# --- planned calls ----------------------------------------------------------------------------------


def document(name: str, spec: dict[str, Any]) -> Document:
    return Document(
        kind="SecurityGroup",
        metadata=Metadata(name=name),
        spec=SecurityGroupSpec.model_validate(spec),
        file="sg.yaml",
        line=1,
    )


def context(*documents: Document, live: dict[str, LiveResource] | None = None) -> PlanContext:
    return PlanContext(
        spec_set=SpecSet(tuple(documents)),
        live=LiveState(resources={("SecurityGroup", name): item for name, item in (live or {}).items()}),
        environment=Environment(account_id="123456789012", region="us-east-1", default_vpc_id="vpc-0123"),
        settings=PlanSettings(),
    )


def live_group(group: dict[str, Any], name: str = "app") -> LiveResource:
    tags = {tag["Key"]: tag["Value"] for tag in group["Tags"]}
    return LiveResource("SecurityGroup", name, group["GroupId"], group, tags, {"id": group["GroupId"]})


def call_summary(plan: Any) -> list[tuple[str, Any]]:
    return [(call.name, call.params.get("IpPermissions")) for call in plan.calls]


APP_SPEC = {
    "vpc": "default",
    "ingress": [
        {"protocol": "tcp", "port": 3000, "securityGroup": "alb", "description": "from the alb"},
        {"protocol": "tcp", "port": 22, "cidr": "10.0.0.0/8"},
        {"protocol": "tcp", "port": 22, "cidr": "192.168.0.0/16", "description": "vpn"},
        {"protocol": "icmp", "cidr": "10.0.0.0/8"},
    ],
}
ALB_SPEC = {"vpc": "default", "ingress": [{"protocol": "tcp", "port": 80, "cidr": "0.0.0.0/0"}]}


def test_a_new_group_waits_for_the_groups_its_rules_name_and_refers_to_their_new_ids() -> None:
    app, alb = document("app", APP_SPEC), document("alb", ALB_SPEC)
    plan_context = context(app, alb)
    plan = order_groups(SECURITY_GROUP.plan(app, None, plan_context), plan_context.spec_set)
    assert plan.action is Action.CREATE
    main, rules_group = plan.groups
    (create,) = main.calls
    assert create.name == "ec2.CreateSecurityGroup"
    assert create.params["Description"] == "Managed by ecs-reconciler"
    assert create.params["VpcId"] == "vpc-0123"
    assert {"Key": "ecs-reconciler/source", "Value": "SecurityGroup/app"} in create.params[
        "TagSpecifications"
    ][0]["Tags"]
    assert rules_group.after == {("SecurityGroup", "app", MAIN), ("SecurityGroup", "alb", MAIN)}
    (authorize,) = rules_group.calls  # egress unset: AWS's default egress stays, no egress call
    assert authorize.name == "ec2.AuthorizeSecurityGroupIngress"
    assert authorize.params["GroupId"] == Ref("SecurityGroup", "app", "id")
    pairs = [p for p in authorize.params["IpPermissions"] if "UserIdGroupPairs" in p]
    assert pairs[0]["UserIdGroupPairs"] == [
        {"GroupId": Ref("SecurityGroup", "alb", "id"), "Description": "from the alb"}
    ]


def test_a_new_group_with_restricted_egress_revokes_the_aws_default_at_create() -> None:
    web = document(
        "web", {"vpc": "default", "egress": [{"protocol": "tcp", "port": 443, "cidr": "0.0.0.0/0"}]}
    )
    plan = SECURITY_GROUP.plan(web, None, context(web))
    assert call_summary(plan)[1:] == [
        (
            "ec2.AuthorizeSecurityGroupEgress",
            [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
        ),
        ("ec2.RevokeSecurityGroupEgress", [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]),
    ]


def test_a_new_group_keeping_allow_all_egress_makes_no_egress_call() -> None:
    web = document("web", {"vpc": "default", "egress": [{"protocol": "-1", "cidr": "0.0.0.0/0"}]})
    assert [call.name for call in SECURITY_GROUP.plan(web, None, context(web)).calls] == [
        "ec2.CreateSecurityGroup"
    ]


def test_an_in_sync_real_aws_group_plans_nothing() -> None:
    app, alb = document("app", APP_SPEC), document("alb", ALB_SPEC)
    live_alb = LiveResource("SecurityGroup", "alb", "sg-0aaa", {}, {}, {"id": "sg-0aaa"})
    plan = SECURITY_GROUP.plan(app, live_group(REAL_AWS_GROUP), context(app, alb, live={"alb": live_alb}))
    assert plan.action is Action.NONE
    assert plan.calls == () and not plan.delta


def test_a_revoked_rule_is_authorized_alone_and_a_tag_change_uses_create_tags() -> None:
    app, alb = document("app", {**APP_SPEC, "tags": {"team": "web"}}), document("alb", ALB_SPEC)
    drifted = {**REAL_AWS_GROUP, "IpPermissions": REAL_AWS_GROUP["IpPermissions"][1:]}
    live_alb = LiveResource("SecurityGroup", "alb", "sg-0aaa", {}, {}, {"id": "sg-0aaa"})
    plan = SECURITY_GROUP.plan(app, live_group(drifted), context(app, alb, live={"alb": live_alb}))
    assert plan.action is Action.UPDATE
    assert call_summary(plan) == [
        ("ec2.CreateTags", None),
        (
            "ec2.AuthorizeSecurityGroupIngress",
            [
                {
                    "IpProtocol": "tcp",
                    "FromPort": 3000,
                    "ToPort": 3000,
                    "UserIdGroupPairs": [{"GroupId": "sg-0aaa", "Description": "from the alb"}],
                }
            ],
        ),
    ]
    # The edited document's spec hash rides on the tag write.
    assert plan.calls[0].params == {
        "Resources": ["sg-0bbb"],
        "Tags": [{"Key": SPEC_HASH, "Value": app.spec_hash}, {"Key": "team", "Value": "web"}],
    }


def test_description_and_vpc_are_immutable_conflicts_without_calls() -> None:
    app = document("app", {**APP_SPEC, "description": "application tasks"})
    plan = SECURITY_GROUP.plan(app, live_group(REAL_AWS_GROUP), context(app))
    assert plan.action is Action.CONFLICT and plan.calls == ()
    assert "description" in plan.message
    moved = document("app", {**APP_SPEC, "vpc": "vpc-0999"})
    assert SECURITY_GROUP.plan(moved, live_group(REAL_AWS_GROUP), context(moved)).action is Action.CONFLICT


def test_delete_revokes_rules_naming_other_groups_before_any_group_is_deleted() -> None:
    orphan = live_group(REAL_AWS_GROUP)
    other = LiveResource("SecurityGroup", "alb", "sg-0aaa", {}, {}, {"id": "sg-0aaa"})
    plan_context = PlanContext(
        spec_set=SpecSet(()),
        live=LiveState(orphans=(orphan, other)),
        environment=Environment(account_id="123456789012", region="us-east-1"),
        settings=PlanSettings(prune=True),
    )
    plan = SECURITY_GROUP.plan_delete(orphan, plan_context)
    revoke_group, delete_group = plan.groups
    assert [call.name for call in revoke_group.calls] == ["ec2.RevokeSecurityGroupIngress"]
    assert revoke_group.calls[0].params["IpPermissions"][0]["UserIdGroupPairs"] == [
        {"GroupId": "sg-0aaa", "Description": "from the alb"}
    ]
    assert [call.name for call in delete_group.calls] == ["ec2.DeleteSecurityGroup"]
    # The planner orders it: app's own revocations first; alb, whose rule names app, revokes it
    # before app goes, and goes itself only once app's rule naming it is revoked.
    naming_app = {"IpProtocol": "tcp", "FromPort": 3000, "ToPort": 3000}
    naming_app["UserIdGroupPairs"] = [{"GroupId": orphan.identifier}]  # type: ignore[assignment]
    other = LiveResource(
        "SecurityGroup",
        "alb",
        "sg-0aaa",
        {"GroupId": "sg-0aaa", "IpPermissions": [naming_app], "IpPermissionsEgress": []},
        dict(orphan.tags, **{"ecs-reconciler/source": "SecurityGroup/alb"}),
        {"id": "sg-0aaa"},
    )
    both = replace(plan_context, live=LiveState(orphans=(orphan, other), orphans_observed=True))
    planned = {
        resource.name: resource
        for resource in plan_all(replace(both, settings=PlanSettings(prune=True, allow_mass_prune=True)))
    }
    app_groups = {group.key[2]: group for group in planned["app"].groups}
    alb_groups = {group.key[2]: group for group in planned["alb"].groups}
    assert app_groups[MAIN].after == {("SecurityGroup", "app", "rules"), ("SecurityGroup", "alb", "rules")}
    assert alb_groups[MAIN].after == {("SecurityGroup", "alb", "rules"), ("SecurityGroup", "app", "rules")}
    assert not app_groups["rules"].after and not alb_groups["rules"].after
