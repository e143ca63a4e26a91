"""ARNs and ECR hosts follow the account's partition: China and GovCloud differ from `aws`."""

from __future__ import annotations

import pytest

from reconciler.resources.base import Environment, LiveState, PlanContext, PlanSettings
from reconciler.resources.task_definition.images import repository_uri
from reconciler.spec import SpecSet


@pytest.mark.parametrize(
    ("partition", "region", "role", "uri"),
    [
        (
            "aws",
            "us-east-1",
            "arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/web",
        ),
        (
            "aws-cn",
            "cn-north-1",
            "arn:aws-cn:iam::123456789012:role/ecsTaskExecutionRole",
            "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/web",
        ),
        (
            "aws-us-gov",
            "us-gov-west-1",
            "arn:aws-us-gov:iam::123456789012:role/ecsTaskExecutionRole",
            "123456789012.dkr.ecr.us-gov-west-1.amazonaws.com/web",
        ),
    ],
)
def test_role_names_and_image_hosts_are_completed_in_the_accounts_partition(
    partition: str, region: str, role: str, uri: str
) -> None:
    environment = Environment(account_id="123456789012", region=region, partition=partition)
    context = PlanContext(
        spec_set=SpecSet(()), live=LiveState(), environment=environment, settings=PlanSettings()
    )
    assert context.role_arn("ecsTaskExecutionRole") == role
    assert context.role_arn(role) == role  # a full ARN is used as written
    assert repository_uri(environment, "web") == uri
