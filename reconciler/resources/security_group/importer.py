"""Imports the security groups that services and load balancers use as SecurityGroup documents
(`ecs-reconciler import`, through `reconciler.engine.importing`), and leads the import on to the
groups their rules name, so that a rule names a document rather than an id.

EC2's default egress rule (all traffic to 0.0.0.0/0) is what a group has when `egress` is left
out, so `egress` is written only when it differs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from reconciler.plan.normalise import tags_to_map
from reconciler.resources.importing import (
    DocumentNames,
    Found,
    ImportContext,
    ImportedSpec,
    ImporterBase,
    Uses,
    imported_tags,
    without_none,
)
from reconciler.resources.security_group.kind import FILTER_VALUES, PAGE_SIZE, AtomicRule, expand_permissions

_DEFAULT_EGRESS = [AtomicRule("-1", None, None, "cidr", "0.0.0.0/0")]


class SecurityGroupImporter(ImporterBase):
    kind: ClassVar[str] = "SecurityGroup"

    async def read(self, identities: Sequence[str], context: ImportContext) -> Sequence[Found]:
        ec2 = context.clients.service("ec2")
        groups: list[Mapping[str, Any]] = []
        wanted = sorted(set(identities))
        for start in range(0, len(wanted), FILTER_VALUES):
            # A filter, not GroupIds: a group deleted since is then absent, not an error.
            async for page in ec2.paginate(
                "describe_security_groups",
                Filters=[{"Name": "group-id", "Values": wanted[start : start + FILTER_VALUES]}],
                MaxResults=PAGE_SIZE,
            ):
                groups.extend(page.get("SecurityGroups", []))
        return [
            Found(
                self.kind,
                group["GroupId"],
                group["GroupName"],
                group,
                uses=tuple(
                    Uses(self.kind, rule.source)
                    for rule in _rules(group)
                    if rule.source_type == "securityGroup" and rule.source != group["GroupId"]
                ),
            )
            for group in groups
        ]

    def spec(self, found: Found, names: DocumentNames, context: ImportContext) -> ImportedSpec:
        group = found.state
        vpc = group.get("VpcId")
        egress = expand_permissions(group.get("IpPermissionsEgress"))
        return ImportedSpec(
            without_none(
                {
                    "description": group.get("Description") or None,
                    "vpc": "default" if vpc == context.environment.default_vpc_id else vpc,
                    "ingress": [_rule(rule, names) for rule in expand_permissions(group.get("IpPermissions"))]
                    or None,
                    "egress": (
                        [_rule(rule, names) for rule in egress]
                        if [_without_description(rule) for rule in egress] != _DEFAULT_EGRESS
                        else None
                    ),
                    "tags": imported_tags(tags_to_map(group.get("Tags"), key="Key", value="Value")),
                }
            )
        )


def _rules(group: Mapping[str, Any]) -> list[AtomicRule]:
    return [
        *expand_permissions(group.get("IpPermissions")),
        *expand_permissions(group.get("IpPermissionsEgress")),
    ]


def _without_description(rule: AtomicRule) -> AtomicRule:
    return AtomicRule(rule.protocol, rule.from_port, rule.to_port, rule.source_type, rule.source)


def _rule(rule: AtomicRule, names: DocumentNames) -> dict[str, Any]:
    ports: dict[str, Any] = {}
    if rule.from_port is not None:
        ports = (
            {"port": rule.from_port}
            if rule.from_port == rule.to_port
            else {"fromPort": rule.from_port, "toPort": rule.to_port}
        )
    source = rule.source
    if rule.source_type == "securityGroup":
        source = names.document(SecurityGroupImporter.kind, str(rule.source)) or rule.source
    return without_none(
        {"protocol": rule.protocol, **ports, rule.source_type: source, "description": rule.description}
    )


IMPORTER = SecurityGroupImporter()
