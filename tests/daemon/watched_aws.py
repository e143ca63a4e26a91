"""A watch on the requests reaching the local AWS, for the lease tests: when each write arrived,
who signed every request and in which account it acted, and a way to answer one with throttling
while something else happens.

`WatchedAWS` serves a WSGI layer on its own port in front of the local AWS (which it reaches over
HTTP with `tests.aws.fakes.Forwarder`); the daemons under test are pointed at its `url`, and it
notes every write request as it arrives, on the test's monotonic clock, before passing it on. The
lease table's own writes (DynamoDB) are left out: they are the election, not reconciling.
"""

from __future__ import annotations

import io
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from moto.iam.models import get_account_id_from
from werkzeug.serving import make_server

from reconciler.local import LocalAWS
from tests.aws.fakes import Forwarder

StartResponse = Callable[[str, list[tuple[str, str]]], Any]

_READS = ("Describe", "List", "Get", "BatchGet")
_SIGNING_SERVICE = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/aws4_request")
_ACCESS_KEY = re.compile(r"Credential=([^/]+)/")


@dataclass(frozen=True)
class Arrival:
    """One request as it reached the local AWS."""

    at: float
    """`time.monotonic()` when it arrived."""
    service: str
    """The signing name (`ecs`, `elasticloadbalancing`...)."""
    operation: str
    """PascalCase, as on the wire (`CreateCluster`)."""
    access_key: str = ""
    """The access key id that signed it: each assumed role session has its own."""
    account: str = ""
    """The account the local AWS acted in for that key (an assumed role's account)."""

    @property
    def is_write(self) -> bool:
        return not self.operation.startswith(_READS)


class WatchedAWS:
    """The local AWS behind a layer that records writes; `throttle_next` makes the next request of
    one JSON-protocol operation (ECS, say) fail with a ThrottlingException, which the SDK retries,
    after a callback."""

    def __init__(self, aws: LocalAWS) -> None:
        self._aws = aws
        self._forwarder = Forwarder(aws.endpoint_url)
        self._lock = threading.Lock()
        self._arrivals: list[Arrival] = []
        self._requests: list[Arrival] = []
        self._throttle: tuple[str, Callable[[], None]] | None = None
        self._server = make_server("127.0.0.1", 0, self._serve, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1})
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_port}"

    @property
    def writes(self) -> list[Arrival]:
        """Every write but the lease table's, in order of arrival."""
        with self._lock:
            return list(self._arrivals)

    @property
    def requests(self) -> list[Arrival]:
        """Every request but the lease table's and STS's, reads included, with who signed it."""
        with self._lock:
            return list(self._requests)

    def throttle_next(self, operation: str, *, then: Callable[[], None]) -> None:
        """Answer the next `operation` request with throttling; `then` is called (on the server's
        thread) before the answer is sent, so whatever it does happens before the client hears."""
        with self._lock:
            self._throttle = (operation, then)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def _serve(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        service, operation = _service_and_operation(environ)
        if service not in ("dynamodb", "sts"):
            key = _access_key(environ)
            with self._aws.lock:
                account = get_account_id_from(key)
            request = Arrival(time.monotonic(), service, operation, access_key=key, account=account)
            with self._lock:
                self._requests.append(request)
        if service == "dynamodb" or operation.startswith(_READS):
            return self._forwarder(environ, start_response)
        with self._lock:
            self._arrivals.append(Arrival(at=time.monotonic(), service=service, operation=operation))
            throttle, self._throttle = self._throttle, None
        if throttle is not None and throttle[0] == operation:
            throttle[1]()
            return _throttling(start_response)
        if throttle is not None:
            with self._lock:
                self._throttle = throttle
        return self._forwarder(environ, start_response)


@contextmanager
def watched(aws: LocalAWS) -> Iterator[WatchedAWS]:
    """A `WatchedAWS` in front of `aws`, closed on the way out."""
    front = WatchedAWS(aws)
    try:
        yield front
    finally:
        front.close()


def _service_and_operation(environ: dict[str, Any]) -> tuple[str, str]:
    signed = _SIGNING_SERVICE.search(str(environ.get("HTTP_AUTHORIZATION", "")))
    service = signed.group(1) if signed else ""
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return service, str(target).rpartition(".")[2]
    # Query protocol (ELBv2, EC2): the action is in the form body; read it and put it back.
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return service, parse_qs(body.decode(errors="replace")).get("Action", [""])[0]


def _access_key(environ: dict[str, Any]) -> str:
    signed = _ACCESS_KEY.search(str(environ.get("HTTP_AUTHORIZATION", "")))
    return signed.group(1) if signed else ""


def _throttling(start_response: StartResponse) -> list[bytes]:
    body = b'{"__type": "ThrottlingException", "message": "injected by the test"}'
    start_response(
        "400 Bad Request",
        [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(body)))],
    )
    return [body]
