"""The LoadBalancer kind's semantic checks: listener ports and rule priorities, and what an ALB
can forward to (target groups are read through `_TargetGroup`, not by importing their kind)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, cast

from reconciler.resources.load_balancer.model import ForwardAction, LoadBalancerSpec
from reconciler.spec.checks import Check, CheckContext, error
from reconciler.spec.document import FieldPath
from reconciler.spec.errors import SpecError


class _TargetGroup(Protocol):
    """What these checks read of a TargetGroup document's spec."""

    @property
    def target_type(self) -> str | None: ...
    @property
    def protocol(self) -> str | None: ...


def _forward_target_groups(action: object, path: FieldPath) -> Iterator[tuple[str, FieldPath]]:
    if not isinstance(action, ForwardAction):
        return
    if action.target_group is not None:
        yield action.target_group, (*path, "targetGroup")
    for index, item in enumerate(action.forward_config.target_groups if action.forward_config else ()):
        yield item.target_group, (*path, "forwardConfig", "targetGroups", index, "targetGroup")


def _load_balancer_actions(spec: LoadBalancerSpec) -> Iterator[tuple[object, FieldPath]]:
    for listener_index, listener in enumerate(spec.listeners or ()):
        base: FieldPath = ("spec", "listeners", listener_index)
        yield listener.default_action, (*base, "defaultAction")
        for rule_index, rule in enumerate(listener.rules or ()):
            for action_index, action in enumerate(rule.actions):
                yield action, (*base, "rules", rule_index, "actions", action_index)


def listeners(context: CheckContext) -> Iterator[SpecError]:
    """Listener ports unique per load balancer; rule priorities unique per listener."""
    for document, spec in context.of(LoadBalancerSpec):
        ports: dict[int, int] = {}
        for index, listener in enumerate(spec.listeners or ()):
            if listener.port in ports:
                yield error(
                    document,
                    ("spec", "listeners", index, "port"),
                    f"port {listener.port} already has a listener (listeners[{ports[listener.port]}])",
                )
            ports.setdefault(listener.port, index)
            priorities: dict[int, int] = {}
            for rule_index, rule in enumerate(listener.rules or ()):
                if rule.priority in priorities:
                    yield error(
                        document,
                        ("spec", "listeners", index, "rules", rule_index, "priority"),
                        f"priority {rule.priority} is already used by rules[{priorities[rule.priority]}]",
                    )
                priorities.setdefault(rule.priority, rule_index)


def forward_targets(context: CheckContext) -> Iterator[SpecError]:
    """An ALB forwards to HTTP/HTTPS (or lambda) target groups, each once per action."""
    for document, spec in context.of(LoadBalancerSpec):
        for action, path in _load_balancer_actions(spec):
            names: list[str] = []
            for name, target_path in _forward_target_groups(action, path):
                if name in names:
                    yield error(document, target_path, f"target group {name!r} appears twice in this action")
                names.append(name)
                target = cast("_TargetGroup | None", context.target("TargetGroup", name))
                if target is None or target.target_type == "lambda" or target.protocol is None:
                    continue
                if target.protocol not in ("HTTP", "HTTPS"):
                    yield error(
                        document,
                        target_path,
                        f"an application load balancer cannot forward to a {target.protocol} target group",
                    )


CHECKS: tuple[Check, ...] = (listeners, forward_targets)
