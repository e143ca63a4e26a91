"""Shared fixtures: one local AWS (patched moto server on 127.0.0.1) for the whole run, reset per test.

``local_aws`` (session) starts ``LocalAWS(rollout_seconds=0)`` once and points the AWS environment
variables at it: fake credentials, its endpoint and region, no instance metadata, no developer profile,
so nothing in a test can reach real AWS. The variables are restored when the run ends.
``aws`` (per test) resets it first (moto's reset, then the default VPC again; about 5-15 ms) and yields
it: the endpoint, ``lock``, the backend accessors, ``push_image``, ``fail_next_rollout``, ``settle``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import structlog

from reconciler.local import LocalAWS

# A profile or config file of the developer's must not change what the tests talk to.
_CLEARED_VARIABLES = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION")


@pytest.fixture(scope="session")
def local_aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAWS]:
    saved = dict(os.environ)
    absent = str(tmp_path_factory.mktemp("aws-config") / "absent")
    try:
        with LocalAWS(rollout_seconds=0) as aws:
            for name in _CLEARED_VARIABLES:
                os.environ.pop(name, None)
            os.environ.update(aws.environment())
            os.environ.update(
                {
                    "AWS_EC2_METADATA_DISABLED": "true",
                    "AWS_CONFIG_FILE": absent,
                    "AWS_SHARED_CREDENTIALS_FILE": absent,
                }
            )
            yield aws
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture
def aws(local_aws: LocalAWS) -> LocalAWS:
    local_aws.reset()
    return local_aws


@pytest.fixture(autouse=True)
def _default_logging() -> Iterator[None]:
    """Each test starts from structlog's defaults: a CLI command run in-process configures
    logging for the whole process (level, output stream), which must not leak into the next test."""
    structlog.reset_defaults()
    yield
    structlog.reset_defaults()
