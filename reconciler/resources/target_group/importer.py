"""Imports the target groups that services are registered with as TargetGroup documents
(`ecs-reconciler import`, through `reconciler.engine.importing`), and leads the import on to the
load balancers that forward to them.

Attributes are left out (not managed): their server defaults differ by protocol and target type,
and an imported document must plan no change but the ownership tags.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from reconciler.resources import elbv2
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
from reconciler.resources.target_group.kind import HEALTH_CHECK, live_tree

_LOAD_BALANCER = "LoadBalancer"
# ELBv2's health check defaults for HTTP and HTTPS target groups (what an ALB's use):
# https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html
_HEALTH_CHECK_DEFAULTS: Mapping[str, Any] = {
    "enabled": True,
    "path": "/",
    "port": "traffic-port",
    "intervalSeconds": 30,
    "timeoutSeconds": 5,
    "healthyThresholdCount": 5,
    "unhealthyThresholdCount": 2,
    "matcher": {"httpCode": "200"},
}


class TargetGroupImporter(ImporterBase):
    kind: ClassVar[str] = "TargetGroup"

    async def read(self, identities: Sequence[str], context: ImportContext) -> Sequence[Found]:
        client = context.clients.service("elbv2")
        # A service may still name a target group deleted since: it is left out.
        groups = await elbv2.describe_by_arns(
            client,
            operation="describe_target_groups",
            arns_param="TargetGroupArns",
            result_key="TargetGroups",
            not_found_code="TargetGroupNotFound",
            arns=identities,
        )
        tags = await elbv2.describe_tags(client, [group["TargetGroupArn"] for group in groups])
        return [
            Found(
                self.kind,
                group["TargetGroupArn"],
                group["TargetGroupName"],
                {**group, "Tags": tags.get(group["TargetGroupArn"], {})},
                uses=tuple(Uses(_LOAD_BALANCER, arn) for arn in group.get("LoadBalancerArns") or []),
            )
            for group in groups
        ]

    def spec(self, found: Found, names: DocumentNames, context: ImportContext) -> ImportedSpec:
        tree = live_tree(found.state)
        health_check: dict[str, Any] = {}
        for spec_key, api_key in HEALTH_CHECK.items():
            value = tree.get(api_key)
            if spec_key == "matcher" and value is not None:
                value = without_none({"httpCode": value.get("HttpCode"), "grpcCode": value.get("GrpcCode")})
            if spec_key == "protocol" and value == tree.get("Protocol"):
                continue  # the target group's own protocol is the default
            if value is not None and value != _HEALTH_CHECK_DEFAULTS.get(spec_key):
                health_check[spec_key] = value
        vpc = tree.get("VpcId")
        return ImportedSpec(
            without_none(
                {
                    "protocol": tree.get("Protocol"),
                    "protocolVersion": (
                        tree.get("ProtocolVersion") if tree.get("ProtocolVersion") != "HTTP1" else None
                    ),
                    "port": tree.get("Port"),
                    "targetType": tree.get("TargetType"),
                    "vpc": "default"
                    if vpc is not None and vpc == context.environment.default_vpc_id
                    else vpc,
                    "ipAddressType": tree.get("IpAddressType")
                    if tree.get("IpAddressType") != "ipv4"
                    else None,
                    "healthCheck": health_check or None,
                    "tags": imported_tags(found.state["Tags"]),
                }
            )
        )


IMPORTER = TargetGroupImporter()
