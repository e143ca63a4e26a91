"""The daemon's HTTP endpoints: /healthz, /readyz, /metrics, /status and /drift.

Served by aiohttp (already under aiobotocore) on `--listen` (127.0.0.1:8080 by default). Read-only
views of the controller; nothing here changes state. Started and stopped by `reconciler.daemon.run`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from aiohttp import web

from reconciler.daemon.controller import Controller
from reconciler.engine.report import render_markdown, report_as_json


class LeadershipView(Protocol):
    @property
    def is_leader(self) -> bool: ...

    @property
    def leader_identity(self) -> str | None: ...


def build_app(
    controller: Controller,
    *,
    clock: Callable[[], float],
    liveness_seconds: float,
    leadership: LeadershipView | None = None,
    leadership_known: Callable[[], bool] = lambda: True,
) -> web.Application:
    """`liveness_seconds`: how long the loop may go without a heartbeat before /healthz fails."""

    async def healthz(_: web.Request) -> web.Response:
        stalled = clock() - controller.heartbeat
        if stalled > liveness_seconds:
            return web.json_response({"ok": False, "reason": f"loop stalled for {stalled:.0f} s"}, status=503)
        return web.json_response({"ok": True})

    async def readyz(_: web.Request) -> web.Response:
        reasons = []
        if controller.spec_set is None:
            reasons.append("no valid spec set loaded")
        if not controller.aws_reachable:
            reasons.append("AWS not reached yet")
        if not leadership_known():
            reasons.append("leadership not known yet")
        status = 200 if not reasons else 503
        return web.json_response({"ok": not reasons, "reasons": reasons}, status=status)

    async def metrics(_: web.Request) -> web.Response:
        return web.Response(
            text=controller.metrics.render(),
            content_type="text/plain",
            charset="utf-8",
            headers={"X-Content-Format": "prometheus-0.0.4"},
        )

    async def status(_: web.Request) -> web.Response:
        body = controller.status_json()
        if leadership is not None:
            body["leader"] = {"isLeader": leadership.is_leader, "holder": leadership.leader_identity}
        return web.json_response(body)

    async def drift(request: web.Request) -> web.Response:
        if request.query.get("format") == "markdown":
            return web.Response(text=render_markdown(controller.reports), content_type="text/markdown")
        drifted = [r for r in report_as_json(controller.reports) if r["status"] != "in-sync"]
        return web.json_response({"revision": controller.revision, "resources": drifted})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/status", status)
    app.router.add_get("/drift", drift)
    return app
