"""The engine at scale: 20, 100 and 250 path-routed services against the local AWS.

Each size runs, through the engine the CLI uses (`open_engine` → `apply_pass`):
(a) converge from empty, in a fresh process (`ecs-reconciler apply`);
(b) a steady pass in a fresh process (a CLI run, or the daemon's first resync), then
(d) the same pass again in that process (the daemon's periodic resync, task definitions cached);
(c) an image edit on 10% of the services, in that process, then one more steady pass;
the planner alone on one observation (20 repeats); the steady passes again with AWS's request
budgets on (as the CLI runs by default); and a sequential calibration of the local AWS's own
speed at that size. Rate limits are off elsewhere, so wall time is the engine's and moto's.

Assertions are about calls only: exact writes for (a) and (c), none in steady passes, and every
steady read within its batch limit (the per-family task definition reads are pinned exactly:
see `measure.PER_RESOURCE_READS`). Results go to `results/engine-scale.json` and `.md`.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from reconciler.aws.settings import AwsSettings
from reconciler.engine.observe import ProcessCache
from reconciler.engine.reconcile import PassResult
from reconciler.engine.session import EngineSession, open_engine
from reconciler.resources.base import PlanSettings
from tests.bench import report
from tests.bench.conftest import MeteredAWS
from tests.bench.measure import (
    LocalAWSMeter,
    Phase,
    PhaseTimer,
    batching_report,
    code_version,
    loadavg,
    machine_facts,
    merge_results,
    steady_read_bounds,
)
from tests.bench.stack import (
    CONTAINER_PORT,
    EDITED_TAG,
    IMAGE,
    load_balancer_count,
    service_name,
    touched_services,
    write_stack,
)
from tests.harness import load

pytestmark = pytest.mark.bench

SIZES = (20, 100, 250)
PLANNER_REPEATS = 20
STEADY_REPEATS = 3  # warm steady passes; the median one is reported
CALIBRATION_CALLS = 30
CONCURRENCY = 8  # open_engine's default, what the CLI and the daemon use
RESULTS_JSON = report.RESULTS
RESULTS_MD = RESULTS_JSON.with_suffix(".md")


def converge_writes(services: int, load_balancers: int) -> dict[str, int]:
    """The one call per object the generated stack needs, from empty."""
    return {
        "application-autoscaling.PutScalingPolicy": services,
        "application-autoscaling.RegisterScalableTarget": services,
        "ec2.AuthorizeSecurityGroupIngress": 2,
        "ec2.CreateSecurityGroup": 2,
        "ecs.CreateCluster": 1,
        "ecs.CreateService": services,
        "ecs.RegisterTaskDefinition": services,
        "elbv2.CreateListener": load_balancers,
        "elbv2.CreateLoadBalancer": load_balancers,
        "elbv2.CreateRule": services,
        "elbv2.CreateTargetGroup": services,
    }


def per_family_reads(services: int, *, warm: bool) -> dict[str, int]:
    """What the engine reads per task definition family in a steady pass (pinned, see PER_RESOURCE_READS)."""
    if warm:
        return {"ecs.ListTaskDefinitions": services, "ecs.ListTagsForResource": services}
    return {"ecs.ListTaskDefinitions": services, "ecs.DescribeTaskDefinition": services}


def check_steady(phase: Phase, result: PassResult, *, services: int, warm: bool) -> None:
    """No writes, nothing left to do, and every read batched (task definition families pinned)."""
    assert result.ok and not result.plan.has_changes, [r for r in result.plan if r.calls][:3]
    assert phase.writes == {}, phase.writes
    bounds = steady_read_bounds(services=services, load_balancers=load_balancer_count(services), warm=warm)
    pinned = per_family_reads(services, warm=warm)
    over = {
        name: (count, bounds.get(name))
        for name, count in phase.reads.items()
        if name not in pinned and count > bounds.get(name, 0)
    }
    assert not over, f"reads beyond their batch limit (calls, bound): {over}"
    assert {name: phase.reads.get(name, 0) for name in pinned} == pinned, phase.reads


async def measured_pass(
    timer: PhaseTimer, run: Callable[[], Awaitable[PassResult]]
) -> tuple[Phase, PassResult]:
    with timer.phase() as phase:
        result = await run()
    return phase, result


def time_planner(session: EngineSession, spec_set: Any, result: PassResult) -> dict[str, Any]:
    """`Engine.plan` alone, on one observation: the daemon's CPU per pass, AWS excluded."""
    documents = len(list(spec_set))
    timings = []
    for _ in range(PLANNER_REPEATS):
        started = time.perf_counter()
        plan = session.engine.plan(spec_set, result.observation)
        timings.append(time.perf_counter() - started)
        assert not plan.has_changes
    median = statistics.median(timings)
    return {
        "documents": documents,
        "repeats": PLANNER_REPEATS,
        "median_ms": round(1000 * median, 2),
        "mean_ms": round(1000 * statistics.fmean(timings), 2),
        "min_ms": round(1000 * min(timings), 2),
        "max_ms": round(1000 * max(timings), 2),
        "median_us_per_document": round(1e6 * median / documents, 1),
    }


