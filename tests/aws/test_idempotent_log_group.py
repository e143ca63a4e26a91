"""A CreateLogGroup whose response is lost is not reported as a failure.

The request reaches the (moto) server and takes effect; the fault injector then cuts the
connection, as a lost response would. Retried blindly, the create fails with
ResourceAlreadyExistsException although the group is ours; the executor instead looks for the
group with the tags it was created with before sending it again.
"""

from __future__ import annotations

import asyncio
import uuid

from reconciler.aws import AwsSettings
from reconciler.aws.clients import AwsClients
from reconciler.engine.clients import EngineClients
from reconciler.engine.executor import execute
from reconciler.plan.steps import Plan
from reconciler.resources.base import Environment, LiveState, PlanContext, PlanSettings
from reconciler.resources.log_group.kind import KIND
from reconciler.resources.registry import spec_kinds
from reconciler.spec import SpecSet
from reconciler.spec.loader import load_text
from tests.aws.fakes import FaultInjector

LOG_GROUP = """\
apiVersion: ecs-reconciler/v1
kind: LogGroup
metadata: {name: web}
spec: {logGroupName: %s, retentionInDays: 14}
"""


def _created(
    settings: AwsSettings, faults: FaultInjector, *, name: str, drops: int
) -> tuple[bool, list[str]]:
    """Whether creating log group `name` under `drops` lost CreateLogGroup responses succeeded,
    and the groups of that name afterwards, with their retention."""

    async def body() -> tuple[bool, list[str]]:
        async with AwsClients(settings) as aws:
            clients = await EngineClients.open(aws)
            loaded = load_text(LOG_GROUP % name, spec_kinds().models, file="logs.yaml")
            (document,) = loaded.documents
            context = PlanContext(
                spec_set=SpecSet(loaded.documents),
                live=LiveState(),
                environment=Environment(account_id="123456789012", region="us-east-1", partition="aws"),
                settings=PlanSettings(),
            )
            faults.drop("CreateLogGroup", times=drops)
            ok = (
                await execute(Plan((KIND.plan(document, None, context),)), clients=clients, known_outputs={})
            ).ok
            faults.clear()
            logs = await aws.client("logs")
            groups = (await logs.call("describe_log_groups", logGroupNamePrefix=name))["logGroups"]
            return ok, [f"{group['logGroupName']}:{group.get('retentionInDays')}" for group in groups]

    return asyncio.run(body())


def test_a_lost_create_response_is_taken_for_the_group_it_created(
    settings: AwsSettings, faults: FaultInjector
) -> None:
    name = f"/ecs/web-{uuid.uuid4().hex[:8]}"
    assert _created(settings, faults, name=name, drops=1) == (True, [f"{name}:14"])


def test_several_lost_create_responses_in_a_row_still_end_with_the_group(
    settings: AwsSettings, faults: FaultInjector
) -> None:
    name = f"/ecs/web-{uuid.uuid4().hex[:8]}"
    assert _created(settings, faults, name=name, drops=3) == (True, [f"{name}:14"])
