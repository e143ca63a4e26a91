"""Log configuration: JSON lines when not on a terminal, short readable lines on one; secrets masked.

Called once at start-up by the CLI (every command) and the daemon. Each reconcile binds
`reconcile_id`, `kind` and `name` through structlog's contextvars, so every line carries them.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Mapping, MutableMapping
from dataclasses import fields
from typing import Any, TextIO, cast

import structlog

from reconciler.engine.report import FieldReport, mask_secrets, render_field
from reconciler.spec.secrets import mask_tree


def _mask_processor(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    masked: MutableMapping[str, Any] = mask_tree(mask_secrets(event_dict))
    return masked


class _CurrentStderr:
    """Standard error as it is when a line is written, not when logging was configured: a caller
    that swaps `sys.stderr` (a test capturing output, a CLI run in-process) must not leave the
    logger writing to a closed stream."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


SHORT_VALUE = 200
"""Characters of one value on a console line; the JSON lines keep every value whole."""


def _short_values(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Values as a person reads them on a terminal: a field delta as `~ path: live → desired`
    lines, any other structure as compact JSON (not a Python repr), each cut to `SHORT_VALUE`."""
    for key, value in event_dict.items():
        if key in ("event", "timestamp", "level", "exc_info", "exception") or isinstance(
            value, str | int | float | bool | None
        ):
            continue
        event_dict[key] = _short(_as_text(value))
    return event_dict


def _as_text(value: Any) -> str:
    if isinstance(value, list | tuple) and value and all(_is_field(item) for item in value):
        return "; ".join(render_field(FieldReport(**item)) for item in value)
    return json.dumps(value, separators=(",", ":"), default=str, ensure_ascii=False)


def _is_field(item: Any) -> bool:
    return isinstance(item, Mapping) and set(item) == _FIELD_KEYS


_FIELD_KEYS = {field.name for field in fields(FieldReport)}


def _short(text: str) -> str:
    return text if len(text) <= SHORT_VALUE else text[: SHORT_VALUE - 1] + "…"


def configure_logging(*, json_lines: bool | None = None, level: str = "info") -> None:
    """`json_lines` None means: JSON unless standard error is a terminal, where lines are
    structlog's console form (`event  key=value ...`) with `_short_values`."""
    as_json = not sys.stderr.isatty() if json_lines is None else json_lines
    renderers: list[Any] = (
        [structlog.processors.JSONRenderer()]
        if as_json
        else [_short_values, structlog.dev.ConsoleRenderer(colors=False)]
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _mask_processor,
            structlog.processors.format_exc_info,
            *renderers,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        logger_factory=structlog.PrintLoggerFactory(file=cast(TextIO, _CurrentStderr())),
        cache_logger_on_first_use=False,
    )
