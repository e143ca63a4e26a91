"""Instruments for the engine benchmarks: what one phase cost, and whose time it was.

A phase is one engine pass (or any block) measured for
- wall time, the event loop thread's CPU (the engine plus aiobotocore: signing, serialising,
  parsing) and the whole process's CPU;
- the AWS calls it made, from the session's `CallCounter` (attempts by operation, reads and
  writes apart) and the client-side latency per operation (`counter.latency()`; under the
  engine's concurrency this includes queueing behind the local AWS's lock);
- the local AWS's own work: requests served and the CPU and wall seconds spent inside its request
  lock (`LocalAWSMeter`), i.e. moto's time, as opposed to ours;
- the floor AWS's request budgets would put under the same calls (`budget_floor_seconds`): the
  client-side token buckets the engine enforces by default (`reconciler.aws.ratelimit`), each
  starting full.
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from reconciler.aws.calls import CallCounter, LatencyStats, is_write
from reconciler.aws.ratelimit import ADAPTIVE_DEFAULT, ECS_CATEGORIES, ECS_OPERATION_CATEGORY, bucket_key

# --- the local AWS's own time ----------------------------------------------------------------------


@dataclass(frozen=True)
class ServerTotals:
    requests: int = 0
    cpu_seconds: float = 0.0
    """CPU of the server threads while inside the request lock: moto's handlers and serialiser."""
    busy_seconds: float = 0.0
    """Wall time inside the request lock (requests are serialised, so this never overlaps)."""

    def __sub__(self, other: ServerTotals) -> ServerTotals:
        return ServerTotals(
            self.requests - other.requests,
            self.cpu_seconds - other.cpu_seconds,
            self.busy_seconds - other.busy_seconds,
        )


class LocalAWSMeter:
    """Times every request the local AWS serves, inside its backend lock.

    `wrap(serving)` returns a drop-in for `reconciler.local.server.serving`, the context manager
    `LocalAWS` enters for each request after taking its lock and leaves once the response body
    is produced; per-thread CPU (`time.thread_time`) leaves out time spent waiting for the GIL.
    """

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._totals = ServerTotals()

    def wrap(self, serving: Callable[[Any], AbstractContextManager[None]]) -> Callable[[Any], Any]:
        @contextmanager
        def timed(model: Any) -> Iterator[None]:
            wall, cpu = time.perf_counter(), time.thread_time()
            try:
                with serving(model):
                    yield
            finally:
                spent_cpu, spent_wall = time.thread_time() - cpu, time.perf_counter() - wall
                with self._guard:
                    totals = self._totals
                    self._totals = ServerTotals(
                        totals.requests + 1, totals.cpu_seconds + spent_cpu, totals.busy_seconds + spent_wall
                    )

        return timed

    def totals(self) -> ServerTotals:
        with self._guard:
            return self._totals


# --- one phase -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Mark:
    wall: float
    thread_cpu: float
    process_cpu: float
    server: ServerTotals
    calls: dict[str, int]
    latency: dict[str, LatencyStats]

    @classmethod
    def now(cls, counter: CallCounter, meter: LocalAWSMeter) -> _Mark:
        return cls(
            wall=time.perf_counter(),
            thread_cpu=time.thread_time(),
            process_cpu=time.process_time(),
            server=meter.totals(),
            calls=counter.snapshot(),
            latency=counter.latency(),
        )


@dataclass
class Phase:
    """The cost of one measured block; `record()` is its JSON form."""

    services: int
    wall_seconds: float = 0.0
    engine_cpu_seconds: float = 0.0
    process_cpu_seconds: float = 0.0
    server: ServerTotals = field(default_factory=ServerTotals)
    calls: dict[str, int] = field(default_factory=dict)
    latency: dict[str, tuple[int, float]] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def reads(self) -> dict[str, int]:
        return {name: count for name, count in self.calls.items() if not is_write(name)}

    @property
    def writes(self) -> dict[str, int]:
        return {name: count for name, count in self.calls.items() if is_write(name)}

    def record(self) -> dict[str, Any]:
        total = sum(self.calls.values())
        reads = sum(self.reads.values())
        server = self.server
        return {
            "wall_seconds": round(self.wall_seconds, 3),
            "calls_total": total,
            "reads_total": reads,
            "writes_total": total - reads,
            "calls_per_service": round(total / self.services, 2),
            "reads_per_service": round(reads / self.services, 2),
            "reads_by_operation": self.reads,
            "writes_by_operation": self.writes,
            "calls_per_wall_second": round(total / self.wall_seconds, 1) if self.wall_seconds else None,
            "engine_cpu_seconds": round(self.engine_cpu_seconds, 3),
            "process_cpu_seconds": round(self.process_cpu_seconds, 3),
            "local_aws": {
                "requests": server.requests,
                "cpu_seconds": round(server.cpu_seconds, 3),
                "busy_seconds": round(server.busy_seconds, 3),
                "busy_share_of_wall": round(server.busy_seconds / self.wall_seconds, 2)
                if self.wall_seconds
                else None,
                "ms_per_request": round(1000 * server.busy_seconds / server.requests, 2)
                if server.requests
                else None,
            },
            "client_latency_ms": {
                name: {"calls": count, "mean": round(1000 * seconds / count, 2)}
                for name, (count, seconds) in sorted(self.latency.items())
                if count
            },
            "budget_floor_seconds": round(budget_floor_seconds(self.calls), 2),
            **self.notes,
        }


