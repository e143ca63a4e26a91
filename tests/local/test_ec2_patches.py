"""EC2 security group rules behave like AWS on the local AWS: CIDR blocks are stored in canonical form.
Each test fails against raw moto 5.2.5."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from reconciler.local import LocalAWS
from tests.aws_helpers import SyncAioClients

pytestmark = pytest.mark.aws


def new_group(clients: SyncAioClients, name: str) -> str:
    vpc = clients.ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    return str(clients.ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc)["GroupId"])


def https_from(ipv6_cidr: str) -> list[dict[str, Any]]:
    return [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "Ipv6Ranges": [{"CidrIpv6": ipv6_cidr}]}]


def test_an_ipv6_range_is_stored_canonical_and_another_spelling_is_a_duplicate(
    aws: LocalAWS, clients: SyncAioClients
) -> None:
    group = new_group(clients, "v6")
    first = https_from("2001:DB8:1234::/48")
    clients.ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=first)

    (stored,) = clients.ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"]
    with pytest.raises(ClientError) as error:
        clients.ec2.authorize_security_group_ingress(
            GroupId=group, IpPermissions=https_from("2001:db8:1234:0::/48")
        )

    assert [r["CidrIpv6"] for p in stored["IpPermissions"] for r in p["Ipv6Ranges"]] == ["2001:db8:1234::/48"]
    assert error.value.response["Error"]["Code"] == "InvalidPermission.Duplicate"
