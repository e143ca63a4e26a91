"""How an import names documents and files, and writes a strategy (pure: table tests)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.engine.importing import document_name, file_name, unique_name, write_checked
from reconciler.resources.importing import imported_strategy


@pytest.mark.parametrize(
    ("aws_name", "expected"),
    [
        ("node-app", "node-app"),
        ("varuntd/node-app", "varuntd-node-app"),
        ("Shop ALB", "shop-alb"),
        ("shop_web", "shop-web"),
        ("/ecs/shop", "ecs-shop"),
        ("--edge--", "edge"),
        ("___", "imported"),
        ("a" * 70, "a" * 63),
        ("a" * 62 + "_b", "a" * 62),  # cut at 63, then no trailing dash
    ],
)
def test_a_document_name_is_made_from_the_aws_name(aws_name: str, expected: str) -> None:
    assert document_name(aws_name) == expected


@pytest.mark.parametrize(
    ("wanted", "taken", "expected"),
    [
        ("web", set(), "web"),
        ("web", {"web"}, "web-2"),
        ("web", {"web", "web-2"}, "web-3"),
        ("a" * 63, {"a" * 63}, "a" * 61 + "-2"),
    ],
)
def test_two_objects_that_make_one_name_get_distinct_documents(
    wanted: str, taken: set[str], expected: str
) -> None:
    assert unique_name(wanted, taken) == expected
    assert expected in taken


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("Cluster", "clusters.yaml"),
        ("TaskDefinition", "task-definitions.yaml"),
        ("Repository", "repositories.yaml"),
        ("LogGroup", "log-groups.yaml"),
    ],
)
def test_each_kind_has_its_file(kind: str, expected: str) -> None:
    assert file_name(kind) == expected


@pytest.mark.parametrize(
    ("live", "expected"),
    [
        (None, None),
        ([], None),
        (
            [{"capacityProvider": "FARGATE", "base": 0, "weight": 1}],
            [{"capacityProvider": "FARGATE", "weight": 1}],
        ),
        (
            [
                {"capacityProvider": "FARGATE", "base": 2, "weight": 0},
                {"capacityProvider": "FARGATE_SPOT", "weight": 3},
            ],
            [{"capacityProvider": "FARGATE", "base": 2}, {"capacityProvider": "FARGATE_SPOT", "weight": 3}],
        ),
    ],
)
def test_a_strategy_is_written_without_ecs_defaults(
    live: list[dict[str, object]] | None, expected: object
) -> None:
    assert imported_strategy(live) == expected


_VALID = "apiVersion: ecs-reconciler/v1\nkind: Cluster\nmetadata: {name: shop}\nspec: {}\n"
_DANGLING = (
    "apiVersion: ecs-reconciler/v1\nkind: Service\nmetadata: {name: web}\n"
    "spec: {cluster: shop, taskDefinition: nowhere}\n"
)


def test_documents_that_do_not_validate_are_not_written(tmp_path: Path) -> None:
    out = tmp_path / "out"
    errors = write_checked({"clusters.yaml": _VALID, "services.yaml": _DANGLING}, out)
    assert [(Path(error.file).name, error.path) for error in errors] == [("services.yaml", "taskDefinition")]
    assert str(errors[0].file).startswith(str(out))  # said of where it would have been written
    assert not out.exists()


def test_documents_that_validate_are_written_but_never_over_a_file(tmp_path: Path) -> None:
    assert write_checked({"clusters.yaml": _VALID}, tmp_path) == []
    assert (tmp_path / "clusters.yaml").read_text() == _VALID
    with pytest.raises(FileExistsError, match=r"clusters\.yaml exists"):
        write_checked({"clusters.yaml": _VALID}, tmp_path)
