"""Property tests: whatever text or document arrives, loading returns errors or a valid set, never raises.

Three sources of input: arbitrary text, arbitrary YAML-serialisable values, and the example stack with
random damage (keys deleted, values replaced by other types, unknown keys inserted, documents
duplicated). The daemon relies on this: a bad push must leave the last good spec set in force, not crash.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.resources.registry import load_spec_set
from reconciler.spec import SpecSet

EXAMPLE = Path(__file__).resolve().parents[2] / "specs"
EXAMPLE_DOCUMENTS: list[dict[str, Any]] = [
    document
    for path in sorted(EXAMPLE.rglob("*.yaml"))
    for document in yaml.safe_load_all(path.read_text())
    if document
]

PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(["default", "FARGATE", "tcp", "-1", "1 vCPU", "2 GB", "node-app", "sg-0abc", "awsvpc"]),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(st.text(max_size=12), st.sampled_from(["kind", "spec", "metadata", "name"])),
            children,
            max_size=4,
        ),
    ),
    max_leaves=20,
)


def _check(tmp_path: Path, text: str) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(text, encoding="utf-8")
    spec_set, errors = load_spec_set([path])
    if spec_set is None:
        assert errors, "no spec set must come with a reason"
        assert all(error.file == str(path) and error.line >= 0 and error.message for error in errors)
        assert errors == sorted(errors)
    else:
        assert isinstance(spec_set, SpecSet)
        assert errors == []


@PROPERTY_SETTINGS
@given(text=st.text(max_size=300))
def test_arbitrary_text_never_raises(tmp_path: Path, text: str) -> None:
    _check(tmp_path, text)


@PROPERTY_SETTINGS
@given(documents=st.lists(values, min_size=1, max_size=3))
def test_arbitrary_yaml_values_never_raise(tmp_path: Path, documents: list[Any]) -> None:
    _check(tmp_path, yaml.safe_dump_all(documents, allow_unicode=True))


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found.extend(_paths(child, (*prefix, key)))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found.extend(_paths(child, (*prefix, index)))
    return found


def _parent(document: Any, path: tuple[Any, ...]) -> Any:
    for part in path[:-1]:
        document = document[part]
    return document


@st.composite
def damaged_stacks(draw: st.DrawFn) -> list[Any]:
    documents = copy.deepcopy(EXAMPLE_DOCUMENTS)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        operation = draw(st.sampled_from(["delete", "replace", "insert", "duplicate"]))
        index = draw(st.integers(min_value=0, max_value=len(documents) - 1))
        document = documents[index]
        if operation == "duplicate":
            documents.insert(index, copy.deepcopy(document))
            continue
        paths = _paths(document)
        path = draw(st.sampled_from(paths))
        parent = _parent(document, path)
        if operation == "delete":
            del parent[path[-1]]
        elif operation == "replace":
            parent[path[-1]] = draw(values)
        elif isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=12))] = draw(values)
        else:
            parent.insert(path[-1], draw(values))
    return documents


@PROPERTY_SETTINGS
@given(documents=damaged_stacks())
def test_damaged_example_stacks_never_raise(tmp_path: Path, documents: list[Any]) -> None:
    _check(tmp_path, yaml.safe_dump_all(documents, allow_unicode=True, sort_keys=False))


def test_the_undamaged_example_round_trips_through_yaml(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump_all(EXAMPLE_DOCUMENTS, sort_keys=False))
    spec_set, errors = load_spec_set([path])
    assert errors == []
    assert spec_set is not None and len(spec_set) == 9
