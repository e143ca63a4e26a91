"""The daemon end to end, in-process, against the local AWS: edits converge without a restart,
drift is healed (enforce) or only reported (report), an invalid edit changes nothing, and
/metrics tells the truth about the calls made."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import boto3
import pytest
from prometheus_client.parser import text_string_to_metric_families
from structlog.testing import capture_logs

from reconciler.aws.calls import is_write
from reconciler.aws.settings import AwsSettings
from reconciler.daemon.controller import DaemonSettings
from reconciler.daemon.queue import BackoffSettings
from reconciler.daemon.run import RunningDaemon, RunOptions, run_daemon
from reconciler.local import LocalAWS
from reconciler.plan.ownership import SPEC_HASH
from reconciler.resources.base import PlanSettings
from tests.acceptance.support import NODE_APP
from tests.acceptance.test_spec_edits import set_image_tag
from tests.harness import load

pytestmark = pytest.mark.aws

CLUSTER = """\
apiVersion: ecs-reconciler/v1
kind: Cluster
metadata:
  name: {name}
spec:
  capacityProviders: [{providers}]
"""


def write_cluster(folder: Path, *, name: str = "web", providers: str = "FARGATE") -> None:
    (folder / "cluster.yaml").write_text(CLUSTER.format(name=name, providers=providers))


def options(local: LocalAWS, folder: Path, *, mode: str = "enforce") -> RunOptions:
    return RunOptions(
        paths=(folder,),
        daemon=DaemonSettings(
            mode=mode,  # type: ignore[arg-type]
            resync_seconds=0.5,
            converge_requeue_seconds=0.2,
            rollout_requeue_seconds=0.2,
            backoff=BackoffSettings(base_seconds=0.2, max_seconds=1.0),
        ),
        aws=AwsSettings(region=local.region, endpoint_url=local.endpoint_url),
        listen=("127.0.0.1", 0),
    )


@asynccontextmanager
async def daemon(run_options: RunOptions) -> AsyncIterator[RunningDaemon]:
    stop = asyncio.Event()
    started: asyncio.Future[RunningDaemon] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(
        run_daemon(run_options, stop=stop, started=started.set_result, install_signal_handlers=False)
    )
    try:
        yield await asyncio.wait_for(started, 10)
    finally:
        stop.set()
        assert await asyncio.wait_for(task, 20) == 0


async def eventually(check: Callable[[], Any], *, within: float = 15.0) -> Any:
    deadline = time.monotonic() + within
    while True:
        value = await asyncio.to_thread(check)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.1)


def providers(local: LocalAWS, name: str = "web") -> list[str] | None:
    ecs = boto3.client("ecs", region_name=local.region, endpoint_url=local.endpoint_url)
    for cluster in ecs.describe_clusters(clusters=[name])["clusters"]:
        if cluster["status"] == "ACTIVE":
            return sorted(cluster["capacityProviders"])
    return None


async def get_json(port: int, path: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}{path}") as response:
        return response.status, await response.json()


def test_an_edited_spec_converges_without_a_restart(aws: LocalAWS, tmp_path: Path) -> None:
    write_cluster(tmp_path)

    async def scenario() -> None:
        async with daemon(options(aws, tmp_path)) as running:
            await eventually(lambda: providers(aws) == ["FARGATE"])
            write_cluster(tmp_path, providers="FARGATE, FARGATE_SPOT")
            await eventually(lambda: providers(aws) == ["FARGATE", "FARGATE_SPOT"], within=10)
            status, body = await get_json(running.port, "/status")
            assert status == 200
            (resource,) = body["resources"]
            assert resource["kind"] == "Cluster" and resource["lastAppliedSpecHash"]

    asyncio.run(scenario())


def test_drift_is_healed_in_enforce_mode(aws: LocalAWS, tmp_path: Path) -> None:
    write_cluster(tmp_path, providers="FARGATE, FARGATE_SPOT")

    async def scenario() -> None:
        async with daemon(options(aws, tmp_path)):
            await eventually(lambda: providers(aws) == ["FARGATE", "FARGATE_SPOT"])
            ecs = boto3.client("ecs", region_name=aws.region, endpoint_url=aws.endpoint_url)
            ecs.put_cluster_capacity_providers(
                cluster="web", capacityProviders=["FARGATE"], defaultCapacityProviderStrategy=[]
            )
            await eventually(lambda: providers(aws) == ["FARGATE", "FARGATE_SPOT"], within=10)

    asyncio.run(scenario())


def test_report_mode_reports_drift_and_never_writes(aws: LocalAWS, tmp_path: Path) -> None:
    write_cluster(tmp_path)
    boto3.client("ecs", region_name=aws.region, endpoint_url=aws.endpoint_url).create_cluster(
        clusterName="web",
        capacityProviders=["FARGATE_SPOT"],
        tags=[
            {"key": "ecs-reconciler/managed-by", "value": "ecs-reconciler"},
            {"key": "ecs-reconciler/instance", "value": "default"},
            {"key": "ecs-reconciler/source", "value": "Cluster/web"},
        ],
    )

    async def scenario() -> None:
        async with daemon(options(aws, tmp_path, mode="report")) as running:

            async def drifted() -> bool:
                _, body = await get_json(running.port, "/drift")
                return any(r["name"] == "web" and r["status"] == "drifted" for r in body["resources"])

            deadline = time.monotonic() + 10
            while not await drifted():
                assert time.monotonic() < deadline
                await asyncio.sleep(0.1)
            await asyncio.sleep(1.0)  # two resyncs
            writes = {k: v for k, v in running.calls.snapshot().items() if is_write(k)}
            assert writes == {}
            assert providers(aws) == ["FARGATE_SPOT"]

    asyncio.run(scenario())


def test_report_mode_serves_drift_and_changes_apart_and_counts_them_apart(
    aws: LocalAWS, tmp_path: Path
) -> None:
    write_cluster(tmp_path, name="web")
    (tmp_path / "api.yaml").write_text(CLUSTER.format(name="api", providers="FARGATE"))
    hashes = {document.name: document.spec_hash for document in load(tmp_path)}
    ecs = boto3.client("ecs", region_name=aws.region, endpoint_url=aws.endpoint_url)
    # `web` was converged to an earlier version of its document (git moved since); `api` to the
    # one it has now, and someone changed it by hand (drift).
    for name, recorded in (("web", "0123456789abcdef"), ("api", hashes["api"])):
        ecs.create_cluster(
            clusterName=name,
            capacityProviders=["FARGATE_SPOT"],
            tags=[
                {"key": "ecs-reconciler/managed-by", "value": "ecs-reconciler"},
                {"key": "ecs-reconciler/instance", "value": "default"},
                {"key": "ecs-reconciler/source", "value": f"Cluster/{name}"},
                {"key": SPEC_HASH, "value": recorded},
            ],
        )

    async def scenario() -> None:
        async with daemon(options(aws, tmp_path, mode="report")) as running:

            async def served() -> dict[str, Any] | None:
                _, body = await get_json(running.port, "/drift")
                return body if body["resources"] and body["changes"] else None

            deadline = time.monotonic() + 10
            while (body := await served()) is None:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.1)
            assert [(r["name"], r["status"]) for r in body["resources"]] == [("api", "drifted")]
            assert [(r["name"], r["status"]) for r in body["changes"]] == [("web", "changed")]
            assert (body["summary"]["drifted"], body["summary"]["toUpdate"]) == (1, 1)
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"http://127.0.0.1:{running.port}/metrics") as response,
            ):
                families = {
                    family.name: family for family in text_string_to_metric_families(await response.text())
                }
            gauges = {
                name: {sample.labels["kind"]: sample.value for sample in families[name].samples}
                for name in ("ecs_reconciler_drifted_resources", "ecs_reconciler_changed_resources")
            }
            assert gauges == {
                "ecs_reconciler_drifted_resources": {"Cluster": 1.0},
                "ecs_reconciler_changed_resources": {"Cluster": 1.0},
            }

    asyncio.run(scenario())


def test_an_invalid_edit_changes_nothing_and_a_fix_recovers(aws: LocalAWS, tmp_path: Path) -> None:
    write_cluster(tmp_path)

    async def scenario() -> None:
        async with daemon(options(aws, tmp_path)) as running:
            await eventually(lambda: providers(aws) == ["FARGATE"])
            counter = running.calls
            (tmp_path / "cluster.yaml").write_text(
                CLUSTER.format(name="web", providers="FARGATE_SPOT") + "  unknownField: 1\n"
            )
            await eventually(lambda: running.fleet.spec_errors, within=10)
            before = {k: v for k, v in counter.snapshot().items() if is_write(k)}
            await asyncio.sleep(1.0)
            assert {k: v for k, v in counter.snapshot().items() if is_write(k)} == before
            assert providers(aws) == ["FARGATE"]
            status, ready = await get_json(running.port, "/readyz")
            assert status == 200, ready  # the last good set stays in force
            _, body = await get_json(running.port, "/status")
            assert any("unknownField" in error for error in body["specErrors"])
            write_cluster(tmp_path, providers="FARGATE_SPOT")
            await eventually(lambda: providers(aws) == ["FARGATE_SPOT"], within=10)

    asyncio.run(scenario())


def test_metrics_parse_as_prometheus_text_and_match_the_calls_made(aws: LocalAWS, tmp_path: Path) -> None:
    write_cluster(tmp_path)

    async def scenario() -> None:
        async with daemon(options(aws, tmp_path)) as running:
            await eventually(lambda: providers(aws) == ["FARGATE"])
            await asyncio.sleep(0.6)
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"http://127.0.0.1:{running.port}/metrics") as response,
            ):
                text = await response.text()
            families = {family.name: family for family in text_string_to_metric_families(text)}
            calls = {
                (s.labels["service"], s.labels["operation"]): s.value
                for s in families["ecs_reconciler_aws_calls"].samples
                if s.name.endswith("_total") and s.labels["outcome"] == "ok"
            }
            assert calls[("ecs", "CreateCluster")] == 1
            counter = running.calls
            assert calls[("ecs", "DescribeClusters")] <= counter.snapshot()["ecs.DescribeClusters"]
            assert "ecs_reconciler_pass_duration_seconds" in families
            assert "ecs_reconciler_last_full_sync_timestamp_seconds" in families

    asyncio.run(scenario())


GHOST_SERVICE = """\
---
apiVersion: ecs-reconciler/v1
kind: Cluster
metadata:
  name: ghost
  annotations:
    ecs-reconciler/paused: "{paused}"
