"""Semantic validation and references: the example stack is valid, and each rule's edges hold."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from reconciler.resources.registry import load_spec_set, spec_kinds
from reconciler.resources.task_definition.checks import FARGATE_MEMORY_BY_CPU
from reconciler.spec import (
    Document,
    Reference,
    SpecSet,
    find_cycles,
    references_of,
    uses_default_network,
    validate_spec_set,
)
from reconciler.spec.loader import load_text
from reconciler.spec.models import ReferenceTo
from reconciler.spec.validate import GENERIC_CHECKS

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "specs"


def _documents(text: str) -> list[Document]:
    result = load_text(textwrap.dedent(text), spec_kinds().models, file="t.yaml")
    assert not result.errors, result.errors
    return list(result.documents)


def _task(cpu: object, memory: object) -> str:
    return f"""\
        apiVersion: ecs-reconciler/v1
        kind: TaskDefinition
        metadata: {{name: web}}
        spec:
          requiresCompatibilities: [FARGATE]
          networkMode: awsvpc
          cpu: "{cpu}"
          memory: "{memory}"
          containerDefinitions: [{{name: web, image: nginx}}]
        """


def test_the_example_stack_is_valid() -> None:
    spec_set, errors = load_spec_set([EXAMPLE])
    assert errors == []
    assert spec_set is not None
    assert sorted(spec_set.keys()) == [
        ("Cluster", "node-app"),
        ("LoadBalancer", "node-app"),
        ("LogGroup", "node-app"),
        ("Repository", "node-app"),
        ("SecurityGroup", "node-app-alb"),
        ("SecurityGroup", "node-app-tasks"),
        ("Service", "node-app"),
        ("TargetGroup", "node-app"),
        ("TaskDefinition", "node-app"),
    ]
    repository = spec_set.get("Repository", "node-app")
    assert repository is not None and repository.aws_name == "varuntd/node-app"
    log_group = spec_set.get("LogGroup", "node-app")
    assert log_group is not None and log_group.aws_name == "/ecs/node-app"
    assert uses_default_network(spec_set)


def test_the_example_references_are_typed_and_located() -> None:
    spec_set, _ = load_spec_set([EXAMPLE])
    assert spec_set is not None
    service = spec_set[("Service", "node-app")]
    assert [(r.target_kind, r.target_name, r.path, r.creation_edge) for r in references_of(service)] == [
        ("Cluster", "node-app", ("spec", "cluster"), True),
        ("TaskDefinition", "node-app", ("spec", "taskDefinition"), True),
        (
            "SecurityGroup",
            "node-app-tasks",
            ("spec", "networkConfiguration", "awsvpcConfiguration", "securityGroups", 0),
            True,
        ),
        ("TargetGroup", "node-app", ("spec", "loadBalancers", 0, "targetGroup"), True),
    ]
    tasks_group = spec_set[("SecurityGroup", "node-app-tasks")]
    [rule_reference] = references_of(tasks_group)
    assert (rule_reference.target, rule_reference.creation_edge) == (("SecurityGroup", "node-app-alb"), False)
    task = spec_set[("TaskDefinition", "node-app")]
    assert [reference.target for reference in references_of(task)] == [
        ("Repository", "node-app"),
        ("LogGroup", "node-app"),
    ]
    assert (
        task.line_of(references_of(task)[0].path)
        == task.line_of(("spec", "containerDefinitions", 0, "image")) + 1
    )
    # The awslogs-group option names the LogGroup document: the error points at the option's line.
    options = ("spec", "containerDefinitions", 0, "logConfiguration", "options")
    assert task.line_of(references_of(task)[1].path) == task.line_of(options) + 2


def test_spec_set_iterates_in_file_order_and_looks_up_by_kind_and_name() -> None:
    spec_set, _ = load_spec_set([EXAMPLE])
    assert spec_set is not None
    files = [document.file for document in spec_set]
    assert files == sorted(files)
    assert [document.name for document in spec_set.of_kind("SecurityGroup")] == [
        "node-app-alb",
        "node-app-tasks",
    ]
    assert spec_set.get("Service", "nope") is None
    assert ("Cluster", "node-app") in spec_set
    assert len(spec_set) == 9


@pytest.mark.parametrize("cpu", sorted(FARGATE_MEMORY_BY_CPU))
def test_every_listed_fargate_size_is_accepted(cpu: int) -> None:
    for memory in FARGATE_MEMORY_BY_CPU[cpu]:
        assert validate_spec_set(_documents(_task(cpu, memory)), spec_kinds()) == []


@pytest.mark.parametrize(
    ("cpu", "memory", "fragment"),
    [
        (256, 3072, "allows memory 512/1024/2048 MiB, not 3072"),
        (512, 512, "allows memory 1024-4096 in steps of 1024 MiB, not 512"),
        (1024, 9216, "not 9216"),
        (4096, 31744, "not 31744"),
        (8192, 18432, "16384-61440 in steps of 4096"),
        (16384, 36864, "32768-122880 in steps of 8192"),
        (128, 512, "Fargate has no cpu 128"),
    ],
)
def test_fargate_sizes_off_the_table_are_refused(cpu: int, memory: int, fragment: str) -> None:
    [error] = validate_spec_set(_documents(_task(cpu, memory)), spec_kinds())
    assert fragment in error.message


def test_references_to_a_document_that_failed_its_model_are_not_reported_again() -> None:
    documents = _documents(
        """\
        apiVersion: ecs-reconciler/v1
        kind: Service
        metadata: {name: web}
        spec: {cluster: main, taskDefinition: web}
        """
    )
    errors = validate_spec_set(
        documents, spec_kinds(), invalid_keys=frozenset({("Cluster", "main"), ("TaskDefinition", "web")})
    )
    assert errors == []
    assert len(validate_spec_set(documents, spec_kinds())) == 2
    assert validate_spec_set(documents, spec_kinds(), complete=False) == []


def _reference(source: str, target: str, *, creation_edge: bool = True) -> Reference:
    return Reference("Service", source, ReferenceTo("Service", target, ("spec",), creation_edge))


@pytest.mark.parametrize(
    ("edges", "cycles"),
    [
        ([("a", "b"), ("b", "c")], []),
        ([("a", "b"), ("b", "a")], [("a", "b")]),
        ([("a", "a")], [("a",)]),
        ([("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")], [("a", "b", "c")]),
    ],
)
def test_cycles_are_found_over_creation_edges(
    edges: list[tuple[str, str]], cycles: list[tuple[str, ...]]
) -> None:
    found = find_cycles([_reference(source, target) for source, target in edges])
    assert [tuple(name for _, name in cycle) for cycle in found] == cycles


def test_edges_that_are_not_creation_edges_never_form_a_cycle() -> None:
    references = [_reference("a", "b", creation_edge=False), _reference("b", "a", creation_edge=False)]
    assert find_cycles(references) == []


def test_security_groups_that_name_each_other_are_valid() -> None:
    documents = _documents(
        """\
        apiVersion: ecs-reconciler/v1
        kind: SecurityGroup
        metadata: {name: a}
        spec:
          vpc: vpc-0abc
          ingress: [{protocol: tcp, port: 1, securityGroup: b}]
        ---
        apiVersion: ecs-reconciler/v1
        kind: SecurityGroup
        metadata: {name: b}
        spec:
          vpc: vpc-0abc
          egress: [{protocol: all, securityGroup: a}, {protocol: tcp, port: 2, securityGroup: sg-0123}]
        """
    )
    assert validate_spec_set(documents, spec_kinds()) == []
    assert not uses_default_network(documents)
    assert [reference.target_name for reference in references_of(documents[1])] == ["a"]


def test_every_check_is_a_named_function() -> None:
    checks = (*GENERIC_CHECKS, *spec_kinds().checks)
    names = [check.__name__ for check in checks]
    assert len(names) == len(set(names))
    assert all(check.__doc__ for check in checks)


def test_a_hand_built_spec_set_needs_no_validation() -> None:
    documents = _documents(_task(256, 512))
    spec_set = SpecSet(documents=tuple(documents))
    assert spec_set[("TaskDefinition", "web")] is documents[0]
    with pytest.raises(KeyError):
        spec_set[("TaskDefinition", "api")]
