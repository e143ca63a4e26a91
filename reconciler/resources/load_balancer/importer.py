"""Imports the Application Load Balancers that forward to imported target groups as LoadBalancer
documents, with their listeners and rules (`ecs-reconciler import`, through
`reconciler.engine.importing`), and leads the import on to their security groups and to every
target group their actions forward to.

Attributes are left out (not managed): AWS answers dozens, each with a default of its own. A
listener whose action cannot be written as a spec action (it forwards to a target group that was
not imported) leaves out every listener, with a note, rather than plan deleting it.
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
from reconciler.resources.load_balancer.kind import (
    _REDIRECT_DEFAULTS,
    APPLICATION,
    _observe_listeners,
    canonical_action,
    canonical_conditions,
    live_listener,
    live_tree,
)

_TARGET_GROUP = "TargetGroup"
_SECURITY_GROUP = "SecurityGroup"
_EVERY_PORT = frozenset(range(1, 65536))


class _NotImported(Exception):
    """An action forwards to a target group that has no document."""


class LoadBalancerImporter(ImporterBase):
    kind: ClassVar[str] = "LoadBalancer"

    async def read(self, identities: Sequence[str], context: ImportContext) -> Sequence[Found]:
        client = context.clients.service("elbv2")
        described = await elbv2.describe_by_arns(
            client,
            operation="describe_load_balancers",
            arns_param="LoadBalancerArns",
            result_key="LoadBalancers",
            not_found_code="LoadBalancerNotFound",
            arns=identities,
        )
        balancers = [item for item in described if item.get("Type") == APPLICATION]
        tags = await elbv2.describe_tags(client, [item["LoadBalancerArn"] for item in balancers])
        found: list[Found] = []
        for balancer in balancers:
            arn = balancer["LoadBalancerArn"]
            # Every port: rules and certificate lists of all listeners belong to the document.
            listeners = await _observe_listeners(client, arn, set(_EVERY_PORT), _EVERY_PORT)
            found.append(
                Found(
                    self.kind,
                    arn,
                    balancer["LoadBalancerName"],
                    {**balancer, "Tags": tags.get(arn, {})},
                    details={"listeners": listeners},
                    uses=(
                        *(Uses(_SECURITY_GROUP, group) for group in balancer.get("SecurityGroups") or []),
                        *(Uses(_TARGET_GROUP, target) for target in sorted(_forwarded_to(listeners))),
                    ),
                )
            )
        return found

    def spec(self, found: Found, names: DocumentNames, context: ImportContext) -> ImportedSpec:
        tree = live_tree(found.state)
        notes: list[str] = []
        defaults = sorted(context.environment.default_subnet_ids)
        subnets: Any = "default" if defaults and tree.get("Subnets") == defaults else tree.get("Subnets")
        groups = [names.document(_SECURITY_GROUP, group) or group for group in tree.get("SecurityGroups", [])]
        try:
            listeners = [
                _listener(port, listener, names)
                for port, listener in sorted(found.details.get("listeners", {}).items())
            ]
        except _NotImported as error:
            notes.append(f"listeners left out (not managed): {error}")
            listeners = []
        return ImportedSpec(
            without_none(
                {
                    "scheme": tree.get("Scheme") if tree.get("Scheme") != "internet-facing" else None,
                    "ipAddressType": tree.get("IpAddressType")
                    if tree.get("IpAddressType") != "ipv4"
                    else None,
                    "subnets": subnets,
                    "securityGroups": groups or None,
                    "listeners": listeners or None,
                    "tags": imported_tags(found.state["Tags"]),
                }
            ),
            tuple(notes),
        )


def _forwarded_to(listeners: Mapping[int, Mapping[str, Any]]) -> set[str]:
    actions = [
        action
        for listener in listeners.values()
        for action in [
            *(listener["listener"].get("DefaultActions") or []),
            *(
                action
                for rule in (listener.get("rules") or {}).values()
                for action in rule.get("Actions") or []
            ),
        ]
    ]
    return {
        group["TargetGroupArn"]
        for action in actions
        if action.get("Type") == "forward"
        for group in canonical_action(action)["ForwardConfig"]["TargetGroups"]
    }


def _listener(port: int, observed: Mapping[str, Any], names: DocumentNames) -> dict[str, Any]:
    tree = live_listener(observed["listener"])
    if "DefaultAction" not in tree:
        raise _NotImported(f"listener {port} has more than one default action")
    https = tree["Protocol"] == "HTTPS"  # an HTTP listener may still echo a policy: not its own
    default = tree.get("Certificates", []) if https else []
    members = [
        item["CertificateArn"]
        for item in observed.get("certificates") or []
        if not item.get("IsDefault") and item["CertificateArn"] not in default
    ]
    certificates = [{"certificateArn": arn} for arn in [*default, *sorted(members)]]
    rules = [
        {
            "priority": priority,
            "conditions": [
                _condition(condition) for condition in canonical_conditions(rule.get("Conditions") or [])
            ],
            "actions": [_action(canonical_action(action), names) for action in rule.get("Actions") or []],
        }
        for priority, rule in sorted((observed.get("rules") or {}).items())
    ]
    return without_none(
        {
            "port": port,
            "protocol": tree["Protocol"],
            "sslPolicy": tree.get("SslPolicy") if https else None,
            "certificates": certificates or None,
            "defaultAction": _action(tree["DefaultAction"], names),
            "rules": rules or None,
        }
    )


def _condition(canonical: Mapping[str, Any]) -> dict[str, Any]:
    return without_none(
        {
            "field": canonical["Field"],
            "values": canonical["Values"],
            "httpHeaderName": canonical.get("HttpHeaderName"),
        }
    )


def _target_group(arn: str, names: DocumentNames) -> str:
    name = names.document(_TARGET_GROUP, arn)
    if name is None:
        raise _NotImported(f"an action forwards to {arn}, which was not imported")
    return name


def _action(canonical: Mapping[str, Any], names: DocumentNames) -> dict[str, Any]:
    kind = canonical["Type"]
    if kind == "forward":
        config = canonical["ForwardConfig"]
        groups = config["TargetGroups"]
        stickiness = config["TargetGroupStickinessConfig"]
        if len(groups) == 1 and groups[0]["Weight"] == 1 and not stickiness["Enabled"]:
            return {"type": "forward", "targetGroup": _target_group(groups[0]["TargetGroupArn"], names)}
        return {
            "type": "forward",
            "forwardConfig": {
                "targetGroups": [
                    {"targetGroup": _target_group(group["TargetGroupArn"], names), "weight": group["Weight"]}
                    for group in groups
                ],
                "targetGroupStickinessConfig": _camel(stickiness),
            },
        }
    if kind == "redirect":
        config = {
            key: value
            for key, value in canonical["RedirectConfig"].items()
            if _REDIRECT_DEFAULTS.get(key) != value
        }
        return {"type": kind, "redirectConfig": _camel(config)}
    if kind == "fixed-response":
        return {"type": kind, "fixedResponseConfig": _camel(canonical["FixedResponseConfig"])}
    raise _NotImported(f"a {kind} action is not in the spec language")


def _camel(config: Mapping[str, Any]) -> dict[str, Any]:
    return {key[:1].lower() + key[1:]: value for key, value in config.items()}


IMPORTER = LoadBalancerImporter()