class PhaseTimer:
    """`with timer.phase() as phase:` measures the block into `phase` (of one session's counter)."""

    def __init__(self, counter: CallCounter, meter: LocalAWSMeter, services: int) -> None:
        self._counter = counter
        self._meter = meter
        self._services = services

    @contextmanager
    def phase(self) -> Iterator[Phase]:
        phase = Phase(services=self._services)
        before = _Mark.now(self._counter, self._meter)
        yield phase
        after = _Mark.now(self._counter, self._meter)
        phase.wall_seconds = after.wall - before.wall
        phase.engine_cpu_seconds = after.thread_cpu - before.thread_cpu
        phase.process_cpu_seconds = after.process_cpu - before.process_cpu
        phase.server = after.server - before.server
        phase.calls = {
            name: count - before.calls.get(name, 0)
            for name, count in after.calls.items()
            if count != before.calls.get(name, 0)
        }
        empty = LatencyStats(0, 0.0, 0.0)
        phase.latency = {
            name: (
                stats.count - before.latency.get(name, empty).count,
                stats.total_seconds - before.latency.get(name, empty).total_seconds,
            )
            for name, stats in after.latency.items()
        }


# --- AWS's request budgets -------------------------------------------------------------------------


def budget_floor_seconds(calls: Mapping[str, int]) -> float:
    """The least time AWS's buckets allow for these calls, each bucket starting full.

    ECS uses its published buckets (per category); ELBv2, Application Auto Scaling, EC2 and ECR
    the engine's own starting adaptive budget (AWS publishes none). Buckets drain in parallel,
    so the floor is the slowest bucket's `(calls - burst) / refill`.
    """
    per_bucket: dict[str, int] = {}
    limits: dict[str, tuple[float, float]] = {}
    for name, count in calls.items():
        service, _, operation = name.partition(".")
        bucket = bucket_key(service, operation)
        if bucket is None:
            continue
        per_bucket[bucket] = per_bucket.get(bucket, 0) + count
        category = ECS_OPERATION_CATEGORY.get(operation) if service == "ecs" else None
        chosen = ECS_CATEGORIES[category] if category is not None else ADAPTIVE_DEFAULT
        limits[bucket] = (chosen.burst, chosen.refill_per_second)
    return max(
        (max(0.0, (count - limits[bucket][0]) / limits[bucket][1]) for bucket, count in per_bucket.items()),
        default=0.0,
    )


# --- batch limits ----------------------------------------------------------------------------------


def ceil_div(items: int, per_call: int) -> int:
    return math.ceil(items / per_call)


def steady_read_bounds(*, services: int, load_balancers: int, new_process: bool) -> dict[str, int]:
    """The most calls each read of a steady pass needs when batched to the API's limits.

    For the generated stack: one cluster, two security groups, `load_balancers` ALBs with one
    listener each (at most 100 rules, one page of 400), one target group, task definition,
    service, scalable target and target-tracking policy per service. Task definitions are not in
    it: a steady pass knows them from the services' running revisions (see `PER_RESOURCE_READS`).
    """
    return {
        # Account facts: the account id once per process, the default VPC once per pass.
        "sts.GetCallerIdentity": 1 if new_process else 0,
        "ec2.DescribeVpcs": 1,
        "ec2.DescribeSubnets": 1,
        "ec2.DescribeSecurityGroups": 1,  # both groups by name filter, one page of up to 1000
        "ecs.DescribeClusters": 1,  # 100 a call
        "ecs.DescribeServices": ceil_div(services, 10),  # 10 a call, one cluster
        "elbv2.DescribeLoadBalancers": ceil_div(load_balancers, 20),  # 20 names a call
        "elbv2.DescribeTargetGroups": ceil_div(services, 20),  # 20 names a call
        "elbv2.DescribeTags": ceil_div(services, 20) + ceil_div(load_balancers, 20),  # 20 ARNs a call
        "elbv2.DescribeListeners": load_balancers,  # takes one LoadBalancerArn: one call per ALB
        "elbv2.DescribeRules": load_balancers,  # one listener per ALB, <= 100 rules, PageSize 400
        "application-autoscaling.DescribeScalableTargets": ceil_div(services, 50),  # 50 ResourceIds
        "application-autoscaling.DescribeScalingPolicies": ceil_div(services, 10),  # MaxResults <= 10
        "application-autoscaling.DescribeScheduledActions": 1,  # none exist, MaxResults <= 50
    }


