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
    "converge": "(a) converge from empty",
    "steady_cold": "(b) steady pass, new process",
    "steady_warm": "(d) steady pass, same process",
    "change_10pct": "(c) image edit, 10% of services",
    "steady_after_change": "steady pass after (c)",
    "steady_cold_rate_limited": "(b) with AWS's budgets on",
    "steady_warm_rate_limited": "(d) with AWS's budgets on",
}


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


def steady_reads_table(document: Mapping[str, Any], phase: str = "steady_cold") -> str:
    sizes = _sizes(document)
    operations = sorted(
        {name for size in sizes for name in document["results"][size]["batching"][phase]},
    )
    rows = []
    for name in operations:
        row: list[Any] = [f"`{name}`"]
        for size in sizes:
            item = document["results"][size]["batching"][phase].get(name)
            if item is None:
                row.append("0")
            elif item.get("per_resource"):
                alternative = item.get("batched_alternative")
                row.append(
                    f"**{item['calls']}** (per resource"
                    + (f"; batched: {alternative})" if alternative is not None else ")")
                )
            else:
                row.append(f"{item['calls']} (≤ {item['batched_bound']})")
        rows.append(row)
    totals: list[Any] = ["**total reads / per service**"]
    for size in sizes:
        steady = document["results"][size]["phases"][phase]
        totals.append(f"{steady['reads_total']} / {steady['reads_per_service']:.2f}")
    rows.append(totals)
    return _table(["operation"] + [f"N={size}" for size in sizes], rows)


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
            f"{machine.get('loadavg_start', '?')} / {machine.get('loadavg_end', '?')}.",
            "**Phases**\n\n" + phases_table(document),
            "**Steady pass (new process), reads by operation** — calls (batched bound)\n\n"
            + steady_reads_table(document, "steady_cold"),
            "**Steady pass (same process, cache warm), reads by operation**\n\n"
            + steady_reads_table(document, "steady_warm"),
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
