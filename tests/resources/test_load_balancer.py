"""The LoadBalancer kind's pure parts: action, condition, listener and rule normalisation on
real-AWS-shaped responses, the planned calls, and reading every page of rules."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from reconciler.engine.planner import order_groups
from reconciler.plan.delta import diff_trees
from reconciler.plan.ownership import SPEC_HASH
from reconciler.plan.steps import MAIN, Action, Ref
from reconciler.resources.base import Environment, LiveResource, LiveState, PlanContext, PlanSettings
from reconciler.resources.load_balancer.kind import KIND as LOAD_BALANCER
from reconciler.resources.load_balancer.kind import (
    _observe_listeners,
    action_request,
    canonical_action,
    canonical_condition,
    desired_listener,
    desired_rule,
    live_listener,
    live_rule,
    live_tree,
)
from reconciler.resources.load_balancer.model import Listener, ListenerRule, LoadBalancerSpec
from reconciler.spec import Document, Metadata, SpecSet

TG = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/node-app/73e2d6bc24d8a067"
TG2 = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/canary/0a1b2c3d4e5f6a7b"
LB = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/node-app/50dc6c495c0c9188"
LISTENER = f"{LB.replace(':loadbalancer/', ':listener/')}/f2f7dc8efc522ab2"
ARNS = {"node-app": TG, "canary": TG2}

# DescribeListeners as real AWS returns a plain forward: TargetGroupArn AND an echoed ForwardConfig.
REAL_AWS_LISTENER: dict[str, Any] = {
    "ListenerArn": LISTENER,
    "LoadBalancerArn": LB,
    "Port": 80,
    "Protocol": "HTTP",
    "DefaultActions": [
        {
            "Type": "forward",
            "TargetGroupArn": TG,
            "Order": 1,
            "ForwardConfig": {
                "TargetGroups": [{"TargetGroupArn": TG, "Weight": 1}],
                "TargetGroupStickinessConfig": {"Enabled": False},
            },
        }
    ],
}
# moto's shape of the same listener: no ForwardConfig.
MOTO_LISTENER = {
    **REAL_AWS_LISTENER,
    "DefaultActions": [{"Type": "forward", "TargetGroupArn": TG, "Order": 1}],
}

# DescribeRules as real AWS returns a path rule: the legacy Values and PathPatternConfig both.
REAL_AWS_RULE: dict[str, Any] = {
    "RuleArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/node-app/x/y/1",
    "Priority": "10",
    "Conditions": [
        {
            "Field": "path-pattern",
            "Values": ["/v1/*", "/api/*"],
            "PathPatternConfig": {"Values": ["/v1/*", "/api/*"]},
        },
        {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X-Env", "Values": ["beta"]}},
    ],
    "Actions": REAL_AWS_LISTENER["DefaultActions"],
    "IsDefault": False,
}


def listener(**fields: Any) -> Listener:
    return Listener.model_validate(fields)


@pytest.mark.parametrize(
    "action",
    [
        REAL_AWS_LISTENER["DefaultActions"][0],
        MOTO_LISTENER["DefaultActions"][0],
        {"Type": "forward", "TargetGroupArn": TG},
    ],
    ids=["real-aws", "moto", "request"],
)
def test_every_shape_of_a_plain_forward_is_one_canonical_form(action: dict[str, Any]) -> None:
    assert canonical_action(action) == {
        "Type": "forward",
        "ForwardConfig": {
            "TargetGroups": [{"TargetGroupArn": TG, "Weight": 1}],
            "TargetGroupStickinessConfig": {"Enabled": False},
        },
    }
    assert action_request(canonical_action(action)) == {"Type": "forward", "TargetGroupArn": TG}


@pytest.mark.parametrize(
    ("spec_action", "live_action", "in_sync"),
    [
        ({"type": "forward", "targetGroup": "node-app"}, REAL_AWS_LISTENER["DefaultActions"][0], True),
        ({"type": "forward", "targetGroup": "node-app"}, MOTO_LISTENER["DefaultActions"][0], True),
        ({"type": "forward", "targetGroup": "canary"}, REAL_AWS_LISTENER["DefaultActions"][0], False),
        (
            {
                "type": "forward",
                "forwardConfig": {
                    "targetGroups": [
                        {"targetGroup": "canary", "weight": 10},
                        {"targetGroup": "node-app", "weight": 90},
                    ]
                },
            },
            {
                "Type": "forward",
                "Order": 1,
                "ForwardConfig": {
                    "TargetGroups": [
                        {"TargetGroupArn": TG, "Weight": 90},
                        {"TargetGroupArn": TG2, "Weight": 10},
                    ],
                    "TargetGroupStickinessConfig": {"Enabled": False, "DurationSeconds": 3600},
                },
            },
            True,
        ),
        (
            {
                "type": "redirect",
                "redirectConfig": {"protocol": "HTTPS", "port": 443, "statusCode": "HTTP_301"},
            },
            {
                "Type": "redirect",
                "Order": 1,
                "RedirectConfig": {
                    "Protocol": "HTTPS",
                    "Port": "443",
                    "Host": "#{host}",
                    "Path": "/#{path}",
                    "Query": "#{query}",
                    "StatusCode": "HTTP_301",
                },
            },
            True,
        ),
        (
            {"type": "fixed-response", "fixedResponseConfig": {"statusCode": 503}},
            {
                "Type": "fixed-response",
                "Order": 1,
                "FixedResponseConfig": {"StatusCode": "503", "ContentType": "text/plain"},
            },
            True,
        ),
        (
            {"type": "fixed-response", "fixedResponseConfig": {"statusCode": 503, "messageBody": "down"}},
            {"Type": "fixed-response", "Order": 1, "FixedResponseConfig": {"StatusCode": "503"}},
            False,
        ),
    ],
    ids=[
        "real-aws",
        "moto",
        "other-group",
        "weighted",
        "redirect-defaults",
        "fixed-unset-type",
        "fixed-new-body",
    ],
)
def test_listener_default_actions_compare_in_canonical_form(
    spec_action: dict[str, Any], live_action: dict[str, Any], in_sync: bool
) -> None:
    desired = desired_listener(
        listener(port=80, protocol="HTTP", defaultAction=spec_action), ARNS.__getitem__
    )
    live = live_listener({**REAL_AWS_LISTENER, "DefaultActions": [live_action]})
    assert diff_trees(desired, live) is not in_sync


def test_https_listener_manages_the_default_certificate_and_policy_only_when_set() -> None:
    live = {
        **REAL_AWS_LISTENER,
        "Port": 443,
        "Protocol": "HTTPS",
        "SslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
        "Certificates": [{"CertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/abc"}],
    }
    spec_fields = {
        "port": 443,
        "protocol": "HTTPS",
        "certificates": [{"certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/abc"}],
        "defaultAction": {"type": "forward", "targetGroup": "node-app"},
    }
    assert not diff_trees(desired_listener(listener(**spec_fields), ARNS.__getitem__), live_listener(live))
    pinned = desired_listener(
        listener(**spec_fields, sslPolicy="ELBSecurityPolicy-2016-08"), ARNS.__getitem__
    )
    assert [d.path for d in diff_trees(pinned, live_listener(live))] == [("SslPolicy",)]


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (
            {"Field": "path-pattern", "Values": ["/b", "/a"]},
            {"Field": "path-pattern", "Values": ["/a", "/b"]},
        ),
        (
            {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/a"]}},
            {"Field": "path-pattern", "Values": ["/a"]},
        ),
        (
            {
                "Field": "host-header",
                "Values": ["x.example.com"],
                "HostHeaderConfig": {"Values": ["x.example.com"]},
            },
            {"Field": "host-header", "Values": ["x.example.com"]},
        ),
        (
            {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X-Env", "Values": ["b", "a"]}},
            {"Field": "http-header", "Values": ["a", "b"], "HttpHeaderName": "X-Env"},
        ),
        (
            {
                "Field": "query-string",
                "QueryStringConfig": {"Values": [{"Key": "v", "Value": "2"}, {"Value": "beta"}]},
            },
            {"Field": "query-string", "Values": ["beta", "v=2"]},
        ),
        (
            {"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["POST", "GET"]}},
            {"Field": "http-request-method", "Values": ["GET", "POST"]},
        ),
        (
            {"Field": "source-ip", "SourceIpConfig": {"Values": ["10.0.0.0/8"]}},
            {"Field": "source-ip", "Values": ["10.0.0.0/8"]},
        ),
    ],
)
def test_conditions_of_every_shape_normalise_to_sorted_values(
    condition: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert canonical_condition(condition) == expected


def test_a_real_aws_rule_matches_its_spec_in_any_order() -> None:
    rule = ListenerRule.model_validate(
        {
            "priority": 10,
            "conditions": [
                {"field": "http-header", "httpHeaderName": "X-Env", "values": ["beta"]},
                {"field": "path-pattern", "values": ["/api/*", "/v1/*"]},
            ],
            "actions": [{"type": "forward", "targetGroup": "node-app"}],
        }
    )
    assert not diff_trees(desired_rule(rule, ARNS.__getitem__), live_rule(REAL_AWS_RULE))


def test_load_balancer_subnets_and_groups_compare_sorted() -> None:
    state = {
        "AvailabilityZones": [
            {"ZoneName": "us-east-1b", "SubnetId": "subnet-b"},
            {"ZoneName": "us-east-1a", "SubnetId": "subnet-a"},
        ],
        "SecurityGroups": ["sg-2", "sg-1"],
        "Scheme": "internet-facing",
        "Type": "application",
        "IpAddressType": "ipv4",
    }
    assert live_tree(state) == {
        "Subnets": ["subnet-a", "subnet-b"],
        "SecurityGroups": ["sg-1", "sg-2"],
        "Scheme": "internet-facing",
        "Type": "application",
        "IpAddressType": "ipv4",
    }


# --- planned calls ----------------------------------------------------------------------------------

OWNED_TAGS = {
    "ecs-reconciler/managed-by": "ecs-reconciler",
    "ecs-reconciler/instance": "default",
    "ecs-reconciler/source": "LoadBalancer/node-app",
    "ecs-reconciler/deletion-policy": "delete",
}
REAL_AWS_LOAD_BALANCER: dict[str, Any] = {
    "LoadBalancerArn": LB,
    "DNSName": "node-app-1234.us-east-1.elb.amazonaws.com",
    "CanonicalHostedZoneId": "Z35SXDOTRQ7X7K",
    "LoadBalancerName": "node-app",
    "Scheme": "internet-facing",
    "VpcId": "vpc-0123",
    "State": {"Code": "active"},
    "Type": "application",
    "AvailabilityZones": [
        {"ZoneName": "us-east-1b", "SubnetId": "subnet-b", "LoadBalancerAddresses": []},
        {"ZoneName": "us-east-1a", "SubnetId": "subnet-a", "LoadBalancerAddresses": []},
    ],
    "SecurityGroups": ["sg-0aaa"],
    "IpAddressType": "ipv4",
}
SPEC: dict[str, Any] = {
    "scheme": "internet-facing",
    "subnets": "default",
    "securityGroups": ["node-app-alb"],
    "listeners": [
        {
            "port": 80,
            "protocol": "HTTP",
            "defaultAction": {"type": "forward", "targetGroup": "node-app"},
            "rules": [
                {
                    "priority": 10,
                    "conditions": [
                        {"field": "path-pattern", "values": ["/api/*", "/v1/*"]},
                        {"field": "http-header", "httpHeaderName": "X-Env", "values": ["beta"]},
                    ],
                    "actions": [{"type": "forward", "targetGroup": "node-app"}],
                }
            ],
        }
    ],
}


def document(fields: dict[str, Any]) -> Document:
    return Document(
        kind="LoadBalancer",
        metadata=Metadata(name="node-app"),
        spec=LoadBalancerSpec.model_validate(fields),
        file="lb.yaml",
        line=1,
    )


def context(document: Document, *, created_this_pass: bool = False) -> PlanContext:
    outputs = (
        {}
        if created_this_pass
        else {
            ("TargetGroup", "node-app"): LiveResource("TargetGroup", "node-app", TG, {}, {}, {"arn": TG}),
            ("SecurityGroup", "node-app-alb"): LiveResource(
                "SecurityGroup", "node-app-alb", "sg-0aaa", {}, {}, {"id": "sg-0aaa"}
            ),
        }
    )
    return PlanContext(
        spec_set=SpecSet((document,)),
        live=LiveState(resources=outputs),
        environment=Environment(
            account_id="123456789012",
            region="us-east-1",
            default_vpc_id="vpc-0123",
            default_subnet_ids=("subnet-b", "subnet-a"),
        ),
        settings=PlanSettings(),
    )


def live(
    listeners: dict[int, Any] | None = None, state: dict[str, Any] = REAL_AWS_LOAD_BALANCER
) -> LiveResource:
    if listeners is None:
        listeners = {80: {"arn": LISTENER, "listener": REAL_AWS_LISTENER, "rules": {10: REAL_AWS_RULE}}}
    return LiveResource(
        "LoadBalancer", "node-app", LB, state, OWNED_TAGS, {"arn": LB}, {"listeners": listeners}
    )


def summary(plan: Any) -> list[tuple[str, dict[str, Any]]]:
    return [(call.name, dict(call.params)) for call in plan.calls]


def test_create_refers_to_new_groups_and_waits_for_them() -> None:
    lb = document(SPEC)
    plan_context = context(lb, created_this_pass=True)
    plan = order_groups(LOAD_BALANCER.plan(lb, None, plan_context), plan_context.spec_set)
    assert plan.action is Action.CREATE
    main, listeners = plan.groups
    assert main.after == {("SecurityGroup", "node-app-alb", MAIN)}
    assert listeners.after == {("LoadBalancer", "node-app", MAIN), ("TargetGroup", "node-app", MAIN)}
    (create,) = main.calls
    assert {key: value for key, value in create.params.items() if key != "Tags"} == {
        "Name": "node-app",
        "Subnets": ["subnet-a", "subnet-b"],
        "SecurityGroups": [Ref("SecurityGroup", "node-app-alb", "id")],
        "Scheme": "internet-facing",
        "Type": "application",
    }
    assert [call.name for call in listeners.calls] == ["elbv2.CreateListener", "elbv2.CreateRule"]
    create_listener, create_rule = listeners.calls
    assert create_listener.params == {
        "LoadBalancerArn": Ref("LoadBalancer", "node-app", "arn"),
        "Port": 80,
        "Protocol": "HTTP",
        "DefaultActions": [{"Type": "forward", "TargetGroupArn": Ref("TargetGroup", "node-app", "arn")}],
    }
    assert create_rule.params["ListenerArn"] == Ref("LoadBalancer", "node-app", "listener:80")
    assert create_rule.params["Conditions"] == [
        {"Field": "http-header", "HttpHeaderConfig": {"Values": ["beta"], "HttpHeaderName": "X-Env"}},
        {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*", "/v1/*"]}},
    ]


def test_in_sync_real_aws_load_balancer_plans_nothing() -> None:
    lb = document(SPEC)
    plan = LOAD_BALANCER.plan(lb, live(), context(lb))
    assert (plan.action, plan.calls, list(plan.delta)) == (Action.NONE, (), [])


def test_changed_default_action_is_one_modify_listener_with_only_the_actions() -> None:
    lb = document(SPEC)
    drifted = {
        **REAL_AWS_LISTENER,
        "DefaultActions": [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "503"}}],
    }
    plan = LOAD_BALANCER.plan(
        lb, live({80: {"arn": LISTENER, "listener": drifted, "rules": {10: REAL_AWS_RULE}}}), context(lb)
    )
    assert summary(plan) == [
        (
            "elbv2.ModifyListener",
            {"ListenerArn": LISTENER, "DefaultActions": [{"Type": "forward", "TargetGroupArn": TG}]},
        )
    ]


def test_rules_and_listeners_change_by_priority_and_port_exactly() -> None:
    fields = {
        **SPEC,
        "listeners": [
            {**SPEC["listeners"][0], "rules": [{**SPEC["listeners"][0]["rules"][0], "priority": 20}]}
        ],
    }
    lb = document(fields)
    stray = {"arn": "arn:listener/8080", "listener": {**REAL_AWS_LISTENER, "Port": 8080}}
    changed_rule = {
        **REAL_AWS_RULE,
        "RuleArn": "arn:rule/20",
        "Priority": "20",
        "Conditions": REAL_AWS_RULE["Conditions"][:1],
    }
    plan = LOAD_BALANCER.plan(
        lb,
        live(
            {
                80: {
                    "arn": LISTENER,
                    "listener": REAL_AWS_LISTENER,
                    "rules": {10: REAL_AWS_RULE, 20: changed_rule},
                },
                8080: stray,
            }
        ),
        context(lb),
    )
    assert [(name, params.get("RuleArn") or params.get("ListenerArn")) for name, params in summary(plan)] == [
        ("elbv2.DeleteListener", "arn:listener/8080"),
        ("elbv2.DeleteRule", REAL_AWS_RULE["RuleArn"]),
        ("elbv2.ModifyRule", "arn:rule/20"),
    ]


TEAM = {"Key": "team", "Value": "web"}


def test_unset_listeners_are_not_managed_and_set_ones_update_with_narrow_calls() -> None:
    lb = document(
        {
            **{k: v for k, v in SPEC.items() if k != "listeners"},
            "attributes": {"idle_timeout.timeout_seconds": 120},
            "tags": {"team": "web"},
        }
    )
    state = {
        **REAL_AWS_LOAD_BALANCER,
        "SecurityGroups": ["sg-0old"],
        "AvailabilityZones": REAL_AWS_LOAD_BALANCER["AvailabilityZones"][:1],
    }
    current = LiveResource(
        "LoadBalancer",
        "node-app",
        LB,
        state,
        OWNED_TAGS,
        {"arn": LB},
        {"attributes": {"idle_timeout.timeout_seconds": "60", "deletion_protection.enabled": "false"}},
    )
    plan = LOAD_BALANCER.plan(lb, current, context(lb))
    assert summary(plan) == [
        ("elbv2.SetSecurityGroups", {"LoadBalancerArn": LB, "SecurityGroups": ["sg-0aaa"]}),
        ("elbv2.SetSubnets", {"LoadBalancerArn": LB, "Subnets": ["subnet-a", "subnet-b"]}),
        (
            "elbv2.ModifyLoadBalancerAttributes",
            {"LoadBalancerArn": LB, "Attributes": [{"Key": "idle_timeout.timeout_seconds", "Value": "120"}]},
        ),
        # The edited document's spec hash rides on the tag write.
        ("elbv2.AddTags", {"ResourceArns": [LB], "Tags": [{"Key": SPEC_HASH, "Value": lb.spec_hash}, TEAM]}),
    ]


def test_scheme_is_immutable_a_conflict_without_calls() -> None:
    lb = document({**SPEC, "scheme": "internal"})
    plan = LOAD_BALANCER.plan(lb, live(), context(lb))
    assert plan.action is Action.CONFLICT and plan.calls == ()
    assert "Scheme" in plan.message


# --- every page of rules --------------------------------------------------------------------------


class PagedElbv2:
    """Answers DescribeListeners and DescribeRules in pages of two, like a long rule list on AWS."""

    def __init__(self, rules: int) -> None:
        self.rules = [
            {"RuleArn": f"arn:rule/{n}", "Priority": str(n), "IsDefault": False} for n in range(1, rules + 1)
        ]
        self.rules.append({"RuleArn": "arn:rule/default", "Priority": "default", "IsDefault": True})
        self.pages: list[str] = []

    async def call(self, operation: str, /, **params: Any) -> dict[str, Any]:
        raise AssertionError(f"unexpected {operation}")

    async def paginate(self, operation: str, /, **params: Any) -> AsyncIterator[dict[str, Any]]:
        assert params["PageSize"] == 400
        self.pages.append(operation)
        if operation == "describe_listeners":
            yield {"Listeners": [REAL_AWS_LISTENER]}
            return
        for start in range(0, len(self.rules), 2):
            if start:
                self.pages.append(operation)
            yield {"Rules": self.rules[start : start + 2]}


def test_every_page_of_rules_is_read() -> None:
    client = PagedElbv2(rules=5)
    listeners = asyncio.run(_observe_listeners(client, LB, {80}))
    assert sorted(listeners[80]["rules"]) == [1, 2, 3, 4, 5]
    assert client.pages == ["describe_listeners", *["describe_rules"] * 3]


def test_rules_are_not_read_for_listeners_whose_rules_are_unmanaged() -> None:
    client = PagedElbv2(rules=5)
    listeners = asyncio.run(_observe_listeners(client, LB, set()))
    assert "rules" not in listeners[80]
    assert client.pages == ["describe_listeners"]
