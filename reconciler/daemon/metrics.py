"""A small Prometheus registry: counters, gauges and histograms with labels, rendered as text.

The daemon's controller and HTTP server share one `Metrics`; `/metrics` renders it in the
Prometheus text exposition format (version 0.0.4). A dozen metric families do not justify a
dependency; the tests parse the output with the reference parser.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

LabelValues = tuple[str, ...]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(names: tuple[str, ...], values: LabelValues, extra: Mapping[str, str] | None = None) -> str:
    pairs = [f'{name}="{_escape(value)}"' for name, value in zip(names, values, strict=True)]
    pairs += [f'{name}="{_escape(value)}"' for name, value in (extra or {}).items()]
    return "{" + ",".join(pairs) + "}" if pairs else ""


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


@dataclass
class _Family:
    name: str
    help: str
    kind: str
    label_names: tuple[str, ...] = ()

    def header(self) -> list[str]:
        return [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]


@dataclass
class Counter(_Family):
    kind: str = "counter"
    values: dict[LabelValues, float] = field(default_factory=dict)

    def inc(self, *labels: str, amount: float = 1.0) -> None:
        self.values[labels] = self.values.get(labels, 0.0) + amount

    def set_total(self, *labels: str, total: float) -> None:
        """Mirror a count kept elsewhere (the AWS call counter); totals never go down."""
        self.values[labels] = max(total, self.values.get(labels, 0.0))

    def render(self) -> list[str]:
        return self.header() + self.samples()

    def samples(self, extra: Mapping[str, str] | None = None) -> list[str]:
        return [
            f"{self.name}{_labels(self.label_names, labels, extra)} {_number(value)}"
            for labels, value in sorted(self.values.items())
        ]


@dataclass
class Gauge(_Family):
    kind: str = "gauge"
    values: dict[LabelValues, float] = field(default_factory=dict)

    def set(self, *labels: str, value: float) -> None:
        self.values[labels] = value

    def replace(self, values: Mapping[LabelValues, float]) -> None:
        """Set the whole family at once, so label sets that disappeared stop being reported."""
        self.values = dict(values)

    def render(self) -> list[str]:
        return self.header() + self.samples()

    def samples(self, extra: Mapping[str, str] | None = None) -> list[str]:
        return [
            f"{self.name}{_labels(self.label_names, labels, extra)} {_number(value)}"
            for labels, value in sorted(self.values.items())
        ]


DEFAULT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


@dataclass
class Histogram(_Family):
    kind: str = "histogram"
    buckets: tuple[float, ...] = DEFAULT_BUCKETS
    counts: dict[LabelValues, list[int]] = field(default_factory=dict)
    sums: dict[LabelValues, float] = field(default_factory=dict)

    def observe(self, *labels: str, value: float) -> None:
        counts = self.counts.setdefault(labels, [0] * (len(self.buckets) + 1))
        for index, bound in enumerate((*self.buckets, math.inf)):
            if value <= bound:
                counts[index] += 1
        self.sums[labels] = self.sums.get(labels, 0.0) + value

    def render(self) -> list[str]:
        return self.header() + self.samples()

    def samples(self, extra: Mapping[str, str] | None = None) -> list[str]:
        lines = []
        for labels, counts in sorted(self.counts.items()):
            for bound, count in zip((*self.buckets, math.inf), counts, strict=True):
                le = {**(extra or {}), "le": _number(bound)}
                lines.append(f"{self.name}_bucket{_labels(self.label_names, labels, le)} {count}")
            lines.append(
                f"{self.name}_sum{_labels(self.label_names, labels, extra)} {_number(self.sums[labels])}"
            )
            lines.append(f"{self.name}_count{_labels(self.label_names, labels, extra)} {counts[-1]}")
        return lines


class Metrics:
    """Every metric the daemon exposes; see each family's help text."""

    def __init__(self) -> None:
        self.reconcile_total = Counter(
            "ecs_reconciler_reconcile_total",
            "Resource reconciles by kind and result.",
            label_names=("kind", "result"),
        )
        self.reconcile_errors_total = Counter(
            "ecs_reconciler_reconcile_errors_total",
            "Failed resource reconciles by kind and error class.",
            label_names=("kind", "error_class"),
        )
        self.reconcile_duration = Histogram(
            "ecs_reconciler_pass_duration_seconds",
            "Duration of reconcile passes by mode.",
            label_names=("mode",),
        )
        self.aws_calls_total = Counter(
            "ecs_reconciler_aws_calls_total",
            "AWS API call attempts by service, operation and outcome.",
            label_names=("service", "operation", "outcome"),
        )
        self.passes_total = Counter(
            "ecs_reconciler_passes_total",
            "Reconcile passes by why they ran: resync, change (a new spec set), requeue (keys due).",
            label_names=("reason",),
        )
        self.pass_reads_total = Counter(
            "ecs_reconciler_pass_reads_total",
            "AWS read attempts made by passes, by why the pass ran.",
            label_names=("reason",),
        )
        self.queue_depth = Gauge("ecs_reconciler_workqueue_depth", "Resource keys waiting in the work queue.")
        self.queue_retries_total = Counter(
            "ecs_reconciler_workqueue_retries_total", "Keys requeued with backoff after a retryable failure."
        )
        self.drifted_resources = Gauge(
            "ecs_reconciler_drifted_resources",
            "Resources changed in AWS behind git's back: live differs from a spec that did not "
            "change since they were converged, by kind.",
            label_names=("kind",),
        )
        self.changed_resources = Gauge(
            "ecs_reconciler_changed_resources",
            "Resources whose spec changed in git and is not applied yet, by kind.",
            label_names=("kind",),
        )
        self.perpetual_diff_resources = Gauge(
            "ecs_reconciler_perpetual_diff_resources",
            "Resources whose writes stopped because the same differences came back after each, by kind.",
            label_names=("kind",),
        )
        self.drifted_fields = Gauge(
            "ecs_reconciler_drifted_fields",
            "Differing fields across drifted resources, by kind.",
            label_names=("kind",),
        )
        self.last_full_sync = Gauge(
            "ecs_reconciler_last_full_sync_timestamp_seconds",
            "Unix time of the last pass in which every resource was observed and planned without error.",
        )
        self.spec_load_errors = Gauge(
            "ecs_reconciler_spec_load_errors", "Errors in the spec set as last loaded (0 when valid)."
        )
        self.spec_valid = Gauge(
            "ecs_reconciler_spec_valid",
            "1 when the spec set as last loaded is valid and in force; 0 when it is invalid and the "
            "last good set stays in force (or none was ever valid).",
        )
        self.last_good_spec_load = Gauge(
            "ecs_reconciler_spec_last_good_load_timestamp_seconds",
            "Unix time the spec set in force was loaded (the last valid load).",
        )
        self.rollouts_failed_total = Counter(
            "ecs_reconciler_rollouts_failed_total",
            "Service rollouts that failed (circuit breaker).",
            label_names=("name",),
        )
        self.leader = Gauge("ecs_reconciler_leader", "1 while this replica holds the lease and may write.")
        self.targets = Gauge(
            "ecs_reconciler_target_info",
            "1 per Target of the estate in force, with its account and Region (join on `target`).",
            label_names=("target", "account", "region"),
        )

    def families(self) -> Iterable[Counter | Gauge | Histogram]:
        return (value for value in vars(self).values() if isinstance(value, Counter | Gauge | Histogram))

    def render(self) -> str:
        return "\n".join(line for family in self.families() for line in family.render()) + "\n"


def render_labelled(parts: Sequence[tuple[Mapping[str, str], Metrics]]) -> str:
    """Several registries of the same families as one exposition: each family's help and type
    once, then every part's samples with that part's extra labels (the daemon's own metrics with
    none, each target's with `target`)."""
    families = [list(metrics.families()) for _, metrics in parts]
    lines: list[str] = []
    for index, family in enumerate(families[0] if families else []):
        lines += family.header()
        for (extra, _), of_part in zip(parts, families, strict=True):
            lines += of_part[index].samples(extra)
    return "\n".join(lines) + "\n"
