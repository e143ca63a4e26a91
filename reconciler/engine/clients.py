"""Adapts the AWS edge's lazily-created clients to the narrow `Clients` view the kinds use."""

from __future__ import annotations

from reconciler.aws.clients import AwsClient, AwsClients
from reconciler.resources.base import ApiClient
from reconciler.resources.registry import engine_services


class EngineClients:
    """Every client the engine uses, looked up synchronously by the kinds and opened by its first
    call (`AwsClients.deferred`): a pass that never calls a service (no log group in the specs and
    none to prune, say) spends nothing on its model and client, start-up time a one-shot `plan`
    saves."""

    def __init__(self, clients: dict[str, AwsClient]) -> None:
        self._clients = clients

    @classmethod
    async def open(cls, aws: AwsClients) -> EngineClients:
        return cls({service: aws.deferred(service) for service in engine_services()})  # type: ignore[arg-type]

    def service(self, name: str, /) -> ApiClient:
        return self._clients[name]
