"""``ecs-reconciler validate`` and ``schema``: exit codes, text and JSON output, help and usage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.cli import build_parser, main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "specs"

BROKEN = """\
apiVersion: ecs-reconciler/v1
kind: Cluster
metadata: {name: main}
spec:
  capacityProviders: FARGATE
---
apiVersion: ecs-reconciler/v1
kind: Service
metadata: {name: web}
spec:
  cluster: main
  taskDefinition: missing
"""


def test_the_example_specs_validate(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(EXAMPLE)]) == 0
    assert capsys.readouterr().out == "valid: 9 documents in 5 files\n"


def test_the_example_specs_validate_from_the_project_root(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["validate", "specs/"]) == 0
    capsys.readouterr()


def test_valid_json_output_lists_the_resources(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(EXAMPLE / "node-app" / "cluster.yaml"), "--output", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report == {
        "ok": True,
        "errors": [],
        "resources": [
            {
                "kind": "Cluster",
                "name": "node-app",
                "file": str(EXAMPLE / "node-app" / "cluster.yaml"),
                "line": 3,
            }
        ],
        "warnings": [],
        "calls": {},
    }


SECRET_IN_PLAIN_TEXT = """\
apiVersion: ecs-reconciler/v1
kind: TaskDefinition
metadata: {name: web}
spec:
  containerDefinitions:
    - name: web
      image: nginx
      memory: 512
      environment:
        - {name: MODE, value: production}
        - {name: DB_PASS, value: hunter2}
        - {name: DATABASE_URL, value: "postgres://app:pg-Secr3t@db/app"}
"""


def test_validate_warns_about_plain_secrets_without_showing_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "web.yaml"
    spec.write_text(SECRET_IN_PLAIN_TEXT)
    assert main(["validate", str(spec), "--output", "json"]) == 0  # a warning, not an error
    report = json.loads(capsys.readouterr().out)
    assert [(w["line"], w["path"]) for w in report["warnings"]] == [
        (11, "containerDefinitions[0].environment[1].value"),
        (12, "containerDefinitions[0].environment[2].value"),
    ]
    assert all("secrets" in w["message"] for w in report["warnings"])
    assert main(["validate", str(spec)]) == 0
    captured = capsys.readouterr()
    assert captured.err.count("warning: ") == 2
    assert "hunter2" not in captured.out + captured.err and "pg-Secr3t" not in captured.out + captured.err


def test_invalid_specs_print_one_error_a_line_then_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "broken.yaml"
    spec.write_text(BROKEN)
    assert main(["validate", str(spec)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{spec}:5: Cluster/main: capacityProviders: Input should be a valid list (got 'FARGATE')",
        f"{spec}:12: Service/web: taskDefinition: no TaskDefinition document named 'missing'",
        "invalid: 2 errors in 1 file",
    ]


def test_invalid_json_output_has_every_error_with_its_position(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "broken.yaml"
    spec.write_text(BROKEN)
    assert main(["validate", str(spec), "--format", "json", "--region", "eu-west-1"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False
    assert report["resources"] == []
    assert report["calls"] == {}
    assert [(e["line"], e["kind"], e["name"], e["path"]) for e in report["errors"]] == [
        (5, "Cluster", "main", "capacityProviders"),
        (12, "Service", "web", "taskDefinition"),
    ]


def test_schema_prints_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out)["oneOf"]


@pytest.mark.parametrize("argv", [["--help"], ["validate", "--help"], ["schema", "--help"], ["--version"]])
def test_help_and_version_exit_0(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 0
    assert capsys.readouterr().out


@pytest.mark.parametrize("argv", [["validate"], ["validate", "x", "--output", "yaml"], ["frobnicate"], []])
def test_usage_errors_exit_1_never_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 1
    capsys.readouterr()


def test_every_command_takes_the_common_options() -> None:
    parser = build_parser()
    for command in ("validate", "schema"):
        arguments = parser.parse_args(
            [
                command,
                *(["x"] if command == "validate" else []),
                "--region",
                "r",
                "--endpoint-url",
                "http://e",
            ]
        )
        assert (arguments.region, arguments.endpoint_url) == ("r", "http://e")
