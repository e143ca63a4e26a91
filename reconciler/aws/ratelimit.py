"""Client-side request budgets, so the engine slows itself down before AWS has to.

ECS throttles each account and Region with token buckets per API category (AWS-FACTS.md, "ECS
request throttling"); `ECS_CATEGORIES` holds those published numbers and `ECS_OPERATION_CATEGORY`
says which operation draws from which bucket. ELBv2, Application Auto Scaling, EC2 and ECR publish
no per-action rates, so each of them gets one `AdaptiveTokenBucket` that starts at a conservative
rate, halves on every throttling answer and recovers additively on success (AIMD, as TCP does).

`reconciler.aws.clients` owns one `RateLimiter` per account and Region and awaits
`RateLimiter.acquire` before every HTTP attempt (retries included, since AWS charges them too),
then reports throttled or successful attempts back. The bucket classes are pure: time is passed
in, so the table tests drive them with a fake clock and never sleep.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class TokenBucket:
    """A token bucket that can go into debt, so concurrent callers queue fairly.

    `reserve` takes a token at once and answers how long the caller must wait before using it;
    callers that arrive while the bucket is empty get successively later slots instead of racing
    each other in a polling loop.
    """

    def __init__(self, *, burst: float, refill_per_second: float, now: float) -> None:
        if burst < 1 or refill_per_second <= 0:
            raise ValueError(f"need burst >= 1 and a positive refill, got {burst}, {refill_per_second}")
        self.burst = burst
        self.refill_per_second = refill_per_second
        self._tokens = float(burst)
        self._updated = now

    @property
    def tokens(self) -> float:
        """Tokens left at the last update; negative while callers wait for refill."""
        return self._tokens

    def reserve(self, now: float) -> float:
        """Take one token; return the seconds to wait before it may be used (0.0: go now)."""
        self._refill(now)
        self._tokens -= 1.0
        if self._tokens >= 0.0:
            return 0.0
        return -self._tokens / self.refill_per_second

    def refund(self, now: float) -> None:
        """Give back a token reserved by a caller that gave up (cancelled) before using it."""
        self._refill(now)
        self._tokens = min(self.burst, self._tokens + 1.0)

    def throttled(self, now: float) -> None:
        """AWS throttled us anyway (another client shares the account's budget): drop the
        remaining burst so the next calls go at the refill rate."""
        self._refill(now)
        self._tokens = min(self._tokens, 0.0)

    def succeeded(self, now: float) -> None:
        """An attempt went through; fixed buckets learn nothing from it."""

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self._updated)
        self._tokens = min(self.burst, self._tokens + elapsed * self.refill_per_second)
        self._updated = now


class AdaptiveTokenBucket(TokenBucket):
    """A token bucket whose refill rate halves on throttling and creeps back on success.

    Used where AWS publishes no rates. Starts at `refill_per_second` (the ceiling); each throttled
    attempt halves the rate (not below `min_refill_per_second`) and drops the burst; each
    successful attempt adds `recovery_per_success` per second back, so a full recovery from the
    floor takes about `refill_per_second / recovery_per_success` successful calls.
    """

    def __init__(
        self,
        *,
        burst: float,
        refill_per_second: float,
        now: float,
        min_refill_per_second: float = 0.5,
        recovery_per_success: float = 0.2,
    ) -> None:
        super().__init__(burst=burst, refill_per_second=refill_per_second, now=now)
        self.max_refill_per_second = refill_per_second
        self.min_refill_per_second = min(min_refill_per_second, refill_per_second)
        self.recovery_per_success = recovery_per_success

    def throttled(self, now: float) -> None:
        super().throttled(now)
        self.refill_per_second = max(self.min_refill_per_second, self.refill_per_second / 2.0)

    def succeeded(self, now: float) -> None:
        self._refill(now)
        self.refill_per_second = min(
            self.max_refill_per_second, self.refill_per_second + self.recovery_per_success
        )


@dataclass(frozen=True)
class BucketLimits:
    """Published size of one bucket."""

    burst: float
    """Requests that may go at once from a full bucket."""
    refill_per_second: float
    """Sustained requests per second."""


class EcsCategory(enum.Enum):
    """ECS API throttling categories, one shared bucket each per account and Region."""

    CLUSTER_READ = "cluster read"
    CLUSTER_MODIFY = "cluster modify"
    SERVICE_READ = "service read"
    SERVICE_MODIFY = "service modify"
    TASK_DEFINITION_READ = "task definition read"
    TASK_DEFINITION_MODIFY = "task definition modify"
    TASK_DEFINITION_DELETE = "task definition deletion"
    CAPACITY_PROVIDER_READ = "capacity provider read"
    CAPACITY_PROVIDER_MODIFY = "capacity provider modify"
    TAG_READ = "tag read"
    TAG_MODIFY = "tag modify"
    CLUSTER_RESOURCE_READ = "cluster resource read"
    CLUSTER_RESOURCE_MODIFY = "cluster resource modify"


ECS_CATEGORIES: Mapping[EcsCategory, BucketLimits] = {
    EcsCategory.CLUSTER_READ: BucketLimits(50, 20),
    EcsCategory.CLUSTER_MODIFY: BucketLimits(20, 1),
    EcsCategory.SERVICE_READ: BucketLimits(100, 20),
    EcsCategory.SERVICE_MODIFY: BucketLimits(50, 5),
    EcsCategory.TASK_DEFINITION_READ: BucketLimits(50, 20),
    EcsCategory.TASK_DEFINITION_MODIFY: BucketLimits(20, 1),
    EcsCategory.TASK_DEFINITION_DELETE: BucketLimits(5, 1),
    EcsCategory.CAPACITY_PROVIDER_READ: BucketLimits(50, 20),
    EcsCategory.CAPACITY_PROVIDER_MODIFY: BucketLimits(10, 1),
    EcsCategory.TAG_READ: BucketLimits(50, 20),
    EcsCategory.TAG_MODIFY: BucketLimits(20, 10),
    EcsCategory.CLUSTER_RESOURCE_READ: BucketLimits(100, 20),
    EcsCategory.CLUSTER_RESOURCE_MODIFY: BucketLimits(100, 40),
}
"""AWS's published ECS buckets (burst, refill per second), per account and Region."""

ECS_OPERATION_CATEGORY: Mapping[str, EcsCategory] = {
    "DescribeClusters": EcsCategory.CLUSTER_READ,
    "ListClusters": EcsCategory.CLUSTER_READ,
    "CreateCluster": EcsCategory.CLUSTER_MODIFY,
    "DeleteCluster": EcsCategory.CLUSTER_MODIFY,
    "UpdateCluster": EcsCategory.CLUSTER_MODIFY,
    "UpdateClusterSettings": EcsCategory.CLUSTER_MODIFY,
    "PutClusterCapacityProviders": EcsCategory.CLUSTER_MODIFY,
    "DescribeServices": EcsCategory.SERVICE_READ,
    "ListServices": EcsCategory.SERVICE_READ,
    "ListServicesByNamespace": EcsCategory.SERVICE_READ,
    "DescribeServiceDeployments": EcsCategory.SERVICE_READ,
    "ListServiceDeployments": EcsCategory.SERVICE_READ,
    "DescribeServiceRevisions": EcsCategory.SERVICE_READ,
    "CreateService": EcsCategory.SERVICE_MODIFY,
    "UpdateService": EcsCategory.SERVICE_MODIFY,
    "DeleteService": EcsCategory.SERVICE_MODIFY,
    "DescribeTaskDefinition": EcsCategory.TASK_DEFINITION_READ,
    "ListTaskDefinitions": EcsCategory.TASK_DEFINITION_READ,
    "ListTaskDefinitionFamilies": EcsCategory.TASK_DEFINITION_READ,
    "RegisterTaskDefinition": EcsCategory.TASK_DEFINITION_MODIFY,
    "DeregisterTaskDefinition": EcsCategory.TASK_DEFINITION_MODIFY,
    "DeleteTaskDefinitions": EcsCategory.TASK_DEFINITION_DELETE,
    "DescribeCapacityProviders": EcsCategory.CAPACITY_PROVIDER_READ,
    "CreateCapacityProvider": EcsCategory.CAPACITY_PROVIDER_MODIFY,
    "UpdateCapacityProvider": EcsCategory.CAPACITY_PROVIDER_MODIFY,
    "DeleteCapacityProvider": EcsCategory.CAPACITY_PROVIDER_MODIFY,
    "ListTagsForResource": EcsCategory.TAG_READ,
    "TagResource": EcsCategory.TAG_MODIFY,
    "UntagResource": EcsCategory.TAG_MODIFY,
    "DescribeTasks": EcsCategory.CLUSTER_RESOURCE_READ,
    "ListTasks": EcsCategory.CLUSTER_RESOURCE_READ,
    "RunTask": EcsCategory.CLUSTER_RESOURCE_MODIFY,
    "StartTask": EcsCategory.CLUSTER_RESOURCE_MODIFY,
    "StopTask": EcsCategory.CLUSTER_RESOURCE_MODIFY,
}
"""Which ECS bucket each operation (botocore's PascalCase name) draws from. ECS operations not
listed share one adaptive bucket (`ADAPTIVE_DEFAULT`)."""

ADAPTIVE_DEFAULT = BucketLimits(burst=20, refill_per_second=10)
"""Starting budget for each service without published rates (and for unlisted ECS operations)."""

ADAPTIVE_SERVICES: frozenset[str] = frozenset({"elbv2", "application-autoscaling", "ec2", "ecr", "logs"})
"""Services limited adaptively, one bucket per service. CloudWatch Logs publishes a quota per
action, but in Service Quotas rather than as a token bucket, and its control-plane actions share
an account with every application's log traffic, so it adapts like the others. The rest (sts,
dynamodb, cloudwatch) are called rarely enough that botocore's retries are all they need."""


def bucket_key(service: str, operation: str) -> str | None:
    """The bucket a call draws from ("ecs:service modify", "elbv2"), or None when unlimited."""
    if service == "ecs":
        category = ECS_OPERATION_CATEGORY.get(operation)
        return f"ecs:{category.value}" if category is not None else "ecs:other"
    if service in ADAPTIVE_SERVICES:
        return service
    return None


class RateLimiter:
    """The request budgets of one account and Region, shared by all its service clients.

    `clock` and `sleep` default to the running event loop's time and `asyncio.sleep`; tests pass
    a fake pair. Disabled, `acquire` returns at once and nothing is tracked.
    """

    def __init__(
        self, *, enabled: bool = True, clock: Clock | None = None, sleep: Sleep | None = None
    ) -> None:
        self.enabled = enabled
        self._clock = clock
        self._sleep: Sleep = sleep if sleep is not None else asyncio.sleep
        self._buckets: dict[str, TokenBucket] = {}

    def bucket(self, service: str, operation: str) -> TokenBucket | None:
        """The bucket `service.operation` draws from, created on first use; None if unlimited."""
        key = bucket_key(service, operation)
        if key is None:
            return None
        found = self._buckets.get(key)
        if found is None:
            found = self._new_bucket(service, operation)
            self._buckets[key] = found
        return found

    async def acquire(self, service: str, operation: str) -> float:
        """Wait for the budget of one attempt of `service.operation`; return the seconds waited.

        If cancelled while waiting, the token goes back to the bucket and CancelledError
        propagates.
        """
        if not self.enabled:
            return 0.0
        bucket = self.bucket(service, operation)
        if bucket is None:
            return 0.0
        delay = bucket.reserve(self._now())
        if delay > 0.0:
            try:
                await self._sleep(delay)
            except asyncio.CancelledError:
                bucket.refund(self._now())
                raise
        return delay

    def record_throttled(self, service: str, operation: str) -> None:
        """AWS answered an attempt of `service.operation` with a throttling error."""
        bucket = self._existing_bucket(service, operation)
        if bucket is not None:
            bucket.throttled(self._now())

    def record_success(self, service: str, operation: str) -> None:
        """An attempt of `service.operation` got a non-throttled answer."""
        bucket = self._existing_bucket(service, operation)
        if bucket is not None:
            bucket.succeeded(self._now())

    def _existing_bucket(self, service: str, operation: str) -> TokenBucket | None:
        if not self.enabled:
            return None
        key = bucket_key(service, operation)
        return self._buckets.get(key) if key is not None else None

    def _new_bucket(self, service: str, operation: str) -> TokenBucket:
        now = self._now()
        category = ECS_OPERATION_CATEGORY.get(operation) if service == "ecs" else None
        if category is not None:
            limits = ECS_CATEGORIES[category]
            return TokenBucket(burst=limits.burst, refill_per_second=limits.refill_per_second, now=now)
        return AdaptiveTokenBucket(
            burst=ADAPTIVE_DEFAULT.burst, refill_per_second=ADAPTIVE_DEFAULT.refill_per_second, now=now
        )

    def _now(self) -> float:
        if self._clock is not None:
            return self._clock()
        return asyncio.get_running_loop().time()
