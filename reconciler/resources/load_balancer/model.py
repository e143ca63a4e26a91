"""The LoadBalancer document's `spec`: its pydantic model, the references it makes, its AWS identity.

Conventions are those of `reconciler.spec.models` (camelCase aliases, no server defaults, values
normalised to the form AWS returns). Pure: no I/O, no AWS SDK.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, ClassVar, Literal, Self

from pydantic import (
    Field,
    StringConstraints,
    model_validator,
)

from reconciler.spec.document import FieldPath
from reconciler.spec.models import (
    Attributes,
    AwsNumberString,
    ElbName,
    KindSpec,
    LoadBalancerSubnets,
    MetadataName,
    Port,
    ReferenceTo,
    SecurityGroupRef,
    SpecModel,
    is_security_group_id,
)


class ForwardTargetGroup(SpecModel):
    target_group: MetadataName
    weight: Annotated[int, Field(ge=0, le=999)] | None = None


class TargetGroupStickinessConfig(SpecModel):
    enabled: bool
    duration_seconds: Annotated[int, Field(ge=1, le=604800)] | None = None


class ForwardConfig(SpecModel):
    target_groups: Annotated[list[ForwardTargetGroup], Field(min_length=1, max_length=5)]
    target_group_stickiness_config: TargetGroupStickinessConfig | None = None


class ForwardAction(SpecModel):
    """Forward to one TargetGroup document (``targetGroup``) or several weighted (``forwardConfig``)."""

    type: Literal["forward"]
    target_group: MetadataName | None = None
    forward_config: ForwardConfig | None = None

    @model_validator(mode="after")
    def _exactly_one_target(self) -> Self:
        if (self.target_group is None) == (self.forward_config is None):
            raise ValueError("a forward action needs exactly one of targetGroup or forwardConfig")
        return self

    @property
    def target_group_names(self) -> list[str]:
        """Every TargetGroup document this action forwards to."""
        if self.target_group is not None:
            return [self.target_group]
        return (
            [item.target_group for item in self.forward_config.target_groups] if self.forward_config else []
        )


class RedirectConfig(SpecModel):
    protocol: Annotated[str, StringConstraints(pattern=r"^(HTTP|HTTPS|#\{protocol\})$")] | None = None
    port: AwsNumberString | None = None
    host: str | None = None
    path: str | None = None
    query: str | None = None
    status_code: Literal["HTTP_301", "HTTP_302"]


class RedirectAction(SpecModel):
    type: Literal["redirect"]
    redirect_config: RedirectConfig


class FixedResponseConfig(SpecModel):
    status_code: Annotated[AwsNumberString, StringConstraints(pattern=r"^[245]\d\d$")]
    content_type: (
        Literal["text/plain", "text/css", "text/html", "application/javascript", "application/json"] | None
    ) = None
    message_body: Annotated[str, StringConstraints(max_length=1024)] | None = None


class FixedResponseAction(SpecModel):
    type: Literal["fixed-response"]
    fixed_response_config: FixedResponseConfig


Action = Annotated[ForwardAction | RedirectAction | FixedResponseAction, Field(discriminator="type")]
"""ELBv2's Action: the config that goes with ``type`` is required, the others are unknown fields."""


class RuleCondition(SpecModel):
    field: Literal[
        "path-pattern", "host-header", "http-header", "http-request-method", "query-string", "source-ip"
    ]
    values: Annotated[list[str], Field(min_length=1)]
    #: Only for ``field: http-header``: which header the values match.
    http_header_name: str | None = None

    @model_validator(mode="after")
    def _header_name_with_http_header(self) -> Self:
        if (self.field == "http-header") != (self.http_header_name is not None):
            raise ValueError("httpHeaderName is required with field http-header and allowed only there")
        return self


class ListenerRule(SpecModel):
    priority: Annotated[int, Field(ge=1, le=50000)]
    conditions: Annotated[list[RuleCondition], Field(min_length=1, max_length=5)]
    actions: Annotated[list[Action], Field(min_length=1, max_length=1)]


