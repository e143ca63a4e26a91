"""An HTTPS listener's certificates: the spec's first is the default certificate (CreateListener,
ModifyListener), the others the listener's certificate list, converged as a set by ARN with one
AddListenerCertificates and one RemoveListenerCertificates call for exactly the difference. Planned
against DescribeListenerCertificates answers shaped like AWS's, then end to end on the local AWS."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from reconciler.local import LocalAWS
from reconciler.plan.steps import Action, Ref
from reconciler.resources.base import Environment, LiveResource, LiveState, PlanContext, PlanSettings
from reconciler.resources.load_balancer.kind import KIND as LOAD_BALANCER
from reconciler.resources.load_balancer.kind import _observe_listeners
from reconciler.resources.load_balancer.model import LoadBalancerSpec
from reconciler.spec import Document, Metadata, SpecSet
from tests.harness import engine_pass, load

LB = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/tls/50dc6c495c0c9188"
LISTENER = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/tls/50dc6c495c0c9188/f2f7dc8e"
A, B, C, D = (f"arn:aws:acm:us-east-1:123456789012:certificate/{name}" for name in "abcd")
NOT_FOUND = {"type": "fixed-response", "fixedResponseConfig": {"statusCode": 404}}
# DescribeListeners as AWS answers an HTTPS listener: its default certificate alone, no IsDefault.
REAL_AWS_LISTENER: dict[str, Any] = {
    "ListenerArn": LISTENER,
    "LoadBalancerArn": LB,
    "Port": 443,
    "Protocol": "HTTPS",
    "SslPolicy": "ELBSecurityPolicy-2016-08",
    "Certificates": [{"CertificateArn": A}],
    "DefaultActions": [
        {
            "Type": "fixed-response",
            "Order": 1,
            "FixedResponseConfig": {"StatusCode": "404", "ContentType": "text/plain"},
        }
    ],
}
REAL_AWS_LOAD_BALANCER: dict[str, Any] = {
    "LoadBalancerArn": LB,
    "LoadBalancerName": "tls",
    "Scheme": "internet-facing",
    "Type": "application",
    "IpAddressType": "ipv4",
    "AvailabilityZones": [
        {"ZoneName": "us-east-1a", "SubnetId": "subnet-a", "LoadBalancerAddresses": []},
        {"ZoneName": "us-east-1b", "SubnetId": "subnet-b", "LoadBalancerAddresses": []},
    ],
    "SecurityGroups": [],
}
OWNED_TAGS = {
    "ecs-reconciler/managed-by": "ecs-reconciler",
    "ecs-reconciler/instance": "default",
    "ecs-reconciler/source": "LoadBalancer/tls",
    "ecs-reconciler/deletion-policy": "delete",
}


def document(*certificates: str) -> Document:
    listener = {
        "port": 443,
        "protocol": "HTTPS",
        "certificates": [{"certificateArn": arn} for arn in certificates],
        "defaultAction": NOT_FOUND,
    }
    return Document(
        kind="LoadBalancer",
        metadata=Metadata(name="tls"),
        spec=LoadBalancerSpec.model_validate({"subnets": ["subnet-a", "subnet-b"], "listeners": [listener]}),
        file="lb.yaml",
        line=1,
    )


def context(document: Document) -> PlanContext:
    return PlanContext(
        spec_set=SpecSet((document,)),
        live=LiveState(),
        environment=Environment(account_id="123456789012", region="us-east-1"),
        settings=PlanSettings(),
    )


def live(described: list[tuple[str, bool]]) -> LiveResource:
    certificates = [{"CertificateArn": arn, "IsDefault": default} for arn, default in described]
    listeners = {443: {"arn": LISTENER, "listener": REAL_AWS_LISTENER, "certificates": certificates}}
    return LiveResource(
        "LoadBalancer", "tls", LB, REAL_AWS_LOAD_BALANCER, OWNED_TAGS, {"arn": LB}, {"listeners": listeners}
    )


def summary(plan: Any) -> list[tuple[str, list[str]]]:
    return [
        (call.name, [item["CertificateArn"] for item in call.params.get("Certificates", [])])
        for call in plan.calls
    ]


@pytest.mark.parametrize(
    "described",
    [
        [(A, True), (B, False), (C, False)],
        # AWS lists the default certificate twice when it is also in the certificate list.
        [(A, True), (C, False), (A, False), (B, False)],
    ],
    ids=["as-added", "default-also-listed"],
)
def test_a_real_aws_certificate_list_matching_the_spec_plans_nothing(
    described: list[tuple[str, bool]],
) -> None:
    lb = document(A, B, C)
    plan = LOAD_BALANCER.plan(lb, live(described), context(lb))
    assert (plan.action, plan.calls, list(plan.delta)) == (Action.NONE, (), [])


def test_only_the_difference_is_added_and_removed_with_one_call_each() -> None:
    lb = document(A, B, C)
    plan = LOAD_BALANCER.plan(lb, live([(A, True), (B, False), (D, False)]), context(lb))
    assert summary(plan) == [
        ("elbv2.AddListenerCertificates", [C]),
        ("elbv2.RemoveListenerCertificates", [D]),
    ]
    assert {call.params["ListenerArn"] for call in plan.calls} == {LISTENER}
    assert [(d.written_path, d.desired, d.live) for d in plan.delta] == [
        (("listeners", 0, "certificates", 2), C, None),
        (("listeners", 0, "certificates", D), None, D),
    ]


def test_a_new_default_certificate_is_one_modify_listener_and_leaves_the_list_alone() -> None:
    lb = document(D, B, C)
    plan = LOAD_BALANCER.plan(lb, live([(A, True), (B, False), (C, False)]), context(lb))
    assert summary(plan) == [("elbv2.ModifyListener", [D])]


def test_a_new_listener_gets_its_default_certificate_then_its_list_in_one_call() -> None:
    lb = document(A, B, C)
    plan = LOAD_BALANCER.plan(lb, None, context(lb))
    create, add = plan.groups[1].calls
    assert (create.name, create.params["Certificates"]) == (
        "elbv2.CreateListener",
        [{"CertificateArn": A}],
    )
    assert add.name == "elbv2.AddListenerCertificates"
    assert add.params == {
        "ListenerArn": Ref("LoadBalancer", "tls", "listener:443"),
        "Certificates": [{"CertificateArn": B}, {"CertificateArn": C}],
    }


# --- end to end on the local AWS ----------------------------------------------------------------------

SPEC = """\
apiVersion: ecs-reconciler/v1
kind: LoadBalancer
metadata: {{name: tls}}
spec:
  subnets: default
  listeners:
    - port: 80
      protocol: HTTP
      defaultAction: {{type: fixed-response, fixedResponseConfig: {{statusCode: 404}}}}
    - port: 443
      protocol: HTTPS
      certificates:
{certificates}
      defaultAction: {{type: fixed-response, fixedResponseConfig: {{statusCode: 404}}}}
