"""Generic normalisation rules: each one removes a known source of perpetual diffs."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.plan.normalise import (
    as_string,
    drop_defaults,
    drop_empty,
    fill_defaults,
    map_to_tags,
    parse_json_text,
    sort_by,
    tags_to_map,
)


@pytest.mark.parametrize(
    ("tree", "expected"),
    [
        ({"a": None, "b": [], "c": {}, "d": 0, "e": False, "f": ""}, {"d": 0, "e": False, "f": ""}),
        ({"x": {"y": [], "z": None}}, {}),
        ({"x": [{"y": None}, {"y": 1}]}, {"x": [{"y": 1}]}),
        ([None, [], 1], [1]),
    ],
)
def test_null_empty_list_and_absent_are_the_same(tree: Any, expected: Any) -> None:
    assert drop_empty(tree) == expected


def test_drop_empty_never_mutates_its_input() -> None:
    tree = {"a": None, "b": {"c": []}}
    drop_empty(tree)
    assert tree == {"a": None, "b": {"c": []}}


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1024, "1024"), ("1024", "1024"), (True, "true"), (False, "false"), (0.5, "0.5"), (None, None)],
)
def test_numbers_and_booleans_take_awss_string_form(value: Any, expected: Any) -> None:
    assert as_string(value) == expected


def test_defaults_are_dropped_or_filled_symmetrically() -> None:
    defaults = {"protocol": "tcp", "essential": True}
    assert drop_defaults({"protocol": "tcp", "port": 80}, defaults) == {"port": 80}
    assert drop_defaults({"protocol": "udp"}, defaults) == {"protocol": "udp"}
    assert fill_defaults({"port": 80}, defaults) == {"protocol": "tcp", "essential": True, "port": 80}


def test_unordered_lists_take_one_canonical_order() -> None:
    left = [{"name": "B", "value": "2"}, {"name": "A", "value": "1"}]
    right = [{"value": "1", "name": "A"}, {"value": "2", "name": "B"}]
    assert sort_by(left) == sort_by(right)
    assert sort_by(["subnet-b", "subnet-a"]) == ["subnet-a", "subnet-b"]


def test_tag_lists_and_maps_round_trip_in_both_casings() -> None:
    assert tags_to_map([{"key": "a", "value": "1"}]) == {"a": "1"}
    assert tags_to_map([{"Key": "a", "Value": "1"}], key="Key", value="Value") == {"a": "1"}
    assert map_to_tags({"b": "2", "a": "1"}) == [{"key": "a", "value": "1"}, {"key": "b", "value": "2"}]
    assert tags_to_map(None) == {}


def test_policy_text_compares_by_content_not_formatting() -> None:
    compact = '{"Version":"2012-10-17","Statement":[]}'
    pretty = '{\n  "Version" : "2012-10-17",\n  "Statement" : [ ]\n}'
    assert parse_json_text(compact) == parse_json_text(pretty)
    assert parse_json_text("not json") == "not json"
    assert parse_json_text(None) is None
