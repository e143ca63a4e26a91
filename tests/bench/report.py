"""Renders `results/engine-scale.json` as the markdown tables of the README.

`python -m tests.bench.report` prints them; the benchmark also writes them to
`results/engine-scale.md` after every run.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results" / "engine-scale.json"

PHASES = {
    "converge_rate_limited": "(a) with AWS's budgets on",
    "converge": "(a) converge from empty",
    "steady_cold": "(b) steady pass, new process",
    "steady_warm": "(d) steady pass, same process",
    "change_10pct": "(c) image edit, 10% of services",
    "rollout_recheck": "(r) rollout re-check after (c)",
    "steady_after_change": "steady pass after (c)",
    "steady_cold_rate_limited": "(b) with AWS's budgets on",
    "steady_warm_rate_limited": "(d) with AWS's budgets on",
    "steady_cold_revision_file": "(b) writing the revision file",
    "steady_revision_file": "(e) new process, warm revision file",
}

STEADY_PHASES = (
    "steady_cold",
    "steady_warm",
    "steady_cold_rate_limited",
    "steady_warm_rate_limited",
    "steady_cold_revision_file",
    "steady_revision_file",
)


def _sizes(document: Mapping[str, Any]) -> list[str]:
    return sorted(document["results"], key=int)


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def phases_table(document: Mapping[str, Any]) -> str:
    rows = []
    for size in _sizes(document):
        phases = document["results"][size]["phases"]
        for key, label in PHASES.items():
            phase = phases.get(key)
            if phase is None:
                continue
            local = phase["local_aws"]
            rows.append(
                [
                    size,
                    label,
                    f"{phase['wall_seconds']:.2f}",
                    phase["calls_total"],
                    phase["reads_total"],
                    phase["writes_total"],
                    f"{phase['reads_per_service']:.2f}",
                    f"{local['busy_seconds']:.2f} ({100 * (local['busy_share_of_wall'] or 0):.0f}%)",
                    f"{phase['engine_cpu_seconds']:.2f}",
                    f"{phase['budget_floor_seconds']:.1f}",
                ]
            )
    return _table(
        [
            "N",
            "phase",
            "wall s",
            "calls",
            "reads",
            "writes",
            "reads/service",
            "local AWS busy s (share of wall)",
            "engine CPU s",
            "AWS budget floor s",
        ],
        rows,
    )


def _operations(document: Mapping[str, Any], size: str, phase: str) -> Mapping[str, Any]:
    batching = document["results"][size]["batching"].get(phase, {})
    return batching.get("operations", {}) if "floor" in batching else {}


def steady_reads_table(document: Mapping[str, Any], phase: str = "steady_cold") -> str:
    sizes = [size for size in _sizes(document) if phase in document["results"][size]["phases"]]
    operations = sorted({name for size in sizes for name in _operations(document, size, phase)})
    rows = []
    for name in operations:
        row: list[Any] = [f"`{name}`"]
        for size in sizes:
            item = _operations(document, size, phase).get(name)
            if item is None:
                row.append("—")
            elif item.get("per_resource"):
                row.append(f"**{item['calls']}** (per revision)" if item["calls"] else "0")
            elif item.get("unexpected"):
                row.append(f"**{item['calls']}** (not in the floor)")
            else:
                cell = f"{item['calls']} (≤ {item['batched_bound']})"
                row.append(cell if item["ok"] else f"**{cell}**")
        rows.append(row)
    totals: list[Any] = ["**total reads / per service**"]
    for size in sizes:
        steady = document["results"][size]["phases"][phase]
        totals.append(f"{steady['reads_total']} / {steady['reads_per_service']:.2f}")
    rows.append(totals)
    return _table(["operation"] + [f"N={size}" for size in sizes], rows)


def floor_table(document: Mapping[str, Any]) -> str:
    """Every steady pass against the batched floor and issue 10's target for its kind of pass."""
    rows = []
    for size in _sizes(document):
        batching = document["results"][size]["batching"]
        for phase in STEADY_PHASES:
            item = batching.get(phase)
            if item is None or "floor" not in item:
                continue
            over = ", ".join(f"`{name}` +{count}" for name, count in item["over_floor"].items()) or "none"
            rows.append(
                [
                    size,
                    PHASES[phase],
                    item["reads"],
                    item["floor"],
                    f"{item['ratio_to_floor']:.2f}",
                    f"{item['target']}: ≤ {item['target_reads']:g}",
                    "yes" if item["target_met"] else "**no**",
                    over,
                ]
            )
    return _table(
        ["N", "steady pass", "reads", "batched floor", "reads / floor", "target", "met", "over the floor"],
        rows,
    )


