"""A listener's certificates behave like AWS on the local AWS: one default certificate (the only one
CreateListener, ModifyListener and DescribeListeners deal in) and a certificate list, changed with
Add/RemoveListenerCertificates. Each test fails against raw moto 5.2.5."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.local import LocalAWS
from tests.aws_helpers import SyncAioClients

pytestmark = pytest.mark.aws


def certificate(clients: SyncAioClients, domain: str) -> str:
    return str(clients.acm.request_certificate(DomainName=domain)["CertificateArn"])


def https_listener(clients: SyncAioClients, default: str) -> str:
    vpc = clients.ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnets = clients.ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]
    balancer = clients.elbv2.create_load_balancer(
        Name="tls", Subnets=sorted(s["SubnetId"] for s in subnets)[:2], Type="application"
    )["LoadBalancers"][0]["LoadBalancerArn"]
    return str(
        clients.elbv2.create_listener(
            LoadBalancerArn=balancer,
            Protocol="HTTPS",
            Port=443,
            Certificates=[{"CertificateArn": default}],
            DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}],
        )["Listeners"][0]["ListenerArn"]
    )


def described(clients: SyncAioClients, listener: str) -> list[tuple[str, bool]]:
    answer = clients.elbv2.describe_listener_certificates(ListenerArn=listener)["Certificates"]
    return [(item["CertificateArn"], item["IsDefault"]) for item in answer]


def certificates(*arns: str) -> list[dict[str, Any]]:
    return [{"CertificateArn": arn} for arn in arns]


def test_the_certificate_list_is_kept_apart_from_the_default_certificate(
    aws: LocalAWS, clients: SyncAioClients
) -> None:
    a, b, c, d = (certificate(clients, f"{name}.example.com") for name in "abcd")
    listener = https_listener(clients, a)

    clients.elbv2.add_listener_certificates(ListenerArn=listener, Certificates=certificates(b, c))
    clients.elbv2.add_listener_certificates(ListenerArn=listener, Certificates=certificates(b))
    assert described(clients, listener) == [(a, True), (b, False), (c, False)]
    (shown,) = clients.elbv2.describe_listeners(ListenerArns=[listener])["Listeners"]
    assert shown["Certificates"] == [{"CertificateArn": a}]

    modified = clients.elbv2.modify_listener(ListenerArn=listener, Certificates=certificates(d))
    assert modified["Listeners"][0]["Certificates"] == [{"CertificateArn": d}]
    assert described(clients, listener) == [(d, True), (b, False), (c, False)]

    clients.elbv2.remove_listener_certificates(ListenerArn=listener, Certificates=certificates(b, d))
    assert described(clients, listener) == [(d, True), (c, False)]
