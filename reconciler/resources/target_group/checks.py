"""The TargetGroup kind's semantic checks: protocol, port and target type together."""

from __future__ import annotations

from collections.abc import Iterator

from reconciler.resources.target_group.model import TargetGroupSpec
from reconciler.spec.checks import Check, CheckContext, error
from reconciler.spec.errors import SpecError


def target_group_shape(context: CheckContext) -> Iterator[SpecError]:
    """Non-lambda target groups need protocol, port and vpc; lambda ones take none of them."""
    for document, spec in context.of(TargetGroupSpec):
        if spec.target_type == "lambda":
            for key, value in (("protocol", spec.protocol), ("port", spec.port), ("vpc", spec.vpc)):
                if value is not None:
                    yield error(document, ("spec", key), f"a lambda target group takes no {key}")
            continue
        for key, value in (("protocol", spec.protocol), ("port", spec.port), ("vpc", spec.vpc)):
            if value is None:
                target_type = spec.target_type or "instance"
                yield error(
                    document, ("spec", key), f"a target group of targetType {target_type} needs {key}"
                )
        if spec.protocol_version is not None and spec.protocol not in ("HTTP", "HTTPS"):
            yield error(document, ("spec", "protocolVersion"), "protocolVersion needs protocol HTTP or HTTPS")
        matcher = spec.health_check.matcher if spec.health_check else None
        if matcher is not None and matcher.grpc_code is not None and spec.protocol_version != "GRPC":
            yield error(
                document,
                ("spec", "healthCheck", "matcher", "grpcCode"),
                "grpcCode needs protocolVersion GRPC",
            )


CHECKS: tuple[Check, ...] = (target_group_shape,)
