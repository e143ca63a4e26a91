"""Runs the engine against the local AWS the way the CLI does, for the integration tests.

Every pass opens fresh clients (as a CLI run would) and returns the calls it made, so a test can
pin the exact writes a change needs.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.aws.calls import is_write
from reconciler.aws.settings import AwsSettings
from reconciler.engine.observe import ProcessCache
from reconciler.engine.reconcile import PassResult
from reconciler.engine.session import open_engine
from reconciler.local import LocalAWS
from reconciler.resources.base import PlanSettings
from reconciler.resources.registry import load_spec_set
from reconciler.spec import SpecSet


@dataclass(frozen=True)
class Pass:
    result: PassResult
    calls: dict[str, int]

    @property
    def writes(self) -> dict[str, int]:
        return {call: count for call, count in self.calls.items() if is_write(call)}


def load(*paths: Path | str) -> SpecSet:
    spec_set, errors = load_spec_set([Path(path) for path in paths])
    assert spec_set is not None, "\n".join(str(error) for error in errors)
    return spec_set


def engine_pass(
    local: LocalAWS,
    spec_set: SpecSet,
    *,
    apply: bool = True,
    cache: ProcessCache | None = None,
    **plan_settings: Any,
) -> Pass:
    async def run() -> Pass:
        settings = AwsSettings(region=local.region, endpoint_url=local.endpoint_url)
        async with open_engine(settings, PlanSettings(**plan_settings), cache=cache) as session:
            engine = session.engine
            result = await (engine.apply_pass(spec_set) if apply else engine.plan_pass(spec_set))
            return Pass(result=result, calls=session.aws.counter.snapshot())

    return asyncio.run(run())
