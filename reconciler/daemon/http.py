"""The daemon's HTTP endpoints: /healthz, /readyz, /metrics, /status and /drift.

Served by aiohttp (already under aiobotocore) on `--listen` (127.0.0.1:8080 by default). Read-only
views of the fleet of controllers (`reconciler.daemon.fleet`); nothing here changes state. Started
and stopped by `reconciler.daemon.run` (`GuardedSite`, `install_rate_limited_loop_errors`).

The server faces the network: 1,100 slow-header connections once held every descriptor of the
process, starving /healthz and the AWS clients, and logged 226 MB of tracebacks. So each
connection must send its headers within `HttpLimits.header_seconds`, connections are capped
below the descriptor limit (the oldest one still sending headers makes room for a new one), and
repeated errors are logged once a minute with a count. With a bearer token, everything that
discloses state (/status, /drift, /metrics) requires it; /healthz and /readyz stay open.
"""

from __future__ import annotations

import asyncio
import hmac
import resource
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from aiohttp import web
from aiohttp.typedefs import Middleware

from reconciler.daemon.fleet import Fleet

_log = structlog.get_logger(__name__)

PROTECTED_PATHS = frozenset({"/status", "/drift", "/metrics"})
"""What a bearer token guards: every endpoint that discloses the estate's state."""


def build_app(
    fleet: Fleet,
    *,
    clock: Callable[[], float],
    liveness_seconds: float,
    leadership_known: Callable[[], bool] = lambda: True,
    token: str | None = None,
) -> web.Application:
    """`liveness_seconds`: how long a loop may go without a heartbeat before /healthz fails.
    `token`: when set, `PROTECTED_PATHS` answer 401 without `Authorization: Bearer TOKEN`."""

    async def healthz(_: web.Request) -> web.Response:
        stalled = clock() - fleet.stalled_since
        if stalled > liveness_seconds:
            return web.json_response({"ok": False, "reason": f"loop stalled for {stalled:.0f} s"}, status=503)
        return web.json_response({"ok": True})

    async def readyz(_: web.Request) -> web.Response:
        ready, reasons = fleet.readiness(leadership_known=leadership_known())
        return web.json_response({"ok": ready, "reasons": reasons}, status=200 if ready else 503)

    async def metrics(_: web.Request) -> web.Response:
        return web.Response(
            text=fleet.metrics_text(),
            content_type="text/plain",
            charset="utf-8",
            headers={"X-Content-Format": "prometheus-0.0.4"},
        )

    async def status(_: web.Request) -> web.Response:
        return web.json_response(fleet.status_json())

    async def drift(request: web.Request) -> web.Response:
        if request.query.get("format") == "markdown":
            return web.Response(text=fleet.drift_markdown(), content_type="text/markdown")
        return web.json_response(fleet.drift_json())

    app = web.Application(middlewares=[_bearer_token(token)] if token else [])
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/status", status)
    app.router.add_get("/drift", drift)
    return app


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _bearer_token(token: str) -> Middleware:
    expected = f"Bearer {token}".encode()

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in PROTECTED_PATHS:
            given = request.headers.get("Authorization", "").encode()
            # Constant time: how much of a guess matched must not show in the answer's timing.
            if not hmac.compare_digest(given, expected):
                return web.json_response(
                    {"ok": False, "reason": "a bearer token is required"},
                    status=401,
                    headers={"WWW-Authenticate": 'Bearer realm="ecs-reconciler"'},
                )
        return await handler(request)

    return check


def default_max_connections(*, reserved: int = 256, cap: int = 512) -> int:
    """Connections the HTTP server admits: half of what the descriptor limit leaves after
    `reserved` (the AWS clients' pools, git, the spec files), at most `cap`; 384 under the
    common `ulimit -n 1024`."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        soft = 65_536
    return max(8, min(cap, (soft - reserved) // 2))


@dataclass(frozen=True)
class HttpLimits:
    header_seconds: float = 10.0
    """A request's headers must be complete this long after its first byte (or the connect)."""
    idle_seconds: float = 15.0
    """A kept-alive connection with no request in flight is closed after this long."""
    max_connections: int = field(default_factory=default_max_connections)
    """Connections open at once; a new one beyond it evicts the oldest still sending headers."""


