"""The perpetual-diff breaker end to end (issue 8): the local AWS is made to rewrite a field on every
write, as AWS does with spellings the engine does not know. The daemon writes it `limit` times,
then stops, reports `perpetual-diff` in /status, /metrics and a webhook, and keeps converging the
rest; editing the spec clears it. One-shot `apply` stops after the same number of writes, exit 1."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from moto.ecs.models import EC2ContainerServiceBackend
from prometheus_client.parser import text_string_to_metric_families

from reconciler.cli import main
from reconciler.local import LocalAWS
from reconciler.resources.base import PlanSettings
from tests.daemon.test_daemon import daemon, eventually, get_json, options, providers, write_cluster
from tests.daemon.test_notify import receiver

pytestmark = pytest.mark.aws


@pytest.fixture
def spot_is_rewritten_away(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The local AWS drops FARGATE_SPOT from every capacity provider list it is sent, and records
    each write of the list, so a spec asking for it never matches what AWS answers."""
    writes: list[str] = []
    create, put = (
        EC2ContainerServiceBackend.create_cluster,
        EC2ContainerServiceBackend.put_cluster_capacity_providers,
    )

    def without_spot(providers: list[str] | None) -> list[str] | None:
        return None if providers is None else [p for p in providers if p != "FARGATE_SPOT"]

    def create_cluster(
        self: Any,
        cluster_name: str,
        tags: Any,
        settings: Any,
        configuration: Any,
        providers: Any,
        *rest: Any,
        **kw: Any,
    ) -> Any:
        writes.append(f"create {cluster_name}")
        return create(self, cluster_name, tags, settings, configuration, without_spot(providers), *rest, **kw)

    def put_cluster_capacity_providers(self: Any, cluster_name: str, providers: Any, strategy: Any) -> Any:
        writes.append(f"put {cluster_name}")
        return put(self, cluster_name, without_spot(providers), strategy)

    monkeypatch.setattr(EC2ContainerServiceBackend, "create_cluster", create_cluster)
    monkeypatch.setattr(
        EC2ContainerServiceBackend, "put_cluster_capacity_providers", put_cluster_capacity_providers
    )
    yield writes


def test_the_daemon_stops_writing_reports_and_keeps_converging_the_rest(
    aws: LocalAWS, tmp_path: Path, spot_is_rewritten_away: list[str]
) -> None:
    rewritten, other = tmp_path / "rewritten", tmp_path / "other"
    rewritten.mkdir(), other.mkdir()
    write_cluster(rewritten, name="web", providers="FARGATE, FARGATE_SPOT")
    write_cluster(other, name="api", providers="FARGATE")

    async def scenario() -> None:
        async with receiver() as webhook:
            run_options = options(aws, tmp_path)
            run_options = replace(
                run_options, notify_webhook=webhook.url, plan=PlanSettings(perpetual_diff_limit=3)
            )
            async with daemon(run_options) as running:

                async def web_status() -> dict[str, Any]:
                    _, body = await get_json(running.port, "/status")
                    return next((dict(r) for r in body["resources"] if r["name"] == "web"), {})

                async def tripped() -> bool:
                    return (await web_status()).get("status") == "perpetual-diff"

                deadline = asyncio.get_running_loop().time() + 20
                while not await tripped():
                    assert asyncio.get_running_loop().time() < deadline, spot_is_rewritten_away
                    await asyncio.sleep(0.1)
                # Several resyncs later, still no more writes to it than the limit allows.
                await asyncio.sleep(2.0)
                # The create and two puts: three writes of the same difference.
                web_writes = [write for write in spot_is_rewritten_away if write.endswith(" web")]
                assert web_writes == ["create web", "put web", "put web"], spot_is_rewritten_away
                web = await web_status()
                assert "capacityProviders" in web["message"] and '["FARGATE"]' in web["message"]
                assert "docs/aws-rewrites.md" in web["message"]

                async with aiohttp.ClientSession() as session:
                    text = await (await session.get(f"http://127.0.0.1:{running.port}/metrics")).text()
                gauges = {
                    sample.labels.get("kind"): sample.value
                    for family in text_string_to_metric_families(text)
                    if family.name == "ecs_reconciler_perpetual_diff_resources"
                    for sample in family.samples
                }
                assert gauges == {"Cluster": 1.0}
                await eventually(lambda: any(p["event"] == "perpetual_diff" for p in webhook.posts))

                # Everything else still converges.
                write_cluster(other, name="api", providers="FARGATE, FARGATE_SPOT")
                await eventually(lambda: "put api" in spot_is_rewritten_away)

                # Editing the spec clears it: the new spelling matches what AWS answers.
                write_cluster(rewritten, name="web", providers="FARGATE")
                await eventually(lambda: providers(aws, "web") == ["FARGATE"])
                deadline = asyncio.get_running_loop().time() + 10
                while (await web_status())["status"] != "in-sync":
                    assert asyncio.get_running_loop().time() < deadline
                    await asyncio.sleep(0.1)

    asyncio.run(scenario())


def test_apply_writes_the_limit_then_reports_perpetual_diff_and_exits_1(
    aws: LocalAWS, tmp_path: Path, spot_is_rewritten_away: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    write_cluster(tmp_path, name="web", providers="FARGATE, FARGATE_SPOT")
    code = main(["apply", str(tmp_path), "--output", "json", "--perpetual-diff-limit", "3"])
    output = json.loads(capsys.readouterr().out)
    assert code == 1, output
    assert spot_is_rewritten_away == ["create web", "put web", "put web"]  # three writes
    (web,) = output["resources"]
    assert web["status"] == "perpetual-diff" and web["report_only"] is True
    assert [error["message"] for error in output["errors"]] == [web["message"]]
    assert output["calls"]["ecs.PutClusterCapacityProviders"] == 2
