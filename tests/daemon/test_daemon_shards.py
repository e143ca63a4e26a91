"""Three `ecs-reconciler run` processes share ten Targets as leased shards (one DynamoDB table on
the local AWS): once the shares settle each target is reconciled by exactly one replica, counted
at the local AWS by account and by the replica whose role session signed each request; SIGKILL of
one replica moves its targets to the others within the lease, each new holder writing at once
whatever the resync interval, and no target is written by two replicas; SIGTERM hands a replica's
targets back, so the others take them without waiting for the leases to expire.

Each replica is given its own version of every target's cluster (a tag naming the replica), as the
leader-lease test does: whoever holds a target converges the cluster to its version, so a target
written by two replicas would flip between their tags, and a moved target is rewritten by its new
holder the moment it takes the shard.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from signal import SIGKILL, SIGTERM

import pytest
from moto.sts.models import sts_backends

from reconciler.local import LocalAWS
from tests.daemon.processes import DaemonProcess, daemon_process, eventually
from tests.daemon.test_daemon_lease import LEASE_DURATION, RETRY_PERIOD, lease_arguments
from tests.daemon.watched_aws import Arrival, WatchedAWS, watched

pytestmark = pytest.mark.aws

LOOK_AFTER_A_WRITE = 5.0
"""The daemon's default converge requeue: the read that confirms a write."""
ONE_PASS = 4.0
"""Seconds one pass over one cluster may take on a loaded machine with three daemons starting."""

TARGETS = {f"team-{n}": (f"{100000000000 + n}", "eu-west-1" if n % 2 else "us-east-1") for n in range(10)}
REPLICAS = ("a", "b", "c")

TARGET = """\
apiVersion: ecs-reconciler/v1
kind: Target
metadata:
  name: {name}
spec:
  accountId: "{account}"
  region: {region}
  roleName: ecs-reconciler
"""

CLUSTER = """\
apiVersion: ecs-reconciler/v1
kind: Cluster
metadata:
  name: web
  namespace: {name}
spec:
  capacityProviders: [FARGATE]
  tags: {{replica: {replica}}}
"""


def specs_for(tmp_path: Path, replica: str) -> Path:
    folder = tmp_path / replica
    folder.mkdir()
    places = [
        TARGET.format(name=name, account=account, region=region)
        for name, (account, region) in TARGETS.items()
    ]
    (folder / "targets.yaml").write_text("---\n".join(places))
    (folder / "clusters.yaml").write_text(
        "---\n".join(CLUSTER.format(name=name, replica=replica) for name in TARGETS)
    )
    return folder


def arguments(specs: Path) -> list[str]:
    # Every write below comes from taking a shard, none from a resync.
    return lease_arguments(specs, resync="5m")


def replica_tags(aws: LocalAWS) -> dict[str, str | None]:
    """Each target's cluster's `replica` tag (None while it has no cluster)."""
    tags: dict[str, str | None] = {}
    with aws.lock:
        for name, (account, region) in TARGETS.items():
            cluster = aws.ecs_backend(account, region).clusters.get("web")
            found = {tag["key"]: tag["value"] for tag in (cluster.tags or [])} if cluster else {}
            tags[name] = found.get("replica")
    return tags


def held(daemon: DaemonProcess) -> set[str] | None:
    """The targets a daemon holds, from its /status (None while it does not answer)."""
    try:
        status = daemon.status()
    except Exception:
        return None
    return {target["name"] for target in status.get("targets", []) if (target.get("lease") or {}).get("held")}


def replica_of_session(aws: LocalAWS, daemons: dict[str, DaemonProcess]) -> dict[str, str]:
    """Which replica signed with each access key: the role session name carries its process id."""
    by_pid = {str(daemon.pid): name for name, daemon in daemons.items()}
    sessions: dict[str, str] = {}
    with aws.lock:
        for backends in sts_backends.values():
            for backend in backends.values():
                for role in backend.assumed_roles:
                    pid = re.search(r"-(\d+)-[0-9a-f]{8}$", role.session_name)
                    if pid and pid.group(1) in by_pid:
                        sessions[role.access_key_id] = by_pid[pid.group(1)]
    return sessions


def account_of(name: str) -> str:
    return TARGETS[name][0]


def signers(requests: list[Arrival], sessions: dict[str, str], account: str) -> list[str]:
    """The replicas whose requests reached one account, in order, repeats collapsed."""
    order: list[str] = []
    for request in requests:
        if request.account == account:
            replica = sessions.get(request.access_key, f"unknown key {request.access_key}")
            if not order or order[-1] != replica:
                order.append(replica)
    return order


