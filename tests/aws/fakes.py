"""Test doubles of the AWS edge's tests: a fault injector in front of moto, and a fake clock."""

from __future__ import annotations

import io
import json
import socket
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

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
        if is_json:
            body = json.dumps({"__type": fault.code, "message": "injected by the test"}).encode()
            content_type = "application/x-amz-json-1.1"
        else:
            body = (
                "<ErrorResponse><Error><Type>Sender</Type>"
                f"<Code>{fault.code}</Code><Message>injected by the test</Message>"
                f"</Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
            ).encode()
            content_type = "text/xml"
        start_response(
            f"{fault.status} Injected",
            [
                ("Content-Type", content_type),
                ("Content-Length", str(len(body))),
                ("x-amzn-RequestId", str(uuid.uuid4())),
            ],
        )
        return [body]


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
