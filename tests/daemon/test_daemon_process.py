"""`ecs-reconciler run` as a real process against the local AWS: a SIGTERM in the middle of an
apply lets the pass finish and exits 0, a second SIGTERM exits at once, a restart after either
converges without duplicates, the HTTP endpoints answer, and drift made by someone else reaches
the webhook.

"Mid-apply" is made deterministic by taking the local AWS's backend lock (which every request
takes) the moment the first write has landed: the child's next calls then wait inside the local
AWS until the test lets go.
"""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from signal import SIGTERM
from typing import Any

import boto3
import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from reconciler.local import LocalAWS
from reconciler.resources.registry import load_spec_set
from tests.daemon.processes import ROOT, DaemonProcess, daemon_process, eventually

pytestmark = pytest.mark.aws

EXAMPLE = ROOT / "specs" / "node-app"

# What converging the example creates, once each: a second of anything is a duplicate.
EXPECTED_INVENTORY = {
    "clusters": ["node-app"],
    "services": ["node-app"],
    "activeTaskDefinitionRevisions": 1,
    "loadBalancers": ["node-app"],
    "listenerPorts": [80],
    "targetGroups": ["node-app"],
    "securityGroups": ["node-app-alb", "node-app-tasks"],
    "repositories": ["varuntd/node-app"],
    "scalableTargets": ["service/node-app/node-app"],
    "scalingPolicies": ["node-app-cpu"],
}


def copy_of_the_example(tmp_path: Path) -> Path:
    specs = tmp_path / "specs"
    shutil.copytree(EXAMPLE, specs)
    return specs


def document_keys(specs: Path) -> set[tuple[str, str]]:
    spec_set, errors = load_spec_set([specs])
    assert spec_set is not None, errors
    return set(spec_set.keys())


def in_sync(daemon: DaemonProcess, keys: set[tuple[str, str]]) -> bool:
    resources = daemon.status().get("resources", [])
    statuses = {(r["kind"], r["name"]): r["status"] for r in resources}
    return set(statuses) == keys and all(status == "in-sync" for status in statuses.values())


def inventory(local: LocalAWS) -> dict[str, Any]:
    """What exists in the local AWS, read with clients of the test's own."""
    options: dict[str, Any] = {"region_name": local.region, "endpoint_url": local.endpoint_url}
    ecs = boto3.client("ecs", **options)
    elbv2 = boto3.client("elbv2", **options)
    ec2 = boto3.client("ec2", **options)
    ecr = boto3.client("ecr", **options)
    scaling = boto3.client("application-autoscaling", **options)
    targets = scaling.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]
    policies = scaling.describe_scaling_policies(ServiceNamespace="ecs")["ScalingPolicies"]
    cluster_arns = ecs.list_clusters()["clusterArns"]
    clusters = ecs.describe_clusters(clusters=cluster_arns)["clusters"] if cluster_arns else []
    service_arns = ecs.list_services(cluster="node-app")["serviceArns"]
    services = (
        ecs.describe_services(cluster="node-app", services=service_arns)["services"] if service_arns else []
    )
    load_balancers = elbv2.describe_load_balancers()["LoadBalancers"]
    listeners = [
        listener
        for load_balancer in load_balancers
        for listener in elbv2.describe_listeners(LoadBalancerArn=load_balancer["LoadBalancerArn"])[
            "Listeners"
        ]
    ]
    return {
        "clusters": sorted(c["clusterName"] for c in clusters if c["status"] == "ACTIVE"),
        "services": sorted(s["serviceName"] for s in services if s["status"] == "ACTIVE"),
        "activeTaskDefinitionRevisions": len(
            ecs.list_task_definitions(familyPrefix="node-app", status="ACTIVE")["taskDefinitionArns"]
        ),
        "loadBalancers": sorted(lb["LoadBalancerName"] for lb in load_balancers),
        "listenerPorts": sorted(listener["Port"] for listener in listeners),
        "targetGroups": sorted(
            group["TargetGroupName"] for group in elbv2.describe_target_groups()["TargetGroups"]
        ),
        "securityGroups": sorted(
            group["GroupName"]
            for group in ec2.describe_security_groups()["SecurityGroups"]
            if group["GroupName"] != "default"
        ),
        "repositories": sorted(r["repositoryName"] for r in ecr.describe_repositories()["repositories"]),
        "scalableTargets": sorted(target["ResourceId"] for target in targets),
        "scalingPolicies": sorted(policy["PolicyName"] for policy in policies),
    }


