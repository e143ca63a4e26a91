"""Opens the AWS clients and an `Engine` on them: how the CLI, the daemon and the tests start
(`open_engine`), and how the daemon holds a Target's engine until a pass needs it
(`DeferredEngine`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from reconciler.aws.calls import CallCounter
from reconciler.aws.clients import AwsClients
from reconciler.aws.settings import AwsSettings
from reconciler.engine.clients import EngineClients
from reconciler.engine.observe import ProcessCache
from reconciler.engine.reconcile import Engine, EngineSettings
from reconciler.resources.base import PlanSettings


@dataclass(frozen=True)
class EngineSession:
    engine: Engine
    aws: AwsClients
    """The clients under the engine; `aws.counter` counts every call attempt."""


@asynccontextmanager
async def open_engine(
    aws_settings: AwsSettings,
    plan_settings: PlanSettings,
    *,
    concurrency: int = 8,
    cache: ProcessCache | None = None,
    counter: CallCounter | None = None,
) -> AsyncIterator[EngineSession]:
    """An engine on fresh clients; `counter` (optional) counts their calls, the ones made while
    opening included (an AssumeRole that is refused), so a caller can read it even when opening
    fails."""
    async with AwsClients(aws_settings, counter=counter) as aws:
        clients = await EngineClients.open(aws)
        engine = Engine(
            clients=clients,
            settings=EngineSettings(region=aws.region, plan=plan_settings, concurrency=concurrency),
            cache=cache,
        )
        yield EngineSession(engine=engine, aws=aws)


class DeferredEngine:
    """An engine whose clients open when a pass first needs them: how the daemon holds a Target.

    A Target's role is assumed on first use, not at start-up, so a replica assumes roles only in
    the accounts whose shards it holds, and a role that cannot be assumed fails that target's
    pass (an `AwsError`, which the controller backs off and reports like any other), never the
    daemon. A failed open leaves nothing open and is tried again at the next call of `engine`.
    The clients stay open until `aclose`, their assumed credentials refreshing themselves.
    """

    def __init__(
        self,
        aws_settings: AwsSettings,
        plan_settings: PlanSettings,
        *,
        concurrency: int = 8,
        cache: ProcessCache | None = None,
        counter: CallCounter | None = None,
    ) -> None:
        self.aws_settings = aws_settings
        self.plan_settings = plan_settings
        self.counter = counter if counter is not None else CallCounter()
        """Every call attempt of this engine's clients, the refused AssumeRole included."""
        self._concurrency = concurrency
        self._cache = cache
        self._open: contextlib.AsyncExitStack | None = None
        self._engine: Engine | None = None
        self._opening = asyncio.Lock()

    async def engine(self) -> Engine:
        """The engine, its clients opened first if need be. Raises `AwsError` when they cannot be
        (the role refused, no credentials): nothing stays open, the next call tries again."""
        async with self._opening:
            if self._engine is None:
                async with contextlib.AsyncExitStack() as stack:
                    session = await stack.enter_async_context(
                        open_engine(
                            self.aws_settings,
                            self.plan_settings,
                            concurrency=self._concurrency,
                            cache=self._cache,
                            counter=self.counter,
                        )
                    )
                    self._open, self._engine = stack.pop_all(), session.engine
            return self._engine

    async def aclose(self) -> None:
        """Close the clients, if they were opened. Idempotent."""
        opened, self._open, self._engine = self._open, None, None
        if opened is not None:
            await opened.aclose()
