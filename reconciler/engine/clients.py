"""Adapts the AWS edge's lazily-created clients to the narrow `Clients` view the kinds use."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from reconciler.aws.clients import AwsClient, AwsClients
from reconciler.resources.base import ApiClient
from reconciler.resources.registry import engine_services


class EngineClients:
    """Every client the engine uses, looked up synchronously by the kinds and opened by its first
    call: a pass that never calls a service (no log group in the specs and none to prune, say)
    spends nothing on its model and client. A process's start-up is what this saves: a `plan` is a
    process of its own."""

    def __init__(self, aws: AwsClients) -> None:
        self._clients = {service: _OpenedOnFirstCall(aws, service) for service in engine_services()}

    @classmethod
    async def open(cls, aws: AwsClients) -> EngineClients:
        return cls(aws)

    def service(self, name: str, /) -> ApiClient:
        return self._clients[name]


class _OpenedOnFirstCall:
    """One service's client (`AwsClients.client`, created once), opened when first called."""

    def __init__(self, aws: AwsClients, service: str) -> None:
        self._aws = aws
        self._service = service

    async def _client(self) -> AwsClient:
        return await self._aws.client(self._service)  # type: ignore[arg-type]

    async def call(self, operation: str, /, **params: Any) -> dict[str, Any]:
        return await (await self._client()).call(operation, **params)

    async def paginate(self, operation: str, /, **params: Any) -> AsyncIterator[dict[str, Any]]:
        async for page in (await self._client()).paginate(operation, **params):
            yield page
