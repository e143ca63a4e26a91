"""Plans as reports: the drift report's values and their text, JSON and markdown forms.

Used by the CLI (`plan`, `apply`, `drift`) and the daemon (`/drift`, `/status`). Pure: it reads a
plan and the spec set (for file and line), nothing else.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from reconciler.plan.delta import format_path
from reconciler.plan.steps import Action, Plan, Ref, ResourcePlan
from reconciler.spec import SpecSet
from reconciler.spec.secrets import ANNOTATION_SHOW_VALUES, is_fingerprint, mask_text, protect, secret_name


@dataclass(frozen=True)
class FieldReport:
    path: str
    desired: Any
    live: Any
    owner: str
    file: str
    line: int


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


def build_report(plan: Plan, spec_set: SpecSet | None) -> list[ResourceReport]:
    return [_resource_report(resource, spec_set) for resource in plan]


def _resource_report(resource: ResourcePlan, spec_set: SpecSet | None) -> ResourceReport:
    document = spec_set.get(resource.kind, resource.name) if spec_set is not None else None
    show_values = document is not None and (
        document.metadata.annotations.get(ANNOTATION_SHOW_VALUES, "false").lower() == "true"
    )

    def shown(value: Any, path: Sequence[Any]) -> Any:
        # One place for every output: text, JSON, markdown, /status, /drift, logs and webhooks are
        # all built from these reports.
        return mask_secrets(protect(plain(value), path, show_values=show_values), path)

    file = document.file if document is not None else ""
    line = document.line if document is not None else 0
    # Named and placed as the spec writes the field (a list item by its index, camelCase keys), not
    # by the kind's identity path, so a reader finds the line they wrote.
    fields = tuple(
        FieldReport(
            path=format_path(diff.written_path),
            desired=shown(diff.desired, diff.path),
            live=shown(diff.live, diff.path),
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
    )


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


def plain(value: Any) -> Any:
    """JSON-able form; a `Ref` reads as "(known after apply: ...)"."""
    if isinstance(value, Ref):
        return str(value)
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


def report_as_json(reports: Sequence[ResourceReport]) -> list[dict[str, Any]]:
    return [asdict(report) for report in reports]


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


def _value(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str) if not isinstance(value, str) else value


def render_text(
    reports: Sequence[ResourceReport], *, colour: bool = False, show_in_sync: bool = False
) -> str:
    """A reviewed diff, grouped by resource: one header line each, then its fields and calls."""
    lines: list[str] = []
    for report in reports:
        if report.status == "in-sync" and not report.warnings and not show_in_sync:
            continue
        symbol = _SYMBOLS.get(report.action, "?")
        header = f"{symbol} {report.kind}/{report.name}  ({report.status}"
        header += ", report only)" if report.report_only and report.action != Action.NONE.value else ")"
        if report.file:
            header += f"  {report.file}:{report.line}"
        lines.append(f"\x1b[{_COLOURS[symbol]}m{header}\x1b[0m" if colour else header)
        if report.message:
            lines.append(f"    {report.message}")
        for warning in report.warnings:
            lines.append(f"    warning: {warning}")
        for field in report.fields:
            where = f"  (line {field.line})" if field.line else ""
            if field.live is None and not field.path and isinstance(field.desired, dict):
                # A new object: its fields, one a line, read better than one blob.
                lines.extend(f"    + {key}: {_value(value)}" for key, value in field.desired.items())
                continue
            if field.live is None:
                lines.append(f"    + {field.path}: {_value(field.desired)}{where}")
                continue
            lines.append(f"    {field.path}: {_value(field.live)} → {_value(field.desired)}{where}")
        if report.calls and not report.report_only:
            lines.append(f"    calls: {', '.join(report.calls)}")
    return "\n".join(lines)


def render_markdown(reports: Sequence[ResourceReport]) -> str:
    """A drift report to paste into a pull request."""
    drifted = [report for report in reports if report.status != "in-sync" or report.warnings]
    if not drifted:
        return "### ecs-reconciler drift\n\nNo drift: every resource matches its spec.\n"
    lines = [
        "### ecs-reconciler drift",
        "",
        "| resource | status | field | live | desired | spec |",
        "|---|---|---|---|---|---|",
    ]
    for report in drifted:
        where = f"`{report.file}:{report.line}`" if report.file else ""
        if not report.fields:
            detail = report.message or "; ".join(report.warnings)
            lines.append(
                f"| {report.kind}/{report.name} | {report.status} | {_cell(detail)} |  |  | {where} |"
            )
        for field in report.fields:
            lines.append(
                f"| {report.kind}/{report.name} | {report.status} | `{field.path}` "
                f"| {_cell(_value(field.live))} | {_cell(_value(field.desired))} "
                f"| `{field.file}:{field.line}` |"
            )
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
