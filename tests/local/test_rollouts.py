"""ECS services roll out on the local AWS as on ECS (``reconciler/local/rollouts.py``).

Most tests talk to a second ``LocalAWS`` on a fake clock (``timed``): it shares moto's backends with the
session's server, but its requests advance rollouts by its own clock, 10 s per rollout, so each phase can
be looked at. On raw moto every service stays IN_PROGRESS with running 0 forever.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from reconciler.local import LocalAWS
from tests.aws_helpers import SyncAioClients
from tests.local.conftest import Stack, create_service, describe_service

pytestmark = pytest.mark.aws

ROLLOUT_SECONDS = 10.0
BREAKER_WITH_ROLLBACK = {"deploymentCircuitBreaker": {"enable": True, "rollback": True}}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass(frozen=True)
class Timed:
    server: LocalAWS
    clock: FakeClock
    clients: SyncAioClients


@pytest.fixture(scope="module")
def timed_server(local_aws: LocalAWS) -> Iterator[Timed]:
    clock = FakeClock()
    with LocalAWS(rollout_seconds=ROLLOUT_SECONDS, clock=clock) as server:
        clients = SyncAioClients(endpoint_url=server.endpoint_url, region=server.region)
        try:
            yield Timed(server, clock, clients)
        finally:
            clients.close()


@pytest.fixture
def timed(timed_server: Timed, stack: Stack) -> Timed:
    """The fake-clock server, after the session's server was reset and the stack built."""
    timed_server.server.rollout_seconds = ROLLOUT_SECONDS
    return timed_server


def summary(service: dict[str, Any]) -> list[tuple[str, str, str, int, int]]:
    """(status, rolloutState, task definition revision, running, pending) per deployment."""
    return [
        (
            d["status"],
            d["rolloutState"],
            d["taskDefinition"].rsplit(":", 1)[-1],
            d["runningCount"],
            d["pendingCount"],
        )
        for d in service["deployments"]
    ]


def messages(service: dict[str, Any]) -> list[str]:
    return [event["message"] for event in service["events"]]


def test_a_new_service_starts_in_progress_and_reaches_steady_state_after_the_rollout(
    timed: Timed, stack: Stack
) -> None:
    created = create_service(timed.clients, stack)
    assert summary(created) == [("PRIMARY", "IN_PROGRESS", "1", 0, 2)]

    timed.clock.advance(ROLLOUT_SECONDS - 0.1)
    during = describe_service(timed.clients, stack)
    assert (during["runningCount"], during["pendingCount"]) == (0, 2)
    assert summary(during) == [("PRIMARY", "IN_PROGRESS", "1", 0, 2)]
    assert during["events"] == []

    timed.clock.advance(0.1)
    after = describe_service(timed.clients, stack)
    assert (after["runningCount"], after["pendingCount"]) == (2, 0)
    assert summary(after) == [("PRIMARY", "COMPLETED", "1", 2, 0)]
    deployment = after["deployments"][0]["id"]
    assert after["deployments"][0]["rolloutStateReason"] == f"ECS deployment {deployment} completed."
    assert messages(after) == [
        "(service api) has reached a steady state.",
        f"(service api) (deployment {deployment}) deployment completed.",
    ]


def test_a_new_task_definition_starts_a_new_primary_while_the_old_deployment_keeps_running(
    timed: Timed, stack: Stack
) -> None:
    create_service(timed.clients, stack)
    timed.server.settle()

    updated = timed.clients.ecs.update_service(cluster=stack.cluster, service="api", taskDefinition="app:2")

    assert summary(updated["service"]) == [
        ("PRIMARY", "IN_PROGRESS", "2", 0, 2),
        ("ACTIVE", "COMPLETED", "1", 2, 0),
    ]
    assert updated["service"]["runningCount"] == 2
    timed.clock.advance(ROLLOUT_SECONDS)
    after = describe_service(timed.clients, stack)
    assert summary(after) == [("PRIMARY", "COMPLETED", "2", 2, 0)]
    assert after["taskDefinition"] == stack.revision_2


def test_the_same_task_definition_starts_no_deployment_but_force_new_deployment_does(
    timed: Timed, stack: Stack
) -> None:
    created = create_service(timed.clients, stack)
    timed.server.settle()

    same = timed.clients.ecs.update_service(cluster=stack.cluster, service="api", taskDefinition="app:1")
    assert [d["id"] for d in same["service"]["deployments"]] == [created["deployments"][0]["id"]]

    forced = timed.clients.ecs.update_service(cluster=stack.cluster, service="api", forceNewDeployment=True)
    assert summary(forced["service"]) == [
        ("PRIMARY", "IN_PROGRESS", "1", 0, 2),
        ("ACTIVE", "COMPLETED", "1", 2, 0),
    ]


def test_a_desired_count_change_moves_running_count_after_the_delay_without_a_new_deployment(
    timed: Timed, stack: Stack
) -> None:
    created = create_service(timed.clients, stack)
    timed.server.settle()

    scaled = timed.clients.ecs.update_service(cluster=stack.cluster, service="api", desiredCount=5)["service"]
    assert (scaled["desiredCount"], scaled["runningCount"], scaled["pendingCount"]) == (5, 2, 3)

    timed.clock.advance(ROLLOUT_SECONDS)
    after = describe_service(timed.clients, stack)
    assert (after["desiredCount"], after["runningCount"], after["pendingCount"]) == (5, 5, 0)
    assert [d["id"] for d in after["deployments"]] == [created["deployments"][0]["id"]]
    assert summary(after) == [("PRIMARY", "COMPLETED", "1", 5, 0)]
    assert after["deployments"][0]["desiredCount"] == 5
    assert messages(after)[0] == "(service api) has reached a steady state."


