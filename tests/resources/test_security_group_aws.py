"""A security group whose spec spells CIDR blocks and protocols unlike EC2's answer, against the local
AWS (which stores CIDR blocks canonical, as AWS does): converged once, then no writes; real changes to
the same rules still fixed with one call."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest

from reconciler.local import LocalAWS
from tests.harness import engine_pass, load

pytestmark = pytest.mark.aws

SPEC = """\
apiVersion: ecs-reconciler/v1
kind: SecurityGroup
metadata: {name: edge}
spec:
  vpc: default
  ingress:
    - {protocol: tcp, port: 443, ipv6Cidr: "2001:DB8:1234::/48"}
    - {protocol: 6, port: 443, ipv6Cidr: "2001:db8:0:0::/64"}
    - {protocol: tcp, port: 443, cidr: 10.0.0.0/08}
"""


def ec2(local: LocalAWS) -> Any:
    return boto3.client("ec2", region_name=local.region, endpoint_url=local.endpoint_url)


def ingress(local: LocalAWS) -> tuple[str, list[str]]:
    (group,) = ec2(local).describe_security_groups(Filters=[{"Name": "group-name", "Values": ["edge"]}])[
        "SecurityGroups"
    ]
    ranges = [r["CidrIpv6"] for p in group["IpPermissions"] for r in p["Ipv6Ranges"]]
    ranges += [r["CidrIp"] for p in group["IpPermissions"] for r in p["IpRanges"]]
    return group["GroupId"], sorted(ranges)


def test_non_canonical_ranges_converge_once_then_need_no_writes(aws: LocalAWS, tmp_path: Path) -> None:
    (tmp_path / "sg.yaml").write_text(SPEC)
    first = engine_pass(aws, load(tmp_path))
    assert first.result.ok, first.result.execution
    assert first.writes == {"ec2.CreateSecurityGroup": 1, "ec2.AuthorizeSecurityGroupIngress": 1}
    assert ingress(aws)[1] == ["10.0.0.0/8", "2001:db8:1234::/48", "2001:db8::/64"]

    second = engine_pass(aws, load(tmp_path))
    assert second.writes == {}
    assert not second.result.plan.has_changes


def test_a_revoked_or_added_range_is_still_one_call(aws: LocalAWS, tmp_path: Path) -> None:
    (tmp_path / "sg.yaml").write_text(SPEC)
    engine_pass(aws, load(tmp_path))
    group_id, _ = ingress(aws)
    ec2(aws).revoke_security_group_ingress(
        GroupId=group_id,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 443,
                "ToPort": 443,
                "Ipv6Ranges": [{"CidrIpv6": "2001:db8:1234::/48"}],
            }
        ],
    )
    healed = engine_pass(aws, load(tmp_path))
    assert healed.writes == {"ec2.AuthorizeSecurityGroupIngress": 1}

    another = '    - {protocol: tcp, port: 443, ipv6Cidr: "2001:DB8:FFFF::/48"}\n'
    (tmp_path / "sg.yaml").write_text(SPEC + another)
    added = engine_pass(aws, load(tmp_path))
    # A spec edit, unlike the revoke by hand: it also records the edited document's spec hash.
    assert added.writes == {"ec2.AuthorizeSecurityGroupIngress": 1, "ec2.CreateTags": 1}
    assert "2001:db8:ffff::/48" in ingress(aws)[1]
    assert not engine_pass(aws, load(tmp_path), apply=False).result.plan.has_changes