spec: {{}}
---
apiVersion: ecs-reconciler/v1
kind: TaskDefinition
metadata:
  name: api
spec:
  requiresCompatibilities: [EC2]
  networkMode: bridge
  containerDefinitions:
    - name: api
      image: nginx:1.27
      memory: 128
---
apiVersion: ecs-reconciler/v1
kind: Service
metadata:
  name: api
spec:
  cluster: ghost
  taskDefinition: api
  launchType: EC2
  desiredCount: 1
"""


def test_a_terminal_error_stops_neither_the_others_nor_waits_in_a_retry_loop(
    aws: LocalAWS, tmp_path: Path
) -> None:
    """A service in a cluster that does not exist fails terminally (ClusterNotFoundException): the
    rest converges, the create is not retried on every resync, and a spec change retries it."""
    write_cluster(tmp_path)
    (tmp_path / "api.yaml").write_text(GHOST_SERVICE.format(paused="true"))

    async def scenario() -> None:
        async with daemon(options(aws, tmp_path)) as running:
            await eventually(lambda: providers(aws) == ["FARGATE"])
            await eventually(
                lambda: (
                    running.controller.statuses.get(("Service", "api"))
                    and running.controller.statuses[("Service", "api")].error_class == "terminal"
                )
            )
            attempts = running.calls.snapshot().get("ecs.CreateService", 0)
            await asyncio.sleep(1.5)  # three resyncs
            assert running.calls.snapshot().get("ecs.CreateService", 0) == attempts == 1
            (tmp_path / "api.yaml").write_text(GHOST_SERVICE.format(paused="false"))
            await eventually(lambda: running.calls.snapshot().get("ecs.CreateService", 0) == 2)
            await eventually(lambda: running.controller.statuses[("Service", "api")].status == "in-sync")

    asyncio.run(scenario())


def test_with_prune_a_removed_document_is_deleted_and_leaves_the_status(
    aws: LocalAWS, tmp_path: Path
) -> None:
    write_cluster(tmp_path, name="web")
    (tmp_path / "api.yaml").write_text(CLUSTER.format(name="api", providers="FARGATE"))
    prune = replace(options(aws, tmp_path), plan=PlanSettings(prune=True))

    async def scenario() -> None:
        async with daemon(prune) as running:
            await eventually(
                lambda: providers(aws, "api") == ["FARGATE"] and providers(aws, "web") == ["FARGATE"]
            )
            (tmp_path / "api.yaml").unlink()
            await eventually(lambda: providers(aws, "api") is None, within=10)
            assert providers(aws, "web") == ["FARGATE"]
            await eventually(lambda: ("Cluster", "api") not in running.controller.statuses, within=10)
            assert running.calls.snapshot().get("ecs.DeleteCluster") == 1

    asyncio.run(scenario())


async def metrics(port: int) -> dict[str, dict[str, float]]:
    """The `/metrics` counters labelled by pass reason, by family and reason."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/metrics") as response,
    ):
        text = await response.text()
    by_family: dict[str, dict[str, float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.endswith("_total") and "reason" in sample.labels:
                by_family.setdefault(family.name, {})[sample.labels["reason"]] = sample.value
    return by_family


def test_each_pass_counts_its_reads_under_why_it_ran(aws: LocalAWS, tmp_path: Path) -> None:
    """Issue 10: a pass's reads are in the metrics by reason (resync, change, requeue), and they
    account for every read the daemon made."""
    write_cluster(tmp_path)

    run_options = options(aws, tmp_path)
    # A resync long after the first one, so the re-checks after each write run as requeues.
    run_options = replace(run_options, daemon=replace(run_options.daemon, resync_seconds=30.0))

    async def scenario() -> None:
        async with daemon(run_options) as running:
            await eventually(lambda: providers(aws) == ["FARGATE"])
            write_cluster(tmp_path, providers="FARGATE_SPOT")  # a spec change
            await eventually(lambda: providers(aws) == ["FARGATE_SPOT"])
            await asyncio.sleep(0.6)  # the re-check 0.2 s after the write
            found = await metrics(running.port)
            passes, reads = found["ecs_reconciler_passes"], found["ecs_reconciler_pass_reads"]
            assert {"resync", "change", "requeue"} <= set(passes), passes
            assert all(reads[reason] > 0 for reason in passes), reads
            made = running.calls.snapshot()
            assert sum(reads.values()) == sum(count for call, count in made.items() if not is_write(call))

    asyncio.run(scenario())


REPOSITORY = """\
---
apiVersion: ecs-reconciler/v1
kind: Repository
metadata:
  name: images
spec: {}
"""


def test_a_recheck_after_a_write_reads_only_what_it_rechecks(aws: LocalAWS, tmp_path: Path) -> None:
    """Issue 10: a requeue (the look after a write, a rollout in progress) observes only its keys;
    the other documents keep what the last pass saw until the resync. A cluster edit's re-check
    is one DescribeClusters, not the repository's reads too."""
    write_cluster(tmp_path)
    (tmp_path / "repository.yaml").write_text(REPOSITORY)
    run_options = options(aws, tmp_path)
    run_options = replace(run_options, daemon=replace(run_options.daemon, resync_seconds=30.0))

    async def scenario() -> None:
        async with daemon(run_options) as running:
            await eventually(lambda: providers(aws) == ["FARGATE"])
            await asyncio.sleep(0.6)  # the re-checks after the first writes
            before = await metrics(running.port)
            write_cluster(tmp_path, providers="FARGATE_SPOT")
            await eventually(lambda: providers(aws) == ["FARGATE_SPOT"])
            await asyncio.sleep(0.6)
            after = await metrics(running.port)

            def grown(family: str, reason: str) -> float:
                name = f"ecs_reconciler_{family}"
                return after[name].get(reason, 0) - before[name].get(reason, 0)

            assert grown("passes", "requeue") >= 1
            assert grown("pass_reads", "requeue") == grown("passes", "requeue")  # a DescribeClusters each
            # The edit's own pass reads the cluster alone: nothing refers the repository to it.
            assert grown("passes", "change") == 1
            assert grown("pass_reads", "change") == 1

    asyncio.run(scenario())


SERVICE_STACK = """\
apiVersion: ecs-reconciler/v1
kind: Cluster
metadata: {name: web}
spec: {}
---
apiVersion: ecs-reconciler/v1
kind: TaskDefinition
metadata: {name: web}
spec:
  requiresCompatibilities: [FARGATE]
  networkMode: awsvpc
  cpu: "256"
  memory: "512"
  containerDefinitions:
    - name: app
      image: public.ecr.aws/nginx/nginx:IMAGE_TAG
---
apiVersion: ecs-reconciler/v1
kind: Service
metadata: {name: web}
spec:
  cluster: web
  taskDefinition: web
  desiredCount: 1
  launchType: FARGATE
  networkConfiguration:
    awsvpcConfiguration: {subnets: default}
  autoscaling:
    minCapacity: 1
    maxCapacity: 2
    targetTrackingPolicies:
      - {policyName: cpu, predefinedMetricType: ECSServiceAverageCPUUtilization, targetValue: 50}
"""


async def calls_by_operation(port: int) -> dict[str, float]:
    """`ecs_reconciler_aws_calls_total` by `service.Operation`, all outcomes."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/metrics") as response,
    ):
        text = await response.text()
    calls: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        if family.name == "ecs_reconciler_aws_calls":
            for sample in family.samples:
                if sample.name.endswith("_total"):
                    name = f"{sample.labels['service']}.{sample.labels['operation']}"
                    calls[name] = calls.get(name, 0) + sample.value
    return calls


def rollout_state(local: LocalAWS) -> str | None:
    ecs = boto3.client("ecs", region_name=local.region, endpoint_url=local.endpoint_url)
    if not ecs.list_clusters()["clusterArns"]:
        return None
    for service in ecs.describe_services(cluster="web", services=["web"])["services"]:
        for deployment in service["deployments"]:
            if deployment["status"] == "PRIMARY":
                return str(deployment.get("rolloutState"))
    return None


def test_following_a_rollout_reads_the_service_alone(aws: LocalAWS, tmp_path: Path) -> None:
    """Issue 10: while a service rolls out, each re-check is one DescribeServices (ten services a
    call): not its scalable target, policies or actions, which a rollout never changes."""
    (tmp_path / "stack.yaml").write_text(SERVICE_STACK.replace("IMAGE_TAG", "1.27"))
    run_options = options(aws, tmp_path)
    run_options = replace(run_options, daemon=replace(run_options.daemon, resync_seconds=60.0))
    previous = aws.rollout_seconds

    async def scenario() -> None:
        async with daemon(run_options) as running:
            await eventually(lambda: rollout_state(aws) == "COMPLETED")
            aws.rollout_seconds = 4.0
            (tmp_path / "stack.yaml").write_text(SERVICE_STACK.replace("IMAGE_TAG", "1.28"))
            await eventually(lambda: rollout_state(aws) == "IN_PROGRESS")
            await asyncio.sleep(0.8)  # the look after the writes, then the rollout is followed
            before = (await calls_by_operation(running.port), await metrics(running.port))
            await asyncio.sleep(1.5)
            after = (await calls_by_operation(running.port), await metrics(running.port))
            assert rollout_state(aws) == "IN_PROGRESS", "the rollout ended inside the window"
            made = {name: count - before[0].get(name, 0) for name, count in after[0].items()}
            made = {name: count for name, count in made.items() if count}
            passes = (
                after[1]["ecs_reconciler_passes"]["requeue"] - before[1]["ecs_reconciler_passes"]["requeue"]
            )
            assert passes >= 3
            assert made == {"ecs.DescribeServices": passes}

    try:
        asyncio.run(scenario())
    finally:
        aws.rollout_seconds = previous


UNRELATED_TO_THE_SERVICE = """\
---
apiVersion: ecs-reconciler/v1
kind: LogGroup
metadata: {name: audit}
spec: {logGroupName: /audit, retentionInDays: 7}
---
apiVersion: ecs-reconciler/v1
kind: SecurityGroup
metadata: {name: bastion}
spec: {vpc: default, description: nothing refers to it}
"""


async def quiet(port: int) -> dict[str, float]:
    """The calls made so far, once none has been made for a second (passes after writes done)."""
    seen = await calls_by_operation(port)
    while True:
        await asyncio.sleep(1.0)
        now = await calls_by_operation(port)
        if now == seen:
            return now
        seen = now


def test_a_spec_change_reads_what_it_affects_and_leaves_the_rest_to_the_resync(
    aws: LocalAWS, tmp_path: Path
) -> None:
    """Issue 10: an edit in git reads again the documents it changed, what refers to them and
    what they refer to: an image edit reads the task definition, its service and their
    references, not a log group or a security group that nothing of them names."""
    (tmp_path / "stack.yaml").write_text(
        SERVICE_STACK.replace("IMAGE_TAG", "1.27") + UNRELATED_TO_THE_SERVICE
    )
    run_options = options(aws, tmp_path)
    run_options = replace(run_options, daemon=replace(run_options.daemon, resync_seconds=60.0))

    def revision_running() -> str:
        ecs = boto3.client("ecs", region_name=aws.region, endpoint_url=aws.endpoint_url)
        return str(ecs.describe_services(cluster="web", services=["web"])["services"][0]["taskDefinition"])

    async def scenario() -> None:
        async with daemon(run_options) as running:
            await eventually(lambda: rollout_state(aws) == "COMPLETED")
            before = (await quiet(running.port), await metrics(running.port))
            (tmp_path / "stack.yaml").write_text(
                SERVICE_STACK.replace("IMAGE_TAG", "1.28") + UNRELATED_TO_THE_SERVICE
            )
            await eventually(lambda: revision_running().endswith(":2"))
            after = (await quiet(running.port), await metrics(running.port))
            made = {name: count - before[0].get(name, 0) for name, count in after[0].items()}
            made = {name: count for name, count in made.items() if count}
            passes = after[1]["ecs_reconciler_passes"]
            assert passes["change"] - before[1]["ecs_reconciler_passes"].get("change", 0) == 1
            assert passes["resync"] == before[1]["ecs_reconciler_passes"]["resync"], "no resync came"
            assert made["ecs.RegisterTaskDefinition"] == 1 and made["ecs.UpdateService"] == 1, made
            assert not [name for name in made if name.startswith("logs.")], made
            assert "ec2.DescribeSecurityGroups" not in made, made

    asyncio.run(scenario())


def test_a_spec_change_before_the_look_after_a_create_does_not_create_it_again(
    aws: LocalAWS, tmp_path: Path
) -> None:
    """A change pass keeps unaffected documents as the last pass saw them; an object created by
    that pass was seen absent, so it is read again too, or it would be created twice."""
    write_cluster(tmp_path)
    (tmp_path / "unrelated.yaml").write_text(UNRELATED_TO_THE_SERVICE)
    run_options = options(aws, tmp_path)
    slow_look = replace(run_options.daemon, resync_seconds=60.0, converge_requeue_seconds=60.0)
    run_options = replace(run_options, daemon=slow_look)

    async def scenario() -> None:
        async with daemon(run_options) as running:
            await eventually(lambda: providers(aws) == ["FARGATE"])
            created = await quiet(running.port)
            assert created["logs.CreateLogGroup"] == 1 and created["ec2.CreateSecurityGroup"] == 1
            write_cluster(tmp_path, providers="FARGATE_SPOT")
            await eventually(lambda: providers(aws) == ["FARGATE_SPOT"])
            after = await quiet(running.port)
            assert after["logs.CreateLogGroup"] == 1 and after["ec2.CreateSecurityGroup"] == 1, after

    asyncio.run(scenario())


def test_what_the_daemon_applied_is_logged_with_the_values_it_made_known(
    aws: LocalAWS, tmp_path: Path
) -> None:
    """Issue 13, item 12: the log of a write said "(known after apply: ...)" after the apply."""
    shutil.copytree(NODE_APP, tmp_path, dirs_exist_ok=True)

    def service_writes(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [log for log in logs if log["event"] == "reconciled" and log.get("kind") == "Service"]

    async def scenario() -> None:
        with capture_logs() as logs:
            async with daemon(options(aws, tmp_path)) as running:
                await eventually(lambda: service_writes(logs), within=30)
                set_image_tag(tmp_path, "v2")
                await eventually(lambda: len(service_writes(logs)) == 2, within=30)
                # /drift is the same model as `drift --output json`: its summary and its fields.
                status, body = await get_json(running.port, "/drift")
                assert status == 200 and body["summary"]["resources"] == 9, body
                # The README's walkthrough: a count beyond the scaler's maximum, set by hand, is
                # drift, logged as such and put back within range.
                ecs = boto3.client("ecs", region_name=aws.region, endpoint_url=aws.endpoint_url)
                await asyncio.to_thread(
                    ecs.update_service, cluster="node-app", service="node-app", desiredCount=20
                )
                await eventually(lambda: len(service_writes(logs)) == 3, within=30)
                await eventually(
                    lambda: (
                        ecs.describe_services(cluster="node-app", services=["node-app"])["services"][0][
                            "desiredCount"
                        ]
                        == 10
                    )
                )
        reconciled = [log for log in logs if log["event"] == "reconciled"]
        assert "known after apply" not in json.dumps(reconciled, default=str)
        created, updated, healed = service_writes(logs)
        assert {field["path"]: field["desired"] for field in created["delta"]}["taskDefinition"] == "node-app"
        (revision,) = updated["delta"]
        assert revision["path"] == "taskDefinition"
        assert revision["desired"].endswith("task-definition/node-app:2")
        # Each write says what it answered: a new document, an edit of one, or drift.
        assert [log["status"] for log in (created, updated, healed)] == ["missing", "changed", "drifted"]
        assert [(field["path"], field["live"], field["desired"]) for field in healed["delta"]] == [
            ("desiredCount", 20, 10)
        ]

    asyncio.run(scenario())
