"""`ecs-reconciler run --git` as a real process, polling a git repository made in the test: each
good commit is applied and shown as /status `revision`; a commit with an invalid spec changes
nothing in AWS and keeps the last good commit in force; the next good commit applies again."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from signal import SIGTERM

import boto3
import pytest

from reconciler.local import LocalAWS
from tests.daemon.processes import DaemonProcess, daemon_process, eventually

pytestmark = pytest.mark.aws

CLUSTER = """\
apiVersion: ecs-reconciler/v1
kind: Cluster
metadata:
  name: web
spec:
  capacityProviders: [{providers}]
"""


def git(repository: Path, *arguments: str) -> str:
    # Settings of the developer's (signing, hooks, templates) must not reach the test repository.
    result = subprocess.run(
        ["git", "-c", "commit.gpgsign=false", "-c", "core.hooksPath=/dev/null", *arguments],
        cwd=repository,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return result.stdout.strip()


def commit_cluster(repository: Path, text: str, message: str) -> str:
    (repository / "specs" / "cluster.yaml").write_text(text)
    git(repository, "add", "specs/cluster.yaml")
    git(repository, "commit", "--quiet", "-m", message)
    return git(repository, "rev-parse", "HEAD")


def make_repository(path: Path) -> Path:
    (path / "specs").mkdir(parents=True)
    git(path, "-c", "init.defaultBranch=main", "init", "--quiet")
    git(path, "config", "user.email", "tests@example.com")
    git(path, "config", "user.name", "Tests")
    git(path, "checkout", "--quiet", "-B", "main")
    return path


def providers(local: LocalAWS) -> list[str] | None:
    ecs = boto3.client("ecs", region_name=local.region, endpoint_url=local.endpoint_url)
    for cluster in ecs.describe_clusters(clusters=["web"])["clusters"]:
        if cluster["status"] == "ACTIVE":
            return sorted(cluster["capacityProviders"])
    return None


def applied(daemon: DaemonProcess, local: LocalAWS, revision: str, wanted: list[str]) -> bool:
    status = daemon.status()
    return status.get("revision") == revision and not status["specErrors"] and providers(local) == wanted


def test_commits_are_applied_an_invalid_one_is_not_and_a_fix_recovers(aws: LocalAWS, tmp_path: Path) -> None:
    repository = make_repository(tmp_path / "repository")
    first = commit_cluster(repository, CLUSTER.format(providers="FARGATE"), "a cluster")
    arguments = [
        "--git",
        f"{repository}#main:specs",
        "--git-poll-interval",
        "1s",
        "--resync-interval",
        "1s",
    ]
    with daemon_process(arguments, logs=tmp_path / "daemon.log") as daemon:
        eventually(lambda: applied(daemon, aws, first, ["FARGATE"]), within=20, what="first commit")

        second = commit_cluster(
            repository, CLUSTER.format(providers="FARGATE, FARGATE_SPOT"), "and Fargate Spot"
        )
        eventually(
            lambda: applied(daemon, aws, second, ["FARGATE", "FARGATE_SPOT"]), within=10, what="second commit"
        )

        commit_cluster(repository, CLUSTER.format(providers="FARGATE_SPOT") + "  unknownField: 1\n", "a typo")
        errors = eventually(lambda: daemon.status()["specErrors"], within=10, what="spec errors shown")
        assert any("unknownField" in error for error in errors), errors
        # Two more polls and resyncs: the invalid commit stays unapplied, the last good one in force.
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            status = daemon.status()
            assert status["revision"] == second and status["specErrors"]
            assert providers(aws) == ["FARGATE", "FARGATE_SPOT"]
            readiness = daemon.get("/readyz")
            assert readiness is not None and readiness[0] == 200, readiness  # the last good set serves
            time.sleep(0.1)

        fourth = commit_cluster(repository, CLUSTER.format(providers="FARGATE_SPOT"), "fix the typo")
        eventually(lambda: applied(daemon, aws, fourth, ["FARGATE_SPOT"]), within=10, what="fixing commit")
        (resource,) = daemon.status()["resources"]
        assert resource["lastAppliedRevision"] == fourth

        daemon.send_signal(SIGTERM)
        assert daemon.wait(within=15) == 0, daemon.stderr[-4000:]