async def calibrate(session: EngineSession, meter: LocalAWSMeter, services: int) -> dict[str, Any]:
    """The local AWS's own speed at this size: the engine's typical calls, one at a time."""
    ecs = await session.aws.client("ecs")
    elbv2 = await session.aws.client("elbv2")
    scaling = await session.aws.client("application-autoscaling")
    names = [service_name(index) for index in range(services)]
    family_arns = (await ecs.call("list_task_definitions", familyPrefix=names[0], status="ACTIVE"))[
        "taskDefinitionArns"
    ]
    registration = {
        "family": "bench-calibration",
        "requiresCompatibilities": ["FARGATE"],
        "networkMode": "awsvpc",
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [
            {
                "name": "app",
                "image": f"{IMAGE}:{EDITED_TAG}",
                "portMappings": [{"containerPort": CONTAINER_PORT}],
            }
        ],
    }
    probes: dict[str, Callable[[], Awaitable[Any]]] = {
        "ecs.DescribeServices (10, TAGS)": lambda: ecs.call(
            "describe_services", cluster="bench", services=names[:10], include=["TAGS"]
        ),
        "ecs.ListTaskDefinitions (one family)": lambda: ecs.call(
            "list_task_definitions", familyPrefix=names[0], status="ACTIVE", sort="DESC"
        ),
        "ecs.ListTaskDefinitions (all, 100 a page)": lambda: ecs.call(
            "list_task_definitions", status="ACTIVE", maxResults=100
        ),
        "ecs.DescribeTaskDefinition (TAGS)": lambda: ecs.call(
            "describe_task_definition", taskDefinition=family_arns[0], include=["TAGS"]
        ),
        "ecs.ListTagsForResource (task definition)": lambda: ecs.call(
            "list_tags_for_resource", resourceArn=family_arns[0]
        ),
        "elbv2.DescribeTargetGroups (20 names)": lambda: elbv2.call(
            "describe_target_groups", Names=names[:20]
        ),
        "application-autoscaling.DescribeScalableTargets (50 ids)": lambda: scaling.call(
            "describe_scalable_targets",
            ServiceNamespace="ecs",
            ScalableDimension="ecs:service:DesiredCount",
            ResourceIds=[f"service/bench/{name}" for name in names[:50]],
        ),
        "ecs.RegisterTaskDefinition (write)": lambda: ecs.call("register_task_definition", **registration),
    }
    timer = PhaseTimer(session.aws.counter, meter, services)
    results: dict[str, Any] = {}
    for name, probe in probes.items():
        await probe()  # warm-up: connection, lazy backend state
        with timer.phase() as phase:
            for _ in range(CALIBRATION_CALLS):
                await probe()
        server = phase.server
        results[name] = {
            "calls": CALIBRATION_CALLS,
            "mean_ms": round(1000 * phase.wall_seconds / CALIBRATION_CALLS, 2),
            "calls_per_second": round(CALIBRATION_CALLS / phase.wall_seconds, 1),
            "local_aws_ms_per_request": round(1000 * server.busy_seconds / max(server.requests, 1), 2),
            "local_aws_cpu_ms_per_request": round(1000 * server.cpu_seconds / max(server.requests, 1), 2),
            "local_aws_share": round(server.busy_seconds / phase.wall_seconds, 2),
        }
    return results


