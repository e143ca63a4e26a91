"""The TargetGroup document's `spec`: its pydantic model, the references it makes, its AWS identity.

Conventions are those of `reconciler.spec.models` (camelCase aliases, no server defaults, values
normalised to the form AWS returns). Pure: no I/O, no AWS SDK.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, Self

from pydantic import (
    BeforeValidator,
    Field,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from reconciler.spec.models import (
    Attributes,
    AwsNumberString,
    ElbName,
    KindSpec,
    Port,
    SpecModel,
    VpcRef,
    _aws_string,
)


class Matcher(SpecModel):
    http_code: AwsNumberString | None = None
    grpc_code: AwsNumberString | None = None

    @model_validator(mode="after")
    def _exactly_one_code(self) -> Self:
        if (self.http_code is None) == (self.grpc_code is None):
            raise ValueError("matcher needs exactly one of httpCode or grpcCode")
        return self


def _health_check_port(value: object) -> object:
    value = _aws_string(value)
    if value == "traffic-port":
        return value
    if isinstance(value, str) and value.isdigit() and 1 <= int(value) <= 65535:
        return value
    raise ValueError('port must be "traffic-port" or a port number 1-65535')


HealthCheckPort = Annotated[
    str,
    BeforeValidator(_health_check_port),
    WithJsonSchema(
        {
            "anyOf": [
                {"const": "traffic-port"},
                {"type": "integer", "minimum": 1, "maximum": 65535},
                {"type": "string", "pattern": r"^\d{1,5}$"},
            ]
        }
    ),
]


class TargetGroupHealthCheck(SpecModel):
    """Grouped here; the API's flat ``HealthCheck*`` fields (``path`` is ``HealthCheckPath``)."""

    enabled: bool | None = None
    path: Annotated[str, StringConstraints(min_length=1, max_length=1024, pattern=r"^/")] | None = None
    protocol: Literal["HTTP", "HTTPS", "TCP", "TLS", "UDP", "TCP_UDP", "GENEVE"] | None = None
    port: HealthCheckPort | None = None
    interval_seconds: Annotated[int, Field(ge=5, le=300)] | None = None
    timeout_seconds: Annotated[int, Field(ge=2, le=120)] | None = None
    healthy_threshold_count: Annotated[int, Field(ge=2, le=10)] | None = None
    unhealthy_threshold_count: Annotated[int, Field(ge=2, le=10)] | None = None
    matcher: Matcher | None = None


class TargetGroupSpec(KindSpec):
    """An ELBv2 target group."""

    AWS_NAME_FIELD: ClassVar[str] = "target_group_name"
    KIND: ClassVar[str] = "TargetGroup"

    target_group_name: ElbName | None = None
    protocol: Literal["HTTP", "HTTPS", "TCP", "TLS", "UDP", "TCP_UDP", "GENEVE"] | None = None
    protocol_version: Literal["HTTP1", "HTTP2", "GRPC"] | None = None
    port: Port | None = None
    target_type: Literal["instance", "ip", "lambda", "alb"] | None = None
    vpc: VpcRef | None = None
    ip_address_type: Literal["ipv4", "ipv6"] | None = None
    health_check: TargetGroupHealthCheck | None = None
    attributes: Attributes | None = None

    def uses_default_network(self) -> bool:
        return self.vpc == "default"