def rollout_table(document: Mapping[str, Any]) -> str:
    rows = []
    for size in _sizes(document):
        phase = document["results"][size]["phases"].get("rollout_recheck")
        if phase is None:
            continue
        calls = ", ".join(f"`{name}` {count}" for name, count in sorted(phase["reads_by_operation"].items()))
        expected = ", ".join(f"`{name}` {count}" for name, count in phase["expected_calls"].items())
        rows.append(
            [size, phase["rolling_services"], calls or "none", expected, f"{phase['wall_seconds']:.3f}"]
        )
    return _table(["N", "rolling services", "calls", "pinned", "wall s"], rows)


def plan_process_table(document: Mapping[str, Any]) -> str:
    rows = []
    for size in _sizes(document):
        measured = document["results"][size].get("plan_process")
        if measured is None:
            continue
        for key, label in (
            ("no_revision_file", "as a user runs it on the local AWS (no revision file)"),
            ("revision_file_warm", "revision file forced on and warm (a second `plan` on AWS)"),
        ):
            run = measured[key]
            all_runs = run["wall_seconds_all_runs"]
            over = ", ".join(f"`{name}` +{count}" for name, count in run["over_floor"].items()) or "none"
            rows.append(
                [
                    size,
                    label,
                    f"{run['wall_seconds']:.2f} ({', '.join(f'{wall:.2f}' for wall in all_runs)})",
                    run["calls_total"],
                    measured["floor"],
                    over,
                    run["exit_code"],
                    "yes" if run["target_met"] else "**no**",
                ]
            )
    return _table(
        [
            "N",
            "`plan`, whole process",
            "wall s, median (runs)",
            "calls",
            "batched floor",
            "over the floor",
            "exit",
            "≤ 1.3 s and ≤ 32 calls",
        ],
        rows,
    )


def daemon_memory_table(document: Mapping[str, Any]) -> str:
    rows = []
    for size in _sizes(document):
        memory = document["results"][size].get("daemon_memory")
        if memory is None:
            continue
        samples = memory["rss_after_each_pass"]
        growth = ", ".join(f"{sample['passes']}: {sample['VmRSS_kib'] / 1024:.0f}" for sample in samples)
        rows.append(
            [
                size,
                int(sum(memory["passes"].values())),
                f"{memory['vm_rss_mib']:.0f}",
                f"{memory['vm_hwm_mib']:.0f}",
                "yes" if memory["target_met"] else "**no**",
                f"{memory['mean_pass_seconds']:.1f}",
                memory["calls_total"],
                sum(memory["writes"].values()),
                growth,
            ]
        )
    return _table(
        [
            "N",
            "passes",
            "VmRSS MiB",
            "VmHWM MiB",
            "< 250 MB",
            "mean pass s",
            "calls",
            "writes",
            "VmRSS MiB after pass k",
        ],
        rows,
    )


def converge_budget_table(document: Mapping[str, Any]) -> str:
    rows = []
    for size in _sizes(document):
        phase = document["results"][size]["phases"].get("converge_rate_limited")
        if phase is None:
            continue
        rows.append(
            [
                size,
                f"{phase['wall_seconds']:.1f}",
                f"{phase['budget_floor_seconds']:.1f}",
                f"{phase['wall_over_budget_floor']:.2f}",
                "yes" if phase["target_met"] else "**no**",
                phase["calls_total"],
            ]
        )
    return _table(["N", "wall s", "AWS budget floor s", "wall / floor", "≤ 1.1", "calls"], rows)