async def run_size(metered: MeteredAWS, services: int, folder: Path) -> dict[str, Any]:
    local, meter = metered.aws, metered.meter
    load_balancers = load_balancer_count(services)
    specs = write_stack(folder / "specs", services)
    started = time.perf_counter()
    spec_set = load(specs)
    load_seconds = time.perf_counter() - started
    fast = AwsSettings(region=local.region, endpoint_url=local.endpoint_url, rate_limits_enabled=False)
    budgeted = AwsSettings(region=local.region, endpoint_url=local.endpoint_url)
    phases: dict[str, Any] = {}
    batching: dict[str, Any] = {}
    touched = touched_services(services)

    # (a) converge from empty: a fresh process, as `ecs-reconciler apply` runs.
    async with open_engine(fast, PlanSettings(), concurrency=CONCURRENCY) as session:
        timer = PhaseTimer(session.aws.counter, meter, services)
        phase, result = await measured_pass(timer, lambda: session.engine.apply_pass(spec_set))
        assert result.ok, result.execution.failures[:3] if result.execution else None
        assert phase.writes == converge_writes(services, load_balancers), phase.writes
        phases["converge"] = phase.record()

    # (b), (d), (c): one long-lived process, as the daemon resyncs.
    async with open_engine(fast, PlanSettings(), concurrency=CONCURRENCY, cache=ProcessCache()) as session:
        timer = PhaseTimer(session.aws.counter, meter, services)
        for key, warm, repeats in (("steady_cold", False, 1), ("steady_warm", True, STEADY_REPEATS)):
            runs = []
            for _ in range(repeats):
                phase, result = await measured_pass(timer, lambda: session.engine.apply_pass(spec_set))
                check_steady(phase, result, services=services, warm=warm)
                runs.append(phase)
            # Calls are the same every time; wall time is the median run's, all of them noted.
            phase = sorted(runs, key=lambda run: run.wall_seconds)[len(runs) // 2]
            if repeats > 1:
                phase.notes["wall_seconds_all_runs"] = [round(run.wall_seconds, 3) for run in runs]
            phases[key] = phase.record()
            batching[key] = batching_report(
                phase.reads, services=services, load_balancers=load_balancers, warm=warm, revisions=services
            )
        planner = time_planner(session, spec_set, result)

        write_stack(specs, services, edited=touched)
        edited = load(specs)
        phase, result = await measured_pass(timer, lambda: session.engine.apply_pass(edited))
        assert result.ok, result.execution.failures[:3] if result.execution else None
        expected = {"ecs.RegisterTaskDefinition": len(touched), "ecs.UpdateService": len(touched)}
        assert phase.writes == expected, phase.writes
        phase.notes["touched_services"] = len(touched)
        phase.notes["writes_per_touched_service"] = sum(phase.writes.values()) / len(touched)
        phases["change_10pct"] = phase.record()

        phase, result = await measured_pass(timer, lambda: session.engine.apply_pass(edited))
        assert result.ok and not result.plan.has_changes and phase.writes == {}, phase.writes
        phases["steady_after_change"] = phase.record()

    # (b) and (d) again with the client-side request budgets on, as the CLI and daemon run on AWS.
    async with open_engine(
        budgeted, PlanSettings(), concurrency=CONCURRENCY, cache=ProcessCache()
    ) as session:
        timer = PhaseTimer(session.aws.counter, meter, services)
        for key, warm in (("steady_cold_rate_limited", False), ("steady_warm_rate_limited", True)):
            phase, result = await measured_pass(timer, lambda: session.engine.apply_pass(edited))
            check_steady(phase, result, services=services, warm=warm)
            phases[key] = phase.record()

    async with open_engine(fast, PlanSettings(), concurrency=CONCURRENCY) as session:
        calibration = await calibrate(session, meter, services)

    return {
        "stack": {
            "services": services,
            "load_balancers": load_balancers,
            "documents": len(list(spec_set)),
            "touched_by_change": len(touched),
        },
        "load_seconds": round(load_seconds, 3),
        "phases": phases,
        "batching": batching,
        "planner": planner,
        "local_aws_calibration": calibration,
    }


@pytest.fixture(scope="module")
def collected() -> Any:
    entries: dict[str, Any] = {}
    loadavg_start = loadavg()
    yield entries
    if entries:
        document = merge_results(
            RESULTS_JSON,
            header={
                "benchmark": "engine-scale",
                "measured_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                "code": code_version(),
                "machine": {**machine_facts(), "loadavg_start": loadavg_start, "loadavg_end": loadavg()},
                "settings": {
                    "concurrency": CONCURRENCY,
                    "rollout_seconds": 0,
                    "rate_limits": "off, except the *_rate_limited phases",
                    "planner_repeats": PLANNER_REPEATS,
                    "steady_warm_repeats": STEADY_REPEATS,
                    "calibration_calls": CALIBRATION_CALLS,
                },
            },
            entries=entries,
        )
        RESULTS_MD.write_text(report.render(document) + "\n")


@pytest.mark.parametrize("services", SIZES)
def test_engine_at_scale(
    metered_aws: MeteredAWS, collected: dict[str, Any], services: int, tmp_path: Path
) -> None:
    metered_aws.aws.reset()
    collected[str(services)] = asyncio.run(run_size(metered_aws, services, tmp_path))
