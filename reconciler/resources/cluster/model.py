"""The Cluster document's `spec`: its pydantic model, the references it makes, its AWS identity.

Conventions are those of `reconciler.spec.models` (camelCase aliases, no server defaults, values
normalised to the form AWS returns). Pure: no I/O, no AWS SDK.
"""

from __future__ import annotations

import re
from typing import Annotated, ClassVar, Literal, Self

from pydantic import (
    AfterValidator,
    StringConstraints,
    model_validator,
)

from reconciler.spec.models import AWS_NAME_255, CapacityProviderStrategyItem, KindSpec, SpecModel


class ClusterSetting(SpecModel):
    name: Literal["containerInsights"]
    value: Literal["enabled", "disabled", "enhanced"]


class ExecuteCommandLogConfiguration(SpecModel):
    cloud_watch_log_group_name: str | None = None
    cloud_watch_encryption_enabled: bool | None = None
    s3_bucket_name: str | None = None
    s3_encryption_enabled: bool | None = None
    s3_key_prefix: str | None = None


class ExecuteCommandConfiguration(SpecModel):
    kms_key_id: str | None = None
    logging: Literal["DEFAULT", "NONE", "OVERRIDE"] | None = None
    log_configuration: ExecuteCommandLogConfiguration | None = None

    @model_validator(mode="after")
    def _log_configuration_only_with_override(self) -> Self:
        if self.log_configuration is not None and self.logging != "OVERRIDE":
            raise ValueError("logConfiguration is only allowed with logging OVERRIDE")
        return self


class ClusterConfiguration(SpecModel):
    execute_command_configuration: ExecuteCommandConfiguration | None = None


_NAMESPACE_ARN = re.compile(r"^arn:aws[a-z-]*:servicediscovery:[a-z0-9-]+:\d{12}:namespace/ns-[a-z0-9]+$")


def _namespace_arn(value: str) -> str:
    if not _NAMESPACE_ARN.match(value):
        raise ValueError(
            "give the Cloud Map namespace's ARN (arn:aws:servicediscovery:REGION:ACCOUNT:namespace/ns-...): "
            "ECS answers with the ARN even when sent a name, so a name would show as a change on every pass"
        )
    return value


class ServiceConnectDefaults(SpecModel):
    namespace: Annotated[str, AfterValidator(_namespace_arn)]
    """The Cloud Map namespace's ARN (see `_namespace_arn`)."""


class ClusterSpec(KindSpec):
    """An ECS cluster and its capacity providers."""

    AWS_NAME_FIELD: ClassVar[str] = "cluster_name"
    KIND: ClassVar[str] = "Cluster"

    cluster_name: AWS_NAME_255 | None = None
    capacity_providers: list[Annotated[str, StringConstraints(min_length=1, max_length=255)]] | None = None
    default_capacity_provider_strategy: list[CapacityProviderStrategyItem] | None = None
    settings: list[ClusterSetting] | None = None
    configuration: ClusterConfiguration | None = None
    service_connect_defaults: ServiceConnectDefaults | None = None
