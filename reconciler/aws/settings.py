"""How to reach AWS: the settings `AwsClients` is built from.

The CLI and the daemon fill one `AwsSettings` from their options (`--region`, `--endpoint-url`,
`--profile`, assume-role per target account) and pass it to `reconciler.aws.clients.AwsClients`.
Whatever is left `None` comes from the standard AWS chain (environment, shared config files,
`AWS_ENDPOINT_URL`, instance metadata), exactly as the AWS CLI would resolve it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class AwsSettings:
    """Connection, retry and identity settings for one AWS account and Region."""

    region: str | None = None
    """AWS Region, e.g. "eu-west-1". None: the standard chain (AWS_REGION / AWS_DEFAULT_REGION,
    then the profile's region)."""

    endpoint_url: str | None = None
    """One endpoint for every service (a local AWS). None: the standard chain, which honours
    AWS_ENDPOINT_URL and the per-service AWS_ENDPOINT_URL_<SERVICE> variables."""

    profile: str | None = None
    """Shared-config profile of the (management) credentials. None: the default chain."""

    max_pool_connections: int = 16
    """HTTP connections kept per service client; bounds the concurrency one client can reach."""

    max_attempts: int = 8
    """HTTP attempts per call, first one included, in botocore's "standard" retry mode, which
    retries throttling and 5xx with exponential backoff and jitter. AWS answered each of them."""

    connection_attempts: int = 3
    """HTTP attempts per call, first one included, while AWS cannot be reached at all (refused,
    reset, no connection within `connect_timeout`): enough for a blip, few enough that an
    unreachable endpoint is reported within seconds. The engine's per-resource backoff and the
    daemon's next pass keep trying after that."""

    connect_timeout: float = 3.0
    """Seconds to wait for a TCP connection before the attempt counts as failed. AWS endpoints
    connect in milliseconds; 3 s still covers one lost SYN (Linux resends it after 1 s)."""

    read_timeout: float = 5.0
    """Seconds to wait for response bytes before the call fails. The APIs the engine calls answer
    in well under a second (none is long-polling), so 5 s of silence is a hung endpoint. A read
    timeout is not retried by the SDK: the request may have landed, and the level-triggered next
    pass observes before it writes again, where a blind resend cannot."""

    rate_limits_enabled: bool = True
    """Throttle ourselves client-side to AWS's published ECS request buckets (and an adaptive
    budget for ELBv2, Application Auto Scaling, EC2 and ECR). Off: only botocore's retries."""

    assume_role_arn: str | None = None
    """Role to assume in a workload account, using the management credentials above. None: act
    with the management credentials themselves. The role is re-assumed before it expires."""

    external_id: str | None = None
    """ExternalId the workload role's trust policy demands, if any."""

    role_session_name: str = "ecs-reconciler"
    """Session name of the assumed role; shows in the workload account's CloudTrail."""

    assume_role_duration_seconds: int = 3600
    """Lifetime requested for assumed-role credentials (AWS allows 900 up to the role's maximum)."""

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")
        if self.connection_attempts < 1:
            raise ValueError(f"connection_attempts must be at least 1, got {self.connection_attempts}")
        if self.max_pool_connections < 1:
            raise ValueError(f"max_pool_connections must be at least 1, got {self.max_pool_connections}")
        if self.external_id is not None and self.assume_role_arn is None:
            raise ValueError("external_id is only meaningful together with assume_role_arn")