def steady_read_floor(*, services: int, load_balancers: int, new_process: bool) -> int:
    """The batched floor of a steady pass: the sum of `steady_read_bounds`."""
    return sum(
        steady_read_bounds(services=services, load_balancers=load_balancers, new_process=new_process).values()
    )


PER_RESOURCE_READS = {
    "ecs.DescribeTaskDefinition": (
        "one revision a call (no batch API), and only for a revision the process has not seen: once per "
        "distinct revision in use in a new process without the revision file, never in the daemon's "
        "later passes or with a warm revision file"
    ),
}
"""Steady-pass reads the engine may make once per task definition revision, and why."""


@dataclass(frozen=True)
class SteadyTarget:
    """Issue 10's read target for one kind of steady pass, against the batched floor."""

    name: str
    """`cache warm`: at most 1.1 x the floor; `no cache`: at most the floor plus one read per
    distinct task definition revision in use."""
    new_process: bool
    """The pass runs in a process that has not asked for the account id yet."""
    cache_warm: bool
    """The process (or its revision file) already knows every revision in use."""

    def limit(self, *, floor: int, revisions: int) -> float:
        return 1.1 * floor if self.cache_warm else floor + revisions


DAEMON_WARM = SteadyTarget("cache warm (daemon)", new_process=False, cache_warm=True)
ONE_SHOT_WARM_FILE = SteadyTarget("cache warm (one-shot, revision file)", new_process=True, cache_warm=True)
ONE_SHOT_NO_CACHE = SteadyTarget("no cache (one-shot)", new_process=True, cache_warm=False)


def batching_report(
    reads: Mapping[str, int], *, services: int, load_balancers: int, target: SteadyTarget, revisions: int
) -> dict[str, Any]:
    """A steady pass's reads against the batched floor: each operation against its bound, the
    total over the floor, and whether issue 10's target for this kind of pass holds."""
    bounds = steady_read_bounds(
        services=services, load_balancers=load_balancers, new_process=target.new_process
    )
    floor = sum(bounds.values())
    operations: dict[str, Any] = {}
    for name in sorted(set(reads) | set(bounds)):
        count = reads.get(name, 0)
        if name in bounds:
            operations[name] = {"calls": count, "batched_bound": bounds[name], "ok": count <= bounds[name]}
        elif name in PER_RESOURCE_READS:
            operations[name] = {
                "calls": count,
                "per_resource": True,
                "calls_per_service": round(count / services, 2),
                "why": PER_RESOURCE_READS[name],
            }
        else:
            operations[name] = {"calls": count, "unexpected": True}
    total = sum(reads.values())
    limit = target.limit(floor=floor, revisions=revisions)
    return {
        "operations": operations,
        "reads": total,
        "floor": floor,
        "ratio_to_floor": round(total / floor, 3),
        "over_floor": {
            name: count - bounds.get(name, 0)
            for name, count in sorted(reads.items())
            if count > bounds.get(name, 0)
        },
        "target": target.name,
        "target_reads": round(limit, 1),
        "target_met": total <= limit,
        "revisions_in_use": revisions,
    }


# --- machine facts and result files ----------------------------------------------------------------


def machine_facts() -> dict[str, Any]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "moto": metadata.version("moto"),
        "botocore": metadata.version("botocore"),
        "aiobotocore": metadata.version("aiobotocore"),
    }


def code_version() -> dict[str, Any]:
    """Which engine was measured: `BENCH_CODE_VERSION` (set it when running from an export of a
    commit), else the checkout's commit and any uncommitted changes under `reconciler/`."""
    if os.environ.get("BENCH_CODE_VERSION"):
        return {"commit": os.environ["BENCH_CODE_VERSION"], "uncommitted_engine_changes": []}
    root = Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--", "reconciler"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return {"commit": "unknown", "uncommitted_engine_changes": []}
    return {"commit": commit, "uncommitted_engine_changes": [line[3:] for line in status.splitlines()]}


def loadavg() -> str:
    """The 1/5/15-minute load averages: other work on the machine shows in every wall time."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def merge_results(path: Path, *, header: Mapping[str, Any], entries: Mapping[str, Any]) -> dict[str, Any]:
    """Write `entries` (by N) into the JSON at `path`, keeping entries of other N from earlier runs."""
    document: dict[str, Any] = {}
    if path.exists():
        try:
            document = json.loads(path.read_text())
        except ValueError:
            document = {}
    results = dict(document.get("results", {}))
    results.update(entries)
    document = {**document, **header, "results": dict(sorted(results.items(), key=lambda item: int(item[0])))}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, sort_keys=False) + "\n")
    return document