class RateLimitedLog:
    """Logs each event at most once per `interval` seconds, with how many were held back."""

    def __init__(self, *, interval: float = 60.0, clock: Callable[[], float] | None = None) -> None:
        self._interval = interval
        self._clock = clock
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def warning(self, event: str, **fields: Any) -> bool:
        """Log `event` unless it was logged within the interval; True when logged."""
        now = (self._clock or asyncio.get_running_loop().time)()
        last = self._last.get(event)
        if last is not None and now - last < self._interval:
            self._held[event] = self._held.get(event, 0) + 1
            return False
        self._last[event] = now
        _log.warning(event, suppressed=self._held.pop(event, 0), **fields)
        return True


def install_rate_limited_loop_errors(loop: asyncio.AbstractEventLoop, log: RateLimitedLog) -> None:
    """Route the loop's unhandled errors (a failing `accept()` under descriptor exhaustion among
    them, once 226 MB of identical tracebacks) through `log`: one a minute per message."""

    def handle(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        message = str(context.get("message", "event loop error"))
        error = context.get("exception")
        key = f"{message}: {type(error).__name__}" if error is not None else message
        log.warning(f"event_loop_error: {key}", message=message, error=repr(error))

    loop.set_exception_handler(handle)


class _Guard:
    """The connection table of one server: admission, eviction and the header deadline."""

    def __init__(self, limits: HttpLimits, log: RateLimitedLog) -> None:
        self.limits = limits
        self.log = log
        self.open: set[_GuardedConnection] = set()
        self.waiting: OrderedDict[_GuardedConnection, None] = OrderedDict()

    def admit(self, connection: _GuardedConnection) -> bool:
        if len(self.open) >= self.limits.max_connections:
            if not self.waiting:
                self.log.warning("http_connection_refused", limit=self.limits.max_connections)
                return False
            oldest, _ = self.waiting.popitem(last=False)
            self.log.warning("http_connection_evicted", limit=self.limits.max_connections)
            oldest.drop()
        self.open.add(connection)
        return True

    def release(self, connection: _GuardedConnection) -> None:
        self.open.discard(connection)
        self.waiting.pop(connection, None)


class _GuardedConnection(asyncio.Protocol):
    """aiohttp's protocol for one connection, behind a header deadline and the guard's table."""

    def __init__(self, guard: _Guard, inner: Any) -> None:
        self._guard = guard
        self._inner = inner
        self._transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._tail = b""
        self._admitted = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        if not self._guard.admit(self):
            transport.abort()  # the descriptor is free again at once
            return
        self._admitted = True
        self._arm()
        self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if not self._admitted:
            return
        window = self._tail + data
        end = window.rfind(b"\r\n\r\n")
        if end >= 0:
            self._disarm()
            rest = window[end + 4 :]
            if rest:
                self._arm()  # the next request has begun
            self._tail = rest[-3:]
        else:
            if self._timer is None:
                self._arm()
            self._tail = window[-3:]
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received() if self._admitted else None

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self._guard.release(self)
        if self._admitted:
            self._admitted = False
            self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        if self._admitted:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if self._admitted:
            self._inner.resume_writing()

    def drop(self) -> None:
        """Close at once: evicted, or too slow with its headers."""
        self._disarm()
        self._guard.release(self)
        if self._transport is not None:
            self._transport.abort()

    def _arm(self) -> None:
        self._disarm()
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(self._guard.limits.header_seconds, self._header_timeout)
        self._guard.waiting[self] = None

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._guard.waiting.pop(self, None)

    def _header_timeout(self) -> None:
        self._timer = None
        self._guard.log.warning("http_header_timeout", seconds=self._guard.limits.header_seconds)
        self.drop()


class GuardedSite(web.TCPSite):
    """`web.TCPSite` with `HttpLimits` applied to every connection it accepts.

    The runner must be made with `keepalive_timeout=limits.idle_seconds` for the idle limit.
    """

    def __init__(
        self, runner: web.AppRunner, host: str, port: int, *, limits: HttpLimits, log: RateLimitedLog
    ) -> None:
        super().__init__(runner, host, port)
        self._guard = _Guard(limits, log)

    async def start(self) -> None:
        await web.BaseSite.start(self)  # registers the site with its runner
        server = self._runner.server
        assert server is not None
        guard = self._guard

        def protocol() -> asyncio.Protocol:
            return _GuardedConnection(guard, server())

        self._server = await asyncio.get_running_loop().create_server(
            protocol, self._host, self._port, backlog=self._backlog, reuse_address=self._reuse_address
        )
