"""The catalogue of AWS's rewrites: complete in form, rendered to docs, each entry backed by a test."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from reconciler.plan.rewrites import Handling, Rewrite, render_markdown
from reconciler.resources.registry import all_kinds, rewrite_catalogue

ROOT = Path(__file__).resolve().parents[2]
ENTRIES = [(kind, rewrite) for kind, rewrites in rewrite_catalogue().items() for rewrite in rewrites]


def test_every_kind_declares_a_catalogue() -> None:
    assert set(rewrite_catalogue()) == {module.kind for module in all_kinds()}


def test_the_committed_page_is_rendered_from_the_catalogue() -> None:
    page = (ROOT / "docs" / "aws-rewrites.md").read_text()
    assert page == render_markdown(rewrite_catalogue()), (
        "docs/aws-rewrites.md is stale: python -m reconciler.resources.catalogue > docs/aws-rewrites.md"
    )


def test_the_readme_links_the_catalogue() -> None:
    assert "docs/aws-rewrites.md" in (ROOT / "README.md").read_text()


@pytest.mark.parametrize(("kind", "rewrite"), ENTRIES, ids=[f"{k}:{r.field}" for k, r in ENTRIES])
def test_each_rewrite_names_a_source_and_an_existing_test(kind: str, rewrite: Rewrite) -> None:
    assert rewrite.source.startswith(("https://", "botocore ", "undocumented: ")), rewrite.source
    file, _, name = rewrite.test.partition("::")
    path = ROOT / file
    assert path.is_file(), f"{kind} {rewrite.field}: no test file {file}"
    defined = {
        node.name for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.FunctionDef)
    }
    assert name in defined, f"{kind} {rewrite.field}: {file} defines no {name}"


def test_a_rewrite_renders_as_a_table_row_with_its_source_linked() -> None:
    rewrite = Rewrite(
        field="containerDefinitions[].portMappings[].protocol",
        sent="absent",
        answered="`tcp`",
        handling=Handling.NORMALISED,
        how="absent means tcp on both sides",
        source="https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_PortMapping.html",
        test="tests/x.py::test_y",
    )
    page = render_markdown({"TaskDefinition": (rewrite,), "Cluster": ()})
    assert "## TaskDefinition" in page and "## Cluster" in page
    assert "<https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_PortMapping.html>" in page
    assert "| `containerDefinitions[].portMappings[].protocol` | absent | `tcp` |" in page
    assert "No rewrite is known for this kind." in page
