"""Fields AWS rewrites converge once and then stay quiet, through the CLI against the local AWS,
whose patches answer as AWS does (issue 8). A real change to the same field is still one write."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.acceptance.support import NODE_APP, run_cli

pytestmark = pytest.mark.aws


def _with_environment(specs: Path, pairs: str) -> None:
    service = specs / "service.yaml"
    service.write_text(
        service.read_text().replace(
            "      essential: true\n", f"      essential: true\n      environment:\n{pairs}", 1
        )
    )


def test_an_environment_variable_with_an_empty_value_registers_once_and_then_never_again(
    capsys: pytest.CaptureFixture[str], aws: Any, tmp_path: Path
) -> None:
    specs = tmp_path / "specs"
    shutil.copytree(NODE_APP, specs)
    _with_environment(
        specs, '        - {name: FEATURE_FLAGS, value: ""}\n        - {name: MODE, value: "on"}\n'
    )
    assert run_cli(capsys, "apply", str(specs)).code == 0

    again = run_cli(capsys, "plan", str(specs))
    assert (again.code, again.changed) == (0, {}), again
    assert run_cli(capsys, "apply", str(specs)).writes == {}

    # Giving the variable a value is a real change: one revision, one deployment.
    service = specs / "service.yaml"
    service.write_text(service.read_text().replace('value: ""', 'value: "beta"'))
    changed = run_cli(capsys, "apply", str(specs))
    assert changed.writes == {"ecs.RegisterTaskDefinition": 1, "ecs.UpdateService": 1}, changed
    assert run_cli(capsys, "plan", str(specs)).code == 0
