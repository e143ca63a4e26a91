"""Ownership tags decide what the reconciler may touch."""

from __future__ import annotations

import pytest

from reconciler.plan.ownership import (
    INSTANCE,
    MANAGED_BY,
    NAMESPACE,
    OWNERSHIP_KEYS,
    Ownership,
    ownership_of,
    ownership_tags,
    source_of,
    user_tags,
)


def test_created_resources_carry_every_ownership_tag() -> None:
    tags = ownership_tags(kind="Service", name="web", instance="prod", deletion_policy="retain")
    assert tags == {
        "ecs-reconciler/managed-by": "ecs-reconciler",
        "ecs-reconciler/instance": "prod",
        "ecs-reconciler/source": "Service/web",
        "ecs-reconciler/deletion-policy": "retain",
    }


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({}, Ownership.UNOWNED),
        ({"team": "web"}, Ownership.UNOWNED),
        ({MANAGED_BY: "terraform", INSTANCE: "default"}, Ownership.UNOWNED),
        ({MANAGED_BY: "ecs-reconciler", INSTANCE: "default"}, Ownership.OWNED),
        ({MANAGED_BY: "ecs-reconciler", INSTANCE: "staging"}, Ownership.FOREIGN),
    ],
)
def test_only_this_instances_tags_make_a_resource_owned(tags: dict[str, str], expected: Ownership) -> None:
    assert ownership_of(tags, "default") is expected


_OURS = {MANAGED_BY: "ecs-reconciler", INSTANCE: "default"}


@pytest.mark.parametrize(
    ("tags", "namespace", "expected"),
    [
        (_OURS, None, Ownership.OWNED),
        (_OURS, "team-a", Ownership.OTHER_NAMESPACE),
        ({**_OURS, NAMESPACE: "team-a"}, "team-a", Ownership.OWNED),
        ({**_OURS, NAMESPACE: "team-a"}, None, Ownership.OTHER_NAMESPACE),
        ({**_OURS, NAMESPACE: "team-a"}, "team-b", Ownership.OTHER_NAMESPACE),
        ({**_OURS, INSTANCE: "staging", NAMESPACE: "team-a"}, "team-a", Ownership.FOREIGN),
    ],
)
def test_a_pass_owns_only_its_own_namespaces_resources(
    tags: dict[str, str], namespace: str | None, expected: Ownership
) -> None:
    assert ownership_of(tags, "default", namespace) is expected


def test_only_a_named_namespace_adds_a_tag() -> None:
    assert NAMESPACE not in ownership_tags(kind="Cluster", name="web", instance="default")
    tags = ownership_tags(kind="Cluster", name="web", instance="default", namespace="team-a")
    assert tags[NAMESPACE] == "team-a"
    assert NAMESPACE in OWNERSHIP_KEYS  # never drift, never removed


def test_source_tag_names_the_document() -> None:
    assert source_of({"ecs-reconciler/source": "TargetGroup/node-app"}) == ("TargetGroup", "node-app")
    assert source_of({"ecs-reconciler/source": "garbage"}) is None
    assert source_of({}) is None


def test_ownership_tags_are_not_user_tags() -> None:
    tags = {**ownership_tags(kind="Cluster", name="c", instance="default"), "team": "web"}
    assert user_tags(tags) == {"team": "web"}
