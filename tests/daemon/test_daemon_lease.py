"""Two `ecs-reconciler run` processes on one DynamoDB lease (on the local AWS), with conflicting
specs for the same cluster: only the leader writes, so the cluster never flips between the two;
when the leader is killed outright, the standby takes over within the lease and converges the
cluster to its own spec, at once, however long the resync interval."""

from __future__ import annotations

import os
import time
from contextlib import AbstractContextManager
from pathlib import Path
from signal import SIGKILL, SIGTERM

import boto3
import pytest

from reconciler.local import LocalAWS
from tests.daemon.processes import DaemonProcess, daemon_process, eventually
from tests.daemon.watched_aws import watched

pytestmark = pytest.mark.aws

CLUSTER = """\
apiVersion: ecs-reconciler/v1
kind: Cluster
metadata:
  name: web
spec:
  capacityProviders: [{provider}]
"""

LEASE_DURATION = 3.0
RETRY_PERIOD = 0.5
ONE_PASS = 3.0
"""Seconds one pass over one cluster may take on a loaded machine (it takes well under one)."""


def lease_arguments(specs: Path, *, resync: str = "0.5s") -> list[str]:
    return [
        str(specs),
        "--leader-election",
        "ecs-reconciler-lease",
        "--lease-duration",
        f"{LEASE_DURATION}s",
        "--lease-renew-deadline",
        "2s",
        "--lease-retry-period",
        f"{RETRY_PERIOD}s",
        "--resync-interval",
        resync,
    ]


def specs_for(tmp_path: Path, name: str, provider: str) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "cluster.yaml").write_text(CLUSTER.format(provider=provider))
    return folder


def providers(local: LocalAWS) -> list[str] | None:
    ecs = boto3.client("ecs", region_name=local.region, endpoint_url=local.endpoint_url)
    for cluster in ecs.describe_clusters(clusters=["web"])["clusters"]:
        if cluster["status"] == "ACTIVE":
            return sorted(cluster["capacityProviders"])
    return None


def leadership(daemon: DaemonProcess) -> tuple[bool, str] | None:
    """(is leader, holder) from /status, once the daemon knows who holds the lease."""
    leader = daemon.status().get("leader")
    if not leader or not leader.get("holder"):
        return None
    return bool(leader["isLeader"]), str(leader["holder"])


def test_only_the_leader_writes_and_the_standby_takes_over_when_it_dies(
    aws: LocalAWS, tmp_path: Path
) -> None:
    wanted = {"a": "FARGATE", "b": "FARGATE_SPOT"}
    with (
        daemon_process(lease_arguments(specs_for(tmp_path, "a", wanted["a"])), logs=tmp_path / "a.log") as a,
        daemon_process(lease_arguments(specs_for(tmp_path, "b", wanted["b"])), logs=tmp_path / "b.log") as b,
    ):
        daemons = {"a": a, "b": b}

        def one_leader_both_agree() -> tuple[str, str] | None:
            views = {name: leadership(daemon) for name, daemon in daemons.items()}
            if None in views.values():
                return None
            leaders = [name for name, view in views.items() if view and view[0]]
            holders = {view[1] for view in views.values() if view}
            if len(leaders) != 1 or len(holders) != 1:
                return None
            return leaders[0], holders.pop()

        leader_name, holder = eventually(one_leader_both_agree, within=20, what="one leader, both agree")
        follower_name = "b" if leader_name == "a" else "a"
        leader, follower = daemons[leader_name], daemons[follower_name]
        assert f"-{leader.pid}-" in holder  # the identity names the leader's process

        eventually(lambda: providers(aws) == [wanted[leader_name]], within=10, what="the leader's spec")
        # Several resyncs of both: were the follower writing too, the cluster would flip.
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            assert providers(aws) == [wanted[leader_name]]
            time.sleep(0.05)
        status = follower.status()
        assert status["leader"] == {"isLeader": False, "holder": holder}
        assert status["writing"] is False
        (cluster,) = status["resources"]
        # The follower sees the difference, and only reports it: a change (its spec is not the one
        # the cluster's spec hash records, the leader's), not drift.
        assert cluster["status"] == "changed"

        leader.send_signal(SIGKILL)
        leader.wait(within=5)
        killed = time.monotonic()
        eventually(
            lambda: (leadership(follower) or (False, ""))[0],
            within=LEASE_DURATION + RETRY_PERIOD + 5,
            what="the standby leads",
        )
        took_over = time.monotonic() - killed
        eventually(lambda: providers(aws) == [wanted[follower_name]], within=10, what="the new leader's spec")
        status = follower.status()
        assert status["writing"] is True
        assert f"-{follower.pid}-" in status["leader"]["holder"]
        follower.send_signal(SIGTERM)
        assert follower.wait(within=15) == 0, follower.stderr[-4000:]

    # Not before the dead leader's last lease could have expired (it renewed at most a retry
    # period before it died), and not much after.
    assert LEASE_DURATION - RETRY_PERIOD - 0.3 <= took_over <= LEASE_DURATION + RETRY_PERIOD + 2.0, took_over


