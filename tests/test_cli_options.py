"""Option validation shared by plan, apply, drift and run: bad values are usage errors, not
tracebacks or silently odd behaviour (issue 9, item 9)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.cli import main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "specs"


@pytest.mark.parametrize("command", ["plan", "apply", "drift", "run"])
@pytest.mark.parametrize(("option", "value"), [("--max-deletes", "-1"), ("--keep-revisions", "-3")])
def test_a_negative_count_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], command: str, option: str, value: str
) -> None:
    # -1 used to become a Python slice bound: 14 of 15 deletions planned.
    assert main([command, str(EXAMPLE), option, value]) == 1
    error = capsys.readouterr().err
    assert f"{option}: must be 0 or more, got {value!r}" in error


def test_a_git_path_leaving_the_repository_is_a_clean_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--git", "/srv/repo#main:../x"]) == 1
    captured = capsys.readouterr()
    assert "the path in the repository must be relative and stay inside it: '../x'" in captured.err
    assert "Traceback" not in captured.err + captured.out
