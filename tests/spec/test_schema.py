"""The JSON Schema printed by ``ecs-reconciler schema`` accepts the example specs and refuses bad shapes."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from reconciler.cli import main

EXAMPLE = Path(__file__).resolve().parents[2] / "specs"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        assert main(["schema"]) == 0
    schema = json.loads(output.getvalue())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _example_documents() -> list[dict[str, Any]]:
    documents = []
    for path in sorted(EXAMPLE.rglob("*.yaml")):
        documents.extend(document for document in yaml.safe_load_all(path.read_text()) if document)
    return documents


def test_every_example_document_matches_the_schema(validator: jsonschema.Draft202012Validator) -> None:
    documents = _example_documents()
    assert len(documents) == 9
    for document in documents:
        errors = [error.message for error in validator.iter_errors(document)]
        assert errors == [], (document["kind"], document["metadata"]["name"], errors)


def test_the_schema_describes_every_kind_by_its_kind_field(
    validator: jsonschema.Draft202012Validator,
) -> None:
    schema = validator.schema
    assert schema["discriminator"]["propertyName"] == "kind"
    assert sorted(schema["discriminator"]["mapping"]) == [
        "Cluster",
        "LoadBalancer",
        "LogGroup",
        "Repository",
        "SecurityGroup",
        "Service",
        "Target",
        "TargetGroup",
        "TaskDefinition",
    ]
    assert len(schema["oneOf"]) == 9


TARGET = {
    "apiVersion": "ecs-reconciler/v1",
    "kind": "Target",
    "metadata": {"name": "team-a"},
    "spec": {"accountId": "111111111111", "region": "eu-west-1", "roleName": "r", "sessionDuration": "1h"},
}


def test_a_target_and_a_document_in_a_namespace_match_the_schema(
    validator: jsonschema.Draft202012Validator,
) -> None:
    assert [error.message for error in validator.iter_errors(TARGET)] == []
    document = _example_documents()[0]
    document["metadata"]["namespace"] = "team-a"
    assert [error.message for error in validator.iter_errors(document)] == []
    for bad in ({"accountId": 111111111111}, {"region": "eu-west1"}, {"roleNmae": "r"}):
        assert list(validator.iter_errors({**TARGET, "spec": {**TARGET["spec"], **bad}})), bad


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda d: d["spec"].update(desiredCount="three"), "Service"),
        (lambda d: d["spec"].update(bogus=True), "Service"),
        (lambda d: d.update(apiVersion="v1"), "Cluster"),
        (lambda d: d.update(kind="Clusterish"), "Cluster"),
        (lambda d: d["metadata"].update(name="Not_Valid"), "Cluster"),
        (lambda d: d["spec"]["healthCheck"].update(intervalSeconds=1), "TargetGroup"),
        (lambda d: d["spec"].update(protocol="SCTP"), "TargetGroup"),
        (lambda d: d["spec"]["listeners"][0]["defaultAction"].update(type="teleport"), "LoadBalancer"),
    ],
)
def test_bad_documents_fail_the_schema(
    validator: jsonschema.Draft202012Validator, change: Any, where: str
) -> None:
    document = next(d for d in _example_documents() if d["kind"] == where)
    change(document)
    assert list(validator.iter_errors(document))
