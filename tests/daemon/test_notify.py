"""Webhook notifications against a real aiohttp receiver on 127.0.0.1 (a random port)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import aiohttp
import pytest
from aiohttp import web
from structlog.testing import capture_logs

from reconciler.daemon.notify import (
    NotificationEvent,
    TargetNotifier,
    WebhookNotifier,
    render_payload,
    render_text,
)
from reconciler.engine.report import FieldReport, ResourceReport

T = TypeVar("T")

SECRET = "T0000-B0000-s3cr3t-t0ken"
NOW = 1_700_000_000.0
DRIFT_TEXT = ":warning: Service/node-app drifted: desiredCount 3 → 1 (specs/node-app/service.yaml:12)"


def run(body: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        return await body()

    return asyncio.run(main())


class Receiver:
    """Records posted bodies; answers the first requests with `statuses`, then 200."""

    def __init__(self, statuses: tuple[int, ...] = ()) -> None:
        self.statuses = list(statuses)
        self.attempts = 0
        self.posts: list[dict[str, Any]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.attempts += 1
        await self.gate.wait()
        if self.statuses:
            return web.Response(status=self.statuses.pop(0))
        self.posts.append(await request.json())
        return web.Response(text="ok")


@contextlib.asynccontextmanager
async def receiver(statuses: tuple[int, ...] = ()) -> AsyncIterator[Receiver]:
    state = Receiver(statuses)
    app = web.Application()
    app.router.add_post("/services/{token}", state.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    state.url = f"http://{host}:{port}/services/{SECRET}"
    try:
        yield state
    finally:
        state.gate.set()  # no handler may be left waiting
        await runner.cleanup()


def drifted(name: str = "node-app", **overrides: Any) -> NotificationEvent:
    values: dict[str, Any] = {
        "event": "drifted",
        "kind": "Service",
        "name": name,
        "fields": (
            FieldReport(
                path="desiredCount",
                desired=3,
                live=1,
                owner="spec",
                file="specs/node-app/service.yaml",
                line=12,
            ),
        ),
        "revision": "4f1c2e0",
    }
    values.update(overrides)
    return NotificationEvent(**values)


def test_an_event_is_posted_as_json_with_a_slack_text_line() -> None:
    async def body() -> None:
        async with receiver() as hook, WebhookNotifier(hook.url, clock=lambda: NOW) as notifier:
            notifier.notify(drifted())
            await notifier.close()
            assert notifier.delivered == 1
        assert hook.posts == [
            {
                "event": "drifted",
                "kind": "Service",
                "name": "node-app",
                "message": "",
                "fields": [
                    {
                        "path": "desiredCount",
                        "desired": 3,
                        "live": 1,
                        "owner": "spec",
                        "file": "specs/node-app/service.yaml",
                        "line": 12,
                    }
                ],
                "revision": "4f1c2e0",
                "instance": "default",
                "target": None,
                "at": "2023-11-14T22:13:20.000Z",
                "text": DRIFT_TEXT,
            }
        ]

    run(body)


def drifted_report() -> ResourceReport:
    """What the controller hands a notifier about a drifted service."""
    return ResourceReport(
        kind="Service",
        name="node-app",
        status="drifted",
        action="update",
        file="specs/node-app/service.yaml",
        line=1,
        message="",
        warnings=(),
        fields=drifted().fields,
        calls=("ecs.UpdateService",),
        report_only=True,
    )


def test_the_controller_notifies_with_a_resource_report() -> None:
    report = drifted_report()

    async def body() -> None:
        async with receiver() as hook:
            notifier = WebhookNotifier(hook.url, instance="eu", clock=lambda: NOW)
            notifier.notify_event("drifted", report, message="", revision="4f1c2e0")
            with pytest.raises(ValueError):
                notifier.notify_event("exploded", report, message="", revision="4f1c2e0")
            await notifier.close()
        (post,) = hook.posts
        assert post["instance"] == "eu"
        assert post["revision"] == "4f1c2e0"
        assert post["fields"][0]["path"] == "desiredCount"
        assert post["text"] == DRIFT_TEXT.replace("drifted:", "drifted [eu]:")
        assert post["target"] is None

    run(body)


def test_a_targets_events_name_the_target() -> None:
    """The same document name may be deployed to several Targets: the event says which."""
    report = drifted_report()

    async def body() -> None:
        async with receiver() as hook:
            notifier = WebhookNotifier(hook.url, clock=lambda: NOW)
            TargetNotifier(notifier, "team-a-prod").notify_event("drifted", report, message="", revision="r")
            await notifier.close()
        (post,) = hook.posts
        assert post["target"] == "team-a-prod"
        assert post["text"] == DRIFT_TEXT.replace("drifted:", "drifted in team-a-prod:")

    run(body)


def test_server_errors_are_retried_until_delivered_and_a_given_session_stays_open() -> None:
    async def body() -> None:
        async with receiver(statuses=(500, 503)) as hook, aiohttp.ClientSession() as session:
            notifier = WebhookNotifier(hook.url, session=session, retries=3, backoff=0.01)
            with capture_logs() as logs:
                notifier.notify(drifted())
                await notifier.close()
            assert (hook.attempts, notifier.delivered, notifier.failed) == (3, 1, 0)
            assert [log["problem"] for log in logs if log["event"] == "notification_retry"] == [
                "HTTP 500",
                "HTTP 503",
            ]
            assert not session.closed
        assert len(hook.posts) == 1

    run(body)


def test_an_event_is_dropped_after_the_last_retry_and_the_logs_never_show_the_url() -> None:
    async def body() -> None:
        async with receiver(statuses=(500,) * 10) as hook:
            notifier = WebhookNotifier(hook.url, retries=2, backoff=0.01)
            with capture_logs() as logs:
                notifier.notify(drifted())
                await notifier.close()
            assert (hook.attempts, notifier.delivered, notifier.failed) == (3, 0, 1)
            (dropped,) = [log for log in logs if log["event"] == "notification_dropped"]
            assert dropped["attempts"] == 3
            assert dropped["destination"] == notifier.destination
            assert SECRET not in repr(logs)

    run(body)


def test_a_refused_event_is_not_retried() -> None:
    async def body() -> None:
        async with receiver(statuses=(400,)) as hook:
            notifier = WebhookNotifier(hook.url, retries=3, backoff=0.01)
            notifier.notify(drifted())
            await notifier.close()
            assert (hook.attempts, notifier.failed) == (1, 1)

    run(body)


def test_connection_errors_are_retried_then_dropped() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens on the port any more: every attempt is refused.

    async def body() -> None:
        notifier = WebhookNotifier(f"http://127.0.0.1:{port}/services/{SECRET}", retries=2, backoff=0.01)
        with capture_logs() as logs:
            notifier.notify(drifted())
            await notifier.close()
        assert (notifier.delivered, notifier.failed) == (0, 1)
        assert len([log for log in logs if log["event"] == "notification_retry"]) == 2
        assert SECRET not in repr(logs)

    run(body)


def test_notify_returns_at_once_while_the_receiver_is_slow() -> None:
    async def body() -> None:
        async with receiver() as hook:
            hook.gate.clear()
            notifier = WebhookNotifier(hook.url)
            loop = asyncio.get_running_loop()
            started = loop.time()
            for index in range(20):
                notifier.notify(drifted(f"service-{index}"))
                await asyncio.sleep(0)  # let the background post start and block
            assert loop.time() - started < 0.1
            assert hook.attempts == 1
            hook.gate.set()
            await notifier.close()
            assert [post["name"] for post in hook.posts] == [f"service-{index}" for index in range(20)]

    run(body)


def test_when_the_queue_is_full_the_oldest_events_are_dropped_and_counted() -> None:
    async def body() -> None:
        async with receiver() as hook:
            hook.gate.clear()
            notifier = WebhookNotifier(hook.url, queue_size=2)
            for index in range(5):
                notifier.notify(drifted(f"service-{index}"))
            assert (notifier.dropped, notifier.pending) == (3, 2)
            hook.gate.set()
            await notifier.close()
            assert [post["name"] for post in hook.posts] == ["service-3", "service-4"]

    run(body)


def test_close_gives_up_on_a_stuck_receiver_within_its_bound() -> None:
    async def body() -> None:
        async with receiver() as hook:
            hook.gate.clear()
            notifier = WebhookNotifier(hook.url, flush_timeout=0.2)
            notifier.notify(drifted("first"))
            notifier.notify(drifted("second"))
            loop = asyncio.get_running_loop()
            started = loop.time()
            await notifier.close()
            assert loop.time() - started < 1.0
            assert (notifier.delivered, notifier.dropped) == (0, 2)
            notifier.notify(drifted("after close"))
            assert notifier.dropped == 3

    run(body)


@pytest.mark.parametrize(
    ("event", "text"),
    [
        (
            drifted(),
            ":warning: Service/node-app drifted: desiredCount 3 → 1 (specs/node-app/service.yaml:12)",
        ),
        (
            drifted(event="healed"),
            ":white_check_mark: Service/node-app healed: desiredCount 1 → 3 (specs/node-app/service.yaml:12)",
        ),
        (
            NotificationEvent(event="failed", kind="Cluster", name="web", message="AccessDenied:\nno <b>"),
            ":x: Cluster/web failed: AccessDenied: no &lt;b&gt;",
        ),
        (
            NotificationEvent(
                event="rollout_failed", kind="Service", name="api", message="circuit breaker", instance="eu"
            ),
            ":rotating_light: Service/api rollout failed [eu]: circuit breaker",
        ),
        (NotificationEvent(event="drifted", kind="Service", name="api"), ":warning: Service/api drifted"),
        (
            drifted(
                fields=tuple(
                    FieldReport(path=f"f{index}", desired=None, live="x" * 100, owner="spec", file="", line=0)
                    for index in range(5)
                )
            ),
            ":warning: Service/node-app drifted: "
            + "; ".join([f"f{index} (unset) → {'x' * 59}…" for index in range(3)])
            + "; and 2 more",
        ),
        (
            drifted(
                fields=(
                    FieldReport(
                        path="tags", desired={"team": "web"}, live={}, owner="spec", file="s.yaml", line=0
                    ),
                )
            ),
            ':warning: Service/node-app drifted: tags {"team": "web"} → {} (s.yaml)',
        ),
    ],
)
def test_the_text_line_reads_well_for_each_event(event: NotificationEvent, text: str) -> None:
    assert render_text(event) == text


def test_an_event_keeps_its_own_time() -> None:
    payload = render_payload(drifted(at=0.5), at=NOW)
    assert payload["at"] == "1970-01-01T00:00:00.500Z"


@pytest.mark.parametrize("url", ["", "ftp://host/x", "hooks.slack.com/services/x", "http:///path"])
def test_a_webhook_url_must_be_http_with_a_host(url: str) -> None:
    with pytest.raises(ValueError) as raised:
        WebhookNotifier(url)
    assert url not in str(raised.value) or not url
