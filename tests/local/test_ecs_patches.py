"""ECS behaves like AWS on the local AWS: each test pins one patch of ``reconciler/local/patches.py``.

Every test here fails against raw moto 5.2.5 (the patch's docstring says what moto does instead).
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from reconciler.local import LocalAWS
from tests.aws_helpers import SyncAioClients
from tests.local.conftest import Stack, create_service, describe_service

pytestmark = pytest.mark.aws


def error_code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def test_create_service_keeps_deployment_configuration_execute_command_and_grace_period(
    clients: SyncAioClients, stack: Stack
) -> None:
    create_service(
        clients,
        stack,
        deploymentConfiguration={
            "maximumPercent": 150,
            "minimumHealthyPercent": 50,
            "deploymentCircuitBreaker": {"enable": True, "rollback": True},
        },
        enableExecuteCommand=True,
        healthCheckGracePeriodSeconds=60,
    )

    service = describe_service(clients, stack)
    assert service["deploymentConfiguration"] == {
        "maximumPercent": 150,
        "minimumHealthyPercent": 50,
        "deploymentCircuitBreaker": {"enable": True, "rollback": True},
    }
    assert service["enableExecuteCommand"] is True
    assert service["healthCheckGracePeriodSeconds"] == 60


def test_create_service_fills_the_defaults_aws_fills(clients: SyncAioClients, stack: Stack) -> None:
    created = create_service(clients, stack)

    for service in (created, describe_service(clients, stack)):
        assert service["deploymentConfiguration"] == {
            "maximumPercent": 200,
            "minimumHealthyPercent": 100,
            "deploymentCircuitBreaker": {"enable": False, "rollback": False},
        }
        assert service["propagateTags"] == "NONE"
        assert service["enableECSManagedTags"] is False
        assert service["enableExecuteCommand"] is False
        assert service["platformVersion"] == "LATEST"
        assert service["platformFamily"] == "Linux"
        assert service["schedulingStrategy"] == "REPLICA"
        assert service["launchType"] == "FARGATE"
        assert service["networkConfiguration"]["awsvpcConfiguration"]["assignPublicIp"] == "DISABLED"
        assert "createdAt" in service


def test_create_service_with_a_capacity_provider_strategy_keeps_it_and_reports_no_launch_type(
    clients: SyncAioClients, stack: Stack
) -> None:
    strategy = [
        {"capacityProvider": "FARGATE", "base": 1, "weight": 1},
        {"capacityProvider": "FARGATE_SPOT", "base": 0, "weight": 3},
    ]
    create_service(clients, stack, launchType=None, capacityProviderStrategy=strategy)

    service = describe_service(clients, stack)
    assert service["capacityProviderStrategy"] == strategy
    assert "launchType" not in service
    assert service["deployments"][0]["capacityProviderStrategy"] == strategy
    assert "launchType" not in service["deployments"][0]


def test_create_service_without_launch_type_uses_the_cluster_default_strategy(
    clients: SyncAioClients, stack: Stack
) -> None:
    create_service(clients, stack, launchType=None)

    service = describe_service(clients, stack)
    assert service["capacityProviderStrategy"] == [{"capacityProvider": "FARGATE", "weight": 1, "base": 0}]
    assert "launchType" not in service


def test_create_service_refuses_a_launch_type_together_with_a_strategy(
    clients: SyncAioClients, stack: Stack
) -> None:
    with pytest.raises(ClientError) as error:
        create_service(
            clients, stack, capacityProviderStrategy=[{"capacityProvider": "FARGATE", "weight": 1}]
        )
    assert error_code(error) == "InvalidParameterException"


def test_create_service_on_an_active_name_is_not_idempotent(clients: SyncAioClients, stack: Stack) -> None:
    first = create_service(clients, stack, tags=[{"key": "team", "value": "web"}])

    with pytest.raises(ClientError) as error:
        create_service(clients, stack, desiredCount=5)

    assert error_code(error) == "InvalidParameterException"
    assert "Creation of service was not idempotent" in str(error.value)
    service = clients.ecs.describe_services(cluster=stack.cluster, services=["api"], include=["TAGS"])
    assert service["services"][0]["serviceArn"] == first["serviceArn"]
    assert service["services"][0]["desiredCount"] == 2
    assert service["services"][0]["tags"] == [{"key": "team", "value": "web"}]


def test_create_service_retried_with_the_same_client_token_returns_the_existing_service(
    clients: SyncAioClients, stack: Stack
) -> None:
    first = create_service(clients, stack, clientToken="token-1")
    retried = create_service(clients, stack, clientToken="token-1")

    assert retried["serviceArn"] == first["serviceArn"]
    assert retried["deployments"][0]["id"] == first["deployments"][0]["id"]
    with pytest.raises(ClientError) as error:
        create_service(clients, stack, clientToken="token-1", desiredCount=3)
    assert error_code(error) == "InvalidParameterException"


def test_create_cluster_on_an_existing_name_returns_it_unchanged(
    clients: SyncAioClients, stack: Stack
) -> None:
    clients.ecs.tag_resource(
        resourceArn=f"arn:aws:ecs:us-east-1:123456789012:cluster/{stack.cluster}",
        tags=[{"key": "team", "value": "web"}],
    )

    again = clients.ecs.create_cluster(clusterName=stack.cluster)["cluster"]

    assert again["capacityProviders"] == ["FARGATE", "FARGATE_SPOT"]
    described = clients.ecs.describe_clusters(clusters=[stack.cluster], include=["TAGS"])["clusters"][0]
    assert described["capacityProviders"] == ["FARGATE", "FARGATE_SPOT"]
    assert described["tags"] == [{"key": "team", "value": "web"}]


@pytest.mark.parametrize("form", ["family:rev", "arn"])
def test_update_service_stores_the_full_task_definition_arn(
    clients: SyncAioClients, stack: Stack, form: str
) -> None:
    create_service(clients, stack)
    task_definition = "app:2" if form == "family:rev" else stack.revision_2

    updated = clients.ecs.update_service(cluster=stack.cluster, service="api", taskDefinition=task_definition)

    assert updated["service"]["taskDefinition"] == stack.revision_2
    assert describe_service(clients, stack)["taskDefinition"] == stack.revision_2


def test_update_service_to_a_capacity_provider_strategy_drops_the_launch_type(
    clients: SyncAioClients, stack: Stack
) -> None:
    create_service(clients, stack)

    clients.ecs.update_service(
        cluster=stack.cluster,
        service="api",
        capacityProviderStrategy=[{"capacityProvider": "FARGATE_SPOT", "weight": 1}],
        forceNewDeployment=True,
    )

    service = describe_service(clients, stack)
    assert service["capacityProviderStrategy"] == [
        {"capacityProvider": "FARGATE_SPOT", "weight": 1, "base": 0}
    ]
    assert "launchType" not in service


def test_update_service_merges_a_partial_deployment_configuration(
    clients: SyncAioClients, stack: Stack
) -> None:
    create_service(clients, stack)

    clients.ecs.update_service(
        cluster=stack.cluster,
        service="api",
        deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": True}},
    )

    assert describe_service(clients, stack)["deploymentConfiguration"] == {
        "maximumPercent": 200,
        "minimumHealthyPercent": 100,
        "deploymentCircuitBreaker": {"enable": True, "rollback": True},
    }


def test_update_cluster_settings_is_implemented(clients: SyncAioClients, stack: Stack) -> None:
    updated = clients.ecs.update_cluster_settings(
        cluster=stack.cluster, settings=[{"name": "containerInsights", "value": "enabled"}]
    )

    assert updated["cluster"]["settings"] == [{"name": "containerInsights", "value": "enabled"}]
    described = clients.ecs.describe_clusters(clusters=[stack.cluster], include=["SETTINGS"])["clusters"][0]
    assert described["settings"] == [{"name": "containerInsights", "value": "enabled"}]


def test_list_services_lists_only_active_services(clients: SyncAioClients, stack: Stack) -> None:
    kept = create_service(clients, stack, "kept")
    create_service(clients, stack, "gone")
    clients.ecs.delete_service(cluster=stack.cluster, service="gone", force=True)

    listed = clients.ecs.list_services(cluster=stack.cluster)["serviceArns"]

    assert listed == [kept["serviceArn"]]
    assert describe_service(clients, stack, "gone")["status"] == "INACTIVE"


def test_list_services_pages_ten_at_a_time_by_default(clients: SyncAioClients, stack: Stack) -> None:
    arns = sorted(create_service(clients, stack, f"svc-{index:02d}")["serviceArn"] for index in range(12))

    first = clients.ecs.list_services(cluster=stack.cluster)
    second = clients.ecs.list_services(cluster=stack.cluster, nextToken=first["nextToken"])

    assert first["serviceArns"] == arns[:10]
    assert second["serviceArns"] == arns[10:]
    assert "nextToken" not in second


def test_a_deleted_service_can_be_neither_deleted_nor_updated_again(
    clients: SyncAioClients, stack: Stack
) -> None:
    create_service(clients, stack)
    clients.ecs.delete_service(cluster=stack.cluster, service="api", force=True)

    with pytest.raises(ClientError) as deleted:
        clients.ecs.delete_service(cluster=stack.cluster, service="api", force=True)
    with pytest.raises(ClientError) as updated:
        clients.ecs.update_service(cluster=stack.cluster, service="api", desiredCount=1)

    assert error_code(deleted) == "ServiceNotActiveException"
    assert error_code(updated) == "ServiceNotActiveException"


def test_a_cluster_with_active_services_cannot_be_deleted(clients: SyncAioClients, stack: Stack) -> None:
    create_service(clients, stack)

    with pytest.raises(ClientError) as error:
        clients.ecs.delete_cluster(cluster=stack.cluster)

    assert error_code(error) == "ClusterContainsServicesException"
    clients.ecs.delete_service(cluster=stack.cluster, service="api", force=True)
    assert clients.ecs.delete_cluster(cluster=stack.cluster)["cluster"]["status"] == "INACTIVE"


def test_a_recreated_service_after_deletion_starts_afresh(
    aws: LocalAWS, clients: SyncAioClients, stack: Stack
) -> None:
    first = create_service(clients, stack)
    clients.ecs.delete_service(cluster=stack.cluster, service="api", force=True)

    second = create_service(clients, stack, taskDefinition=stack.revision_2)

    assert second["serviceArn"] == first["serviceArn"]
    service = describe_service(clients, stack)
    assert service["status"] == "ACTIVE"
    assert service["taskDefinition"] == stack.revision_2
    assert [d["taskDefinition"] for d in service["deployments"]] == [stack.revision_2]


def test_a_network_configuration_without_security_groups_gets_the_vpc_default_group(
    clients: SyncAioClients, stack: Stack
) -> None:
    create_service(
        clients, stack, networkConfiguration={"awsvpcConfiguration": {"subnets": stack.subnets[:1]}}
    )

    configuration = describe_service(clients, stack)["networkConfiguration"]["awsvpcConfiguration"]
    assert configuration == {
        "subnets": stack.subnets[:1],
        "securityGroups": [stack.security_group],
        "assignPublicIp": "DISABLED",
    }


def test_register_task_definition_leaves_out_environment_variables_with_empty_values(
    clients: SyncAioClients, stack: Stack
) -> None:
    registered = clients.ecs.register_task_definition(
        family="empty-values",
        containerDefinitions=[
            {
                "name": "web",
                "image": "nginx",
                "memory": 512,
                "environment": [{"name": "FEATURE_FLAGS", "value": ""}, {"name": "MODE", "value": "on"}],
            }
        ],
    )["taskDefinition"]
    described = clients.ecs.describe_task_definition(taskDefinition=registered["taskDefinitionArn"])
    (container,) = described["taskDefinition"]["containerDefinitions"]
    assert container["environment"] == [{"name": "MODE", "value": "on"}]
