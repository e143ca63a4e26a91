"""Fixtures of the benchmarks: the shared local AWS (tests/conftest.py's `local_aws`, started with
`rollout_seconds=0` and the fake-credential environment) with every request timed, and the
engine's logging at the CLI's `apply` level, so log output costs what it costs a user."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import structlog

import reconciler.local.server as local_server
from reconciler.local import LocalAWS
from tests.bench.measure import LocalAWSMeter


@dataclass(frozen=True)
class MeteredAWS:
    aws: LocalAWS
    meter: LocalAWSMeter


@pytest.fixture(scope="module")
def metered_aws(local_aws: LocalAWS) -> Iterator[MeteredAWS]:
    meter = LocalAWSMeter()
    with pytest.MonkeyPatch.context() as patch:
        # LocalAWS enters `serving` for each request with its backend lock held.
        patch.setattr(local_server, "serving", meter.wrap(local_server.serving))
        yield MeteredAWS(aws=local_aws, meter=meter)


@pytest.fixture(autouse=True)
def _default_logging() -> Iterator[None]:
    """Overrides tests/conftest.py's fixture of the same name, which resets structlog to its
    defaults (every debug event printed) before each test: that ran after the module's fixtures,
    so the benchmark printed and timed every `aws_call` event (about 20,000 lines at N = 1,000)."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    yield
    structlog.reset_defaults()
