"""The SecurityGroup kind's semantic checks: its rules."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from reconciler.resources.security_group.model import SecurityGroupRule, SecurityGroupSpec
from reconciler.spec.checks import Check, CheckContext, error
from reconciler.spec.document import FieldPath
from reconciler.spec.errors import SpecError


def _rule_identity(rule: SecurityGroupRule) -> tuple[Any, ...]:
    return (
        rule.protocol,
        rule.port_range,
        rule.cidr,
        rule.ipv6_cidr,
        rule.security_group,
        rule.prefix_list_id,
    )


def security_group_rules(context: CheckContext) -> Iterator[SpecError]:
    """Port ranges in order and in range for the protocol; no rule written twice."""
    for document, spec in context.of(SecurityGroupSpec):
        for direction in ("ingress", "egress"):
            seen: dict[tuple[Any, ...], int] = {}
            for index, rule in enumerate(getattr(spec, direction) or ()):
                path: FieldPath = ("spec", direction, index)
                low, high = rule.from_port, rule.to_port
                if low is not None and high is not None and rule.protocol in ("tcp", "udp") and low > high:
                    yield error(
                        document, (*path, "fromPort"), f"fromPort {low} is greater than toPort {high}"
                    )
                if rule.protocol in ("tcp", "udp"):
                    for key, value in (
                        ("port", rule.port),
                        ("fromPort", rule.from_port),
                        ("toPort", rule.to_port),
                    ):
                        if value is not None and value < 0:
                            yield error(
                                document, (*path, key), f"{rule.protocol} ports are 0-65535, not {value}"
                            )
                identity = _rule_identity(rule)
                if identity in seen:
                    yield error(document, path, f"the same rule as {direction}[{seen[identity]}]")
                else:
                    seen[identity] = index


CHECKS: tuple[Check, ...] = (security_group_rules,)
