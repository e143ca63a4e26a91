"""The orphan sweep (`reconciler.engine.tagging`) where the role may not call `tag:GetResources`:
each kind lists its own owned objects, orphans are still found, and AccessDenied is said once and
not asked again in the same process."""

from __future__ import annotations

import asyncio
from pathlib import Path

from structlog.testing import capture_logs

from reconciler.aws import AwsSettings
from reconciler.engine.observe import ProcessCache
from reconciler.engine.session import open_engine
from reconciler.resources.base import PlanSettings
from tests.aws.fakes import FaultInjector
from tests.harness import load

CLUSTERS = """\
apiVersion: ecs-reconciler/v1
kind: Cluster
metadata: {name: kept}
spec: {}
---
apiVersion: ecs-reconciler/v1
kind: Cluster
metadata: {name: removed}
spec: {}
"""


def test_without_the_tagging_api_each_kind_lists_its_own_and_orphans_are_still_found(
    settings: AwsSettings, faults: FaultInjector, tmp_path: Path
) -> None:
    (tmp_path / "all").mkdir()
    (tmp_path / "all" / "clusters.yaml").write_text(CLUSTERS)
    (tmp_path / "one").mkdir()
    (tmp_path / "one" / "clusters.yaml").write_text(CLUSTERS.split("---\n")[0])
    cache = ProcessCache()
    # This moto server lives for the whole run and other tests leave owned clusters on it: an
    # instance of its own keeps them foreign to this test.
    instance = "tagging-fallback"

    async def body() -> tuple[list[dict[str, object]], list[dict[str, int]], list[set[str]]]:
        async with open_engine(settings, PlanSettings(instance=instance), cache=cache) as session:
            await session.engine.apply_pass(load(tmp_path / "all"))
        calls, orphans = [], []
        with capture_logs() as logs:
            for _ in range(2):
                async with open_engine(
                    settings, PlanSettings(instance=instance, prune=True), cache=cache
                ) as session:
                    result = await session.engine.plan_pass(load(tmp_path / "one"))
                    calls.append(session.aws.counter.snapshot())
                    orphans.append({live.name for live in result.observation.live.orphans})
        return logs, calls, orphans

    faults.inject("GetResources", status=400, code="AccessDeniedException", times=5)
    logs, calls, orphans = asyncio.run(body())

    assert orphans == [{"removed"}, {"removed"}]
    first, second = calls
    assert first["resourcegroupstaggingapi.GetResources"] == 1  # denied once...
    assert "resourcegroupstaggingapi.GetResources" not in second  # ...and not asked again
    assert first["ecs.ListClusters"] == second["ecs.ListClusters"] == 1
    assert [log["event"] for log in logs if log["event"].startswith("tagging")] == ["tagging_api_denied"]
