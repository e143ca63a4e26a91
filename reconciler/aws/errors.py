"""Classify AWS failures once, at the AWS edge (STYLE.md item 5).

`classify` is the one place that maps an AWS error code or transport failure to terminal or
retryable. The client wrapper in `reconciler.aws.clients` calls it to turn botocore's exceptions
into `TerminalAwsError` / `RetryableAwsError`; the engine's worker loop catches `AwsError` and
reads `retryable` to decide between "failed" and "back off and requeue". Nothing above this
package inspects botocore exceptions or error codes by itself.

`asyncio.CancelledError` is not an error: nothing here catches it, and callers must let it
propagate.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotocoreConnectionError
from botocore.parsers import ResponseParserError


class ErrorClass(enum.Enum):
    """What the caller should do about a failed AWS call."""

    TERMINAL = "terminal"
    """Retrying the same request cannot succeed: a bad spec, missing permissions, a quota."""

    RETRYABLE = "retryable"
    """The same request may succeed later: throttling, a server fault, eventual consistency."""


# The union of codes AWS services use for "slow down". botocore's standard retry mode retries the
# same set (botocore/retries/standard.py), except LimitExceededException, which ECS and Application
# Auto Scaling use for a *quota* and which is therefore terminal here.
THROTTLING_CODES: frozenset[str] = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    }
)

# Server-side faults that carry a 4xx-looking code or no useful status.
_SERVER_FAULT_CODES: frozenset[str] = frozenset(
    {
        "ServerException",  # ECS, ECR: modelled 500
        "InternalFailure",
        "InternalError",
        "InternalServerError",
        "InternalServerException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "Unavailable",
        "RequestTimeout",
        "RequestTimeoutException",
        "InternalServiceError",  # Application Auto Scaling: InternalServiceException's code varies
        "InternalServiceException",
        # EC2: the signed request arrived too late (a long wait or a stalled connection); the
        # retry is signed afresh.
        "RequestExpired",
    }
)

# Codes that mean "not yet", because the resource a request names was just created or is still
# being torn down: AWS-FACTS.md "the ECS API is eventually consistent". Retrying with backoff is
# right; if the condition persists the engine's backoff turns it into a visible failure.
_EVENTUAL_CONSISTENCY_CODES: frozenset[str] = frozenset(
    {
        # ECS
        "ServiceNotActiveException",
        "ResourceInUseException",
        "UpdateInProgressException",
        "ClusterContainsServicesException",
        "ClusterContainsTasksException",
        # ELBv2
        "ResourceInUse",
        "TargetGroupNotFound",
        "LoadBalancerNotFound",
        "ListenerNotFound",
        # EC2
        "InvalidGroup.NotFound",
        "DependencyViolation",
        "IncorrectState",
        # Application Auto Scaling
        "ConcurrentUpdateException",
        # CloudWatch Logs: another request was changing the same log group at the same moment
        "OperationAbortedException",
        # DynamoDB
        "TransactionConflictException",
    }
)

RETRYABLE_CODES: frozenset[str] = THROTTLING_CODES | _SERVER_FAULT_CODES | _EVENTUAL_CONSISTENCY_CODES
"""Every AWS error code `classify` treats as retryable; any other code is terminal unless the
HTTP status is 5xx or 429."""


class AwsError(Exception):
    """A failed AWS call, already classified. Always raised `from` the botocore exception."""

    def __init__(
        self,
        *,
        service: str,
        operation: str,
        code: str,
        message: str,
        retryable: bool,
        status: int | None = None,
    ) -> None:
        super().__init__(f"{service}.{operation}: {code}: {message}")
        self.service = service
        """Our short service name: "ecs", "elbv2", "application-autoscaling", ..."""
        self.operation = operation
        """botocore's PascalCase operation name, e.g. "UpdateService"."""
        self.code = code
        """The AWS error code ("ThrottlingException"), or the exception type for transport failures."""
        self.message = message
        """AWS's message, for people; never match on it."""
        self.retryable = retryable
        """True when the same request may succeed later (see `classify`)."""
        self.status = status
        """The HTTP status of the last attempt, when there was a response."""


class TerminalAwsError(AwsError):
    """Retrying the same request cannot help: show it as failed."""


class RetryableAwsError(AwsError):
    """The request may succeed later: back off and retry (botocore already retried in-call)."""


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of `exc` ("ThrottlingException", "InvalidGroup.NotFound"), or None."""
    if isinstance(exc, AwsError):
        return exc.code
    if isinstance(exc, ClientError):
        code = _error_info(exc).get("Code")
        return str(code) if code else None
    return None


def http_status(exc: BaseException) -> int | None:
    """The HTTP status of the response that produced `exc`, or None when there was none."""
    if isinstance(exc, AwsError):
        return exc.status
    if isinstance(exc, ClientError):
        metadata = exc.response.get("ResponseMetadata", {})
        status = metadata.get("HTTPStatusCode") if isinstance(metadata, Mapping) else None
        return status if isinstance(status, int) else None
    return None


def is_throttling(exc: BaseException) -> bool:
    """True when `exc` is AWS asking us to slow down."""
    return error_code(exc) in THROTTLING_CODES


def classify(exc: BaseException) -> ErrorClass:
    """Map any exception from an AWS call to TERMINAL or RETRYABLE.

    Retryable: throttling codes, server faults (HTTP 5xx, ServerException, InternalFailure,
    ServiceUnavailable), HTTP 429, eventual-consistency codes (e.g. ECS ServiceNotActiveException,
    ELBv2 TargetGroupNotFound, EC2 InvalidGroup.NotFound right after a create), connection errors,
    timeouts and unparsable responses. Everything else is terminal: AccessDenied*,
    UnauthorizedOperation, InvalidParameter*, ValidationException, ECS's generic ClientException,
    missing credentials or region, parameter validation, and exceptions this module does not know.
    """
    if isinstance(exc, AwsError):
        return ErrorClass.RETRYABLE if exc.retryable else ErrorClass.TERMINAL
    if isinstance(exc, ClientError):
        code = error_code(exc)
        if code in RETRYABLE_CODES:
            return ErrorClass.RETRYABLE
        status = http_status(exc)
        if status is not None and (status >= 500 or status == 429):
            return ErrorClass.RETRYABLE
        return ErrorClass.TERMINAL
    # A garbled or truncated response body (a proxy's HTML page, a cut connection) says nothing
    # about the request itself.
    if isinstance(exc, BotocoreConnectionError | HTTPClientError | ResponseParserError):
        return ErrorClass.RETRYABLE
    # aiobotocore wraps aiohttp's failures into botocore's; these are what may still leak through.
    if isinstance(exc, TimeoutError | ConnectionError):
        return ErrorClass.RETRYABLE
    return ErrorClass.TERMINAL


def to_aws_error(exc: BaseException, *, service: str, operation: str) -> AwsError:
    """Build the classified `AwsError` for `exc`; the caller raises it `from exc`."""
    retryable = classify(exc) is ErrorClass.RETRYABLE
    code = error_code(exc) or type(exc).__name__
    if isinstance(exc, ClientError):
        message = str(_error_info(exc).get("Message") or exc)
    else:
        message = str(exc) or type(exc).__name__
    error_type = RetryableAwsError if retryable else TerminalAwsError
    return error_type(
        service=service,
        operation=operation,
        code=code,
        message=message,
        retryable=retryable,
        status=http_status(exc),
    )


def _error_info(exc: ClientError) -> Mapping[str, Any]:
    info = exc.response.get("Error", {})
    return info if isinstance(info, Mapping) else {}
