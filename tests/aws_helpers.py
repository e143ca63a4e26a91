"""aiobotocore clients that tests can call synchronously, over HTTP, against the local AWS.

The clients are the production library's own (aiobotocore), created once on a private event loop that
runs in a thread; ``clients.ecs.describe_services(...)`` runs the coroutine there and waits for it, so
a test reads like boto3 but exercises the same signing, serialisation and parsing as the engine.
``clients.run(coroutine)`` runs any coroutine on that loop (e.g. many calls at once with
``asyncio.gather`` over ``clients.raw("elbv2")``).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from contextlib import AsyncExitStack
from typing import Any, TypeVar

from aiobotocore.session import get_session

T = TypeVar("T")

_CALL_TIMEOUT_SECONDS = 60


class SyncAioClients:
    """aiobotocore clients for one endpoint and region, callable from synchronous test code."""

    def __init__(self, *, endpoint_url: str, region: str) -> None:
        self._endpoint_url = endpoint_url
        self._region = region
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="aio-clients", daemon=True)
        self._thread.start()
        self._stack = AsyncExitStack()
        self._clients: dict[str, Any] = {}
        self._session = get_session()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` on the clients' loop and return its result (or raise its exception)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(_CALL_TIMEOUT_SECONDS)

    def raw(self, service: str) -> Any:
        """The aiobotocore client itself, for use inside a coroutine passed to :meth:`run`."""
        if service not in self._clients:
            self._clients[service] = self.run(self._create(service))
        return self._clients[service]

    async def _create(self, service: str) -> Any:
        return await self._stack.enter_async_context(
            self._session.create_client(
                service,  # type: ignore[call-overload]
                region_name=self._region,
                endpoint_url=self._endpoint_url,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )
        )

    def __getattr__(self, service: str) -> _SyncClient:
        if service.startswith("_"):
            raise AttributeError(service)
        return _SyncClient(self, self.raw(service.replace("_", "-")))

    def close(self) -> None:
        self.run(self._stack.aclose())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()


class _SyncClient:
    def __init__(self, owner: SyncAioClients, client: Any) -> None:
        self._owner = owner
        self._client = client

    def __getattr__(self, operation: str) -> Callable[..., Any]:
        method = getattr(self._client, operation)

        def call(**kwargs: Any) -> Any:
            return self._owner.run(method(**kwargs))

        return call
