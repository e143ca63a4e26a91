"""A moto server with a fault injector in front, for the AWS edge's integration tests.

The real moto server runs in a thread on 127.0.0.1 (started once per test run); requests reach it
over HTTP through the real aiobotocore clients. `FaultInjector` is a WSGI middleware that answers
chosen operations with an injected error a given number of times before letting them through,
so retries, throttling and terminal errors are exercised end to end without mocking a client.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiobotocore.endpoint
import pytest
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from reconciler.aws import AwsSettings
from tests.aws.fakes import FaultInjector


@dataclass(frozen=True)
class MotoServer:
    endpoint_url: str
    faults: FaultInjector


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    faults = FaultInjector(DomainDispatcherApplication(create_backend_app))
    server = make_server("127.0.0.1", 0, faults, threaded=True, request_handler=MotoRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield MotoServer(endpoint_url=f"http://127.0.0.1:{server.server_port}", faults=faults)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def aws_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake credentials, and none of the developer's own profiles, endpoints or Region.

    Function-scoped, so the environment of tests outside this folder is left as it was.
    """
    absent = tmp_path / "absent"
    environment = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": str(absent),
        "AWS_SHARED_CREDENTIALS_FILE": str(absent),
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def faults(moto_server: MotoServer) -> Iterator[FaultInjector]:
    moto_server.faults.clear()
    yield moto_server.faults
    moto_server.faults.clear()


@pytest.fixture
def retry_sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """botocore's backoff between attempts, recorded instead of slept so the tests stay fast.

    The retry decision is still botocore's own, against real HTTP answers; only the wait is skipped.
    """
    slept: list[float] = []

    async def record(self: Any, seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(aiobotocore.endpoint.AioEndpoint, "_sleep", record)
    return slept


@pytest.fixture
def settings(
    moto_server: MotoServer, faults: FaultInjector, retry_sleeps: list[float], aws_environment: None
) -> AwsSettings:
    return AwsSettings(region="us-east-1", endpoint_url=moto_server.endpoint_url, max_attempts=3)
