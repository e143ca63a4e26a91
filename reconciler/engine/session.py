"""Opens the AWS clients and an `Engine` on them: how the CLI, the daemon and the tests start."""

from __future__ import annotations

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
