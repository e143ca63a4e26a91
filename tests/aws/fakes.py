"""Test doubles of the AWS edge's tests: a fault injector in front of moto, and a fake clock."""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import os
import random
import signal
import socket
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


@dataclass
class _Fault:
    status: int
    code: str
    times: int
    drop: bool = False
    """Let the request reach the server, then cut the connection instead of answering."""


class DroppedResponse(Exception):
    """Raised in the server thread after a dropped response: werkzeug then sends nothing."""


class FaultInjector:
    """WSGI middleware: answer an operation with an AWS-shaped error `times` times, then pass."""

    def __init__(self, app: Any) -> None:
        self._app = app
        self._lock = threading.Lock()
        self._faults: dict[str, _Fault] = {}
        self.seen: list[str] = []

    def inject(self, operation: str, *, status: int, code: str, times: int) -> None:
        """Fail the next `times` requests of `operation` (PascalCase) with `status` and `code`."""
        with self._lock:
            self._faults[operation] = _Fault(status, code, times)

    def drop(self, operation: str, *, times: int) -> None:
        """Let the next `times` requests of `operation` take effect, and lose their responses:
        the client sees the connection close, as when a response is lost on the network."""
        with self._lock:
            self._faults[operation] = _Fault(0, "", times, drop=True)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        operation, is_json = _operation(environ)
        with self._lock:
            fault = self._faults.get(operation)
            if fault is not None and fault.times > 0:
                fault.times -= 1
            else:
                fault = None
        if fault is None:
            return self._app(environ, start_response)  # type: ignore[no-any-return]
        if fault.drop:
            body = self._app(environ, lambda *_: None)
            list(body)  # produce the answer, so the request has taken effect on the server
            connection = environ["werkzeug.socket"]
            connection.shutdown(socket.SHUT_RDWR)
            raise DroppedResponse(operation)
        return _error(start_response, is_json, fault.status, fault.code)


def _operation(environ: dict[str, Any]) -> tuple[str, bool]:
    """The operation a request calls, and whether it speaks the JSON protocol."""
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return str(target).rpartition(".")[2], True
    # Query protocol (ELBv2, EC2, STS): the action is in the form body; read it and put it back.
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    actions = parse_qs(body.decode(errors="replace")).get("Action", [""])
    return actions[0], False


class FakeTime:
    """A clock and a sleep that advances it, so waits are computed, recorded and never slept."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


FAULT_KINDS: tuple[str, ...] = ("throttle", "server-error", "reset", "dropped")
"""What `RandomFaults` throws: a ThrottlingException (400), a 503, a connection reset before the
request reaches the server, and a dropped response (the server applies the request, the client
never hears back: the case that tempts a retry into a duplicate)."""


class RandomFaults:
    """WSGI middleware: fail each request with probability `rate`, the fault drawn from `kinds`.

    Seeded, so a failing sweep replays the same faults. `injected` counts what was thrown, by kind.
    Resets and drops close the client's socket without an answer (werkzeug's `werkzeug.socket`).
    """

    def __init__(self, app: Any, *, rate: float, seed: int, kinds: tuple[str, ...] = FAULT_KINDS) -> None:
        self._app = app
        self._rate = rate
        self._kinds = kinds
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self.injected: dict[str, int] = dict.fromkeys(kinds, 0)
        self.requests = 0

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        _, is_json = _operation(environ)
        with self._lock:
            self.requests += 1
            kind = self._random.choice(self._kinds) if self._random.random() < self._rate else None
            if kind is not None:
                self.injected[kind] += 1
        if kind == "reset":
            _hang_up(environ)
            return []
        if kind == "dropped":
            body = b"".join(self._app(environ, lambda status, headers: None))
            del body  # applied by the server, never delivered
            _hang_up(environ)
            return []
        if kind == "throttle":
            return _error(start_response, is_json, 400, "ThrottlingException" if is_json else "Throttling")
        if kind == "server-error":
            return _error(start_response, is_json, 503, "ServiceUnavailable")
        return self._app(environ, start_response)  # type: ignore[no-any-return]


def _hang_up(environ: dict[str, Any]) -> None:
    connection = environ["werkzeug.socket"]
    with contextlib.suppress(OSError):
        connection.shutdown(socket.SHUT_RDWR)


def _error(start_response: StartResponse, is_json: bool, status: int, code: str) -> list[bytes]:
    if is_json:
        body = json.dumps({"__type": code, "message": "injected by the test"}).encode()
        content_type = "application/x-amz-json-1.1"
    else:
        body = (
            "<ErrorResponse><Error><Type>Sender</Type>"
            f"<Code>{code}</Code><Message>injected by the test</Message>"
            f"</Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
        ).encode()
        content_type = "text/xml"
    start_response(
        f"{status} Injected",
        [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("x-amzn-RequestId", str(uuid.uuid4())),
        ],
    )
    return [body]


class Forwarder:
    """WSGI app that forwards each request over HTTP to `endpoint` (the local AWS) and relays the answer,
    so a fault layer can sit in front of a server it does not own."""

    _HOP_BY_HOP = frozenset(
        {"connection", "keep-alive", "transfer-encoding", "content-length", "server", "date"}
    )

    def __init__(self, endpoint: str) -> None:
        parsed = urlsplit(endpoint)
        self._host = parsed.hostname or "127.0.0.1"
        self._port = parsed.port or 80

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {
            name[5:].replace("_", "-").title(): str(value)
            for name, value in environ.items()
            if name.startswith("HTTP_") and name not in ("HTTP_CONNECTION", "HTTP_CONTENT_LENGTH")
        }
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = str(environ["CONTENT_TYPE"])
        path = str(environ.get("RAW_URI") or environ.get("PATH_INFO") or "/")
        if environ.get("QUERY_STRING") and "?" not in path:
            path += "?" + str(environ["QUERY_STRING"])
        connection = http.client.HTTPConnection(self._host, self._port, timeout=60)
        try:
            connection.request(str(environ["REQUEST_METHOD"]), path, body=body, headers=headers)
            response = connection.getresponse()
            payload = response.read()
            relayed = [(k, v) for k, v in response.getheaders() if k.lower() not in self._HOP_BY_HOP]
        finally:
            connection.close()
        start_response(
            f"{response.status} {response.reason}", [*relayed, ("Content-Length", str(len(payload)))]
        )
        return [payload]


class KillAtWrite:
    """WSGI middleware: when the `k`-th write request (1-based) arrives, apply it, SIGKILL the process
    `pid`, and hang up, so the client dies having changed AWS without hearing of it.

    A write is any operation that is not a Describe, List or Get (reads never need a crash point).
    """

    def __init__(self, app: Any, *, k: int) -> None:
        self._app = app
        self._k = k
        self._lock = threading.Lock()
        self.pid: int | None = None
        self.writes: list[str] = []
        self.killed = False

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        operation, _ = _operation(environ)
        if operation.startswith(("Describe", "List", "Get")) or self.killed:
            return self._app(environ, start_response)  # type: ignore[no-any-return]
        with self._lock:
            self.writes.append(operation)
            crash = len(self.writes) == self._k
        if not crash:
            return self._app(environ, start_response)  # type: ignore[no-any-return]
        b"".join(self._app(environ, lambda status, headers: None))
        if self.pid is not None:
            os.kill(self.pid, signal.SIGKILL)
            self.killed = True
        _hang_up(environ)
        return []
