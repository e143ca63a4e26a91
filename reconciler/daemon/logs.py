"""Log configuration: JSON lines when not on a terminal, readable lines on one; secrets masked.

Called once at start-up by the CLI (every command) and the daemon. Each reconcile binds
`reconcile_id`, `kind` and `name` through structlog's contextvars, so every line carries them.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO, cast

import structlog

from reconciler.engine.report import mask_secrets
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


def configure_logging(*, json_lines: bool | None = None, level: str = "info") -> None:
    """`json_lines` None means: JSON unless standard error is a terminal."""
    as_json = not sys.stderr.isatty() if json_lines is None else json_lines
    renderer: Any = (
        structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _mask_processor,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        logger_factory=structlog.PrintLoggerFactory(file=cast(TextIO, _CurrentStderr())),
        cache_logger_on_first_use=False,
    )
