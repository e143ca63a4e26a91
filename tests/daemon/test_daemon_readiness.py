"""What the daemon says about itself when it cannot do its job, in-process (issue 13, items 1, 6, 10).

- An unreachable AWS is in `/status.lastError`, `/readyz` reasons and the log within seconds (it
  used to take 44 s and more, with nothing logged).
- An invalid edit keeps the replica ready, since the last good set stays in force and is
  converged, but `/readyz` names it, and `ecs_reconciler_spec_valid` says 0 until a fix.
- A listen address that cannot be bound is a `StartupError` before anything is advertised.
"""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from structlog.testing import capture_logs

from reconciler.aws.settings import AwsSettings
from reconciler.daemon.run import RunningDaemon, StartupError, run_daemon
from reconciler.local import LocalAWS
from tests.daemon.test_daemon import CLUSTER, daemon, get_json, options, providers, write_cluster
from tests.daemon.test_daemon import eventually as eventually_async
from tests.unreachable import refusing_endpoint, silent_endpoint

pytestmark = pytest.mark.aws

REPORTED_WITHIN_SECONDS = 10.0
INVALID_CLUSTER = CLUSTER.format(name="web", providers="FARGATE") + "  bogus: 1\n"


async def _metrics(port: int) -> dict[str, float]:
    import aiohttp

    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/metrics") as response,
    ):
        text = await response.text()
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if not sample.labels
    }


@pytest.mark.parametrize("endpoint", ["refusing", "silent"])
def test_an_unreachable_aws_is_reported_within_seconds(
    local_aws: LocalAWS, tmp_path: Path, endpoint: str
) -> None:
    write_cluster(tmp_path)

    async def scenario(url: str) -> None:
        run_options = options(local_aws, tmp_path)
        run_options = type(run_options)(
            **{**vars(run_options), "aws": AwsSettings(region=local_aws.region, endpoint_url=url)}
        )
        with capture_logs() as logs:
            async with daemon(run_options) as running:
                started = time.monotonic()
                reasons = await _wait_for_unreachable(running)
                seconds = time.monotonic() - started
                _, status = await get_json(running.port, "/status")
        assert seconds < REPORTED_WITHIN_SECONDS
        assert status["lastError"], status
        (reason,) = reasons
        assert reason == f"AWS not reachable: {status['lastError']}"
        failed = [log for log in logs if log["event"] == "pass failed before planning"]
        assert failed and failed[0]["error"] == status["lastError"] and failed[0]["aws_reachable"] is False

    with silent_endpoint() as silent:
        asyncio.run(scenario(refusing_endpoint() if endpoint == "refusing" else silent))


async def _wait_for_unreachable(running: RunningDaemon) -> list[str]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        code, body = await get_json(running.port, "/readyz")
        if code == 503 and any(reason.startswith("AWS not reachable: ") for reason in body["reasons"]):
            return list(body["reasons"])
        await asyncio.sleep(0.1)
    raise AssertionError("/readyz never said AWS is not reachable")


def test_an_invalid_edit_is_named_by_readyz_and_the_spec_valid_metric(aws: LocalAWS, tmp_path: Path) -> None:
    write_cluster(tmp_path)

    async def readyz(running: RunningDaemon) -> tuple[int, Any]:
        return await get_json(running.port, "/readyz")

    async def scenario() -> None:
        async with daemon(options(aws, tmp_path)) as running:
            await eventually_async(lambda: providers(aws) == ["FARGATE"])
            assert await readyz(running) == (200, {"ok": True, "reasons": []})
            metrics = await _metrics(running.port)
            assert metrics["ecs_reconciler_spec_valid"] == 1
            loaded_at = metrics["ecs_reconciler_spec_last_good_load_timestamp_seconds"]
            assert abs(loaded_at - time.time()) < 60

            (tmp_path / "cluster.yaml").write_text(INVALID_CLUSTER)
            await eventually_async(lambda: running.fleet.spec_errors, within=10)
            code, body = await readyz(running)
            # Still ready: the last good set is in force and converged. But not silent about it.
            assert code == 200 and body["ok"] is True, body
            (reason,) = body["reasons"]
            assert reason.startswith("the latest spec edit is invalid (1 error, the first: ")
            assert "bogus" in reason and "the last good set" in reason and "stays in force" in reason
            metrics = await _metrics(running.port)
            assert metrics["ecs_reconciler_spec_valid"] == 0
            assert metrics["ecs_reconciler_spec_last_good_load_timestamp_seconds"] == loaded_at

            write_cluster(tmp_path, providers="FARGATE_SPOT")
            await eventually_async(lambda: providers(aws) == ["FARGATE_SPOT"], within=10)
            assert await readyz(running) == (200, {"ok": True, "reasons": []})
            metrics = await _metrics(running.port)
            assert metrics["ecs_reconciler_spec_valid"] == 1
            assert metrics["ecs_reconciler_spec_last_good_load_timestamp_seconds"] > loaded_at

    asyncio.run(scenario())


def test_no_valid_spec_set_at_all_is_not_ready_and_says_why(aws: LocalAWS, tmp_path: Path) -> None:
    (tmp_path / "cluster.yaml").write_text(INVALID_CLUSTER)

    async def scenario() -> None:
        async with daemon(options(aws, tmp_path)) as running:
            await eventually_async(lambda: running.fleet.spec_errors, within=10)
            code, body = await get_json(running.port, "/readyz")
            assert code == 503 and body["ok"] is False
            assert body["reasons"][0].startswith("no valid spec set loaded (1 error, the first: ")
            assert (await _metrics(running.port))["ecs_reconciler_spec_valid"] == 0

    asyncio.run(scenario())


def test_a_busy_listen_address_is_a_startup_error_before_anything_is_advertised(
    aws: LocalAWS, tmp_path: Path
) -> None:
    write_cluster(tmp_path)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        run_options = options(aws, tmp_path)
        run_options = type(run_options)(**{**vars(run_options), "listen": holder.getsockname()})
        advertised: list[RunningDaemon] = []

        async def start() -> int:
            return await run_daemon(run_options, started=advertised.append, install_signal_handlers=False)

        with pytest.raises(StartupError, match=r"cannot listen on 127\.0\.0\.1:\d+: Address already in use"):
            asyncio.run(start())
    assert advertised == []