class Certificate(SpecModel):
    certificate_arn: Annotated[str, StringConstraints(pattern=r"^arn:aws[a-z-]*:(acm|iam):")]


class Listener(SpecModel):
    """One listener of a load balancer, keyed by port.

    ``certificates``: the first is the listener's default certificate (the one CreateListener and
    ModifyListener take); the others are its additional (SNI) certificates, a set by ARN.
    """

    port: Port
    protocol: Literal["HTTP", "HTTPS"]
    ssl_policy: str | None = None
    certificates: list[Certificate] | None = None
    default_action: Action
    rules: list[ListenerRule] | None = None

    @model_validator(mode="after")
    def _certificates_with_https(self) -> Self:
        if self.protocol == "HTTPS" and not self.certificates:
            raise ValueError("an HTTPS listener needs certificates")
        if self.protocol == "HTTP" and (self.certificates or self.ssl_policy):
            raise ValueError("certificates and sslPolicy are only allowed on HTTPS listeners")
        arns = [certificate.certificate_arn for certificate in self.certificates or ()]
        # The certificates after the first are a set keyed by ARN (AddListenerCertificates).
        twice = sorted({arn for arn in arns if arns.count(arn) > 1})
        if twice:
            raise ValueError(f"certificate {twice[0]} is listed twice")
        return self


class LoadBalancerSpec(KindSpec):
    """An Application Load Balancer with its listeners and listener rules."""

    AWS_NAME_FIELD: ClassVar[str] = "load_balancer_name"
    KIND: ClassVar[str] = "LoadBalancer"
    REFERENCED_KINDS: ClassVar[frozenset[str]] = frozenset({"SecurityGroup", "TargetGroup"})

    load_balancer_name: ElbName | None = None
    type: Literal["application"] | None = None
    scheme: Literal["internet-facing", "internal"] | None = None
    ip_address_type: Literal["ipv4", "dualstack", "dualstack-without-public-ipv4"] | None = None
    subnets: LoadBalancerSubnets
    security_groups: list[SecurityGroupRef] | None = None
    attributes: Attributes | None = None
    listeners: list[Listener] | None = None

    def forwarded_target_groups(self) -> set[str]:
        """Every TargetGroup document a listener's default action or a rule's actions forward to:
        what the load balancer's listeners wait for, and what a service behind them waits on."""
        return {
            target_group
            for listener in self.listeners or ()
            for action in (
                listener.default_action,
                *(a for rule in listener.rules or () for a in rule.actions),
            )
            if isinstance(action, ForwardAction)
            for target_group in action.target_group_names
        }

    def references(self) -> Iterator[ReferenceTo]:
        for index, name in enumerate(self.security_groups or ()):
            if not is_security_group_id(name):
                yield ReferenceTo("SecurityGroup", name, ("spec", "securityGroups", index))
        # Only the listeners wait for their target groups: the load balancer itself does not.
        for listener_index, listener in enumerate(self.listeners or ()):
            listener_path: FieldPath = ("spec", "listeners", listener_index)
            yield from _forward_references(listener.default_action, (*listener_path, "defaultAction"))
            for rule_index, rule in enumerate(listener.rules or ()):
                for action_index, action in enumerate(rule.actions):
                    path = (*listener_path, "rules", rule_index, "actions", action_index)
                    yield from _forward_references(action, path)

    def uses_default_network(self) -> bool:
        return self.subnets == "default"


LISTENERS_PART = "listeners"
"""The step group of a load balancer's listeners and rules, after its own object."""


def _forward_references(action: object, path: FieldPath) -> Iterator[ReferenceTo]:
    if not isinstance(action, ForwardAction):
        return
    if action.target_group is not None:
        yield ReferenceTo("TargetGroup", action.target_group, (*path, "targetGroup"), part=LISTENERS_PART)
    for index, item in enumerate(action.forward_config.target_groups if action.forward_config else ()):
        yield ReferenceTo(
            "TargetGroup",
            item.target_group,
            (*path, "forwardConfig", "targetGroups", index, "targetGroup"),
            part=LISTENERS_PART,
        )
