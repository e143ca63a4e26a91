"""CloudWatch Logs behaves like AWS on the local AWS: DescribeLogGroups by names, KMS key association,
tags gone with their group. Each test fails against raw moto 5.2.5.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.aws_helpers import SyncAioClients

pytestmark = pytest.mark.aws

KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def group_names(clients: SyncAioClients, **filters: object) -> list[str]:
    return [group["logGroupName"] for group in clients.logs.describe_log_groups(**filters)["logGroups"]]


def test_describe_log_groups_by_identifiers_answers_exactly_those_that_exist(
    aws: object, clients: SyncAioClients
) -> None:
    for name in ("/ecs/web", "/ecs/web-worker", "/ecs/api"):
        clients.logs.create_log_group(logGroupName=name)
    assert group_names(clients, logGroupIdentifiers=["/ecs/web", "/ecs/missing"]) == ["/ecs/web"]
    # Without the filter, every group, as before.
    assert group_names(clients) == ["/ecs/api", "/ecs/web", "/ecs/web-worker"]


def test_a_kms_key_is_associated_and_disassociated(aws: object, clients: SyncAioClients) -> None:
    clients.logs.create_log_group(logGroupName="/ecs/web")
    clients.logs.associate_kms_key(logGroupName="/ecs/web", kmsKeyId=KEY)
    (group,) = clients.logs.describe_log_groups(logGroupIdentifiers=["/ecs/web"])["logGroups"]
    assert group["kmsKeyId"] == KEY
    clients.logs.disassociate_kms_key(logGroupName="/ecs/web")
    (group,) = clients.logs.describe_log_groups(logGroupIdentifiers=["/ecs/web"])["logGroups"]
    assert "kmsKeyId" not in group
    with pytest.raises(ClientError) as missing:
        clients.logs.associate_kms_key(logGroupName="/ecs/missing", kmsKeyId=KEY)
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_a_deleted_group_takes_its_tags_with_it(aws: object, clients: SyncAioClients) -> None:
    clients.logs.create_log_group(logGroupName="/ecs/web", tags={"owner": "old"})
    clients.logs.delete_log_group(logGroupName="/ecs/web")
    clients.logs.create_log_group(logGroupName="/ecs/web")
    (group,) = clients.logs.describe_log_groups(logGroupIdentifiers=["/ecs/web"])["logGroups"]
    assert clients.logs.list_tags_for_resource(resourceArn=group["logGroupArn"])["tags"] == {}