def test_a_failed_rollout_with_rollback_returns_to_the_previous_task_definition(
    timed: Timed, stack: Stack
) -> None:
    create_service(timed.clients, stack, deploymentConfiguration=BREAKER_WITH_ROLLBACK)
    timed.server.settle()
    timed.server.fail_next_rollout(stack.cluster, "api")

    timed.clients.ecs.update_service(cluster=stack.cluster, service="api", taskDefinition=stack.revision_2)
    timed.clock.advance(ROLLOUT_SECONDS)
    rolling_back = describe_service(timed.clients, stack)

    assert summary(rolling_back) == [
        ("PRIMARY", "IN_PROGRESS", "1", 0, 2),
        ("ACTIVE", "FAILED", "2", 0, 0),
        ("ACTIVE", "COMPLETED", "1", 2, 0),
    ]
    failed = rolling_back["deployments"][1]
    assert "circuit breaker" in failed["rolloutStateReason"]
    assert failed["failedTasks"] > 0
    assert rolling_back["taskDefinition"] == stack.revision_1

    timed.clock.advance(ROLLOUT_SECONDS)
    after = describe_service(timed.clients, stack)
    assert summary(after) == [("PRIMARY", "COMPLETED", "1", 2, 0)]
    assert after["taskDefinition"] == stack.revision_1
    assert f"(service api) (deployment {failed['id']}) deployment failed: tasks failed to start." in messages(
        after
    )


def test_only_the_next_rollout_fails(timed: Timed, stack: Stack) -> None:
    create_service(timed.clients, stack, deploymentConfiguration=BREAKER_WITH_ROLLBACK)
    timed.server.fail_next_rollout(stack.cluster, "api")
    timed.server.settle()
    assert summary(describe_service(timed.clients, stack)) == [("PRIMARY", "COMPLETED", "1", 2, 0)]

    timed.clients.ecs.update_service(cluster=stack.cluster, service="api", taskDefinition=stack.revision_2)
    timed.server.settle()
    assert describe_service(timed.clients, stack)["taskDefinition"] == stack.revision_1

    timed.clients.ecs.update_service(cluster=stack.cluster, service="api", taskDefinition=stack.revision_2)
    timed.server.settle()
    assert summary(describe_service(timed.clients, stack)) == [("PRIMARY", "COMPLETED", "2", 2, 0)]


def test_a_failed_rollout_without_rollback_stays_failed_and_the_old_tasks_keep_running(
    timed: Timed, stack: Stack
) -> None:
    create_service(
        timed.clients,
        stack,
        deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": False}},
    )
    timed.server.settle()
    timed.server.fail_next_rollout(stack.cluster, "api")

    timed.clients.ecs.update_service(cluster=stack.cluster, service="api", taskDefinition=stack.revision_2)
    timed.clock.advance(ROLLOUT_SECONDS * 3)
    after = describe_service(timed.clients, stack)

    assert summary(after) == [("PRIMARY", "FAILED", "2", 0, 0), ("ACTIVE", "COMPLETED", "1", 2, 0)]
    assert after["taskDefinition"] == stack.revision_2
    assert after["runningCount"] == 2


def test_a_failing_rollout_without_circuit_breaker_never_completes(timed: Timed, stack: Stack) -> None:
    create_service(timed.clients, stack)
    timed.server.settle()
    timed.server.fail_next_rollout(stack.cluster, "api")

    timed.clients.ecs.update_service(cluster=stack.cluster, service="api", taskDefinition=stack.revision_2)
    timed.server.settle()
    after = describe_service(timed.clients, stack)

    assert summary(after) == [("PRIMARY", "IN_PROGRESS", "2", 0, 2), ("ACTIVE", "COMPLETED", "1", 2, 0)]
    assert after["deployments"][0]["failedTasks"] > 0
    assert messages(after)[0] == "(service api) is unable to consistently start tasks successfully."


def test_settle_brings_every_service_to_steady_state_now(timed: Timed, stack: Stack) -> None:
    for name in ("one", "two"):
        create_service(timed.clients, stack, name)

    timed.server.settle()

    for name in ("one", "two"):
        assert summary(describe_service(timed.clients, stack, name)) == [("PRIMARY", "COMPLETED", "1", 2, 0)]


def test_cluster_counts_follow_the_services(timed: Timed, stack: Stack) -> None:
    create_service(timed.clients, stack, "one")
    create_service(timed.clients, stack, "two", desiredCount=3)

    def counts() -> tuple[int, int, int]:
        cluster = timed.clients.ecs.describe_clusters(clusters=[stack.cluster])["clusters"][0]
        return cluster["runningTasksCount"], cluster["pendingTasksCount"], cluster["activeServicesCount"]

    assert counts() == (0, 5, 2)
    timed.clock.advance(ROLLOUT_SECONDS)
    assert counts() == (5, 0, 2)
    timed.clients.ecs.delete_service(cluster=stack.cluster, service="one", force=True)
    assert counts() == (3, 0, 1)


def test_with_zero_rollout_seconds_the_next_read_sees_steady_state(
    aws: LocalAWS, clients: SyncAioClients, stack: Stack
) -> None:
    created = create_service(clients, stack)

    assert summary(created) == [("PRIMARY", "IN_PROGRESS", "1", 0, 2)]
    assert summary(describe_service(clients, stack)) == [("PRIMARY", "COMPLETED", "1", 2, 0)]
    listed = clients.ecs.list_services(cluster=stack.cluster)["serviceArns"]
    assert listed == [created["serviceArn"]]
