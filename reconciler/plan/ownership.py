"""Ownership tags: how the reconciler marks what it manages, and how it reads that mark back.

Everything the reconciler creates carries these tags; a resource without them is unowned and is
never changed or deleted (a same-named one is a conflict unless the document asks to adopt it).
Pure values and functions, used by the planner and every resource module.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

MANAGED_BY = "ecs-reconciler/managed-by"
MANAGED_BY_VALUE = "ecs-reconciler"
INSTANCE = "ecs-reconciler/instance"
SOURCE = "ecs-reconciler/source"
DELETION_POLICY = "ecs-reconciler/deletion-policy"
NAMESPACE = "ecs-reconciler/namespace"
"""The namespace (a Target's name) a resource was converged for; absent: the default namespace.
Only resources of a named namespace carry it, so an estate without Targets gains no tag."""

SPEC_HASH = "ecs-reconciler/spec-hash"
"""The hash of the document a resource was last converged to (`Document.spec_hash`): a difference
under the same hash is drift (AWS moved), under another a change (git moved). Written only by calls
that converge the resource anyway, never on its own."""

OWNERSHIP_KEYS = frozenset({MANAGED_BY, INSTANCE, SOURCE, DELETION_POLICY, NAMESPACE, SPEC_HASH})


class Ownership(StrEnum):
    OWNED = "owned"
    UNOWNED = "unowned"
    FOREIGN = "owned by another instance"
    OTHER_NAMESPACE = "owned by another namespace"


def ownership_tags(
    *, kind: str, name: str, instance: str, deletion_policy: str = "delete", namespace: str | None = None
) -> dict[str, str]:
    tags = {
        MANAGED_BY: MANAGED_BY_VALUE,
        INSTANCE: instance,
        SOURCE: f"{kind}/{name}",
        DELETION_POLICY: deletion_policy,
    }
    if namespace is not None:
        tags[NAMESPACE] = namespace
    return tags


def ownership_of(tags: Mapping[str, str], instance: str, namespace: str | None = None) -> Ownership:
    """Whether this instance's pass over ``namespace`` (None: the default one) owns a resource.

    Two namespaces may be converged into one account and Region (a Target on the process's own
    account, say): each pass owns only what carries its own namespace, so neither can claim,
    change or prune the other's objects.
    """
    if tags.get(MANAGED_BY) != MANAGED_BY_VALUE:
        return Ownership.UNOWNED
    if tags.get(INSTANCE) != instance:
        return Ownership.FOREIGN
    return Ownership.OWNED if tags.get(NAMESPACE) == namespace else Ownership.OTHER_NAMESPACE


def source_of(tags: Mapping[str, str]) -> tuple[str, str] | None:
    """The (kind, name) a resource was created for, from its source tag."""
    kind, slash, name = tags.get(SOURCE, "").partition("/")
    return (kind, name) if slash and kind and name else None


def user_tags(tags: Mapping[str, str]) -> dict[str, str]:
    """The tags a spec manages: everything but the ownership tags (which are never drift)."""
    return {key: value for key, value in tags.items() if key not in OWNERSHIP_KEYS}
