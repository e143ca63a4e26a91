"""The AWS edge: aiobotocore clients, call counting, rate limits, retries, error classification.

The CLI and daemon build `AwsSettings`, open `AwsClients` and pass the narrow `AwsClient`s down to
the resource kinds and the engine; those catch `AwsError` and read `retryable`. Nothing here
imports the layers above.
"""

from reconciler.aws.calls import CallCounter, CallCounts, LatencyStats, Outcome, difference
from reconciler.aws.clients import AwsClient, AwsClients, ServiceName
from reconciler.aws.errors import (
    AwsError,
    ErrorClass,
    RetryableAwsError,
    TerminalAwsError,
    classify,
    error_code,
    is_throttling,
)
from reconciler.aws.ratelimit import RateLimiter
from reconciler.aws.settings import AwsSettings

__all__ = [
    "AwsClient",
    "AwsClients",
    "AwsError",
    "AwsSettings",
    "CallCounter",
    "CallCounts",
    "ErrorClass",
    "LatencyStats",
    "Outcome",
    "RateLimiter",
    "RetryableAwsError",
    "ServiceName",
    "TerminalAwsError",
    "classify",
    "difference",
    "error_code",
    "is_throttling",
]
