"""What each document refers to: other documents, and the account's default network.

Pure functions over loaded documents. ``reconciler.spec.validate`` uses them to find dangling
references and cycles; the engine reuses them to order work (creation edges say "create the
target first"), and to decide whether a pass must look up the default VPC and subnets at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from reconciler.spec.document import Document, DocumentKey, FieldPath
from reconciler.spec.models import (
    ForwardAction,
    Kind,
    LoadBalancerSpec,
    RepositoryImage,
    SecurityGroupSpec,
    ServiceSpec,
    TargetGroupSpec,
    TaskDefinitionSpec,
    is_security_group_id,
)


@dataclass(frozen=True)
class Reference:
    """One document naming another by ``metadata.name``.

    ``path`` is where, from the document root as written (``("spec", "cluster")``), so errors
    and plans can point at the line. ``creation_edge`` is True when the target must exist before
    the source can be created; security group rules naming groups are not (rules are applied
    after every group exists), so they never form a cycle.
    """

    source_kind: str
    source_name: str
    target_kind: str
    target_name: str
    path: FieldPath
    creation_edge: bool = True

    @property
    def source(self) -> DocumentKey:
        return (self.source_kind, self.source_name)

    @property
    def target(self) -> DocumentKey:
        return (self.target_kind, self.target_name)


def references_of(document: Document) -> tuple[Reference, ...]:
    """Every reference ``document`` makes, in the order written; literal ids (``sg-...``) are none."""
    return tuple(_references(document))


def all_references(documents: Iterable[Document]) -> tuple[Reference, ...]:
    """``references_of`` over many documents, in document order."""
    return tuple(reference for document in documents for reference in _references(document))


def _references(document: Document) -> Iterator[Reference]:
    spec = document.spec

    def to(kind: Kind, name: str, *path: str | int, creation_edge: bool = True) -> Reference:
        return Reference(
            source_kind=document.kind.value,
            source_name=document.name,
            target_kind=kind.value,
            target_name=name,
            path=("spec", *path),
            creation_edge=creation_edge,
        )

    def security_groups(names: Sequence[str] | None, *path: str | int) -> Iterator[Reference]:
        for index, name in enumerate(names or ()):
            if not is_security_group_id(name):
                yield to(Kind.SECURITY_GROUP, name, *path, index)

    if isinstance(spec, ServiceSpec):
        yield to(Kind.CLUSTER, spec.cluster, "cluster")
        yield to(Kind.TASK_DEFINITION, spec.task_definition, "taskDefinition")
        if spec.network_configuration is not None:
            awsvpc = spec.network_configuration.awsvpc_configuration
            yield from security_groups(
                awsvpc.security_groups, "networkConfiguration", "awsvpcConfiguration", "securityGroups"
            )
        for index, load_balancer in enumerate(spec.load_balancers or ()):
            yield to(Kind.TARGET_GROUP, load_balancer.target_group, "loadBalancers", index, "targetGroup")
    elif isinstance(spec, LoadBalancerSpec):
        yield from security_groups(spec.security_groups, "securityGroups")
        for listener_index, listener in enumerate(spec.listeners or ()):
            listener_path: FieldPath = ("listeners", listener_index)
            yield from _action_references(
                to, spec_action=listener.default_action, path=(*listener_path, "defaultAction")
            )
            for rule_index, rule in enumerate(listener.rules or ()):
                for action_index, action in enumerate(rule.actions):
                    path = (*listener_path, "rules", rule_index, "actions", action_index)
                    yield from _action_references(to, spec_action=action, path=path)
    elif isinstance(spec, TaskDefinitionSpec):
        for index, container in enumerate(spec.container_definitions):
            if isinstance(container.image, RepositoryImage):
                yield to(
                    Kind.REPOSITORY,
                    container.image.repository,
                    "containerDefinitions",
                    index,
                    "image",
                    "repository",
                )
    elif isinstance(spec, SecurityGroupSpec):
        for direction in ("ingress", "egress"):
            for index, rule in enumerate(getattr(spec, direction) or ()):
                if rule.security_group is not None and not is_security_group_id(rule.security_group):
                    yield to(
                        Kind.SECURITY_GROUP,
                        rule.security_group,
                        direction,
                        index,
                        "securityGroup",
                        creation_edge=False,
                    )


class _ReferenceFactory(Protocol):
    def __call__(self, kind: Kind, name: str, *path: str | int, creation_edge: bool = True) -> Reference: ...


def _action_references(to: _ReferenceFactory, *, spec_action: object, path: FieldPath) -> Iterator[Reference]:
    if not isinstance(spec_action, ForwardAction):
        return
    if spec_action.target_group is not None:
        yield to(Kind.TARGET_GROUP, spec_action.target_group, *path, "targetGroup")
    if spec_action.forward_config is not None:
        for index, item in enumerate(spec_action.forward_config.target_groups):
            yield to(
                Kind.TARGET_GROUP,
                item.target_group,
                *path,
                "forwardConfig",
                "targetGroups",
                index,
                "targetGroup",
            )


def find_cycles(references: Iterable[Reference]) -> list[tuple[DocumentKey, ...]]:
    """Cycles over creation edges, each once, as the keys along it (first key not repeated).

    Deterministic: nodes are visited in first-seen order, so the same spec set reports the same
    cycles in the same order.
    """
    graph: dict[DocumentKey, list[DocumentKey]] = {}
    for reference in references:
        if reference.creation_edge:
            graph.setdefault(reference.source, [])
            if reference.target not in graph[reference.source]:
                graph[reference.source].append(reference.target)
            graph.setdefault(reference.target, [])
    cycles: list[tuple[DocumentKey, ...]] = []
    seen_cycles: set[frozenset[DocumentKey]] = set()
    state: dict[DocumentKey, int] = {}  # 1: on the current path, 2: finished
    stack: list[DocumentKey] = []

    def visit(node: DocumentKey) -> None:
        state[node] = 1
        stack.append(node)
        for target in graph[node]:
            if state.get(target) == 1:
                cycle = tuple(stack[stack.index(target) :])
                if frozenset(cycle) not in seen_cycles:
                    seen_cycles.add(frozenset(cycle))
                    cycles.append(cycle)
            elif target not in state:
                visit(target)
        stack.pop()
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node)
    return cycles


def dependents_index(references: Iterable[Reference]) -> Mapping[DocumentKey, tuple[Reference, ...]]:
    """References grouped by target: who points at each document (for delete order and impact)."""
    index: dict[DocumentKey, list[Reference]] = {}
    for reference in references:
        index.setdefault(reference.target, []).append(reference)
    return {key: tuple(value) for key, value in index.items()}


def uses_default_network(documents: Iterable[Document]) -> bool:
    """True when any document says ``vpc: default`` or ``subnets: default``.

    The engine looks the default VPC and its default-for-AZ subnets up once per pass, and only
    when this is true; validation never does.
    """
    for document in documents:
        spec = document.spec
        if isinstance(spec, SecurityGroupSpec | TargetGroupSpec) and spec.vpc == "default":
            return True
        if isinstance(spec, LoadBalancerSpec) and spec.subnets == "default":
            return True
        if (
            isinstance(spec, ServiceSpec)
            and spec.network_configuration is not None
            and spec.network_configuration.awsvpc_configuration.subnets == "default"
        ):
            return True
    return False
