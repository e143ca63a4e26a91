"""Adapts the AWS edge's lazily-created clients to the narrow `Clients` view the kinds use."""

from __future__ import annotations

from reconciler.aws.clients import AwsClient, AwsClients
from reconciler.resources.base import ApiClient
from reconciler.resources.registry import engine_services


class EngineClients:
    """Every client the engine uses, opened once up front so kinds can look them up synchronously."""

    def __init__(self, clients: dict[str, AwsClient]) -> None:
        self._clients = clients

    @classmethod
    async def open(cls, aws: AwsClients) -> EngineClients:
        return cls({service: await aws.client(service) for service in engine_services()})  # type: ignore[arg-type]

    def service(self, name: str, /) -> ApiClient:
        return self._clients[name]
