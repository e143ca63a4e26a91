"""Crash sweep: SIGKILL a real `ecs-reconciler apply` right after its k-th write, then apply again.

A `KillAtWrite` layer in front of the local AWS lets the k-th write through to the server, then kills
the child process before it hears the answer: the worst moment, AWS changed and the reconciler not
knowing. A second `apply` (in-process, straight to the local AWS) must then leave exactly what a
crash-free converge leaves, with no duplicates, and a following plan must be empty.

The example stack's converge makes 15 writes. The default suite tries a spread of crash points; every
k runs with ``-m sweep``. The daemon (`ecs-reconciler run`) is killed the same way at five points of
its converge, and a restarted daemon must finish it with the same result.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from reconciler.local import LocalAWS
from tests.acceptance.support import NODE_APP, Console, run_cli
from tests.aws.fakes import Forwarder, KillAtWrite
from tests.sweeps.inventory import duplicates, inventory

pytestmark = pytest.mark.aws

ROOT = Path(__file__).resolve().parents[2]
NODE_APP_WRITES = 15


@contextmanager
def serving(app: KillAtWrite) -> Iterator[dict[str, str]]:
    """Serve `app` on a free port; yields the environment of a child that talks to AWS through it."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.start()
    try:
        yield {
            **os.environ,
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{server.server_port}",
            "PYTHONPATH": str(ROOT),
        }
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def killed_at_write(aws: LocalAWS, command: list[str], k: int, log_file: Path) -> KillAtWrite:
    """Run `ecs-reconciler COMMAND` as a child through a layer that kills it at its k-th write."""
    killer = KillAtWrite(Forwarder(aws.endpoint_url), k=k)
    with serving(killer) as environment, log_file.open("wb") as log:
        child = subprocess.Popen(
            [sys.executable, "-m", "reconciler", *command],
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        killer.pid = child.pid
        try:
            code = child.wait(timeout=120)
        finally:
            if child.poll() is None:
                child.kill()
    assert killer.killed and code == -9, (k, code, killer.writes, log_file.read_text())
    return killer


def crash_then_converge(capsys: pytest.CaptureFixture[str], aws: LocalAWS, k: int, tmp_path: Path) -> None:
    console = Console(aws)
    clean = run_cli(capsys, "apply", str(NODE_APP))
    assert clean.code == 0, clean
    expected = inventory(console)
    assert sum(clean.writes.values()) == NODE_APP_WRITES

    aws.reset()
    killer = killed_at_write(aws, ["apply", str(NODE_APP)], k, tmp_path / f"apply-{k}.log")
    second = run_cli(capsys, "apply", str(NODE_APP))
    assert second.code == 0, (killer.writes, str(second))
    found = inventory(console)
    assert duplicates(found) == {}, (killer.writes, str(second))
    assert found == expected, (killer.writes, str(second))
    plan = run_cli(capsys, "plan", str(NODE_APP))
    assert plan.code == 0 and plan.changed == {}, (killer.writes, str(plan))


@pytest.mark.parametrize("k", [1, 5, 9, 13, 15])
def test_apply_killed_after_a_write_then_applied_again_converges_without_duplicates(
    capsys: pytest.CaptureFixture[str], aws: LocalAWS, tmp_path: Path, k: int
) -> None:
    crash_then_converge(capsys, aws, k, tmp_path)


@pytest.mark.sweep
@pytest.mark.parametrize("k", range(1, NODE_APP_WRITES + 1))
def test_apply_killed_after_every_write_then_applied_again_converges_without_duplicates_long(
    capsys: pytest.CaptureFixture[str], aws: LocalAWS, tmp_path: Path, k: int
) -> None:
    crash_then_converge(capsys, aws, k, tmp_path)


DAEMON_CRASH_POINTS = [1, 4, 7, 10, 13]


def daemon_crash_then_restart(
    capsys: pytest.CaptureFixture[str], aws: LocalAWS, k: int, tmp_path: Path
) -> None:
    console = Console(aws)
    assert run_cli(capsys, "apply", str(NODE_APP)).code == 0
    expected = inventory(console)

    aws.reset()
    run = ["run", str(NODE_APP), "--listen", "127.0.0.1:0"]
    killer = killed_at_write(aws, run, k, tmp_path / f"run-{k}.log")
    # A new daemon, straight to the local AWS, finishes the converge the killed one began.
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "reconciler", "run", str(NODE_APP), "--listen", "127.0.0.1:0"]
    with (tmp_path / f"restart-{k}.log").open("wb") as log:
        restarted = subprocess.Popen(command, env=environment, stdout=log, stderr=subprocess.STDOUT)
        try:
            for _ in range(120):
                plan = run_cli(capsys, "plan", str(NODE_APP))
                if plan.code == 0:
                    break
                time.sleep(0.5)
        finally:
            restarted.send_signal(signal.SIGTERM)
            assert restarted.wait(timeout=30) == 0
    assert (plan.code, plan.changed) == (0, {}), (killer.writes, str(plan))
    found = inventory(console)
    assert duplicates(found) == {}, killer.writes
    assert found == expected, killer.writes


@pytest.mark.parametrize("k", DAEMON_CRASH_POINTS)
def test_the_daemon_killed_after_a_write_then_restarted_converges_without_duplicates(
    capsys: pytest.CaptureFixture[str], aws: LocalAWS, tmp_path: Path, k: int
) -> None:
    daemon_crash_then_restart(capsys, aws, k, tmp_path)