@pytest.mark.parametrize(
    ("stop", "earliest", "latest"),
    [
        # Not while the dead leader's lease could still be valid (it renewed at most a retry
        # period before it died), and within that lease plus one pass.
        pytest.param(
            SIGKILL,
            LEASE_DURATION - RETRY_PERIOD - 0.3,
            LEASE_DURATION + RETRY_PERIOD + ONE_PASS,
            id="leader-killed",
        ),
        # A graceful stop releases the lease: the standby's next attempt takes it.
        pytest.param(SIGTERM, 0.0, RETRY_PERIOD + ONE_PASS, id="leader-stopped"),
    ],
)
def test_a_standby_that_takes_the_lease_writes_at_once_not_at_its_resync(
    aws: LocalAWS, tmp_path: Path, stop: int, earliest: float, latest: float
) -> None:
    wanted = {"a": "FARGATE", "b": "FARGATE_SPOT"}
    with watched(aws) as front:
        environment = {**os.environ, "AWS_ENDPOINT_URL": front.url}

        def start(name: str) -> AbstractContextManager[DaemonProcess]:
            specs = specs_for(tmp_path, name, wanted[name])
            return daemon_process(
                lease_arguments(specs, resync="5m"), logs=tmp_path / f"{name}.log", env=environment
            )

        with start("a") as a, start("b") as b:
            daemons = {"a": a, "b": b}

            def the_leader() -> str | None:
                views = {name: leadership(daemon) for name, daemon in daemons.items()}
                leaders = [name for name, view in views.items() if view and view[0]]
                holders = {view[1] for view in views.values() if view}
                return (
                    leaders[0]
                    if len(leaders) == 1 and len(holders) == 1 and None not in views.values()
                    else None
                )

            leader_name = eventually(the_leader, within=20, what="one leader, both agree")
            assert leader_name is not None
            follower_name = "b" if leader_name == "a" else "a"
            leader, follower = daemons[leader_name], daemons[follower_name]
            # Resyncs are five minutes apart: the leader converges in the pass that loaded its specs
            # or in the one that taking the lease started.
            eventually(lambda: providers(aws) == [wanted[leader_name]], within=10, what="the leader's spec")
            assert follower.status()["writing"] is False

            signalled = time.monotonic()
            leader.send_signal(stop)
            eventually(
                lambda: [write for write in front.writes if write.at > signalled],
                within=latest + 2.0,
                what="the standby's first write",
            )
            first_write = min(write.at for write in front.writes if write.at > signalled) - signalled
            assert leader.wait(within=15) == (0 if stop == SIGTERM else -SIGKILL), leader.stderr[-4000:]
            eventually(lambda: providers(aws) == [wanted[follower_name]], within=10, what="the new spec")
            follower.send_signal(SIGTERM)
            assert follower.wait(within=15) == 0, follower.stderr[-4000:]

    assert earliest <= first_write <= latest, first_write
