"""One engine session per target: how `plan`, `apply` and `drift` converge an estate of namespaces.

The CLI hands `run_per_target` the validated `Estate` (`reconciler.spec.estate`), the settings of
the process's own account (the default target: `--region`, `--assume-role`, ...) and the work to
do with each target's session (plan, apply, wait). Each target gets its own `AwsClients`: the
Target's role assumed from the management account's credentials (the standard chain), its
external id, session duration and Region, and so its own rate limits, call counter and caches,
opened only when its turn comes. The targets run concurrently; a target that fails (its role
cannot be assumed, its account throttles beyond the retries, its Region does not answer) ends
with its error and takes nothing from the others. Every log line of a target's pass carries its
name, account and Region (structlog contextvars).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Generic, TypeVar

import structlog

from reconciler.aws.calls import CallCounter
from reconciler.aws.errors import AwsError
from reconciler.aws.settings import AwsSettings
from reconciler.engine.observe import ProcessCache
from reconciler.engine.session import EngineSession, open_engine
from reconciler.resources.base import PlanSettings
from reconciler.spec import SpecSet
from reconciler.spec.estate import DEFAULT_NAMESPACE_LABEL, Estate, Namespace
from reconciler.spec.targets import Target

ResultT = TypeVar("ResultT")

_log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class TargetOutcome(Generic[ResultT]):
    """How one target's pass ended: its work's result, or the error that stopped it."""

    namespace: Namespace
    target: Target | None
    """The Target document; None for the default target (the process's own account)."""
    spec_set: SpecSet
    account_id: str | None
    """The account the pass acted in (known from the Target, or once the default target's
    credentials were resolved); None when it failed before that was known."""
    region: str | None
    result: ResultT | None = None
    error: str | None = None
    """Why the target failed as a whole (AssumeRole refused, an observation that failed), one line."""
    calls: Mapping[str, int] = field(default_factory=dict)
    """Every HTTP attempt of this target's clients, by operation (as the CLI's `calls`)."""

    @property
    def name(self) -> str:
        """The target's name in outputs: the Target's, or `default`."""
        return self.namespace or DEFAULT_NAMESPACE_LABEL

    @property
    def ok(self) -> bool:
        return self.error is None


def target_aws_settings(default: AwsSettings, target: Target | None) -> AwsSettings:
    """The settings of one target's clients: the default target's as given, a Target's with its
    own Region and role, assumed from the management account's credentials (the standard chain,
    never the default target's `--assume-role`)."""
    if target is None:
        return default
    return replace(
        default,
        region=target.region,
        assume_role_arn=target.role_arn,
        external_id=target.spec.external_id,
        assume_role_duration_seconds=target.spec.session_duration,
    )


async def run_per_target(
    estate: Estate,
    *,
    aws_settings: AwsSettings,
    plan_settings: PlanSettings,
    work: Callable[[EngineSession, SpecSet], Awaitable[ResultT]],
    cache_for: Callable[[AwsSettings], ProcessCache],
    concurrency: int = 8,
) -> list[TargetOutcome[ResultT]]:
    """Run `work` once per namespace of `estate`, each in a session of its own, concurrently.

    Returns one outcome per namespace in the estate's order (the default namespace first). An
    `AwsError` while opening the session or doing the work fails that target alone; anything else
    (a bug) propagates. `cache_for` makes each target's process cache (its own account id and
    revision memory).
    """

    async def one(namespace: Namespace, spec_set: SpecSet) -> TargetOutcome[ResultT]:
        target = estate.target(namespace) if namespace is not None else None
        settings = target_aws_settings(aws_settings, target)
        cache = cache_for(settings)
        label = namespace or DEFAULT_NAMESPACE_LABEL
        account = target.account_id if target is not None else None
        region = target.region if target is not None else settings.region
        counter = CallCounter()
        result: ResultT | None = None
        error: str | None = None
        # Bound in this task's own context: every line of this target's pass names it.
        with structlog.contextvars.bound_contextvars(target=label, account=account, region=region):
            try:
                async with open_engine(
                    settings,
                    replace(plan_settings, namespace=namespace),
                    concurrency=concurrency,
                    cache=cache,
                    counter=counter,
                ) as session:
                    region = session.aws.region
                    result = await work(session, spec_set)
            except AwsError as failure:
                _log.warning("target_failed", error=str(failure))
                error = _one_line(failure)
        return TargetOutcome(
            namespace=namespace,
            target=target,
            spec_set=spec_set,
            account_id=account or cache.account_id,
            region=region,
            result=result,
            error=error,
            calls=counter.snapshot(),
        )

    tasks = [
        asyncio.create_task(one(namespace, spec_set)) for namespace, spec_set in estate.namespaces.items()
    ]
    try:
        return list(await asyncio.gather(*tasks))
    finally:
        for task in tasks:
            task.cancel()


def _one_line(error: AwsError) -> str:
    """A configuration error (no Region, no credentials) is its message; a failed call names it."""
    if error.service == "aws":
        return error.message
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def total_calls(outcomes: list[TargetOutcome[ResultT]]) -> dict[str, int]:
    """Every target's calls added up, by operation."""
    total: dict[str, int] = {}
    for outcome in outcomes:
        for call, count in outcome.calls.items():
            total[call] = total.get(call, 0) + count
    return total


__all__ = ["TargetOutcome", "run_per_target", "target_aws_settings", "total_calls"]