def run_time_table(document: Mapping[str, Any]) -> str:
    rows = [[size, f"{document['results'][size].get('run_seconds', '?')}"] for size in _sizes(document)]
    return _table(["N", "run s (every phase of that size)"], rows)


def planner_table(document: Mapping[str, Any]) -> str:
    rows = []
    for size in _sizes(document):
        planner = document["results"][size]["planner"]
        rows.append(
            [
                size,
                planner["documents"],
                planner["repeats"],
                f"{planner['median_ms']:.1f}",
                f"{planner['min_ms']:.1f}",
                f"{planner['max_ms']:.1f}",
                f"{planner['median_us_per_document']:.0f}",
            ]
        )
    return _table(["N", "documents", "repeats", "median ms", "min ms", "max ms", "µs/document"], rows)


def calibration_table(document: Mapping[str, Any]) -> str:
    sizes = _sizes(document)
    operations: list[str] = []
    for size in sizes:
        for name in document["results"][size]["local_aws_calibration"]:
            if name not in operations:
                operations.append(name)
    rows = []
    for name in operations:
        row: list[Any] = [name]
        for size in sizes:
            item = document["results"][size]["local_aws_calibration"].get(name)
            row.append(
                "—"
                if item is None
                else f"{item['mean_ms']:.1f} ms, {item['calls_per_second']:.0f}/s "
                f"(moto {item['local_aws_ms_per_request']:.1f} ms)"
            )
        rows.append(row)
    return _table(["call, sequential"] + [f"N={size}" for size in sizes], rows)


def render(document: Mapping[str, Any]) -> str:
    machine = document["machine"]
    code = document.get("code", {})
    dirty = code.get("uncommitted_engine_changes") or []
    return "\n\n".join(
        [
            f"Engine at commit {code.get('commit', 'unknown')}"
            + (f" plus uncommitted changes to {', '.join(dirty)}" if dirty else "")
            + f". Measured {document['measured_at']} on {machine['nproc']} CPUs ({machine['cpu_model']}), "
            f"Python {machine['python']}, moto {machine['moto']}, botocore {machine['botocore']} "
            f"(client and local AWS in one process); load average at start/end "
            f"{machine.get('loadavg_start', '?')} / {machine.get('loadavg_end', '?')}; "
            f"the whole run took {document.get('run_seconds', '?')} s.",
            "**Phases**\n\n" + phases_table(document),
            "**Steady passes against the batched floor** (`steady_read_bounds`; issue 10's targets: "
            "≤ 1.1 x the floor with the cache warm, ≤ the floor + one read per revision in use without)\n\n"
            + floor_table(document),
            "**Steady pass (b), new process, no cache, reads by operation** — calls (batched bound)\n\n"
            + steady_reads_table(document, "steady_cold"),
            "**Steady pass (d), same process (daemon), reads by operation**\n\n"
            + steady_reads_table(document, "steady_warm"),
            "**Steady pass (e), new process with a warm revision file, reads by operation**\n\n"
            + steady_reads_table(document, "steady_revision_file"),
            "**Rollout re-check** (`Engine.observe_again` of the services (c) touched, following them)\n\n"
            + rollout_table(document),
            "**No-op `plan`, whole process** (process start to exit; calls from its JSON output)\n\n"
            + plan_process_table(document),
            "**Daemon resident memory** (`run --resync-interval 0.1`, passes back to back)\n\n"
            + daemon_memory_table(document),
            "**Converge from empty with AWS's budgets on**, against the budget floor of its own calls\n\n"
            + converge_budget_table(document),
            "**Run time per size**\n\n" + run_time_table(document),
            "**Planner alone** (`Engine.plan` on one observation, no AWS)\n\n" + planner_table(document),
            "**Local AWS throughput** (the same clients, one call at a time, at each stack size)\n\n"
            + calibration_table(document),
        ]
    )


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else RESULTS
    print(render(json.loads(path.read_text())))


if __name__ == "__main__":
    main()
