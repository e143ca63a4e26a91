"""Drift notifications: post what the daemon saw (drift, heals, failures) to a webhook.

The controller loop (`ecs-reconciler run --notify-webhook URL`) calls `WebhookNotifier.notify`
whenever a resource drifts, is healed, fails or a rollout fails. `notify` never waits: events go
on a bounded queue that one background task posts from, so a slow or dead receiver can never
hold up reconciling. When the queue is full the oldest event is dropped (and counted); a post
that keeps failing is retried with exponential backoff, then dropped (and counted, and logged).

The JSON body carries the event's fields for programs, plus a one-line `text` that Slack (and
Mattermost, Teams' Slack-compatible hooks, ...) show as the message:

    {"event": "drifted", "kind": "Service", "name": "node-app", "message": "",
     "fields": [{"path": "desiredCount", "desired": 3, "live": 1, "owner": "...",
                 "file": "specs/node-app/service.yaml", "line": 12}],
     "revision": "4f1c2e...", "instance": "default", "target": null, "at": "2024-05-01T12:00:00.000Z",
     "text": ":warning: Service/node-app drifted: desiredCount 3 → 1 (specs/node-app/service.yaml:12)"}

Webhook URLs are secrets (Slack's carry the token in the path): logs name only the host.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Literal, Self, cast, get_args
from urllib.parse import urlsplit

import aiohttp
import structlog

from reconciler.engine.report import FieldReport, ResourceReport
from reconciler.spec.secrets import mask_mapping

_log = structlog.get_logger(__name__)

EventName = Literal["drifted", "healed", "failed", "rollout_failed", "perpetual_diff"]

_ICONS: dict[str, str] = {
    "drifted": ":warning:",
    "healed": ":white_check_mark:",
    "failed": ":x:",
    "rollout_failed": ":rotating_light:",
    "perpetual_diff": ":repeat:",
}
_VERBS: dict[str, str] = {
    "drifted": "drifted",
    "healed": "healed",
    "failed": "failed",
    "rollout_failed": "rollout failed",
    "perpetual_diff": "has a perpetual diff; writes to it stopped",
}
_FIELDS_IN_TEXT = 3
_VALUE_WIDTH = 60


@dataclass(frozen=True, kw_only=True)
class NotificationEvent:
    """Something about one resource that people should hear of."""

    event: EventName
    kind: str
    name: str
    message: str = ""
    """Why, for `failed` and `rollout_failed` (the error, the stopped deployment); optional
    otherwise."""
    fields: tuple[FieldReport, ...] = ()
    """The fields that differ (`drifted`) or were put back (`healed`), as in the drift report."""
    revision: str = ""
    """The spec revision in force (commit SHA or content hash)."""
    instance: str = "default"
    """The reconciler instance (`--instance`) that saw it."""
    target: str | None = None
    """The Target (namespace) the resource is in; None for the daemon's own account."""
    at: float | None = None
    """Epoch seconds; None: when `notify` was called."""


def render_text(event: NotificationEvent) -> str:
    """The one-line, Slack-formatted summary of `event` (the payload's `text`)."""
    head = f"{_ICONS[event.event]} {event.kind}/{event.name} {_VERBS[event.event]}"
    if event.instance != "default":
        head += f" [{event.instance}]"
    if event.target is not None:
        head += f" in {event.target}"
    details = [
        _render_field(field, healed=event.event == "healed") for field in event.fields[:_FIELDS_IN_TEXT]
    ]
    if len(event.fields) > _FIELDS_IN_TEXT:
        details.append(f"and {len(event.fields) - _FIELDS_IN_TEXT} more")
    if event.message and (event.event in ("failed", "rollout_failed", "perpetual_diff") or not details):
        details.insert(0, event.message)
    text = f"{head}: {'; '.join(details)}" if details else head
    return _slack_escape(" ".join(text.split()))


