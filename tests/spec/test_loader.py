"""Loading: positions of every field, YAML problems as errors with lines, files found deterministically."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from reconciler.resources.registry import spec_kinds
from reconciler.resources.task_definition.model import TaskDefinitionSpec
from reconciler.spec import Document, SpecError, load_documents
from reconciler.spec.errors import render_path
from reconciler.spec.loader import DEFAULT_BUDGET, Budget, find_spec_files, load_text

TASK = textwrap.dedent(
    """\
    apiVersion: ecs-reconciler/v1
    kind: TaskDefinition
    metadata:
      name: web
      labels: {team: web}
    spec:
      cpu: 1 vCPU
      memory: 2 GB
      containerDefinitions:
        - name: web
          image: {repository: web, tag: latest}
          portMappings:
            - containerPort: 3000
    """
)


def _load(text: str) -> tuple[list[Document], list[SpecError]]:
    result = load_text(textwrap.dedent(text), spec_kinds().models, file="specs/test.yaml")
    return list(result.documents), list(result.errors)


def _only_error(text: str) -> SpecError:
    documents, errors = _load(text)
    assert len(errors) == 1, errors
    assert documents == []
    return errors[0]


def test_a_document_carries_kind_metadata_typed_spec_file_and_line() -> None:
    documents, errors = _load(TASK)
    assert errors == []
    [document] = documents
    assert (document.kind, document.name, document.file, document.line) == (
        "TaskDefinition",
        "web",
        "specs/test.yaml",
        1,
    )
    assert document.metadata.labels == {"team": "web"}
    assert document.spec_as(TaskDefinitionSpec).cpu == "1024"
    assert document.key == ("TaskDefinition", "web")
    assert document.aws_name == "web"


@pytest.mark.parametrize(
    ("path", "line"),
    [
        ((), 1),
        (("kind",), 2),
        (("metadata", "name"), 4),
        (("spec", "cpu"), 7),
        (("spec", "containerDefinitions"), 9),
        (("spec", "containerDefinitions", 0), 10),
        (("spec", "containerDefinitions", 0, "image"), 11),
        (("spec", "containerDefinitions", 0, "image", "tag"), 11),
        (("spec", "containerDefinitions", 0, "portMappings", 0, "containerPort"), 13),
        # Not written: the nearest written ancestor answers.
        (("spec", "containerDefinitions", 0, "essential"), 10),
        (("spec", "networkMode"), 6),
        (("spec", "containerDefinitions", 7, "name"), 9),
    ],
)
def test_line_of_a_field_falls_back_to_its_nearest_written_ancestor(
    path: tuple[str | int, ...], line: int
) -> None:
    [document] = _load(TASK)[0]
    assert document.line_of(path) == line


def test_documents_in_one_file_keep_their_own_lines() -> None:
    documents, errors = _load(
        """\
        # a comment
        apiVersion: ecs-reconciler/v1
        kind: Cluster
        metadata: {name: a}
        spec: {}
        ---
        ---
        apiVersion: ecs-reconciler/v1
        kind: Cluster
        metadata: {name: b}
        spec:
          clusterName: b-cluster
        """
    )
    assert errors == []
    assert [
        (document.name, document.line, document.line_of(("spec", "clusterName"))) for document in documents
    ] == [
        ("a", 2, 5),
        ("b", 8, 12),
    ]


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("a: [1, 2\nb: 3\n", 2, "expected ',' or ']'"),
        ("a: b: c\n", 1, "mapping values are not allowed"),
        ("kind: Cluster\n\tmetadata: {}\n", 2, "tab character"),
        ("- 1\n", 1, "must be a mapping"),
        ("just text\n", 1, "must be a mapping"),
        ("# nothing\n", 1, "no documents"),
        ("", 1, "no documents"),
        ("a: 1\nb: 2\na: 3\n", 3, "duplicate key 'a' (first at line 1)"),
        ("a: &x [*x]\n", 1, "alias refers to a node that contains it"),
        ("? [1, 2]\n: x\n", 1, "mapping key must be a plain value"),
        ("a: !Ref web\n", 1, "could not determine a constructor"),
        ("metadata: {name: a}\n", 1, "missing kind"),
        ("kind: Clusters\nmetadata: {name: a}\n", 1, "unknown kind 'Clusters' (did you mean 'Cluster'?)"),
        ("kind: [Cluster]\n", 1, "unknown kind ['Cluster']"),
    ],
)
def test_bad_yaml_becomes_an_error_with_a_line(text: str, line: int, fragment: str) -> None:
    error = _only_error(text)
    assert (error.file, error.line) == ("specs/test.yaml", line)
    assert fragment in error.message


@pytest.mark.parametrize(
    ("spec_lines", "line", "path", "fragment"),
    [
        # the member tags of unions (image.RepositoryImage.tag) never reach the user
        (
            "containerDefinitions:\n  - name: w\n    image: {repository: w, tag: ''}",
            7,
            "containerDefinitions[0].image.tag",
            "at least 1 character",
        ),
        (
            "containerDefinitions:\n  - name: w\n    image: {repository: w, digest: sha256:1}",
            7,
            "containerDefinitions[0].image.digest",
            "should match pattern",
        ),
        (
            "containerDefinitions:\n  - {name: w}",
            6,
            "containerDefinitions[0].image",
            "required field is missing",
        ),
        ("containerDefinitions: []\nfamily: 'bad family'", 6, "family", "should match pattern"),
        (
            "containerDefinitions: [{name: w, image: x}]\nimage_pinning: digest",
            6,
            "image_pinning",
            "did you mean 'imagePinning'?",
        ),
        ("containerDefinitions: [{name: w, image: x}]\nnetworkMode: vpc", 6, "networkMode", "(got 'vpc')"),
    ],
)
def test_model_errors_point_at_the_field_as_written(
    spec_lines: str, line: int, path: str, fragment: str
) -> None:
    text = (
        "apiVersion: ecs-reconciler/v1\nkind: TaskDefinition\nmetadata: {name: web}\nspec:\n"
        + textwrap.indent(spec_lines, "  ")
    )
    _, errors = _load(text)
    matching = [error for error in errors if error.path == path]
    assert matching, errors
    assert (matching[0].kind, matching[0].name, matching[0].line) == ("TaskDefinition", "web", line)
    assert fragment in matching[0].message


def test_snake_case_attribute_names_are_not_accepted_as_keys() -> None:
    error = _only_error(
        """\
        apiVersion: ecs-reconciler/v1
        kind: Cluster
        metadata: {name: a}
        spec: {cluster_name: a}
        """
    )
    assert (error.line, error.path) == (4, "cluster_name")
    assert "did you mean 'clusterName'?" in error.message


def test_merge_keys_fill_only_what_the_mapping_does_not_write() -> None:
    documents, errors = _load(
        """\
        apiVersion: ecs-reconciler/v1
        kind: TargetGroup
        metadata: {name: web}
        spec:
          <<: &defaults {protocol: HTTP, port: 80, vpc: default}
          port: 3000
        """
    )
    assert errors == []
    spec = documents[0].spec
    assert spec.model_dump(by_alias=True, exclude_unset=True) == {
        "protocol": "HTTP",
        "port": 3000,
        "vpc": "default",
    }


def test_timestamps_are_kept_as_the_text_written() -> None:
    documents, errors = _load(
        """\
        apiVersion: ecs-reconciler/v1
        kind: Cluster
        metadata: {name: a, labels: {since: 2024-01-31}}
        spec: {}
        """
    )
    assert errors == []
    assert documents[0].metadata.labels == {"since": "2024-01-31"}


def test_alias_expansion_is_bounded() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [
        f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]" for i in range(1, 9)
    ]
    error = _only_error("\n".join(lines) + "\n")
    assert "document too large" in error.message


def test_a_document_that_fails_its_model_is_remembered_as_written() -> None:
    result = load_text(
        "apiVersion: ecs-reconciler/v1\nkind: Cluster\nmetadata: {name: a}\nspec: {bogus: 1}\n",
        spec_kinds().models,
        file="x.yaml",
    )
    assert result.invalid_keys == {("Cluster", "a")}
    assert result.complete


def test_files_are_found_sorted_recursively_skipping_hidden_folders(tmp_path: Path) -> None:
    for relative in ("b.yaml", "a/z.yml", "a/y.yaml", ".git/x.yaml", "notes.txt", "c.YAML.bak"):
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("# empty\n")
    files, errors = find_spec_files([tmp_path, tmp_path / "b.yaml"])
    assert errors == []
    assert [file.relative_to(tmp_path).as_posix() for file in files] == ["a/y.yaml", "a/z.yml", "b.yaml"]


def test_missing_paths_and_empty_folders_are_errors(tmp_path: Path) -> None:
    result = load_documents([tmp_path / "nope.yaml", tmp_path], spec_kinds().models)
    assert [(error.line, error.message) for error in result.errors] == [
        (
            0,
            "no *.yaml or *.yml files in this folder "
            "(to delete everything this instance owns, pass --prune --allow-mass-prune)",
        ),
        (0, "no such file or folder"),
    ]
    assert not result.complete


def test_unreadable_text_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "latin1.yaml").write_bytes(b"kind: Cl\xe9ster\n")
    [error] = load_documents([tmp_path], spec_kinds().models).errors
    assert "not UTF-8" in error.message


def test_errors_are_sorted_by_file_then_line(tmp_path: Path) -> None:
    (tmp_path / "b.yaml").write_text("a: 1\na: 2\n")
    (tmp_path / "a.yaml").write_text("x: [\n")
    (tmp_path / "c.yaml").write_text("- 1\n---\nb: 1\nb: 1\n")
    errors = load_documents([tmp_path], spec_kinds().models).errors
    assert [(Path(error.file).name, error.line) for error in errors] == [
        ("a.yaml", 2),
        ("b.yaml", 2),
        ("c.yaml", 1),
        ("c.yaml", 4),
    ]


@pytest.mark.parametrize(
    ("error", "rendered"),
    [
        (
            SpecError("s.yaml", 7, "TaskDefinition", "web", "cpu", "bad"),
            "s.yaml:7: TaskDefinition/web: cpu: bad",
        ),
        (SpecError("s.yaml", 3, "", "", "", "duplicate key"), "s.yaml:3: duplicate key"),
        (SpecError("s.yaml", 3, "", "a", "kind", "unknown kind"), "s.yaml:3: ?/a: kind: unknown kind"),
    ],
)
def test_errors_render_as_file_line_kind_name_path_message(error: SpecError, rendered: str) -> None:
    assert str(error) == rendered


@pytest.mark.parametrize(
    ("path", "rendered"),
    [
        (("spec", "cpu"), "cpu"),
        (("spec",), "spec"),
        (("metadata", "name"), "metadata.name"),
        (
            ("spec", "containerDefinitions", 0, "portMappings", 1, "hostPort"),
            "containerDefinitions[0].portMappings[1].hostPort",
        ),
        ((), ""),
    ],
)
def test_paths_render_relative_to_spec(path: tuple[str | int, ...], rendered: str) -> None:
    assert render_path(path) == rendered


def test_a_wrong_mapping_key_is_reported_as_the_key() -> None:
    _, errors = _load(
        """\
        apiVersion: ecs-reconciler/v1
        kind: Cluster
        metadata: {name: a}
        spec:
          tags:
            1: one
        """
    )
    [error] = errors
    assert (error.line, error.message) == (6, "key 1: Input should be a valid string")


# --- budgets (issue 9, item 6) ------------------------------------------------------------------

SMALL = Budget(file_bytes=4_000, file_documents=5, set_bytes=6_000, set_documents=8, set_values=300)


def _clusters(first: int, count: int) -> str:
    return "".join(
        "---\napiVersion: ecs-reconciler/v1\nkind: Cluster\n"
        f"metadata: {{name: c{first + index}}}\nspec: {{}}\n"
        for index in range(count)
    )


@pytest.mark.parametrize(
    ("files", "bad_file", "line", "fragment"),
    [
        ({"a.yaml": _clusters(0, 6)}, "a.yaml", 27, "more than 5 documents in one file"),
        ({"a.yaml": _clusters(0, 5), "b.yaml": _clusters(5, 4)}, "b.yaml", 17, "more than 8 documents"),
        ({"a.yaml": "# padding\n" * 401}, "a.yaml", 0, "file larger than"),
        ({"a.yaml": "#" * 3_500 + "\n", "b.yaml": "#" * 3_500 + "\n"}, "b.yaml", 0, "spec set is larger"),
        (
            {
                "a.yaml": _clusters(0, 1).replace(
                    "spec: {}", "spec: {tags: {" + ", ".join(f"k{i}: v" for i in range(400)) + "}}"
                )
            },
            "a.yaml",
            5,
            "more than 300 values",
        ),
    ],
)
def test_a_file_or_set_beyond_its_budget_is_an_error_naming_the_file(
    tmp_path: Path, files: dict[str, str], bad_file: str, line: int, fragment: str
) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    result = load_documents([tmp_path], spec_kinds().models, budget=SMALL)
    matching = [e for e in result.errors if e.file == str(tmp_path / bad_file) and fragment in e.message]
    assert matching, result.errors
    assert matching[0].line == line
    assert not result.complete


def test_the_default_budget_refuses_a_huge_file_without_reading_it_whole(tmp_path: Path) -> None:
    huge = tmp_path / "huge.yaml"
    with huge.open("wb") as stream:
        stream.truncate(DEFAULT_BUDGET.file_bytes * 8)  # sparse: 64 MB of NULs
    result = load_documents([huge], spec_kinds().models)
    assert [(e.file, e.message) for e in result.errors] == [(str(huge), "file larger than 8 MB: split it")]


def test_the_default_budget_holds_a_thousand_service_estate() -> None:
    # 1,000 services x 7 kinds of small documents stay well inside every default limit.
    assert DEFAULT_BUDGET.set_documents >= 7_000 * 2
    assert DEFAULT_BUDGET.file_documents >= 1_000 * 2
