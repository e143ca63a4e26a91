"""A RegisterTaskDefinition whose response is lost is not registered twice (issue 9, item 7).

The request reaches the (moto) server and takes effect; the fault injector then cuts the
connection, as a lost response would. Before, botocore retried it and left an identical extra
revision; now the executor looks for an identical latest revision before registering again.
"""

from __future__ import annotations

import asyncio
import textwrap
import uuid

from reconciler.aws import AwsSettings
from reconciler.aws.clients import AwsClients
from reconciler.engine.clients import EngineClients
from reconciler.engine.executor import execute
from reconciler.plan.steps import Plan
from reconciler.resources.base import Environment, LiveState, PlanContext, PlanSettings
from reconciler.resources.registry import spec_kinds
from reconciler.resources.task_definition.kind import TaskDefinitionKind
from reconciler.spec import SpecSet
from reconciler.spec.loader import load_text
from tests.aws.fakes import FaultInjector

TASK = """\
apiVersion: ecs-reconciler/v1
kind: TaskDefinition
metadata: {name: %s}
spec:
  cpu: 256
  memory: 512
  containerDefinitions:
    - name: web
      image: public.ecr.aws/nginx/nginx:1.27
      environment: [{name: MODE, value: %s}]
"""


def _registered(settings: AwsSettings, faults: FaultInjector, *, drops: int, mode: str) -> tuple[int, bool]:
    """Revisions of a fresh family after one registration under `drops` lost responses, and
    whether the executor reported success."""
    family = f"web-{uuid.uuid4().hex[:8]}"

    async def body() -> tuple[int, bool]:
        async with AwsClients(settings) as aws:
            clients = await EngineClients.open(aws)
            ecs = await aws.ecs()

            async def register(text: str) -> bool:
                loaded = load_text(textwrap.dedent(text), spec_kinds().models, file="task.yaml")
                (document,) = loaded.documents
                context = PlanContext(
                    spec_set=SpecSet(loaded.documents),
                    live=LiveState(),
                    environment=Environment(account_id="123456789012", region="us-east-1", partition="aws"),
                    settings=PlanSettings(),
                )
                plan = TaskDefinitionKind().plan(document, None, context)
                return (await execute(Plan((plan,)), clients=clients, known_outputs={})).ok

            # A different revision first, so "latest" is not trivially the one being registered.
            assert await register(TASK % (family, "previous"))
            faults.drop("RegisterTaskDefinition", times=drops)
            ok = await register(TASK % (family, mode))
            faults.clear()
            arns = (await ecs.call("list_task_definitions", familyPrefix=family))["taskDefinitionArns"]
            return len(arns), ok

    return asyncio.run(body())


def test_a_lost_registration_response_leaves_exactly_one_new_revision(
    settings: AwsSettings, faults: FaultInjector
) -> None:
    assert _registered(settings, faults, drops=1, mode="next") == (2, True)


def test_several_lost_responses_in_a_row_still_leave_one_new_revision(
    settings: AwsSettings, faults: FaultInjector
) -> None:
    assert _registered(settings, faults, drops=3, mode="next") == (2, True)