def first_write_landed(local: LocalAWS) -> bool:
    """The cluster exists and the service does not yet: the apply is under way, not done."""
    backend = local.ecs_backend()
    return "node-app" in backend.clusters and not backend.services


@contextmanager
def frozen_when(local: LocalAWS, condition: Callable[[LocalAWS], bool], *, within: float) -> Iterator[None]:
    """Take the local AWS's backend lock the moment `condition` holds, and keep it until the block
    ends: every request of the child waits inside the local AWS meanwhile. The condition is read
    with the lock held, so nothing changes between seeing it and freezing."""
    lock = local.lock
    deadline = time.monotonic() + within
    while True:
        lock.__enter__()
        if condition(local):
            break
        lock.__exit__(None, None, None)
        assert time.monotonic() < deadline, "the condition to freeze the local AWS on never held"
        time.sleep(0.002)
    try:
        yield
    finally:
        lock.__exit__(None, None, None)


def test_sigterm_mid_apply_finishes_the_pass_exits_0_and_a_restart_converges_without_duplicates(
    aws: LocalAWS, tmp_path: Path
) -> None:
    specs = copy_of_the_example(tmp_path)
    keys = document_keys(specs)
    arguments = [str(specs), "--resync-interval", "1s"]

    with daemon_process(arguments, logs=tmp_path / "first.log") as first:
        with frozen_when(aws, first_write_landed, within=20):
            first.send_signal(SIGTERM)
            eventually(lambda: "stopping gracefully" in first.stderr, within=5, what="SIGTERM handled")
            time.sleep(0.3)
            first.assert_running()  # the pass in flight holds the stop while its calls wait
        assert first.wait(within=15) == 0, first.stderr[-4000:]
    # The pass in flight was finished, not cut short: its later creates landed too.
    assert inventory(aws)["services"] == ["node-app"]

    with daemon_process(arguments, logs=tmp_path / "second.log") as second:
        status, body = eventually(lambda: second.get("/healthz"), within=15, what="/healthz answers")
        assert status == 200, body
        eventually(lambda: (second.get("/readyz") or (0, ""))[0] == 200, within=15, what="/readyz 200")
        eventually(lambda: in_sync(second, keys), within=20, what="every document in sync")
        metrics = second.get("/metrics")
        assert metrics is not None and metrics[0] == 200
        families = {family.name for family in text_string_to_metric_families(metrics[1])}
        assert {"ecs_reconciler_aws_calls", "ecs_reconciler_pass_duration_seconds"} <= families
        second.send_signal(SIGTERM)
        assert second.wait(within=15) == 0, second.stderr[-4000:]

    assert inventory(aws) == EXPECTED_INVENTORY


