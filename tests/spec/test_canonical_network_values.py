"""Network values AWS stores in one canonical form are put in that form when a spec is loaded,
so the spec, the plan and what EC2 or ELBv2 answers compare as plain equality."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from reconciler.resources.load_balancer.model import Listener
from reconciler.resources.security_group.model import SecurityGroupRule


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("2001:DB8:1234::/48", "2001:db8:1234::/48"),
        ("2001:db8:0:0::/64", "2001:db8::/64"),
        ("2001:0db8:0000::/32", "2001:db8::/32"),
        ("2001:db8:0:1:0:0:0:0/64", "2001:db8:0:1::/64"),
        ("::/0", "::/0"),
        ("2001:db8::/48", "2001:db8::/48"),
    ],
)
def test_an_ipv6_range_is_canonicalised_to_what_ec2_returns(written: str, stored: str) -> None:
    rule = SecurityGroupRule.model_validate({"protocol": "tcp", "port": 443, "ipv6Cidr": written})
    assert rule.ipv6_cidr == stored


@pytest.mark.parametrize(
    ("written", "stored"),
    [("10.0.0.0/08", "10.0.0.0/8"), ("0.0.0.0/0", "0.0.0.0/0"), ("192.168.0.0/16", "192.168.0.0/16")],
)
def test_an_ipv4_range_is_canonicalised_to_what_ec2_returns(written: str, stored: str) -> None:
    rule = SecurityGroupRule.model_validate({"protocol": "tcp", "port": 443, "cidr": written})
    assert rule.cidr == stored


@pytest.mark.parametrize(
    ("written", "stored"),
    [(6, "tcp"), ("6", "tcp"), (17, "udp"), ("17", "udp"), (1, "icmp"), ("58", "icmpv6")],
)
def test_a_protocol_number_ec2_names_is_stored_as_its_name(written: object, stored: str) -> None:
    ports: dict[str, Any] = {"port": 53} if stored in ("tcp", "udp") else {}
    rule = SecurityGroupRule.model_validate({"protocol": written, "cidr": "10.0.0.0/8", **ports})
    assert rule.protocol == stored


def test_a_listener_certificate_listed_twice_is_refused() -> None:
    certificate = {"certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/a"}
    with pytest.raises(ValidationError, match="listed twice"):
        Listener.model_validate(
            {
                "port": 443,
                "protocol": "HTTPS",
                "certificates": [certificate, certificate],
                "defaultAction": {"type": "fixed-response", "fixedResponseConfig": {"statusCode": 404}},
            }
        )
