"""The reconciler as a user runs it, in a process of its own: a `plan` from start to exit, and the
daemon's resident memory after many passes. Called by `test_engine_scale.py` once the stack has
converged on the benchmark's local AWS.

The child inherits the benchmark's environment (the local AWS's endpoint, fake credentials and
Region, set by `tests/conftest.py`'s `local_aws`) with `PYTHONPATH` pointing at this checkout, so
it runs the code being measured whether that is a working tree or an export of a commit.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from reconciler.aws.calls import is_write
from tests.daemon.processes import daemon_process, eventually

ROOT = Path(__file__).resolve().parents[2]

FORCED_REVISION_FILE = """\
import sys
from pathlib import Path

import reconciler.engine.revision_cache as revision_cache

# The CLI never uses the revision file against a loopback endpoint (a local AWS hands revision
# ARNs out again after a restart); this local AWS lives as long as the benchmark, so a second run
# may use it, to measure what a second `plan` costs on AWS.
revision_cache.for_one_shot_run = lambda endpoint, environment: revision_cache.RevisionFile(
    Path(environment[revision_cache.CACHE_DIR_VARIABLE]), endpoint or ""
)
from reconciler.cli import main

raise SystemExit(main())
"""


def child_environment(**extra: str) -> dict[str, str]:
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), environment.get("PYTHONPATH")]))
    environment.update(extra)
    return environment


def timed_plan(command: Sequence[str], *, environment: Mapping[str, str]) -> dict[str, Any]:
    """One `plan` run: wall time from process start to exit, its exit code and its `calls`."""
    started = time.perf_counter()
    completed = subprocess.run(
        list(command), cwd=ROOT, env=dict(environment), capture_output=True, timeout=300, check=False
    )
    wall = time.perf_counter() - started
    try:
        output = json.loads(completed.stdout)
    except ValueError:
        raise AssertionError(
            f"plan printed no JSON (exit {completed.returncode}): {completed.stderr.decode()[-2000:]}"
        ) from None
    return {
        "wall_seconds": round(wall, 3),
        "exit_code": completed.returncode,
        "ok": output.get("ok"),
        "calls": dict(sorted(output.get("calls", {}).items())),
    }


def plan_runs(
    specs: Path, *, endpoint_url: str, repeats: int, revision_file: Path | None = None
) -> list[dict[str, Any]]:
    """`repeats` runs of `plan SPECS --output json`; with `revision_file`, each run uses the revision
    file in that folder (forced on: see FORCED_REVISION_FILE) and the first one writes it."""
    arguments = ["plan", str(specs), "--endpoint-url", endpoint_url, "--output", "json"]
    compile_bytecode()
    if revision_file is None:
        command = [sys.executable, "-m", "reconciler", *arguments]
        environment = child_environment(ECS_RECONCILER_CACHE_DIR="")
    else:
        command = [sys.executable, "-c", FORCED_REVISION_FILE, *arguments]
        environment = child_environment(ECS_RECONCILER_CACHE_DIR=str(revision_file))
    return [timed_plan(command, environment=environment) for _ in range(repeats)]


def compile_bytecode() -> None:
    """Compile the measured tree's modules, as `pip install` does when it installs the package.

    The measured code is a source tree on `PYTHONPATH`, and this machine sets
    `PYTHONDONTWRITEBYTECODE`: without this every measured `plan` compiled the reconciler's modules
    from source (about 0.1 s), which no installed copy does."""
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(ROOT / "reconciler")], check=True, timeout=300
    )


def median_run(runs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The run of median wall time, with every run's wall time beside it."""
    ordered = sorted(runs, key=lambda run: float(run["wall_seconds"]))
    chosen = dict(ordered[len(ordered) // 2])
    chosen["wall_seconds_all_runs"] = [run["wall_seconds"] for run in runs]
    chosen["wall_seconds_median"] = round(statistics.median(float(run["wall_seconds"]) for run in runs), 3)
    return chosen


# --- the daemon --------------------------------------------------------------------------------------


def _metrics(text: str) -> dict[str, dict[str, float]]:
    """The counters and histogram sums the memory run reads, by family and label."""
    found: dict[str, dict[str, float]] = {"passes": {}, "calls": {}, "pass_seconds": {}}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if family.name == "ecs_reconciler_passes" and sample.name.endswith("_total"):
                found["passes"][sample.labels["reason"]] = sample.value
            elif family.name == "ecs_reconciler_aws_calls" and sample.name.endswith("_total"):
                name = f"{sample.labels['service']}.{sample.labels['operation']}"
                found["calls"][name] = found["calls"].get(name, 0) + sample.value
            elif family.name == "ecs_reconciler_pass_duration_seconds" and sample.name.endswith(
                ("_sum", "_count")
            ):
                key = sample.name.rsplit("_", 1)[1]
                found["pass_seconds"][key] = found["pass_seconds"].get(key, 0) + sample.value
    return found


def _status_kib(pid: int) -> dict[str, int]:
    """VmRSS (resident now) and VmHWM (the peak) of a process, in KiB."""
    values: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0])
    return values


def daemon_memory(
    specs: Path, *, endpoint_url: str, passes: int, logs: Path, within: float
) -> dict[str, Any]:
    """Run the daemon on a converged stack with the shortest resync it accepts, so passes run back to
    back, until it has made `passes` full passes (resync or change); its resident memory then, and
    after each pass on the way (the growth, if any)."""
    arguments = [str(specs), "--endpoint-url", endpoint_url, "--resync-interval", "0.1"]
    started = time.perf_counter()
    with daemon_process(arguments, logs=logs, env=child_environment()) as daemon:
        samples: list[dict[str, Any]] = []

        def full_passes() -> int:
            answer = daemon.get("/metrics")
            if answer is None or answer[0] != 200:
                return 0
            metrics = _metrics(answer[1])
            done = int(metrics["passes"].get("resync", 0) + metrics["passes"].get("change", 0))
            if not samples or samples[-1]["passes"] != done:
                samples.append(
                    {
                        "passes": done,
                        "seconds": round(time.perf_counter() - started, 1),
                        **{f"{name}_kib": value for name, value in _status_kib(daemon.pid).items()},
                    }
                )
            return done if done >= passes else 0

        eventually(full_passes, within=within, interval=0.2, what=f"{passes} full daemon passes")
        resident = _status_kib(daemon.pid)
        answer = daemon.get("/metrics")
        assert answer is not None
        metrics = _metrics(answer[1])
        seconds = time.perf_counter() - started
    writes = {name: count for name, count in metrics["calls"].items() if is_write(name)}
    mean_pass = metrics["pass_seconds"].get("sum", 0.0) / max(metrics["pass_seconds"].get("count", 0.0), 1.0)
    return {
        "passes": metrics["passes"],
        "vm_rss_mib": round(resident["VmRSS"] / 1024, 1),
        "vm_hwm_mib": round(resident["VmHWM"] / 1024, 1),
        "run_seconds": round(seconds, 1),
        "mean_pass_seconds": round(mean_pass, 2),
        "calls_total": int(sum(metrics["calls"].values())),
        "writes": writes,
        "rss_after_each_pass": samples,
        "command": "python -m reconciler run SPECS --endpoint-url URL --resync-interval 0.1",
    }
