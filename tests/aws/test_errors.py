"""Table tests of the one AWS error classifier."""

from __future__ import annotations

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ParamValidationError,
    ReadTimeoutError,
)
from botocore.parsers import ResponseParserError

from reconciler.aws.errors import (
    ErrorClass,
    RetryableAwsError,
    TerminalAwsError,
    classify,
    error_code,
    is_throttling,
    to_aws_error,
)

RETRYABLE = ErrorClass.RETRYABLE
TERMINAL = ErrorClass.TERMINAL


def client_error(code: str, status: int = 400, operation: str = "UpdateService") -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": f"{code} happened"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        operation,
    )


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        # throttling
        ("ThrottlingException", 400, RETRYABLE),
        ("Throttling", 400, RETRYABLE),
        ("TooManyRequestsException", 429, RETRYABLE),
        ("RequestLimitExceeded", 503, RETRYABLE),
        ("ProvisionedThroughputExceededException", 400, RETRYABLE),
        # server faults
        ("ServerException", 500, RETRYABLE),
        ("InternalFailure", 500, RETRYABLE),
        ("ServiceUnavailable", 503, RETRYABLE),
        ("RequestExpired", 400, RETRYABLE),
        ("SomethingNew", 502, RETRYABLE),
        ("SomethingNew", 429, RETRYABLE),
        # eventual consistency right after a create, or during a teardown
        ("ServiceNotActiveException", 400, RETRYABLE),
        ("ResourceInUseException", 400, RETRYABLE),
        ("ResourceInUse", 400, RETRYABLE),
        ("TargetGroupNotFound", 400, RETRYABLE),
        ("InvalidGroup.NotFound", 400, RETRYABLE),
        ("DependencyViolation", 400, RETRYABLE),
        ("ConcurrentUpdateException", 400, RETRYABLE),
        ("OperationAbortedException", 400, RETRYABLE),  # CloudWatch Logs: a concurrent change
        # terminal: the request itself is wrong or not allowed
        ("AccessDeniedException", 400, TERMINAL),
        ("AccessDenied", 403, TERMINAL),
        ("UnauthorizedOperation", 403, TERMINAL),
        ("InvalidParameterException", 400, TERMINAL),
        ("InvalidParameterValue", 400, TERMINAL),
        ("ValidationException", 400, TERMINAL),
        ("ValidationError", 400, TERMINAL),
        ("ClientException", 400, TERMINAL),
        ("ClusterNotFoundException", 400, TERMINAL),
        ("ResourceAlreadyExistsException", 400, TERMINAL),  # CloudWatch Logs: the name is taken
        ("PriorityInUse", 400, TERMINAL),
        ("ConditionalCheckFailedException", 400, TERMINAL),
        ("ExpiredTokenException", 400, TERMINAL),  # static session credentials do not renew
        ("IdempotentParameterMismatchException", 400, TERMINAL),
        # ECS and Application Auto Scaling use this for a quota, not for throttling
        ("LimitExceededException", 400, TERMINAL),
        ("SomethingNew", 400, TERMINAL),
    ],
)
def test_classify_maps_aws_error_codes(code: str, status: int, expected: ErrorClass) -> None:
    assert classify(client_error(code, status)) is expected


@pytest.mark.parametrize(
    ("exception", "expected"),
    [
        (EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), RETRYABLE),
        (ConnectTimeoutError(endpoint_url="http://127.0.0.1:1"), RETRYABLE),
        (ReadTimeoutError(endpoint_url="http://127.0.0.1:1"), RETRYABLE),
        (ResponseParserError("Unable to parse response"), RETRYABLE),
        (TimeoutError(), RETRYABLE),
        (ConnectionResetError(), RETRYABLE),
        (NoCredentialsError(), TERMINAL),
        (NoRegionError(), TERMINAL),
        (ParamValidationError(report="Missing required parameter"), TERMINAL),
        (ValueError("a bug"), TERMINAL),
    ],
)
def test_classify_maps_transport_and_sdk_failures(exception: BaseException, expected: ErrorClass) -> None:
    assert classify(exception) is expected


def test_classify_trusts_an_already_classified_error() -> None:
    retryable = RetryableAwsError(service="ecs", operation="X", code="C", message="m", retryable=True)
    terminal = TerminalAwsError(service="ecs", operation="X", code="C", message="m", retryable=False)
    assert classify(retryable) is RETRYABLE
    assert classify(terminal) is TERMINAL


def test_error_code_reads_client_errors_and_aws_errors() -> None:
    assert error_code(client_error("InvalidGroup.NotFound")) == "InvalidGroup.NotFound"
    assert error_code(to_aws_error(client_error("Throttling"), service="ec2", operation="X")) == "Throttling"
    assert error_code(TimeoutError()) is None
    assert is_throttling(client_error("ThrottlingException"))
    assert not is_throttling(client_error("ServerException", 500))


def test_to_aws_error_keeps_service_operation_code_message_and_status() -> None:
    error = to_aws_error(client_error("ThrottlingException"), service="ecs", operation="UpdateService")
    assert isinstance(error, RetryableAwsError)
    assert (error.service, error.operation, error.code, error.status) == (
        "ecs",
        "UpdateService",
        "ThrottlingException",
        400,
    )
    assert error.message == "ThrottlingException happened"
    assert error.retryable


def test_to_aws_error_names_transport_failures_by_their_type() -> None:
    error = to_aws_error(
        EndpointConnectionError(endpoint_url="http://x"), service="ecs", operation="ListClusters"
    )
    assert isinstance(error, RetryableAwsError)
    assert error.code == "EndpointConnectionError"
    assert error.status is None


def test_a_terminal_error_is_not_a_retryable_one() -> None:
    error = to_aws_error(client_error("AccessDeniedException"), service="ecs", operation="CreateService")
    assert isinstance(error, TerminalAwsError)
    assert not isinstance(error, RetryableAwsError)
    assert not error.retryable
