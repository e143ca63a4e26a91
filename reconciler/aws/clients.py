"""The AWS edge: one aiobotocore session per account and Region, and thin typed clients over it.

The CLI and the daemon open one `AwsClients` per target account and Region (an async context
manager) and hand the resource kinds and the engine the narrow `AwsClient` each needs
(`await clients.ecs()`). Every AWS call of the engine goes through `AwsClient.call` or
`AwsClient.paginate`, which

- wait for the client-side request budget (`reconciler.aws.ratelimit`) before each HTTP attempt
  (retries and pages included),
- count each attempt, its outcome and the call's latency (`reconciler.aws.calls`),
- leave retries to botocore's "standard" mode (throttling, 5xx, connection errors), except for
  the calls in `SINGLE_ATTEMPT_OPERATIONS`, which are not idempotent and so are sent once and
  retried by the engine's executor after it has checked the first attempt did not land,
- give up early on an AWS that cannot be reached (`AwsSettings.connection_attempts`; a read
  timeout is never resent), so that it is reported within seconds rather than after minutes of
  backoff,
- turn every failure into a classified `TerminalAwsError` / `RetryableAwsError`
  (`reconciler.aws.errors`), chained to botocore's exception,
- return plain response dicts without `ResponseMetadata`.

Nothing here knows about specs, plans or resource kinds.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, Literal, Self

import structlog
from aiobotocore.config import AioConfig
from aiobotocore.credentials import AioRefreshableCredentials
from aiobotocore.session import AioSession
from botocore.credentials import CredentialProvider
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError, ReadTimeoutError
from botocore.exceptions import ConnectionError as BotocoreConnectionError
from botocore.loaders import Loader, create_loader
from botocore.parsers import ResponseParserError

from reconciler.aws.calls import CallCounter, Outcome
from reconciler.aws.errors import THROTTLING_CODES, TerminalAwsError, to_aws_error
from reconciler.aws.ratelimit import RateLimiter
from reconciler.aws.settings import AwsSettings

ServiceName = Literal[
    "ecs", "ecr", "elbv2", "ec2", "application-autoscaling", "sts", "dynamodb", "cloudwatch", "logs"
]
"""The services the engine talks to, named as botocore names its clients (and as call keys)."""

# Everything an aiobotocore call raises for a failed request, as opposed to a bug in our code.
_SDK_ERRORS = (ClientError, BotoCoreError, ResponseParserError, TimeoutError, ConnectionError)

_log = structlog.get_logger(__name__)


def _without_metadata(response: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in response.items() if name != "ResponseMetadata"}


class _AttemptHooks:
    """botocore event handlers of one client: rate limit and count each HTTP attempt."""

    def __init__(self, *, service: str, counter: CallCounter, rate_limiter: RateLimiter) -> None:
        self._service = service
        self._counter = counter
        self._rate_limiter = rate_limiter

    def register(self, client: Any) -> None:
        client.meta.events.register("before-sign", self.before_sign)
        client.meta.events.register("before-send", self.before_send)
        client.meta.events.register("response-received", self.response_received)

    async def before_sign(self, *, event_name: str, **_: Any) -> None:
        # Waiting per attempt, rather than once per call, also budgets botocore's retries and
        # every page of a paginator, which AWS charges to the same bucket. Waiting before signing
        # keeps a long queue from sending requests whose signature (and credentials) went stale.
        await self._rate_limiter.acquire(self._service, event_name.rpartition(".")[2])

    def before_send(self, *, event_name: str, **_: Any) -> None:
        self._counter.record_attempt(self._service, event_name.rpartition(".")[2])

    def response_received(
        self,
        *,
        event_name: str,
        response_dict: Mapping[str, Any] | None,
        parsed_response: Mapping[str, Any] | None,
        exception: BaseException | None,
        **_: Any,
    ) -> None:
        operation = event_name.rpartition(".")[2]
        outcome = _attempt_outcome(response_dict, parsed_response, exception)
        self._counter.record_outcome(self._service, operation, outcome)
        if outcome is Outcome.THROTTLED:
            self._rate_limiter.record_throttled(self._service, operation)
        elif outcome is Outcome.OK:
            self._rate_limiter.record_success(self._service, operation)


def _attempt_outcome(
    response_dict: Mapping[str, Any] | None,
    parsed_response: Mapping[str, Any] | None,
    exception: BaseException | None,
) -> Outcome:
    if exception is not None or response_dict is None:
        return Outcome.ERROR
    status = int(response_dict.get("status_code", 0))
    if status < 300:
        return Outcome.OK
    error = (parsed_response or {}).get("Error", {})
    if isinstance(error, Mapping) and error.get("Code") in THROTTLING_CODES:
        return Outcome.THROTTLED
    return Outcome.SERVER_ERROR if status >= 500 else Outcome.ERROR


class _ConnectionRetryLimit:
    """Caps botocore's retries of attempts that got no answer at all.

    botocore's standard mode resends a refused or timed-out request as often as a throttled one:
    8 attempts with up to 20 s of backoff each kept `plan` silent for 40 s against a closed port,
    and 60 s read timeouts for minutes against an endpoint that never answered. This handler runs
    before botocore's on the same `needs-retry` event; answering False ends the retries
    (aiobotocore's endpoint treats False as "do not retry"), None leaves the decision to botocore.
    """

    def __init__(self, *, max_attempts: int) -> None:
        self._max_attempts = max_attempts

    def register(self, client: Any) -> None:
        service_event = client.meta.service_model.service_id.hyphenize()
        client.meta.events.register_first(f"needs-retry.{service_event}", self.needs_retry)

    def needs_retry(
        self, *, attempts: int, caught_exception: BaseException | None = None, **_: Any
    ) -> bool | None:
        if caught_exception is None:
            return None  # AWS answered: throttling and 5xx follow botocore's rules
        if isinstance(caught_exception, ReadTimeoutError):
            return False  # the request may have landed: the next pass looks before it resends
        if isinstance(caught_exception, BotocoreConnectionError | HTTPClientError):
            return False if attempts >= self._max_attempts else None
        return None


SINGLE_ATTEMPT_OPERATIONS: Mapping[str, frozenset[str]] = {
    # A lost response (read timeout, reset) to a RegisterTaskDefinition that landed, retried by
    # botocore, registered an identical extra revision; botocore cannot look before it retries.
    "ecs": frozenset({"register_task_definition"}),
    # Retried by botocore after it landed, creating a log group fails with ResourceAlreadyExists:
    # the group is ours, but the pass would fail and leave the rest of the group's calls for later.
    "logs": frozenset({"create_log_group"}),
}
"""Per service, the operations botocore must not retry: each HTTP attempt is one `call`."""


class AwsClient:
    """One service's client: `call` and `paginate`, with errors classified and calls counted.

    Obtained from `AwsClients`; valid until that context exits. Its botocore clients are made by
    `open` when first needed (`AwsClients.client` opens them at once, `AwsClients.deferred` at
    the first call).
    """

    def __init__(
        self, *, service: str, counter: CallCounter, open: Callable[[], Awaitable[tuple[Any, Any | None]]]
    ) -> None:
        self._service = service
        self._counter = counter
        self._open = open
        self._opened: tuple[Any, Any | None] | None = None
        """The client, and the single-attempt client of `SINGLE_ATTEMPT_OPERATIONS` (or None)."""
        self._opening = asyncio.Lock()

    @property
    def service(self) -> str:
        """Our short service name, as in call keys: "ecs", "elbv2", ..."""
        return self._service

    async def opened(self) -> Self:
        """This client with its botocore clients made (once)."""
        if self._opened is None:
            async with self._opening:
                if self._opened is None:
                    self._opened = await self._open()
        return self

    @property
    def _client(self) -> Any:
        assert self._opened is not None, "AwsClient used before opened()"
        return self._opened[0]

    @property
    def _single_attempt_client(self) -> Any:
        assert self._opened is not None, "AwsClient used before opened()"
        return self._opened[1]

    def operation_name(self, operation: str) -> str:
        """botocore's PascalCase name of snake_case `operation` ("update_service" → "UpdateService").

        Raises ValueError for an operation the service does not have. Only once `opened`.
        """
        mapping: Mapping[str, str] = self._client.meta.method_to_api_mapping
        try:
            return mapping[operation]
        except KeyError:
            raise ValueError(f"{self._service} has no operation {operation!r}") from None

    async def call(self, operation: str, /, **params: Any) -> dict[str, Any]:
        """Call `operation` (snake_case, e.g. "describe_services") with botocore's parameters.

        Returns the response without `ResponseMetadata`. botocore has already retried throttling,
        5xx and connection errors up to `AwsSettings.max_attempts`. Raises `TerminalAwsError` or
        `RetryableAwsError` (chained to botocore's exception) when the call fails, ValueError for
        an unknown operation; never catches `asyncio.CancelledError`.
        """
        await self.opened()
        api_name = self.operation_name(operation)
        single = self._single_attempt_client is not None and operation in SINGLE_ATTEMPT_OPERATIONS.get(
            self._service, frozenset()
        )
        method = getattr(self._single_attempt_client if single else self._client, operation)
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            response = await method(**params)
        except _SDK_ERRORS as exc:
            raise self._failed(api_name, exc, loop.time() - started) from exc
        seconds = loop.time() - started
        self._counter.record_latency(self._service, api_name, seconds)
        retries = response.get("ResponseMetadata", {}).get("RetryAttempts", 0)
        _log.debug(
            "aws_call", service=self._service, operation=api_name, seconds=round(seconds, 4), retries=retries
        )
        return _without_metadata(response)

    def can_paginate(self, operation: str) -> bool:
        """True when botocore has a paginator for `operation` (snake_case). Only once `opened`."""
        return bool(self._client.can_paginate(operation))

    async def paginate(self, operation: str, /, **params: Any) -> AsyncIterator[dict[str, Any]]:
        """Yield every page of `operation` (snake_case), following botocore's paginator.

        Each page is one call: counted, rate limited, retried and classified like `call`.
        `PaginationConfig` works as in botocore. Raises ValueError when the operation cannot be
        paginated.
        """
        await self.opened()
        api_name = self.operation_name(operation)
        if not self.can_paginate(operation):
            raise ValueError(f"{self._service}.{api_name} cannot be paginated")
        pages = self._client.get_paginator(operation).paginate(**params).__aiter__()
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            try:
                page = await pages.__anext__()
            except StopAsyncIteration:
                return
            except _SDK_ERRORS as exc:
                raise self._failed(api_name, exc, loop.time() - started) from exc
            seconds = loop.time() - started
            self._counter.record_latency(self._service, api_name, seconds)
            _log.debug("aws_page", service=self._service, operation=api_name, seconds=round(seconds, 4))
            yield _without_metadata(page)

    def _failed(self, api_name: str, exc: BaseException, seconds: float) -> Exception:
        self._counter.record_latency(self._service, api_name, seconds)
        error = to_aws_error(exc, service=self._service, operation=api_name)
        _log.debug(
            "aws_call_failed",
            service=self._service,
            operation=api_name,
            seconds=round(seconds, 4),
            code=error.code,
            retryable=error.retryable,
        )
        return error


class _AssumedRoleProvider(CredentialProvider):  # type: ignore[misc]
    """Puts already assumed, self-refreshing credentials first in a session's chain."""

    METHOD = "ecs-reconciler-assume-role"
    CANONICAL_NAME = "ecs-reconciler-assume-role"

    def __init__(self, credentials: AioRefreshableCredentials) -> None:
        super().__init__()
        self._credentials = credentials

    async def load(self) -> AioRefreshableCredentials:
        return self._credentials


@functools.cache
def _shared_loader() -> Loader:
    """One loader of botocore's service models for the whole process.

    The models are immutable files; a fresh session would parse the ECS model alone in 0.2-0.5 s
    (measured), which every short-lived CLI run and test pass would otherwise pay again.
    """
    return create_loader()


class AwsClients:
    """The AWS clients of one account and Region, created lazily and once each.

    Use as `async with AwsClients(settings) as clients: ecs = await clients.ecs()`. With
    `settings.assume_role_arn`, every client acts as that role, assumed from the management
    credentials and re-assumed before it expires (botocore's refreshable credentials refresh
    15 minutes ahead). One `CallCounter` and one `RateLimiter` serve all clients; pass your own to
    share them between several `AwsClients` (the limiter should only be shared within one account
    and Region, as AWS's buckets are).
    """

    def __init__(
        self,
        settings: AwsSettings,
        *,
        counter: CallCounter | None = None,
        rate_limiter: RateLimiter | None = None,
    ) -> None:
        self.settings = settings
        self.counter = counter if counter is not None else CallCounter()
        """Attempts, outcomes and latency of every call made through these clients."""
        self.rate_limiter = (
            rate_limiter if rate_limiter is not None else RateLimiter(enabled=settings.rate_limits_enabled)
        )
        self._exit_stack: contextlib.AsyncExitStack | None = None
        self._session: AioSession | None = None
        self._region: str | None = None
        self._clients: dict[str, AwsClient] = {}
        self._account_id: str | None = None
        self._account_lock = asyncio.Lock()

    async def __aenter__(self) -> Self:
        if self._exit_stack is not None:
            raise RuntimeError("AwsClients is already open")
        async with contextlib.AsyncExitStack() as stack:
            self._session = AioSession(profile=self.settings.profile)
            self._session.register_component("data_loader", _shared_loader())
            # AWS_REGION is what the AWS CLI v2, the other SDKs and ECS tasks set; botocore reads
            # only AWS_DEFAULT_REGION and the profile.
            region = (
                self.settings.region
                or os.environ.get("AWS_REGION")
                or self._session.get_config_variable("region")
            )
            if not region:
                raise TerminalAwsError(
                    service="aws",
                    operation="Configure",
                    code="NoRegion",
                    message="no AWS Region: pass --region or set AWS_REGION / AWS_DEFAULT_REGION",
                    retryable=False,
                )
            self._region = str(region)
            if self.settings.assume_role_arn is not None:
                await self._assume_role(stack, self.settings.assume_role_arn)
            elif await self._session.get_credentials() is None:
                # Found now, not at the first call: the daemon would otherwise start and fail
                # every pass. (With a role, the AssumeRole call above is that check; resolving
                # the main session's credentials before it would cache them ahead of the role.)
                raise TerminalAwsError(
                    service="aws",
                    operation="Configure",
                    code="NoCredentials",
                    message="no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                    "AWS_PROFILE, or run where a role provides them",
                    retryable=False,
                )
            self._exit_stack = stack.pop_all()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        stack, self._exit_stack = self._exit_stack, None
        self._clients.clear()
        self._session = None
        self._account_id = None
        if stack is not None:
            await stack.aclose()

    @property
    def region(self) -> str:
        """The Region every client talks to (resolved on entering the context)."""
        if self._region is None:
            raise RuntimeError("AwsClients is not open: use `async with AwsClients(...)`")
        return self._region

    async def client(self, service: ServiceName) -> AwsClient:
        """The client of `service`, opened now (once) and kept until the context exits."""
        return await self.deferred(service).opened()

    def deferred(self, service: ServiceName) -> AwsClient:
        """The client of `service`, opened by its first call: a process that never calls a service
        spends nothing on its model and client (what a one-shot `plan` saves at start-up)."""
        found = self._clients.get(service)
        if found is None:
            stack, session = self._open_stack(), self._open_session()
            found = AwsClient(
                service=service,
                counter=self.counter,
                open=lambda: self._open_botocore_clients(service, stack, session),
            )
            self._clients[service] = found
        return found

    async def ecs(self) -> AwsClient:
        return await self.client("ecs")

    async def ecr(self) -> AwsClient:
        return await self.client("ecr")

    async def elbv2(self) -> AwsClient:
        return await self.client("elbv2")

    async def ec2(self) -> AwsClient:
        return await self.client("ec2")

    async def application_autoscaling(self) -> AwsClient:
        return await self.client("application-autoscaling")

    async def sts(self) -> AwsClient:
        return await self.client("sts")

    async def dynamodb(self) -> AwsClient:
        return await self.client("dynamodb")

    async def cloudwatch(self) -> AwsClient:
        return await self.client("cloudwatch")

    async def account_id(self) -> str:
        """The account these clients act in (the assumed role's, if any); one GetCallerIdentity,
        then cached. Raises `AwsError` like any call."""
        if self._account_id is None:
            async with self._account_lock:
                if self._account_id is None:
                    identity = await (await self.sts()).call("get_caller_identity")
                    self._account_id = str(identity["Account"])
        return self._account_id

    def _config(self, *, attempts: int | None = None) -> AioConfig:
        settings = self.settings
        return AioConfig(
            # total_max_attempts counts the first attempt; botocore's "max_attempts" key counts retries only.
            retries={"mode": "standard", "total_max_attempts": attempts or settings.max_attempts},
            max_pool_connections=settings.max_pool_connections,
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            user_agent_extra="ecs-reconciler",
        )

    async def _open_client(
        self, service: str, stack: contextlib.AsyncExitStack, session: AioSession
    ) -> AwsClient:
        client = AwsClient(
            service=service,
            counter=self.counter,
            open=lambda: self._open_botocore_clients(service, stack, session),
        )
        return await client.opened()

    async def _open_botocore_clients(
        self, service: str, stack: contextlib.AsyncExitStack, session: AioSession
    ) -> tuple[Any, Any | None]:
        hooks = _AttemptHooks(service=service, counter=self.counter, rate_limiter=self.rate_limiter)
        clients = []
        for attempts in (None, 1) if service in SINGLE_ATTEMPT_OPERATIONS else (None,):
            raw = await stack.enter_async_context(
                session.create_client(
                    service,
                    region_name=self.region,
                    endpoint_url=self.settings.endpoint_url,
                    config=self._config(attempts=attempts),
                )
            )
            hooks.register(raw)
            _ConnectionRetryLimit(max_attempts=self.settings.connection_attempts).register(raw)
            clients.append(raw)
        return clients[0], clients[1] if len(clients) > 1 else None

    async def _assume_role(self, stack: contextlib.AsyncExitStack, role_arn: str) -> None:
        # The management credentials live in a session of their own, so the main session's chain
        # can start with the assumed role without the STS client that refreshes it using itself.
        management = AioSession(profile=self.settings.profile)
        management_sts = await self._open_client("sts", stack, management)
        request: dict[str, Any] = {
            "RoleArn": role_arn,
            "RoleSessionName": self.settings.role_session_name,
            "DurationSeconds": self.settings.assume_role_duration_seconds,
        }
        if self.settings.external_id is not None:
            request["ExternalId"] = self.settings.external_id

        async def assume() -> dict[str, str]:
            response = await management_sts.call("assume_role", **request)
            credentials = response["Credentials"]
            _log.info("aws_role_assumed", role_arn=role_arn, expires=credentials["Expiration"].isoformat())
            return {
                "access_key": credentials["AccessKeyId"],
                "secret_key": credentials["SecretAccessKey"],
                "token": credentials["SessionToken"],
                "expiry_time": credentials["Expiration"].isoformat(),
            }

        credentials = AioRefreshableCredentials.create_from_metadata(
            metadata=await assume(), refresh_using=assume, method=_AssumedRoleProvider.METHOD
        )
        assert self._session is not None
        self._session.get_component("credential_provider").providers.insert(
            0, _AssumedRoleProvider(credentials)
        )

    def _open_stack(self) -> contextlib.AsyncExitStack:
        if self._exit_stack is None:
            raise RuntimeError("AwsClients is not open: use `async with AwsClients(...)`")
        return self._exit_stack

    def _open_session(self) -> AioSession:
        if self._session is None:
            raise RuntimeError("AwsClients is not open: use `async with AwsClients(...)`")
        return self._session
