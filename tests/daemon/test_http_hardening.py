"""The daemon's HTTP server under hostile clients, over real sockets (issue 9, item 5).

Slow-header connections beyond the limit must not keep /healthz from answering, a connection
that never finishes its headers is closed, and with a bearer token the endpoints that disclose
state require it while the probes stay open.
"""

from __future__ import annotations

import asyncio
import socket
import sys
import time
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest

from reconciler.daemon.http import HttpLimits, RateLimitedLog, default_max_connections
from reconciler.local import LocalAWS
from tests.daemon.processes import daemon_process, eventually
from tests.daemon.test_daemon import daemon, options, write_cluster

pytestmark = pytest.mark.aws

LIMITS = HttpLimits(header_seconds=1.0, idle_seconds=2.0, max_connections=16)


async def _get(port: int, path: str, headers: dict[str, str] | None = None) -> int:
    timeout = aiohttp.ClientTimeout(total=5)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.get(f"http://127.0.0.1:{port}{path}", headers=headers or {}) as response,
    ):
        return response.status


async def _slow_client(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /status HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
    await writer.drain()
    return reader, writer


def test_slow_header_clients_beyond_the_limit_do_not_starve_healthz(aws: LocalAWS, tmp_path: Path) -> None:
    write_cluster(tmp_path)

    async def scenario() -> None:
        async with daemon(replace(options(aws, tmp_path), http_limits=LIMITS)) as running:
            slow = [await _slow_client(running.port) for _ in range(4 * LIMITS.max_connections)]
            started = time.monotonic()
            assert await _get(running.port, "/healthz") == 200
            assert time.monotonic() - started < 1.0
            # Every slow client is cut off: evicted, or at its header deadline.
            for reader, _ in slow:
                assert await asyncio.wait_for(reader.read(), LIMITS.header_seconds + 2.0) in (b"",)
            for _, writer in slow:
                writer.close()
            # A normal request on a slow start still gets through when it finishes in time.
            reader, writer = await _slow_client(running.port)
            writer.write(b"\r\n")
            await writer.drain()
            assert (await asyncio.wait_for(reader.readline(), 5)).startswith(b"HTTP/1.1 200")
            writer.close()

    asyncio.run(scenario())


def test_a_bearer_token_guards_what_discloses_state_and_not_the_probes(aws: LocalAWS, tmp_path: Path) -> None:
    write_cluster(tmp_path)

    async def scenario() -> None:
        run_options = replace(options(aws, tmp_path), http_token="s3cret-token", http_limits=LIMITS)
        async with daemon(run_options) as running:
            port = running.port
            for path in ("/status", "/drift", "/metrics"):
                assert await _get(port, path) == 401
                assert await _get(port, path, {"Authorization": "Bearer s3cret-tokem"}) == 401
                assert await _get(port, path, {"Authorization": "s3cret-token"}) == 401
                assert await _get(port, path, {"Authorization": "Bearer s3cret-token"}) == 200
            assert await _get(port, "/healthz") == 200
            assert await _get(port, "/readyz") in (200, 503)

    asyncio.run(scenario())


def test_the_connection_limit_leaves_descriptors_for_the_aws_clients() -> None:
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert default_max_connections() < soft - 256 or soft <= 272


def test_repeated_errors_are_logged_once_per_interval(capsys: pytest.CaptureFixture[str]) -> None:
    now = [0.0]
    log = RateLimitedLog(interval=60.0, clock=lambda: now[0])
    logged = [log.warning("accept_failed") for _ in range(1000)]
    now[0] = 61.0
    logged.append(log.warning("accept_failed"))
    assert logged.count(True) == 2
    assert "suppressed=999" in capsys.readouterr().out


LOW_DESCRIPTOR_LIMIT = 256
_LIMITED_RUN = (
    "import resource, runpy, sys\n"
    f"resource.setrlimit(resource.RLIMIT_NOFILE, ({LOW_DESCRIPTOR_LIMIT}, {LOW_DESCRIPTOR_LIMIT}))\n"
    "sys.argv = ['ecs-reconciler', 'run', *sys.argv[1:]]\n"
    "runpy.run_module('reconciler', run_name='__main__')\n"
)


def test_the_daemon_process_answers_healthz_with_more_slow_clients_than_descriptors(
    aws: LocalAWS, tmp_path: Path
) -> None:
    # The report's attack, scaled down: more slow-header connections than the process may hold
    # descriptors. Before, accept() failed from then on and /healthz timed out.
    specs = tmp_path / "specs"
    specs.mkdir()
    write_cluster(specs)
    with daemon_process(
        [str(specs)], logs=tmp_path / "daemon.log", command=(sys.executable, "-c", _LIMITED_RUN)
    ) as child:
        eventually(lambda: child.get("/healthz"), within=30, what="the daemon answers")
        port = child.port
        assert port is not None
        slow = []
        for _ in range(2 * LOW_DESCRIPTOR_LIMIT):
            connection = socket.create_connection(("127.0.0.1", port), timeout=5)
            connection.sendall(b"GET /status HTTP/1.1\r\nHost: x\r\n")
            slow.append(connection)
        try:
            started = time.monotonic()
            assert child.get("/healthz") == (200, '{"ok": true}')
            assert time.monotonic() - started < 2.0
        finally:
            for connection in slow:
                connection.close()
        # accept() may still run out of descriptors for a moment (asyncio then pauses accepting
        # for a second); what must not come back is the flood: at most one line a minute.
        exhausted = [line for line in child.stderr.splitlines() if "Too many open files" in line]
        assert len(exhausted) <= 1, exhausted[:3]
        assert len(child.stderr) < 256 * 1024
