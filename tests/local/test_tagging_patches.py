"""The Resource Groups Tagging API lists what the orphan sweep (`reconciler.engine.tagging`) asks
for on the local AWS as on AWS: ECR repositories, and log groups under AWS's type name. Each test
fails against raw moto 5.2.5."""

from __future__ import annotations

import pytest

from tests.aws_helpers import SyncAioClients

pytestmark = pytest.mark.aws

OWNED = {"Key": "ecs-reconciler/managed-by", "Values": ["ecs-reconciler"]}


def listed(clients: SyncAioClients, resource_type: str) -> list[str]:
    answer = clients.resourcegroupstaggingapi.get_resources(
        TagFilters=[OWNED], ResourceTypeFilters=[resource_type]
    )
    return [mapping["ResourceARN"].rsplit(":", 1)[-1] for mapping in answer["ResourceTagMappingList"]]


def test_owned_ecr_repositories_are_listed(aws: object, clients: SyncAioClients) -> None:
    clients.ecr.create_repository(
        repositoryName="owned", tags=[{"Key": "ecs-reconciler/managed-by", "Value": "ecs-reconciler"}]
    )
    clients.ecr.create_repository(repositoryName="not-ours", tags=[{"Key": "team", "Value": "web"}])
    assert listed(clients, "ecr:repository") == ["repository/owned"]


def test_log_groups_are_listed_as_logs_log_group(aws: object, clients: SyncAioClients) -> None:
    clients.logs.create_log_group(
        logGroupName="/ecs/owned", tags={"ecs-reconciler/managed-by": "ecs-reconciler"}
    )
    clients.logs.create_log_group(logGroupName="/ecs/not-ours")
    assert listed(clients, "logs:log-group") == ["/ecs/owned"]


def test_a_page_holds_as_many_resources_as_asked_whatever_their_tags(
    aws: object, clients: SyncAioClients
) -> None:
    tags = [{"Key": "ecs-reconciler/managed-by", "Value": "ecs-reconciler"}] + [
        {"Key": f"tag-{index}", "Value": "x"} for index in range(9)
    ]
    for index in range(30):
        clients.ecr.create_repository(repositoryName=f"repository-{index}", tags=tags)
    page = clients.resourcegroupstaggingapi.get_resources(TagFilters=[OWNED], ResourcesPerPage=25)
    assert len(page["ResourceTagMappingList"]) == 25  # 250 tags: moto stopped at 100
    rest = clients.resourcegroupstaggingapi.get_resources(
        TagFilters=[OWNED], ResourcesPerPage=25, PaginationToken=page["PaginationToken"]
    )
    assert len(rest["ResourceTagMappingList"]) == 5 and not rest.get("PaginationToken")