def render_payload(event: NotificationEvent, *, at: float) -> dict[str, Any]:
    """The JSON body posted for `event`, stamped `at` (epoch seconds) unless it carries a time."""
    stamp = event.at if event.at is not None else at
    # The fields come from reports, already protected; a message may quote an AWS error.
    return mask_mapping(
        {
            "event": event.event,
            "kind": event.kind,
            "name": event.name,
            "message": event.message,
            "fields": [asdict(field) for field in event.fields],
            "revision": event.revision,
            "instance": event.instance,
            "target": event.target,
            "at": datetime.fromtimestamp(stamp, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "text": render_text(event),
        }
    )


def _render_field(field: FieldReport, *, healed: bool) -> str:
    # Drift reads "was desired → is now"; a heal reads "was → put back to".
    before, after = (field.live, field.desired) if healed else (field.desired, field.live)
    text = f"{field.path} {_render_value(before)} → {_render_value(after)}"
    if field.file:
        text += f" ({field.file}:{field.line})" if field.line else f" ({field.file})"
    return text


def _render_value(value: Any) -> str:
    if value is None:
        return "(unset)"
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= _VALUE_WIDTH else text[: _VALUE_WIDTH - 1] + "…"


def _slack_escape(text: str) -> str:
    # Slack reads <...> as links and mentions; these three are all it asks to escape.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class WebhookNotifier:
    """Posts `NotificationEvent`s to one webhook URL, in the background, in order.

    `session`: an aiohttp session to post with (kept open); None: the notifier opens its own and
    closes it in `close`. `retries`: further attempts after a failed first one (connection
    errors, timeouts, HTTP 429 and 5xx; other statuses are not retried). `timeout`: seconds per
    attempt. `backoff`: seconds before the first retry, doubling up to `max_backoff` (a 429's
    Retry-After is honoured within that bound). `queue_size`: events waiting at most.
    `flush_timeout`: seconds `close` keeps posting what is queued. `instance`: the reconciler
    instance named in events built by `notify_event`. `clock`: epoch seconds, to stamp events.

    Use from one event loop; `notify` must be called from it. Use as an async context manager,
    or call `close()` when done.
    """

    def __init__(
        self,
        url: str,
        *,
        session: aiohttp.ClientSession | None = None,
        retries: int = 3,
        timeout: float = 10.0,
        backoff: float = 1.0,
        max_backoff: float = 30.0,
        queue_size: int = 1000,
        flush_timeout: float = 5.0,
        instance: str = "default",
        clock: Callable[[], float] = time.time,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            # The URL is a secret: say what is wrong without echoing it.
            raise ValueError("the webhook URL must be an http:// or https:// URL with a host")
        if retries < 0 or timeout <= 0 or backoff < 0 or queue_size < 1:
            raise ValueError("retries and backoff must be >= 0, timeout > 0, queue_size >= 1")
        self._url = url
        self.destination = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
        """The receiving host, safe to log and show; the full URL never is."""
        self._session = session
        self._own_session = session is None
        self._retries = retries
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._flush_timeout = flush_timeout
        self._instance = instance
        self._clock = clock
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=queue_size)
        self._worker: asyncio.Task[None] | None = None
        self._closed = False
        self.delivered = 0
        """Events the receiver accepted."""
        self.dropped = 0
        """Events dropped unsent: the queue was full (the oldest goes), or the notifier closed."""
        self.failed = 0
        """Events given up after the last retry or refused by the receiver."""

    @property
    def pending(self) -> int:
        """Events queued and not yet being posted."""
        return self._queue.qsize()

    def notify_event(
        self, event: str, report: ResourceReport, *, message: str, revision: str, target: str | None = None
    ) -> None:
        """`notify` as the controller calls it: `event` about the resource of `report`, in the
        Target `target` (None: the daemon's own account).

        Raises ValueError for an event name that is not an `EventName`.
        """
        if event not in get_args(EventName):
            raise ValueError(f"unknown notification event {event!r}")
        self.notify(
            NotificationEvent(
                event=cast(EventName, event),
                kind=report.kind,
                name=report.name,
                message=message,
                fields=report.fields,
                revision=revision,
                instance=self._instance,
                target=target,
            )
        )

    def notify(self, event: NotificationEvent) -> None:
        """Queue `event` for posting and return at once; never raises for delivery problems."""
        if self._closed:
            self.dropped += 1
            _log.debug(
                "notification_dropped",
                reason="closed",
                notification=event.event,
                kind=event.kind,
                name=event.name,
            )
            return
        payload = render_payload(event, at=self._clock())
        if self._queue.full():
            oldest = self._queue.get_nowait()
            self._queue.task_done()
            self.dropped += 1
            _log.warning(
                "notification_dropped",
                reason="queue full",
                notification=oldest["event"],
                kind=oldest["kind"],
                name=oldest["name"],
                destination=self.destination,
            )
        self._queue.put_nowait(payload)
        if self._worker is None:
            self._worker = asyncio.get_running_loop().create_task(self._post_all(), name="webhook-notifier")

    async def close(self) -> None:
        """Post what is queued for up to `flush_timeout` seconds, then stop; idempotent.

        Events still unsent then are dropped and counted. Closes the session if it is our own.
        """
        if self._closed:
            return
        self._closed = True
        worker, self._worker = self._worker, None
        if worker is not None:
            try:
                async with asyncio.timeout(self._flush_timeout):
                    await self._queue.join()
            except TimeoutError:
                unsent = self._queue.qsize() + 1  # and the one being posted
                self.dropped += unsent
                _log.warning("notifications_unsent", count=unsent, destination=self.destination)
            worker.cancel()
            await asyncio.wait({worker})
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def _post_all(self) -> None:
        while True:
            payload = await self._queue.get()
            try:
                await self._deliver(payload)
            except Exception:
                # The one catch-all of the background task: a bug here must not stop later
                # notifications; CancelledError still propagates.
                self.failed += 1
                _log.exception(
                    "notification_failed", notification=payload["event"], destination=self.destination
                )
            finally:
                self._queue.task_done()

    async def _deliver(self, payload: dict[str, Any]) -> None:
        body = json.dumps(payload, default=str).encode()
        for attempt in range(self._retries + 1):
            retry_after: float | None = None
            try:
                async with self._open_session().post(
                    self._url,
                    data=body,
                    headers={"Content-Type": "application/json"},
                    timeout=self._timeout,
                ) as response:
                    status = response.status
                    await response.read()
                    if status == 429:
                        retry_after = _seconds(response.headers.get("Retry-After"))
            except (aiohttp.ClientError, TimeoutError) as error:
                problem = type(error).__name__
            else:
                if 200 <= status < 300:
                    self.delivered += 1
                    _log.debug(
                        "notification_delivered", notification=payload["event"], destination=self.destination
                    )
                    return
                problem = f"HTTP {status}"
                if status != 429 and status < 500:
                    self._give_up(payload, problem, attempts=attempt + 1)
                    return
            if attempt == self._retries:
                break
            delay = min(self._max_backoff, self._backoff * 2**attempt)
            if retry_after is not None:
                delay = min(self._max_backoff, max(delay, retry_after))
            _log.info(
                "notification_retry",
                notification=payload["event"],
                destination=self.destination,
                problem=problem,
                attempt=attempt + 1,
                delay=delay,
            )
            await asyncio.sleep(delay)
        self._give_up(payload, problem, attempts=self._retries + 1)

    def _give_up(self, payload: dict[str, Any], problem: str, *, attempts: int) -> None:
        self.failed += 1
        _log.warning(
            "notification_dropped",
            reason=problem,
            attempts=attempts,
            notification=payload["event"],
            kind=payload["kind"],
            name=payload["name"],
            destination=self.destination,
        )

    def _open_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session


def _seconds(header: str | None) -> float | None:
    try:
        return max(0.0, float(header)) if header is not None else None
    except ValueError:
        return None  # an HTTP date: rare for webhooks, and the backoff still applies


class TargetNotifier:
    """A notifier's events about one Target's resources: each names the Target (the same name may
    be deployed to several)."""

    def __init__(self, notifier: WebhookNotifier, target: str) -> None:
        self._notifier = notifier
        self._target = target

    def notify_event(self, event: str, report: ResourceReport, *, message: str, revision: str) -> None:
        self._notifier.notify_event(event, report, message=message, revision=revision, target=self._target)


__all__ = [
    "EventName",
    "NotificationEvent",
    "TargetNotifier",
    "WebhookNotifier",
    "render_payload",
    "render_text",
]