"""


def client(local: LocalAWS, service: str) -> Any:
    return boto3.client(service, region_name=local.region, endpoint_url=local.endpoint_url)


def write_spec(folder: Path, *arns: str) -> None:
    lines = "\n".join(f"        - certificateArn: {arn}" for arn in arns)
    (folder / "lb.yaml").write_text(SPEC.format(certificates=lines))


def https_listener(local: LocalAWS) -> str:
    elbv2 = client(local, "elbv2")
    arn = elbv2.describe_load_balancers(Names=["tls"])["LoadBalancers"][0]["LoadBalancerArn"]
    listeners = elbv2.describe_listeners(LoadBalancerArn=arn)["Listeners"]
    return str(next(item["ListenerArn"] for item in listeners if item["Port"] == 443))


def described(local: LocalAWS) -> list[tuple[str, bool]]:
    answer = client(local, "elbv2").describe_listener_certificates(ListenerArn=https_listener(local))
    return sorted((item["CertificateArn"], item["IsDefault"]) for item in answer["Certificates"])


@pytest.fixture
def certificates(aws: LocalAWS) -> list[str]:
    acm = client(aws, "acm")
    return [acm.request_certificate(DomainName=f"{name}.example.com")["CertificateArn"] for name in "abcd"]


@pytest.mark.aws
def test_every_certificate_is_attached_once_then_no_writes_and_one_read_more_per_https_listener(
    aws: LocalAWS, tmp_path: Path, certificates: list[str]
) -> None:
    a, b, c, _ = certificates
    write_spec(tmp_path, a, b, c)
    first = engine_pass(aws, load(tmp_path))
    assert first.result.ok, first.result.execution
    assert first.writes == {
        "elbv2.CreateLoadBalancer": 1,
        "elbv2.CreateListener": 2,
        "elbv2.AddListenerCertificates": 1,
    }
    assert described(aws) == sorted([(a, True), (b, False), (c, False)])

    second = engine_pass(aws, load(tmp_path))
    assert second.writes == {}
    assert not second.result.plan.has_changes
    assert second.calls["elbv2.DescribeListenerCertificates"] == 1  # the HTTPS listener's, not port 80's


@pytest.mark.aws
def test_certificates_removed_or_added_by_hand_or_dropped_from_the_spec_take_one_call_each(
    aws: LocalAWS, tmp_path: Path, certificates: list[str]
) -> None:
    a, b, c, d = certificates
    write_spec(tmp_path, a, b, c)
    engine_pass(aws, load(tmp_path))
    elbv2 = client(aws, "elbv2")

    elbv2.remove_listener_certificates(ListenerArn=https_listener(aws), Certificates=[{"CertificateArn": b}])
    assert engine_pass(aws, load(tmp_path)).writes == {"elbv2.AddListenerCertificates": 1}

    elbv2.add_listener_certificates(ListenerArn=https_listener(aws), Certificates=[{"CertificateArn": d}])
    assert engine_pass(aws, load(tmp_path)).writes == {"elbv2.RemoveListenerCertificates": 1}

    write_spec(tmp_path, a, b)
    # An edit of the spec, unlike the two by hand: its change set also records the new spec hash.
    assert engine_pass(aws, load(tmp_path)).writes == {
        "elbv2.RemoveListenerCertificates": 1,
        "elbv2.AddTags": 1,
    }
    assert described(aws) == sorted([(a, True), (b, False)])
    assert not engine_pass(aws, load(tmp_path), apply=False).result.plan.has_changes


class ListenersAnswer:
    """DescribeListeners with an HTTP listener on :80 and an HTTPS one on :443; counts certificate reads."""

    def __init__(self) -> None:
        self.certificate_reads: list[str] = []

    async def call(self, operation: str, /, **params: Any) -> dict[str, Any]:
        raise AssertionError(f"unexpected {operation}")

    async def paginate(self, operation: str, /, **params: Any) -> AsyncIterator[dict[str, Any]]:
        if operation == "describe_listeners":
            plain = {**REAL_AWS_LISTENER, "ListenerArn": f"{LISTENER}-80", "Port": 80, "Protocol": "HTTP"}
            del plain["SslPolicy"], plain["Certificates"]
            yield {"Listeners": [plain, REAL_AWS_LISTENER]}
            return
        assert operation == "describe_listener_certificates"
        self.certificate_reads.append(params["ListenerArn"])
        yield {"Certificates": [{"CertificateArn": A, "IsDefault": True}]}


def test_certificates_are_read_only_for_listeners_that_are_https_in_the_spec_and_on_aws() -> None:
    # :80 is about to become HTTPS (the spec says so), but an HTTP listener has no certificate list.
    client = ListenersAnswer()
    listeners = asyncio.run(_observe_listeners(client, LB, set(), frozenset({80, 443})))
    assert client.certificate_reads == [LISTENER]
    assert "certificates" not in listeners[80]
    assert listeners[443]["certificates"] == [{"CertificateArn": A, "IsDefault": True}]


@pytest.mark.aws
def test_an_http_listener_turned_https_gets_its_default_certificate_then_its_list(
    aws: LocalAWS, tmp_path: Path, certificates: list[str]
) -> None:
    a, b, c, _ = certificates
    write_spec(tmp_path, a)
    engine_pass(aws, load(tmp_path))
    spec = (tmp_path / "lb.yaml").read_text()
    https_on_80 = spec.replace(
        "    - port: 80\n      protocol: HTTP\n",
        "    - port: 80\n      protocol: HTTPS\n"
        f"      certificates: [{{certificateArn: {b}}}, {{certificateArn: {c}}}]\n",
    )
    (tmp_path / "lb.yaml").write_text(https_on_80)

    changed = engine_pass(aws, load(tmp_path))

    assert changed.result.ok, changed.result.execution
    # With the edited document's spec hash, recorded in the same change set.
    assert changed.writes == {
        "elbv2.ModifyListener": 1,
        "elbv2.AddListenerCertificates": 1,
        "elbv2.AddTags": 1,
    }
    assert not engine_pass(aws, load(tmp_path), apply=False).result.plan.has_changes
