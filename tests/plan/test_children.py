"""Table tests for the keyed-children diff (`reconciler.plan.children`)."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.plan.children import ChildChanges, diff_children
from reconciler.plan.delta import Delta, FieldDiff

PREFIX = ("listeners",)


@pytest.mark.parametrize(
    ("desired", "live", "added", "changed", "removed"),
    [
        ({}, {}, (), (), ()),
        ({80: {"Protocol": "HTTP"}}, {80: {"Protocol": "HTTP"}}, (), (), ()),
        ({80: {"Protocol": "HTTP"}}, {}, (80,), (), ()),
        ({}, {80: {"Protocol": "HTTP"}}, (), (), (80,)),
        ({80: {"Protocol": "HTTPS"}}, {80: {"Protocol": "HTTP"}}, (), (80,), ()),
        (
            {443: {"Protocol": "HTTPS"}, 80: {"Protocol": "HTTP"}, 81: {"Protocol": "HTTP"}},
            {8080: {"Protocol": "HTTP"}, 80: {"Protocol": "HTTPS"}, 81: {"Protocol": "HTTP"}, 1: {}},
            (443,),
            (80,),
            (8080, 1),
        ),
    ],
    ids=["both-empty", "equal", "added", "removed", "changed", "mixed-keeps-each-side-order"],
)
def test_keys_are_sorted_into_added_changed_and_removed(
    desired: dict[int, Any],
    live: dict[int, Any],
    added: tuple[int, ...],
    changed: tuple[int, ...],
    removed: tuple[int, ...],
) -> None:
    changes = diff_children(desired, live, prefix=PREFIX)
    assert (changes.added, changes.changed, changes.removed) == (added, changed, removed)
    assert bool(changes) == bool(added or changed or removed)


@pytest.mark.parametrize(
    ("desired", "live", "exact", "diffs"),
    [
        (
            {80: {"Protocol": "HTTP"}},
            {},
            False,
            (FieldDiff(("listeners", 80), {"Protocol": "HTTP"}, None),),
        ),
        (
            {},
            {80: {"Protocol": "HTTP"}},
            False,
            (FieldDiff(("listeners", 80), None, {"Protocol": "HTTP"}),),
        ),
        (
            {80: {"Protocol": "HTTPS", "SslPolicy": "p"}},
            {80: {"Protocol": "HTTP", "SslPolicy": "p"}},
            False,
            (FieldDiff(("listeners", 80, "Protocol"), "HTTPS", "HTTP"),),
        ),
        ({80: {"Protocol": "HTTP"}}, {80: {"Protocol": "HTTP", "Extra": 1}}, False, ()),
        (
            {80: {"Protocol": "HTTP"}},
            {80: {"Protocol": "HTTP", "Extra": 1}},
            True,
            (FieldDiff(("listeners", 80, "Extra"), None, 1),),
        ),
    ],
    ids=["added-whole-tree", "removed-whole-tree", "changed-field", "subset-ignores-live-only", "exact"],
)
def test_each_child_delta_lies_under_prefix_and_key(
    desired: dict[int, Any], live: dict[int, Any], exact: bool, diffs: tuple[FieldDiff, ...]
) -> None:
    assert diff_children(desired, live, prefix=PREFIX, exact=exact).delta == Delta(diffs)


def test_the_delta_lists_puts_in_desired_order_then_removals() -> None:
    changes = diff_children(
        {"b": {"v": 2}, "a": {"v": 1}, "c": {"v": 3}},
        {"z": {"v": 0}, "a": {"v": 0}, "c": {"v": 3}},
        prefix=("policies",),
    )
    assert changes.puts == ("b", "a")
    assert [diff.path for diff in changes.delta] == [
        ("policies", "b"),
        ("policies", "a", "v"),
        ("policies", "z"),
    ]
    assert changes.is_added("b") and not changes.is_added("a")
    assert [diff.path for diff in changes.delta_of(changes.removed)] == [("policies", "z")]


def test_a_caller_names_a_removed_childs_value_and_spec_path() -> None:
    live = {"old": {"PolicyType": "StepScaling", "Config": {}}}
    changes = diff_children(
        {},
        {name: {"tree": True} for name in live},
        prefix=("autoscaling", "policies"),
        removed_value=lambda name: live[name]["PolicyType"],
        removed_spec_path=lambda name: ("autoscaling", "stepScalingPolicies", name),
    )
    assert changes.delta == Delta(
        (
            FieldDiff(
                ("autoscaling", "policies", "old"),
                None,
                "StepScaling",
                spec_path=("autoscaling", "stepScalingPolicies", "old"),
            ),
        )
    )


@pytest.mark.parametrize(
    ("desired", "live", "path"),
    [
        ({("tcp", 80): {"d": "x"}}, {}, ("ingress", "tcp 80")),
        ({}, {("tcp", 80): {"d": "x"}}, ("ingress", "tcp 80")),
        ({("tcp", 80): {"d": "x"}}, {("tcp", 80): {"d": "y"}}, ("ingress", "tcp 80", "d")),
    ],
    ids=["added", "removed", "changed"],
)
def test_keys_that_are_not_path_items_are_named_by_path_item(
    desired: dict[tuple[str, int], Any], live: dict[tuple[str, int], Any], path: tuple[str, ...]
) -> None:
    changes = diff_children(desired, live, prefix=("ingress",), path_item=lambda key: f"{key[0]} {key[1]}")
    assert [diff.path for diff in changes.delta] == [path]


def test_a_key_that_is_not_a_path_item_needs_a_name() -> None:
    with pytest.raises(TypeError, match="path_item"):
        diff_children({("tcp", 80): {}}, {}, prefix=("ingress",))


def test_no_difference_is_an_empty_result() -> None:
    assert diff_children({1: {"a": 1}}, {1: {"a": 1}}, prefix=()) == ChildChanges()
