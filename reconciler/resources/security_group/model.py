"""The SecurityGroup document's `spec`: its pydantic model, the references it makes, its AWS identity.

Conventions are those of `reconciler.spec.models` (camelCase aliases, no server defaults, values
normalised to the form AWS returns). Pure: no I/O, no AWS SDK.
"""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Iterator
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from reconciler.spec.models import (
    KindSpec,
    ReferenceTo,
    SecurityGroupRef,
    SpecModel,
    VpcRef,
    is_security_group_id,
)

_PROTOCOLS = {"tcp": "tcp", "udp": "udp", "icmp": "icmp", "icmpv6": "icmpv6", "-1": "-1", "all": "-1"}
# EC2 accepts these IANA numbers and answers with the names, so a spec saying `6` is stored as `tcp`.
_PROTOCOLS |= {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}


def _normalise_protocol(value: object) -> object:
    """``all``, ``-1`` and the YAML integer ``-1`` all mean every protocol: AWS's ``"-1"``; the
    numbers of the four named protocols become their names (``6`` is ``tcp``)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        value = str(value)
    if isinstance(value, str):
        return _PROTOCOLS.get(value.lower(), value)
    return value


RuleProtocol = Annotated[
    Literal["tcp", "udp", "icmp", "icmpv6", "-1"],
    BeforeValidator(_normalise_protocol),
    WithJsonSchema(
        {
            "anyOf": [
                {
                    "enum": [
                        "tcp",
                        "udp",
                        "icmp",
                        "icmpv6",
                        "-1",
                        "all",
                        "TCP",
                        "UDP",
                        "ICMP",
                        "ICMPV6",
                        "ALL",
                        "6",
                        "17",
                        "1",
                        "58",
                    ]
                },
                {"enum": [-1, 6, 17, 1, 58]},
            ]
        }
    ),
]


def _cidr(value: str, version: int) -> str:
    """The block in the one form EC2 stores and answers with (lower-case hex, zeros compressed, no
    leading zeros): re-authorising another spelling of a stored block fails as a duplicate.

    EC2 would also clear host bits (``10.0.0.1/8`` is stored as ``10.0.0.0/8``); that is refused
    here instead, naming the stored form, since a rule wider than it reads is more often a mistake.
    """
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError as error:
        message = f"{value!r} is not a valid CIDR block ({error})"
        with contextlib.suppress(ValueError):
            message += f"; EC2 stores it as {ipaddress.ip_network(value, strict=False)}, so write that"
        raise ValueError(message) from error
    if network.version != version or "/" not in value:
        raise ValueError(
            f"{value!r} is not an IPv{version} CIDR block such as {'0.0.0.0/0' if version == 4 else '::/0'}"
        )
    return str(network)


class SecurityGroupRule(SpecModel):
    """One ingress or egress rule. For egress the "source" fields name the destination.

    Ports: ``port`` alone, or ``fromPort`` with ``toPort``; for ICMP they are type and code.
    Exactly one of ``cidr``, ``ipv6Cidr``, ``securityGroup``, ``prefixListId``.
    """

    protocol: RuleProtocol
    port: Annotated[int, Field(ge=-1, le=65535)] | None = None
    from_port: Annotated[int, Field(ge=-1, le=65535)] | None = None
    to_port: Annotated[int, Field(ge=-1, le=65535)] | None = None
    cidr: str | None = None
    ipv6_cidr: str | None = None
    security_group: SecurityGroupRef | None = None
    prefix_list_id: Annotated[str, StringConstraints(pattern=r"^pl-[0-9a-f]+$")] | None = None
    description: Annotated[str, StringConstraints(max_length=255)] | None = None

    @field_validator("cidr")
    @classmethod
    def _ipv4_cidr(cls, value: str | None) -> str | None:
        return None if value is None else _cidr(value, 4)

    @field_validator("ipv6_cidr")
    @classmethod
    def _ipv6_cidr(cls, value: str | None) -> str | None:
        return None if value is None else _cidr(value, 6)

    @model_validator(mode="after")
    def _one_source_and_one_port_form(self) -> Self:
        sources = [self.cidr, self.ipv6_cidr, self.security_group, self.prefix_list_id]
        if sum(source is not None for source in sources) != 1:
            raise ValueError("a rule needs exactly one of cidr, ipv6Cidr, securityGroup, prefixListId")
        ranged = self.from_port is not None or self.to_port is not None
        if self.port is not None and ranged:
            raise ValueError("use either port or fromPort/toPort, not both")
        if (self.from_port is None) != (self.to_port is None):
            raise ValueError("fromPort and toPort go together")
        if self.protocol == "-1" and (self.port is not None or ranged):
            raise ValueError("protocol -1 (all) covers every port; remove the port fields")
        if self.protocol in ("tcp", "udp") and self.port is None and not ranged:
            raise ValueError(f"protocol {self.protocol} needs port or fromPort/toPort")
        return self

    @property
    def port_range(self) -> tuple[int, int] | None:
        """``(fromPort, toPort)`` as AWS stores them, or None for all ports/ICMP without ports."""
        if self.port is not None:
            return (self.port, self.port)
        if self.from_port is not None and self.to_port is not None:
            return (self.from_port, self.to_port)
        return None


def _not_a_group_id(name: str) -> str:
    # EC2 refuses names that look like group ids, which would also make references ambiguous.
    if name.startswith("sg-"):
        raise ValueError('a group name must not start with "sg-"')
    return name


GroupName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9_ .:/()#,@\[\]+=&;{}!$*-]+$"),
    AfterValidator(_not_a_group_id),
]


class SecurityGroupSpec(KindSpec):
    """A VPC security group with its ingress and egress rules.

    ``description`` has no default here: AWS requires one on create, and the resource uses
    "Managed by ecs-reconciler" when the spec leaves it out (a description cannot change later).
    """

    AWS_NAME_FIELD: ClassVar[str] = "group_name"
    KIND: ClassVar[str] = "SecurityGroup"
    REFERENCED_KINDS: ClassVar[frozenset[str]] = frozenset({"SecurityGroup"})

    group_name: GroupName | None = None
    description: Annotated[str, StringConstraints(min_length=1, max_length=255)] | None = None
    vpc: VpcRef
    ingress: list[SecurityGroupRule] | None = None
    egress: list[SecurityGroupRule] | None = None

    def references(self) -> Iterator[ReferenceTo]:
        # Rules are authorised once every group exists, so they never form a creation cycle.
        for direction in ("ingress", "egress"):
            for index, rule in enumerate(getattr(self, direction) or ()):
                if rule.security_group is not None and not is_security_group_id(rule.security_group):
                    yield ReferenceTo(
                        "SecurityGroup",
                        rule.security_group,
                        ("spec", direction, index, "securityGroup"),
                        creation_edge=False,
                        part=RULES_PART,
                    )

    def aws_identity(self, aws_name: str) -> tuple[Any, ...]:
        return (self.vpc, aws_name)  # group names are unique per VPC

    def uses_default_network(self) -> bool:
        return self.vpc == "default"


RULES_PART = "rules"
"""The step group of a security group's rules, after its own object (and the groups they name)."""
