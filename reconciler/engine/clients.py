"""Adapts the AWS edge's lazily-created clients to the narrow `Clients` view the kinds use."""

from __future__ import annotations

from reconciler.aws.clients import AwsClient, AwsClients
from reconciler.resources.base import ApiClient

ENGINE_SERVICES = ("ecs", "ecr", "elbv2", "ec2", "application-autoscaling", "sts")


class EngineClients:
    """Every client the engine uses, opened once up front so kinds can look them up synchronously."""

    def __init__(self, clients: dict[str, AwsClient]) -> None:
        self._clients = clients

    @classmethod
    async def open(cls, aws: AwsClients) -> EngineClients:
        return cls({service: await aws.client(service) for service in ENGINE_SERVICES})  # type: ignore[arg-type]

    def service(self, name: str, /) -> ApiClient:
        return self._clients[name]