def test_a_second_sigterm_during_the_graceful_stop_exits_at_once_and_a_restart_still_converges(
    aws: LocalAWS, tmp_path: Path
) -> None:
    specs = copy_of_the_example(tmp_path)
    keys = document_keys(specs)
    arguments = [str(specs), "--resync-interval", "1s"]

    with daemon_process(arguments, logs=tmp_path / "first.log") as first:
        with frozen_when(aws, first_write_landed, within=20):
            first.send_signal(SIGTERM)
            eventually(lambda: "stopping gracefully" in first.stderr, within=5, what="SIGTERM handled")
            second_signal = time.monotonic()
            first.send_signal(SIGTERM)
            code = first.wait(within=5)
            elapsed = time.monotonic() - second_signal
        assert code != 0  # killed mid-pass, on purpose: not a clean stop
        assert elapsed < 2.0

    # The apply was cut short (requests it had sent still land once the local AWS thaws): a fresh
    # process picks up from what exists and creates nothing twice.
    with daemon_process(arguments, logs=tmp_path / "second.log") as second:
        eventually(lambda: in_sync(second, keys), within=25, what="every document in sync")
        second.send_signal(SIGTERM)
        assert second.wait(within=15) == 0, second.stderr[-4000:]

    assert inventory(aws) == EXPECTED_INVENTORY


@contextmanager
def webhook_receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A tiny aiohttp server on 127.0.0.1, in a thread of its own; yields its URL and the posts."""
    posts: list[dict[str, Any]] = []

    async def receive(request: web.Request) -> web.Response:
        posts.append(await request.json())
        return web.Response(status=204)

    async def start() -> web.AppRunner:
        app = web.Application()
        app.router.add_post("/hooks/drift", receive)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        return runner

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="webhook-receiver", daemon=True)
    thread.start()
    try:
        runner = asyncio.run_coroutine_threadsafe(start(), loop).result(10)
        try:
            port = runner.addresses[0][1]
            yield f"http://127.0.0.1:{port}/hooks/drift", posts
        finally:
            asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


CLUSTER = """\
apiVersion: ecs-reconciler/v1
kind: Cluster
metadata:
  name: web
spec:
  capacityProviders: [FARGATE]
"""

OWNED = [
    {"key": "ecs-reconciler/managed-by", "value": "ecs-reconciler"},
    {"key": "ecs-reconciler/instance", "value": "default"},
    {"key": "ecs-reconciler/source", "value": "Cluster/web"},
    {"key": "ecs-reconciler/deletion-policy", "value": "delete"},
]


def test_drift_made_by_another_client_is_posted_to_the_webhook_once(aws: LocalAWS, tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "cluster.yaml").write_text(CLUSTER)
    ecs = boto3.client("ecs", region_name=aws.region, endpoint_url=aws.endpoint_url)
    ecs.create_cluster(clusterName="web", capacityProviders=["FARGATE"], tags=OWNED)

    with webhook_receiver() as (url, posts):
        arguments = [str(specs), "--mode", "report", "--resync-interval", "1s", "--notify-webhook", url]
        with daemon_process(arguments, logs=tmp_path / "daemon.log") as daemon:
            eventually(lambda: in_sync(daemon, {("Cluster", "web")}), within=15, what="web in sync")
            ecs.put_cluster_capacity_providers(
                cluster="web", capacityProviders=["FARGATE_SPOT"], defaultCapacityProviderStrategy=[]
            )
            (event,) = eventually(lambda: list(posts), within=10, what="a webhook post")
            time.sleep(1.2)  # another resync: drift that stays is not posted again
            daemon.send_signal(SIGTERM)
            assert daemon.wait(within=15) == 0, daemon.stderr[-4000:]
        assert len(posts) == 1, posts

    assert (event["event"], event["kind"], event["name"], event["instance"]) == (
        "drifted",
        "Cluster",
        "web",
        "default",
    )
    (field,) = event["fields"]
    assert (field["path"], field["desired"], field["live"]) == (
        "capacityProviders",
        ["FARGATE"],
        ["FARGATE_SPOT"],
    )
    assert field["file"].endswith("cluster.yaml") and field["line"] > 0
    assert event["text"].startswith(":warning: Cluster/web drifted: capacityProviders")
    assert event["revision"]
    # Report mode: the drift is reported, never undone.
    (cluster,) = ecs.describe_clusters(clusters=["web"])["clusters"]
    assert cluster["capacityProviders"] == ["FARGATE_SPOT"]
