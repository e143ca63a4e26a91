"""Plans as reports: one model of what differs (or what an apply did), per resource and field, in
the spec's field names, and its text, JSON and markdown forms with a one-line summary.

Used by the CLI (`plan`, `apply`, `drift`) and the daemon (`/drift`, `/status`, logs, webhooks).
Pure: it reads a plan, the spec set (for file, line and the values as written) and, after an
apply, the execution's outcomes and outputs; nothing else.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

from reconciler.plan.delta import Owner, format_path
from reconciler.plan.steps import Action, Plan, Ref, ResourceKey, ResourcePlan, Status
from reconciler.spec import SpecSet
from reconciler.spec.secrets import ANNOTATION_SHOW_VALUES, is_fingerprint, mask_text, protect, secret_name

if TYPE_CHECKING:  # the report only reads an execution's outcomes; it never runs one
    from reconciler.engine.executor import ExecutionResult


@dataclass(frozen=True)
class FieldReport:
    path: str
    desired: Any
    live: Any
    owner: str
    file: str
    line: int

    @property
    def change(self) -> str:
        """`add` (only the spec has it), `remove` (only AWS has it) or `update`: the `+`, `-`
        and `~` of the text and markdown forms."""
        if self.live is None and self.desired is not None:
            return "add"
        if self.desired is None and self.live is not None:
            return "remove"
        return "update"


@dataclass(frozen=True)
class ResourceReport:
    kind: str
    name: str
    status: str
    action: str
    file: str
    line: int
    message: str
    warnings: tuple[str, ...]
    fields: tuple[FieldReport, ...]
    calls: tuple[str, ...]
    report_only: bool
    outcome: str = ""
    """What `apply` did to it (`created`, `updated`, `replaced`, `deleted`, `failed`, `held`:
    shown, not issued); empty in a plan, and where nothing was to be done."""
    notes: tuple[str, ...] = ()
    """What a reader should know that is no difference (a desired count the scaler owns)."""

    @property
    def drifted(self) -> bool:
        """Someone changed AWS: live differs from a document that did not change since the
        resource was converged (`changed`: the document did)."""
        return self.status == Status.DRIFTED.value


def build_report(
    plan: Plan, spec_set: SpecSet | None, *, execution: ExecutionResult | None = None
) -> list[ResourceReport]:
    """One report per planned resource. With the `execution` of the plan (an apply's), each
    report carries its `outcome`, and values its calls made known (ARNs, ids) are shown instead
    of "(known after apply: ...)"."""
    known = execution.outputs if execution is not None else {}
    reports = [_resource_report(resource, spec_set, known) for resource in plan]
    if execution is None:
        return reports
    return [
        replace(report, outcome=_outcome(resource, execution))
        for resource, report in zip(plan, reports, strict=True)
    ]


_DONE = {
    Action.CREATE: "created",
    Action.UPDATE: "updated",
    Action.REPLACE: "replaced",
    Action.DELETE: "deleted",
}


def _outcome(resource: ResourcePlan, execution: ExecutionResult) -> str:
    outcome = execution.outcomes.get(resource.key)
    if outcome is not None and not outcome.ok:
        return "failed"
    if outcome is not None and outcome.calls_made:
        return _DONE.get(resource.action, "updated")
    if resource.calls and resource.report_only:
        return "held"
    return ""


def _resource_report(
    resource: ResourcePlan, spec_set: SpecSet | None, outputs: Mapping[ResourceKey, Mapping[str, Any]]
) -> ResourceReport:
    document = spec_set.get(resource.kind, resource.name) if spec_set is not None else None
    show_values = document is not None and (
        document.metadata.annotations.get(ANNOTATION_SHOW_VALUES, "false").lower() == "true"
    )

    def shown(value: Any, path: Sequence[Any]) -> Any:
        # One place for every output: text, JSON, markdown, /status, /drift, logs and webhooks are
        # all built from these reports.
        return mask_secrets(protect(plain(value, outputs), path, show_values=show_values), path)

    file = document.file if document is not None else ""
    line = document.line if document is not None else 0
    written_spec: list[dict[str, Any]] = []

    def written() -> dict[str, Any]:
        # The spec as written, dumped only for a resource that differs: most of a large estate is
        # in sync on most passes.
        if not written_spec:
            dump = (
                document.spec.model_dump(by_alias=True, exclude_unset=True, mode="json") if document else {}
            )
            written_spec.append(dump)
        return written_spec[0]

    if resource.action is Action.CREATE and document is not None:
        # A new object reads as the spec writes it, field by field: kinds build their create
        # requests in the API's shape (`HealthCheckPath`, a listener keyed by its port), which is
        # not what the reader wrote.
        fields = tuple(
            FieldReport(
                path=key,
                desired=shown(value, (key,)),
                live=None,
                owner=Owner.SPEC.value,
                file=file,
                line=document.line_of(("spec", key)),
            )
            for key, value in written().items()
        )
    else:
        # Named and placed as the spec writes the field (a list item by its index, camelCase
        # keys), not by the kind's identity path, so a reader finds the line they wrote.
        fields = tuple(
            FieldReport(
                path=format_path(diff.written_path),
                desired=shown(
                    spec_form(diff.desired, _at(written(), diff.written_path), diff.written_path), diff.path
                ),
                live=shown(spec_form(diff.live, NOT_WRITTEN, diff.written_path), diff.path),
                owner=diff.owner.value,
                file=file,
                line=document.line_of(("spec", *diff.written_path)) if document is not None else 0,
            )
            for diff in resource.delta
        )
    return ResourceReport(
        kind=resource.kind,
        name=resource.name,
        status=resource.status.value,
        action=resource.action.value,
        file=file,
        line=line,
        message=mask_text(resource.message),
        warnings=tuple(mask_text(warning) for warning in resource.warnings),
        fields=fields,
        calls=tuple(call.name for call in resource.calls),
        report_only=resource.report_only,
        notes=tuple(mask_text(note) for note in resource.notes),
    )


class _Absent:
    """No value written at a path (distinct from a written null)."""


NOT_WRITTEN = _Absent()
"""`spec_form`'s `written` when the spec has nothing at the path."""


def _at(tree: Any, path: Sequence[Any]) -> Any:
    """The value at `path` in a spec as written, or `NOT_WRITTEN`."""
    for item in path:
        mapping_key = isinstance(tree, Mapping) and isinstance(item, str) and item in tree
        list_index = isinstance(tree, list) and isinstance(item, int) and 0 <= item < len(tree)
        if not (mapping_key or list_index):
            return NOT_WRITTEN
        tree = tree[item]
    return tree


_DATA_KEYS = frozenset({"tags", "attributes", "options", "dockerLabels", "systemControls"})
"""Mappings whose keys are data (a tag key `Team`, an attribute key), never field names."""


def spec_form(value: Any, written: Any, path: Sequence[Any] = ()) -> Any:
    """`value` in the spec's field names and casing. Kinds compare some objects in the API's
    shape (a scaling policy's `TargetTrackingScalingPolicyConfiguration`, a listener keyed by its
    port); such an object is shown as the spec writes it (`written`) when the spec has it, else
    with the API's PascalCase keys in camelCase, which is how the spec spells every API field.
    `path` is where the value is written: below `tags` or `attributes` keys are data, kept."""
    if any(_camel(item) in _DATA_KEYS for item in path) or not _api_shaped(value):
        return value
    if not isinstance(written, _Absent):
        return written
    return _camel_keys(value)


def _api_shaped(value: Any) -> bool:
    if isinstance(value, Mapping):
        return any(isinstance(key, str) and key[:1].isupper() for key in value) or any(
            _api_shaped(item) for key, item in value.items() if _camel(key) not in _DATA_KEYS
        )
    if isinstance(value, list | tuple):
        return any(_api_shaped(item) for item in value)
    return False


def _camel_keys(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {
            _camel(key): item if _camel(key) in _DATA_KEYS else _camel_keys(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_camel_keys(item) for item in value]
    return value


def _camel(key: Any) -> Any:
    if isinstance(key, str) and key[:1].isupper() and key.isidentifier():
        return key[:1].lower() + key[1:]
    return key


MASK = "***"


def _secret(name: Any) -> bool:
    return isinstance(name, str) and secret_name(name)


def mask_secrets(value: Any, path: Sequence[Any] = ()) -> Any:
    """`value` with every secret-looking value replaced: the whole value when its path names a
    secret (an environment variable `DB_PASSWORD`), else any key, or `{name, value}` pair, inside
    it that does. Reports go to logs, webhooks and pull requests; plain-text secrets in a task
    definition's environment must not follow them there."""
    if is_fingerprint(value):
        return value  # already stands in for the value, and shows that it changed
    if any(_secret(item) for item in path):
        return None if value is None else MASK
    if isinstance(value, Mapping):
        if _secret(value.get("name")) and "value" in value and not is_fingerprint(value["value"]):
            return {**value, "value": MASK}
        return {
            key: MASK
            if _secret(key) and item is not None and not is_fingerprint(item)
            else mask_secrets(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [mask_secrets(item) for item in value]
    return value


def plain(value: Any, outputs: Mapping[ResourceKey, Mapping[str, Any]] | None = None) -> Any:
    """JSON-able form; a `Ref` is its value when `outputs` has it, else reads as
    "(known after apply: ...)"."""
    if isinstance(value, Ref):
        known = (outputs or {}).get((value.kind, value.name), {})
        return known[value.output] if value.output in known else str(value)
    if isinstance(value, Mapping):
        return {str(key): plain(item, outputs) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item, outputs) for item in value]
    return value


def field_as_json(field: FieldReport) -> dict[str, Any]:
    return {**asdict(field), "change": field.change}


def report_as_json(reports: Sequence[ResourceReport]) -> list[dict[str, Any]]:
    return [
        {**asdict(report), "fields": [field_as_json(field) for field in report.fields]} for report in reports
    ]


_SYMBOLS = {
    Action.CREATE.value: "+",
    Action.UPDATE.value: "~",
    Action.REPLACE.value: "±",
    Action.DELETE.value: "-",
    Action.CONFLICT.value: "!",
    Action.WAITING.value: "…",
    Action.PAUSED.value: "‖",
    Action.PERPETUAL_DIFF.value: "∞",
    Action.NONE.value: "=",
}
_COLOURS = {
    "+": "32",
    "~": "33",
    "±": "35",
    "-": "31",
    "!": "31;1",
    "…": "36",
    "‖": "2",
    "=": "2",
    "∞": "31;1",
}
_FIELD_SYMBOLS = {"add": "+", "remove": "-", "update": "~"}

_PLANNED = {
    Action.CREATE.value: "to create",
    Action.UPDATE.value: "to update",
    Action.REPLACE.value: "to replace",
    Action.DELETE.value: "to delete",
    Action.CONFLICT.value: "conflict",
    Action.WAITING.value: "waiting",
    Action.PAUSED.value: "paused",
    Action.PERPETUAL_DIFF.value: "perpetual-diff",
    Action.NONE.value: "in-sync",
}
"""What a plan says it will do to a resource. Whether a planned update undoes drift or applies an
edit of the document is its status (`drifted` or `changed`, from the spec hash the resource
carries): `_label` and the summary say so."""

DRIFTED = "drifted"
"""The summary's label for a drifted resource: counted apart from `to update`, which counts what
git changed."""

CHANGES_HEADING = "changed in git, not yet applied"
"""Where the drift report lists changes apart from drift: they are what git asks for, not drift."""

_SUMMARY_ORDER = (
    Action.CREATE,
    Action.UPDATE,
    DRIFTED,
    Action.REPLACE,
    Action.DELETE,
    Action.CONFLICT,
    Action.WAITING,
    Action.PERPETUAL_DIFF,
    Action.PAUSED,
)


@dataclass(frozen=True)
class Summary:
    """How many resources each action (a plan) or outcome (an apply) concerns: the one line under
    every text and markdown report, and the `summary` of the JSON output."""

    counts: Mapping[str, int]
    """By `_PLANNED` label (`to create`, ...) or by outcome (`created`, ...), in reading order;
    only non-zero counts."""
    resources: int
    in_sync: int

    @property
    def text(self) -> str:
        if not self.counts:
            return f"in sync: {self.resources} resource{'' if self.resources == 1 else 's'}"
        return ", ".join(f"{count} {label}" for label, count in self.counts.items())

    def as_json(self) -> dict[str, Any]:
        counts = {_json_key(label): count for label, count in self.counts.items()}
        return {"text": self.text, "resources": self.resources, "inSync": self.in_sync, **counts}


def _json_key(label: str) -> str:
    """`to create` → `toCreate`, `perpetual-diff` → `perpetualDiff`."""
    first, *rest = label.replace("-", " ").split()
    return first + "".join(word.capitalize() for word in rest)


def summarise(reports: Sequence[ResourceReport], *, applied: bool = False) -> Summary:
    """A plan's summary (`3 to create, 2 to update, 1 to delete`), or with `applied` what an apply
    did (`3 created, 1 failed`) followed by what it still plans (conflicts, waiting, held)."""
    counts: dict[str, int] = {}
    for label in (
        *("created", "updated", "replaced", "deleted", "failed", "held"),
        *(_PLANNED.get(str(action), str(action)) for action in _SUMMARY_ORDER),
    ):
        matching = [report for report in reports if _summary_label(report, applied=applied) == label]
        if matching:
            counts[label] = len(matching)
    in_sync = sum(1 for report in reports if _summary_label(report, applied=applied) == "")
    return Summary(counts=counts, resources=len(reports), in_sync=in_sync)


def _summary_label(report: ResourceReport, *, applied: bool) -> str:
    if applied:
        if report.outcome:
            return report.outcome
        if report.action in (
            Action.CREATE.value,
            Action.UPDATE.value,
            Action.REPLACE.value,
            Action.DELETE.value,
        ):
            return ""  # planned, but nothing was issued (a dependency held it back: in the errors)
    if report.action == Action.NONE.value:
        return ""
    if report.drifted and report.action in (Action.UPDATE.value, Action.REPLACE.value):
        return DRIFTED
    return _PLANNED.get(report.action, report.action)


def _value(value: Any) -> str:
    return json.dumps(value, sort_keys=False, default=str) if not isinstance(value, str) else value


def _label(report: ResourceReport) -> str:
    planned = _PLANNED.get(report.action, report.status)
    if report.drifted and report.action != Action.PERPETUAL_DIFF.value:
        planned = f"{DRIFTED}, {planned}"
    label = report.outcome or planned
    if report.report_only and report.action != Action.NONE.value and report.outcome in ("", "held"):
        label = f"{planned}, report only"
    return label


def _shown(report: ResourceReport, *, show_in_sync: bool = False) -> bool:
    return (
        report.status != Status.IN_SYNC.value
        or bool(report.warnings or report.notes or report.outcome)
        or show_in_sync
    )


def _changes_apart(reports: Sequence[ResourceReport]) -> tuple[list[ResourceReport], list[ResourceReport]]:
    """A drift report's resources: everything but the changes, then the changes (git moved)."""
    changes = [report for report in reports if report.status == Status.CHANGED.value and not report.outcome]
    return [report for report in reports if report not in changes], changes


def render_text(
    reports: Sequence[ResourceReport],
    *,
    colour: bool = False,
    show_in_sync: bool = False,
    changes_apart: bool = False,
) -> str:
    """A reviewed diff, grouped by resource: one header line each with `+`/`-`/`~` and what is
    (or was) done to it, then each field with its own `+`/`-`/`~`, then the calls. With
    `changes_apart` (the drift report), changes of the documents come last, under their own
    heading: they are what git asks for, not drift."""
    if changes_apart:
        drift, changes = _changes_apart(reports)
        text = render_text(drift, colour=colour, show_in_sync=show_in_sync)
        if not changes:
            return text
        listed = render_text(changes, colour=colour)
        return "\n".join(part for part in (text, f"{CHANGES_HEADING}:", listed) if part)
    lines: list[str] = []
    for report in reports:
        if not _shown(report, show_in_sync=show_in_sync):
            continue
        symbol = _SYMBOLS.get(report.action, "?")
        header = f"{symbol} {report.kind}/{report.name}  ({_label(report)})"
        if report.file:
            header += f"  {report.file}:{report.line}"
        lines.append(f"\x1b[{_COLOURS[symbol]}m{header}\x1b[0m" if colour else header)
        if report.message:
            lines.append(f"    {report.message}")
        for warning in report.warnings:
            lines.append(f"    warning: {warning}")
        lines.extend(f"    note: {note}" for note in report.notes)
        lines.extend(f"    {render_field(field)}" for field in report.fields)
        if report.calls and not report.report_only:
            lines.append(f"    calls: {', '.join(report.calls)}")
    return "\n".join(lines)


def render_field(field: FieldReport) -> str:
    """`+ path: desired`, `- path: live` or `~ path: live → desired`, with the spec line."""
    where = f"  (line {field.line})" if field.line else ""
    symbol = _FIELD_SYMBOLS[field.change]
    if field.change == "add":
        return f"{symbol} {field.path}: {_value(field.desired)}{where}"
    if field.change == "remove":
        return f"{symbol} {field.path}: {_value(field.live)}{where}"
    return f"{symbol} {field.path}: {_value(field.live)} → {_value(field.desired)}{where}"


def render_markdown(reports: Sequence[ResourceReport], *, title: str = "drift") -> str:
    """A plan or drift report to paste into a pull request: the summary, then one row per field.
    A drift report (`title` starting with `drift`) lists the changes of the documents apart, under
    their own heading, after the drift."""
    heading = f"### ecs-reconciler {title}"
    summary = summarise(reports, applied=title == "apply")
    drift_report = title.startswith("drift")
    drift, changes = _changes_apart(reports) if drift_report else (list(reports), [])
    shown = [report for report in drift if _shown(report)]
    if not shown and not changes:
        what = "No drift" if drift_report else "No changes"
        return f"{heading}\n\n{what}: every resource matches its spec ({summary.text}).\n"
    lines = [heading, "", f"**{summary.text}**", ""]
    if shown:
        lines += _markdown_table(shown)
    else:
        lines.append("No drift: AWS is as the documents were when last applied.")
    if changes:
        lines += [
            "",
            f"#### {CHANGES_HEADING[:1].upper()}{CHANGES_HEADING[1:]}",
            "",
            *_markdown_table(changes),
        ]
    return "\n".join(lines) + "\n"


def _markdown_table(shown: Sequence[ResourceReport]) -> list[str]:
    lines = [
        "| | resource | status | field | live | desired | spec |",
        "|---|---|---|---|---|---|---|",
    ]
    for report in shown:
        symbol = _SYMBOLS.get(report.action, "?")
        resource = f"{report.kind}/{report.name}"
        label = _label(report)
        where = f"`{report.file}:{report.line}`" if report.file else ""
        if not report.fields:
            detail = report.message or "; ".join(
                [
                    *(f"warning: {warning}" for warning in report.warnings),
                    *(f"note: {n}" for n in report.notes),
                ]
            )
            lines.append(f"| {_cell(symbol)} | {resource} | {label} | {_cell(detail)} |  |  | {where} |")
        elif report.notes:
            detail = "; ".join(f"note: {note}" for note in report.notes)
            lines.append(f"| {_cell(symbol)} | {resource} | {label} | {_cell(detail)} |  |  | {where} |")
        for field in report.fields:
            live = "" if field.change == "add" else _code(_value(field.live))
            desired = "" if field.change == "remove" else _code(_value(field.desired))
            lines.append(
                f"| {_FIELD_SYMBOLS[field.change]} | {resource} | {label} | `{field.path}` "
                f"| {live} | {desired} | `{field.file}:{field.line}` |"
            )
    return lines


def _code(text: str) -> str:
    return f"`{_cell(text)}`" if text else ""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
