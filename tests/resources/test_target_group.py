"""The TargetGroup kind's pure parts: normalisation tables on real-AWS-shaped responses, planned calls,
and the by-name lookup that falls back to one listing when a name is missing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from reconciler.aws.errors import RetryableAwsError
from reconciler.plan.delta import diff_trees
from reconciler.plan.ownership import SPEC_HASH
from reconciler.plan.steps import MAIN, Action, Ref
from reconciler.resources import elbv2
from reconciler.resources.base import Environment, LiveResource, LiveState, PlanContext, PlanSettings
from reconciler.resources.target_group.kind import KIND as TARGET_GROUP
from reconciler.resources.target_group.kind import desired_tree, live_tree
from reconciler.resources.target_group.model import TargetGroupSpec
from reconciler.spec import Document, Metadata, SpecSet

ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/node-app/73e2d6bc24d8a067"

# A DescribeTargetGroups item as real AWS returns it for `protocol HTTP, port 3000, ip, path /healthz`:
# every health-check default filled in, the port as "traffic-port", HTTP1, ipv4.
REAL_AWS_TARGET_GROUP: dict[str, Any] = {
    "TargetGroupArn": ARN,
    "TargetGroupName": "node-app",
    "Protocol": "HTTP",
    "Port": 3000,
    "VpcId": "vpc-0123",
    "HealthCheckProtocol": "HTTP",
    "HealthCheckPort": "traffic-port",
    "HealthCheckEnabled": True,
    "HealthCheckIntervalSeconds": 30,
    "HealthCheckTimeoutSeconds": 5,
    "HealthyThresholdCount": 5,
    "UnhealthyThresholdCount": 2,
    "HealthCheckPath": "/healthz",
    "Matcher": {"HttpCode": "200"},
    "LoadBalancerArns": [
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/node-app/50dc6c495c0c9188"
    ],
    "TargetType": "ip",
    "ProtocolVersion": "HTTP1",
    "IpAddressType": "ipv4",
}


def spec(**fields: Any) -> TargetGroupSpec:
    return TargetGroupSpec.model_validate(fields)


@pytest.mark.parametrize(
    ("fields", "expected_paths"),
    [
        ({"protocol": "HTTP", "port": 3000, "targetType": "ip", "healthCheck": {"path": "/healthz"}}, []),
        # Server defaults the spec spells out, in YAML's types (numbers, booleans).
        (
            {
                "healthCheck": {
                    "port": "traffic-port",
                    "matcher": {"httpCode": 200},
                    "intervalSeconds": 30,
                    "enabled": True,
                    "protocol": "HTTP",
                }
            },
            [],
        ),
        ({"healthCheck": {"port": 3000}}, [("HealthCheckPort",)]),
        (
            {"healthCheck": {"path": "/", "healthyThresholdCount": 3}},
            [("HealthCheckPath",), ("HealthyThresholdCount",)],
        ),
        ({"healthCheck": {"matcher": {"httpCode": "200-299"}}}, [("Matcher", "HttpCode")]),
        ({}, []),
        ({"protocolVersion": "HTTP2"}, [("ProtocolVersion",)]),
    ],
)
def test_real_aws_defaults_never_show_as_drift(
    fields: dict[str, Any], expected_paths: list[tuple[str, ...]]
) -> None:
    delta = diff_trees(desired_tree(spec(**fields), vpc_id=None), live_tree(REAL_AWS_TARGET_GROUP))
    assert [d.path for d in delta] == expected_paths


def test_a_numeric_health_check_port_from_the_api_compares_as_its_string() -> None:
    live = live_tree({**REAL_AWS_TARGET_GROUP, "HealthCheckPort": "3000"})
    assert not diff_trees(desired_tree(spec(healthCheck={"port": 3000}), vpc_id=None), live)


# --- planned calls ----------------------------------------------------------------------------------


def document(fields: dict[str, Any], name: str = "node-app") -> Document:
    return Document(
        kind="TargetGroup", metadata=Metadata(name=name), spec=spec(**fields), file="tg.yaml", line=1
    )


def context(*documents: Document) -> PlanContext:
    return PlanContext(
        spec_set=SpecSet(tuple(documents)),
        live=LiveState(),
        environment=Environment(account_id="123456789012", region="us-east-1", default_vpc_id="vpc-0123"),
        settings=PlanSettings(),
    )


OWNED_TAGS = {
    "ecs-reconciler/managed-by": "ecs-reconciler",
    "ecs-reconciler/instance": "default",
    "ecs-reconciler/source": "TargetGroup/node-app",
    "ecs-reconciler/deletion-policy": "delete",
}
TUTORIAL = {
    "protocol": "HTTP",
    "port": 3000,
    "targetType": "ip",
    "vpc": "default",
    "healthCheck": {"path": "/healthz"},
    "attributes": {"deregistration_delay.timeout_seconds": 30},
}


def live(
    state: dict[str, Any] = REAL_AWS_TARGET_GROUP, attributes: dict[str, str] | None = None
) -> LiveResource:
    return LiveResource(
        "TargetGroup",
        "node-app",
        state["TargetGroupArn"],
        state,
        OWNED_TAGS,
        {"arn": state["TargetGroupArn"]},
        {
            "attributes": attributes
            if attributes is not None
            else {"deregistration_delay.timeout_seconds": "30", "stickiness.enabled": "false"}
        },
    )


def test_create_sends_only_the_fields_the_spec_sets_then_its_attributes() -> None:
    tg = document(TUTORIAL)
    plan = TARGET_GROUP.plan(tg, None, context(tg))
    assert plan.action is Action.CREATE
    (group,) = plan.groups
    assert group.key == ("TargetGroup", "node-app", MAIN)
    create, attributes = group.calls
    assert {key: value for key, value in create.params.items() if key != "Tags"} == {
        "Name": "node-app",
        "Protocol": "HTTP",
        "Port": 3000,
        "TargetType": "ip",
        "VpcId": "vpc-0123",
        "HealthCheckPath": "/healthz",
    }
    assert create.outputs == {"arn": ("TargetGroups", 0, "TargetGroupArn")}
    assert attributes.name == "elbv2.ModifyTargetGroupAttributes"
    assert attributes.params == {
        "TargetGroupArn": Ref("TargetGroup", "node-app", "arn"),
        "Attributes": [{"Key": "deregistration_delay.timeout_seconds", "Value": "30"}],
    }


def test_in_sync_real_aws_target_group_plans_nothing() -> None:
    tg = document(TUTORIAL)
    plan = TARGET_GROUP.plan(tg, live(), context(tg))
    assert (plan.action, plan.calls, bool(plan.delta)) == (Action.NONE, (), False)


def test_each_change_group_is_one_call_with_only_what_changed() -> None:
    tg = document(
        {**TUTORIAL, "healthCheck": {"path": "/ready", "matcher": {"httpCode": 200}}, "tags": {"team": "web"}}
    )
    plan = TARGET_GROUP.plan(
        tg, live(attributes={"deregistration_delay.timeout_seconds": "300"}), context(tg)
    )
    assert [(call.name, dict(call.params)) for call in plan.calls] == [
        ("elbv2.ModifyTargetGroup", {"TargetGroupArn": ARN, "HealthCheckPath": "/ready"}),
        (
            "elbv2.ModifyTargetGroupAttributes",
            {
                "TargetGroupArn": ARN,
                "Attributes": [{"Key": "deregistration_delay.timeout_seconds", "Value": "30"}],
            },
        ),
        # The edited document's spec hash rides on the tag write.
        (
            "elbv2.AddTags",
            {
                "ResourceArns": [ARN],
                "Tags": [{"Key": SPEC_HASH, "Value": tg.spec_hash}, {"Key": "team", "Value": "web"}],
            },
        ),
    ]


@pytest.mark.parametrize(
    ("field", "path"),
    [
        ({"port": 8080}, ("port",)),
        ({"protocol": "HTTPS"}, ("protocol",)),
        ({"protocolVersion": "HTTP2"}, ("protocolVersion",)),
        ({"targetType": "instance"}, ("targetType",)),
        ({"vpc": "vpc-0999"}, ("vpc",)),
        ({"ipAddressType": "ipv6"}, ("ipAddressType",)),
    ],
)
def test_an_immutable_field_is_a_replacement_under_the_other_name(
    field: dict[str, Any], path: tuple[str, ...]
) -> None:
    # The whole replacement (cleanup, ordering, both names) is in test_target_group_replace.py.
    tg = document({**TUTORIAL, **field, "healthCheck": {"path": "/other"}})
    plan = TARGET_GROUP.plan(tg, live(), context(tg))
    assert plan.action is Action.REPLACE
    assert path in [diff.path for diff in plan.delta] and ("healthCheck", "path") in [
        d.path for d in plan.delta
    ]
    create = plan.calls[0]
    assert (create.name, create.params["Name"]) == ("elbv2.CreateTargetGroup", "node-app-r")
    assert "replaced by node-app-r" in plan.message


# --- by-name lookup --------------------------------------------------------------------------------


class FakeElbv2:
    """Answers DescribeTargetGroups like ELBv2: by Names fails whole when one is missing."""

    def __init__(self, existing: list[str]) -> None:
        self.groups = [{"TargetGroupName": name, "TargetGroupArn": f"arn:{name}"} for name in existing]
        self.calls: list[str] = []

    async def call(self, operation: str, /, **params: Any) -> dict[str, Any]:
        self.calls.append(operation)
        missing = set(params["Names"]) - {group["TargetGroupName"] for group in self.groups}
        if missing:
            raise RetryableAwsError(
                service="elbv2",
                operation="DescribeTargetGroups",
                code="TargetGroupNotFound",
                message="",
                retryable=True,
            )
        return {
            "TargetGroups": [group for group in self.groups if group["TargetGroupName"] in params["Names"]]
        }

    async def paginate(self, operation: str, /, **params: Any) -> AsyncIterator[dict[str, Any]]:
        assert params == {"PageSize": 400}
        for start in range(0, len(self.groups), 2):  # two items a page, to show every page is read
            self.calls.append(f"{operation} page")
            yield {"TargetGroups": self.groups[start : start + 2]}


def lookup(client: FakeElbv2, names: list[str]) -> dict[str, Any]:
    return asyncio.run(
        elbv2.describe_by_names(
            client,
            operation="describe_target_groups",
            result_key="TargetGroups",
            name_key="TargetGroupName",
            not_found_code="TargetGroupNotFound",
            names=names,
        )
    )


def test_lookup_by_names_is_one_call_when_all_exist() -> None:
    client = FakeElbv2(["a", "b", "c"])
    assert sorted(lookup(client, ["a", "c"])) == ["a", "c"]
    assert client.calls == ["describe_target_groups"]


def test_a_missing_name_falls_back_to_one_listing_of_every_page() -> None:
    client = FakeElbv2(["a", "b", "c", "d", "e"])
    assert sorted(lookup(client, ["a", "e", "missing"])) == ["a", "e"]
    assert client.calls == ["describe_target_groups", *["describe_target_groups page"] * 3]


def test_find_by_names_lists_straight_away_for_names_usually_missing() -> None:
    client = FakeElbv2(["a", "b", "c", "d", "e"])
    found = asyncio.run(
        elbv2.find_by_names(
            client,
            operation="describe_target_groups",
            result_key="TargetGroups",
            name_key="TargetGroupName",
            names=["a", "a-r", "e", "e-r"],
        )
    )
    assert sorted(found) == ["a", "e"]
    assert client.calls == ["describe_target_groups page"] * 3
    empty = FakeElbv2(["a"])
    assert (
        asyncio.run(
            elbv2.find_by_names(
                empty,
                operation="describe_target_groups",
                result_key="TargetGroups",
                name_key="TargetGroupName",
                names=[],
            )
        )
        == {}
    )
    assert empty.calls == []