@pytest.fixture
def three_replicas(aws: LocalAWS, tmp_path: Path) -> Iterator[tuple[dict[str, DaemonProcess], WatchedAWS]]:
    with watched(aws) as front, ExitStack() as stack:
        environment = {**os.environ, "AWS_ENDPOINT_URL": front.url}
        daemons = {
            name: stack.enter_context(
                daemon_process(
                    arguments(specs_for(tmp_path, name)), logs=tmp_path / f"{name}.log", env=environment
                )
            )
            for name in REPLICAS
        }
        yield daemons, front


def test_three_replicas_share_ten_targets_a_killed_ones_move_at_once_and_a_stopped_one_hands_them_back(
    aws: LocalAWS, three_replicas: tuple[dict[str, DaemonProcess], WatchedAWS]
) -> None:
    daemons, front = three_replicas

    def shared_out() -> dict[str, set[str]] | None:
        views = {name: held(daemon) for name, daemon in daemons.items()}
        if any(view is None for view in views.values()):
            return None
        holdings = {name: view for name, view in views.items() if view is not None}
        every = [target for view in holdings.values() for target in view]
        fair = sorted(len(view) for view in holdings.values()) == [3, 3, 4]
        converged = replica_tags(aws) == {t: r for r, view in holdings.items() for t in view}
        return holdings if fair and sorted(every) == sorted(TARGETS) and converged else None

    holdings = eventually(
        shared_out, within=60, what="ten targets shared 3/3/4, each at its holder's version"
    )
    assert holdings is not None

    # At rest each target stays with its holder: nothing is written, and no replica reads a target
    # it does not hold (the resync is five minutes away, so nobody reads at all), once each write's
    # look after it (a converge requeue, 5 s by default) is done.
    last_write = max(request.at for request in front.requests if request.is_write)
    time.sleep(max(0.0, last_write + LOOK_AFTER_A_WRITE + 1.0 - time.monotonic()))
    quiet_from = time.monotonic()
    time.sleep(3 * RETRY_PERIOD + 1.0)
    assert [r for r in front.requests if r.at > quiet_from] == []
    assert eventually(shared_out, within=1) == holdings

    victim = max(holdings, key=lambda name: len(holdings[name]))
    moved = holdings[victim]
    killed = time.monotonic()
    daemons[victim].send_signal(SIGKILL)
    assert daemons[victim].wait(within=10) == -SIGKILL
    survivors = {name: daemon for name, daemon in daemons.items() if name != victim}

    def taken_over() -> dict[str, set[str]] | None:
        views = {name: held(daemon) for name, daemon in survivors.items()}
        holdings = {name: view for name, view in views.items() if view is not None}
        every = sorted(target for view in holdings.values() for target in view)
        converged = replica_tags(aws) == {t: r for r, view in holdings.items() for t in view}
        return holdings if every == sorted(TARGETS) and converged else None

    after = eventually(taken_over, within=LEASE_DURATION + RETRY_PERIOD + ONE_PASS + 10, what="the take-over")
    assert after is not None
    assert sorted(len(view) for view in after.values()) == [5, 5]
    for survivor, view in after.items():
        assert holdings[survivor] <= view  # nothing moved between the survivors

    # Each moved target's first write after the kill came within the lease plus one pass.
    sessions = replica_of_session(aws, daemons)
    for name in moved:
        first = next(
            r for r in front.requests if r.at > killed and r.account == account_of(name) and r.is_write
        )
        assert first.at - killed <= LEASE_DURATION + RETRY_PERIOD + ONE_PASS, (name, first.at - killed)
        assert sessions[first.access_key] != victim
    # From the moment the shares settled, every request that reached a target's account came from
    # one replica: its holder, or for a moved target its new holder alone (the victim is dead, and
    # no survivor touched a target the other one took).
    requests = [r for r in front.requests if r.at > quiet_from]
    owner = {target: replica for replica, view in after.items() for target in view}
    for name in TARGETS:
        assert signers(requests, sessions, account_of(name)) in ([], [owner[name]]), name

    # SIGTERM hands a replica's shards back as it stops: the last one takes them all at once,
    # without waiting for the leases to expire.
    leaving, staying = sorted(after)
    stopped = time.monotonic()
    daemons[leaving].send_signal(SIGTERM)
    assert daemons[leaving].wait(within=15) == 0, daemons[leaving].stderr[-4000:]
    handed_back = time.monotonic() - stopped

    def all_taken() -> bool:
        return held(daemons[staying]) == set(TARGETS) and set(replica_tags(aws).values()) == {staying}

    eventually(all_taken, within=LEASE_DURATION + ONE_PASS + 10, what="the hand-back")
    taken = time.monotonic() - stopped
    # Taken well before the leases would have expired (they were renewed up to the stop).
    assert taken - handed_back < LEASE_DURATION, (handed_back, taken)
