"""Crash sweep: SIGKILL a real `ecs-reconciler apply` right after its k-th write, then apply again.

A `KillAtWrite` layer in front of the local AWS lets the k-th write through to the server, then kills
the child process before it hears the answer: the worst moment, AWS changed and the reconciler not
knowing. A second `apply` (in-process, straight to the local AWS) must then leave exactly what a
crash-free converge leaves, with no duplicates, and a following plan must be empty.

The example stack's converge makes 13 writes. The default suite tries a spread of crash points; every
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
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from reconciler.local import LocalAWS
from tests.acceptance.support import NODE_APP, Console, run_cli
from tests.aws.fakes import Forwarder, KillAtWrite
from tests.sweeps.inventory import duplicates, inventory

pytestmark = pytest.mark.aws

ROOT = Path(__file__).resolve().parents[2]
NODE_APP_WRITES = 13


def apply_killed_at_write(aws: LocalAWS, specs: Path, k: int, tmp_path: Path) -> KillAtWrite:
    """Run `ecs-reconciler apply specs` as a child through a layer that kills it at its k-th write."""
    killer = KillAtWrite(Forwarder(aws.endpoint_url), k=k)
    server = make_server("127.0.0.1", 0, killer, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.start()
    environment = {**os.environ, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{server.server_port}"}
    environment["PYTHONPATH"] = str(ROOT)
    try:
        with (tmp_path / f"apply-{k}.log").open("wb") as log:
            child = subprocess.Popen(
                [sys.executable, "-m", "reconciler", "apply", str(specs)],
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            killer.pid = child.pid
            code = child.wait(timeout=120)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert killer.killed and code == -9, (k, code, killer.writes, (tmp_path / f"apply-{k}.log").read_text())
    return killer


def crash_then_converge(capsys: pytest.CaptureFixture[str], aws: LocalAWS, k: int, tmp_path: Path) -> None:
    console = Console(aws)
    clean = run_cli(capsys, "apply", str(NODE_APP))
    assert clean.code == 0, clean
    expected = inventory(console)
    assert sum(clean.writes.values()) == NODE_APP_WRITES

    aws.reset()
    killer = apply_killed_at_write(aws, NODE_APP, k, tmp_path)
    second = run_cli(capsys, "apply", str(NODE_APP))
    assert second.code == 0, (killer.writes, str(second))
    found = inventory(console)
    assert duplicates(found) == {}, (killer.writes, str(second))
    assert found == expected, (killer.writes, str(second))
    plan = run_cli(capsys, "plan", str(NODE_APP))
    assert plan.code == 0 and plan.changed == {}, (killer.writes, str(plan))


@pytest.mark.parametrize("k", [1, 5, 9, 13])
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


def daemon_killed_at_write(aws: LocalAWS, specs: Path, k: int, tmp_path: Path) -> KillAtWrite:
    """Run the daemon (`ecs-reconciler run specs`) as a child through a layer that kills it at its
    k-th write."""
    killer = KillAtWrite(Forwarder(aws.endpoint_url), k=k)
    server = make_server("127.0.0.1", 0, killer, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.start()
    environment = {**os.environ, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{server.server_port}"}
    environment["PYTHONPATH"] = str(ROOT)
    command = [sys.executable, "-m", "reconciler", "run", str(specs), "--listen", "127.0.0.1:0"]
    try:
        with (tmp_path / f"run-{k}.log").open("wb") as log:
            child = subprocess.Popen(command, env=environment, stdout=log, stderr=subprocess.STDOUT)
            killer.pid = child.pid
            try:
                code = child.wait(timeout=60)
            finally:
                if child.poll() is None:
                    child.kill()
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert killer.killed and code == -9, (k, code, killer.writes, (tmp_path / f"run-{k}.log").read_text())
    return killer


def daemon_crash_then_restart(
    capsys: pytest.CaptureFixture[str], aws: LocalAWS, k: int, tmp_path: Path
) -> None:
    console = Console(aws)
    assert run_cli(capsys, "apply", str(NODE_APP)).code == 0
    expected = inventory(console)

    aws.reset()
    killer = daemon_killed_at_write(aws, NODE_APP, k, tmp_path)
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
