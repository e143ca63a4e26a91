"""The generic diff: subset semantics for partial-update APIs, exact for whole-object ones."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.plan.delta import Delta, FieldDiff, diff_trees, format_path


@pytest.mark.parametrize(
    ("desired", "live", "expected"),
    [
        ({"a": 1}, {"a": 1}, []),
        ({"a": 1}, {"a": 1, "serverOnly": 2}, []),
        ({"a": 1}, {"a": 2}, [(("a",), 1, 2)]),
        ({"a": 1}, {}, [(("a",), 1, None)]),
        ({"a": {"b": 1}}, {"a": {"b": 1, "c": 3}}, []),
        ({"a": {"b": 1}}, {"a": {"b": 2}}, [(("a", "b"), 1, 2)]),
        ({"a": [1, 2]}, {"a": [1, 2, 3]}, [(("a",), [1, 2], [1, 2, 3])]),
        ({"a": [{"x": 1}]}, {"a": [{"x": 1, "y": 2}]}, [(("a",), [{"x": 1}], [{"x": 1, "y": 2}])]),
        ({"a": 1}, None, [((), {"a": 1}, None)]),
    ],
)
def test_subset_diff_manages_only_the_keys_the_desired_side_sets(
    desired: Any, live: Any, expected: list[tuple[tuple[str, ...], Any, Any]]
) -> None:
    delta = diff_trees(desired, live)
    assert [(d.path, d.desired, d.live) for d in delta] == expected


@pytest.mark.parametrize(
    ("desired", "live", "expected_paths"),
    [
        ({"a": 1}, {"a": 1}, []),
        ({"a": 1}, {"a": 1, "extra": 2}, [("extra",)]),
        ({"a": {"b": 1}}, {"a": {"b": 1, "c": 2}}, [("a", "c")]),
    ],
)
def test_exact_diff_reports_extra_live_keys(
    desired: Any, live: Any, expected_paths: list[tuple[str, ...]]
) -> None:
    assert [d.path for d in diff_trees(desired, live, exact=True)] == expected_paths


def test_delta_queries_by_path_prefix() -> None:
    delta = Delta(
        (
            FieldDiff(("desiredCount",), 3, 1),
            FieldDiff(("tags", "team"), "web", None),
        )
    )
    assert delta.touches(("tags",))
    assert not delta.only_under(("tags",))
    assert delta.without(("desiredCount",)).only_under(("tags",))
    assert len(delta.under(("tags",))) == 1
    assert not Delta()


@pytest.mark.parametrize(
    ("path", "text"),
    [
        (("a",), "a"),
        (("containerDefinitions", 0, "image"), "containerDefinitions[0].image"),
        (("tags", "team"), "tags.team"),
        ((), ""),
    ],
)
def test_paths_render_as_a_reader_writes_them(path: tuple[str | int, ...], text: str) -> None:
    assert format_path(path) == text
