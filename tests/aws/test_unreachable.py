"""An AWS that cannot be reached fails a call within seconds (issue 13, item 6).

botocore's standard mode used to resend a refused request 8 times with up to 20 s of backoff
(about 40 s before `plan` said anything) and to wait 60 s per attempt on an endpoint that never
answered. These tests use the production defaults, real sleeps included, and measure the bound.
A throttled call keeps its full retry budget (`test_clients.py`); only "no answer at all" is cut
short. Also here: what `AwsClients` checks when it opens (Region, credentials).
"""

from __future__ import annotations

import asyncio
import time

import pytest
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError

from reconciler.aws import AwsClients, AwsSettings, RetryableAwsError, TerminalAwsError
from tests.unreachable import refusing_endpoint, silent_endpoint

REPORTED_WITHIN_SECONDS = 10.0
"""Generous on purpose: the point is seconds, not the 40 s and more it took before."""


async def _failed_call(settings: AwsSettings) -> tuple[RetryableAwsError, dict[str, int], float]:
    started = time.monotonic()
    async with AwsClients(settings) as clients:
        ecs = await clients.ecs()
        with pytest.raises(RetryableAwsError) as raised:
            await ecs.call("list_clusters")
        return raised.value, clients.counter.snapshot(), time.monotonic() - started


def test_a_refused_connection_is_tried_three_times_and_fails_within_seconds(aws_environment: None) -> None:
    settings = AwsSettings(region="us-east-1", endpoint_url=refusing_endpoint())

    error, attempts, seconds = asyncio.run(_failed_call(settings))

    assert isinstance(error.__cause__, EndpointConnectionError)
    assert attempts == {"ecs.ListClusters": 3}
    assert seconds < REPORTED_WITHIN_SECONDS


def test_an_endpoint_that_never_answers_fails_after_one_read_timeout(aws_environment: None) -> None:
    with silent_endpoint() as endpoint:
        settings = AwsSettings(region="us-east-1", endpoint_url=endpoint)
        error, attempts, seconds = asyncio.run(_failed_call(settings))

    assert isinstance(error.__cause__, ReadTimeoutError)
    assert attempts == {"ecs.ListClusters": 1}
    assert settings.read_timeout <= seconds < REPORTED_WITHIN_SECONDS


def test_aws_region_is_honoured_as_the_aws_cli_does(
    aws_environment: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The "no Region" message names AWS_REGION; botocore itself reads only AWS_DEFAULT_REGION.
    monkeypatch.setenv("AWS_REGION", "eu-west-1")

    async def region() -> str:
        async with AwsClients(AwsSettings()) as clients:
            return clients.region

    assert asyncio.run(region()) == "eu-west-1"


def test_no_credentials_is_a_terminal_error_on_opening(
    aws_environment: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)

    async def body() -> None:
        with pytest.raises(TerminalAwsError, match="no AWS credentials"):
            async with AwsClients(AwsSettings(region="us-east-1")):
                pass

    asyncio.run(body())
