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

OWNERSHIP_KEYS = frozenset({MANAGED_BY, INSTANCE, SOURCE, DELETION_POLICY})


class Ownership(StrEnum):
    OWNED = "owned"
    UNOWNED = "unowned"
    FOREIGN = "owned by another instance"


def ownership_tags(*, kind: str, name: str, instance: str, deletion_policy: str = "delete") -> dict[str, str]:
    return {
        MANAGED_BY: MANAGED_BY_VALUE,
        INSTANCE: instance,
        SOURCE: f"{kind}/{name}",
        DELETION_POLICY: deletion_policy,
    }


def ownership_of(tags: Mapping[str, str], instance: str) -> Ownership:
    if tags.get(MANAGED_BY) != MANAGED_BY_VALUE:
        return Ownership.UNOWNED
    return Ownership.OWNED if tags.get(INSTANCE) == instance else Ownership.FOREIGN


def source_of(tags: Mapping[str, str]) -> tuple[str, str] | None:
    """The (kind, name) a resource was created for, from its source tag."""
    kind, slash, name = tags.get(SOURCE, "").partition("/")
    return (kind, name) if slash and kind and name else None


def user_tags(tags: Mapping[str, str]) -> dict[str, str]:
    """The tags a spec manages: everything but the ownership tags (which are never drift)."""
    return {key: value for key, value in tags.items() if key not in OWNERSHIP_KEYS}
