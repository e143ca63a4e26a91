"""The daemon's image recipe (deploy/Dockerfile), checked by structure: no Docker engine is needed.

Pins what a reviewer would otherwise check by eye: an exactly pinned slim Python 3.11 base, a
multi-stage build that installs the project's wheel without the `dev` or `local` extras, no pip
or apt caches, a non-root user, the console script as the entrypoint, and a health check that
needs nothing the slim image lacks.
"""

from __future__ import annotations

import fnmatch
import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
DOCKERIGNORE = ROOT / "deploy" / "Dockerfile.dockerignore"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str


@dataclass(frozen=True)
class Stage:
    image: str
    alias: str | None
    instructions: tuple[Instruction, ...]

    def all(self, keyword: str) -> list[Instruction]:
        return [instruction for instruction in self.instructions if instruction.keyword == keyword]

    def last(self, keyword: str) -> Instruction:
        found = self.all(keyword)
        assert found, f"stage {self.alias or self.image} has no {keyword}"
        return found[-1]


def parse(text: str) -> tuple[dict[str, str], list[Stage]]:
    """Global ARG defaults and the stages, with comments dropped and continuation lines joined."""
    logical: list[str] = []
    pending = ""
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        joined = (pending + line).strip()
        pending = ""
        if joined:
            logical.append(joined)
    global_args: dict[str, str] = {}
    stages: list[tuple[str, str | None, list[Instruction]]] = []
    for line in logical:
        keyword, _, args = line.partition(" ")
        instruction = Instruction(keyword.upper(), " ".join(args.split()))
        if instruction.keyword == "FROM":
            image, _, alias = instruction.args.partition(" AS ")
            image = re.sub(r"\$\{(\w+)\}", lambda match: global_args[match.group(1)], image)
            stages.append((image, alias or None, []))
        elif stages:
            stages[-1][2].append(instruction)
        elif instruction.keyword == "ARG":
            name, _, default = instruction.args.partition("=")
            global_args[name] = default
    return global_args, [Stage(image, alias, tuple(items)) for image, alias, items in stages]


GLOBAL_ARGS, STAGES = parse(DOCKERFILE.read_text())
RUNTIME = STAGES[-1]
PINNED_PYTHON = re.compile(r"python:3\.11\.\d+-slim(-[a-z]+)?(@sha256:[0-9a-f]{64})?")


def test_every_base_image_is_python_311_slim_pinned_to_an_exact_version() -> None:
    aliases = {stage.alias for stage in STAGES if stage.alias}
    for stage in STAGES:
        if stage.image in aliases:
            continue
        assert PINNED_PYTHON.fullmatch(stage.image), f"base image {stage.image!r} is not pinned"


def test_the_build_is_multi_stage_and_the_runtime_copies_only_the_built_venv() -> None:
    assert len(STAGES) >= 2
    build_aliases = {stage.alias for stage in STAGES[:-1]}
    copies = RUNTIME.all("COPY")
    assert copies, "the runtime stage copies nothing"
    for copy in copies:
        assert copy.args.startswith("--from="), f"the runtime stage copies from the context: {copy.args}"
        assert copy.args.split()[0].removeprefix("--from=") in build_aliases


def test_only_runtime_dependencies_are_installed() -> None:
    installs = [i.args for stage in STAGES for i in stage.all("RUN") if "pip" in i.args]
    assert installs, "no pip step found"
    for command in installs:
        for extra in PYPROJECT["project"]["optional-dependencies"]:
            assert f"[{extra}]" not in command, f"the {extra!r} extra is installed: {command}"
        assert "-e " not in command and "--editable" not in command
    assert any(re.search(r"install \S*ecs_reconciler-\*\.whl(\s|$)", command) for command in installs)
    assert any("wheel --no-deps" in command for command in installs)


def test_no_package_manager_cache_is_kept() -> None:
    for stage in STAGES:
        env = " ".join(i.args for i in stage.all("ENV"))
        for run in stage.all("RUN"):
            if "pip" in run.args:
                assert "--no-cache-dir" in run.args or "PIP_NO_CACHE_DIR=1" in env, run.args
            if re.search(r"\bapt(-get)? install\b", run.args):
                assert "--no-install-recommends" in run.args, run.args
                assert "rm -rf /var/lib/apt/lists" in run.args, run.args


def test_the_runtime_has_git_for_the_git_spec_source() -> None:
    installs = " ".join(run.args for run in RUNTIME.all("RUN"))
    assert re.search(r"apt-get install --yes --no-install-recommends git\b", installs)


def test_the_runtime_runs_as_a_numeric_non_root_user() -> None:
    user = RUNTIME.last("USER").args
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) != 0, f"USER {user} is root or not numeric"
    order = [i.keyword for i in RUNTIME.instructions]
    last_user = len(order) - 1 - order[::-1].index("USER")
    assert "RUN" not in order[last_user:] and "COPY" not in order[last_user:], (
        "instructions after USER would run as, or create files owned by, the unprivileged user"
    )


def test_entrypoint_is_the_console_script_and_the_default_command_runs_the_daemon() -> None:
    entrypoint = json.loads(RUNTIME.last("ENTRYPOINT").args)
    assert entrypoint == ["ecs-reconciler"]
    assert "ecs-reconciler" in PYPROJECT["project"]["scripts"]
    assert json.loads(RUNTIME.last("CMD").args) == ["run", "/specs"]
    assert RUNTIME.last("EXPOSE").args == "8080"


def test_health_check_fetches_healthz_with_python_not_curl() -> None:
    healthcheck = RUNTIME.last("HEALTHCHECK").args
    _, _, exec_form = healthcheck.partition("CMD ")
    command = json.loads(exec_form)
    assert command[:2] == ["python", "-c"]
    assert "urllib.request" in command[2] and ":8080/healthz" in command[2]
    assert "curl" not in healthcheck and "wget" not in healthcheck
    compile(command[2], "<healthcheck>", "exec")


def _context_admits(relative: str) -> bool:
    """Whether the Dockerfile's ignore file lets `relative` into the build context (last match wins)."""
    admitted = True
    for line in DOCKERIGNORE.read_text().splitlines():
        pattern = line.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negate = pattern.startswith("!")
        pattern = pattern.removeprefix("!").rstrip("/")
        parts = relative.split("/")
        prefixes = ["/".join(parts[: index + 1]) for index in range(len(parts))]
        if any(fnmatch.fnmatch(prefix, pattern) for prefix in prefixes) or fnmatch.fnmatch(
            relative, pattern.replace("**/", "*")
        ):
            admitted = negate
    return admitted


@pytest.mark.parametrize("relative", ["pyproject.toml", "README.md", "reconciler/cli.py"])
def test_the_build_context_admits_what_the_wheel_needs(relative: str) -> None:
    assert (ROOT / relative).exists()
    assert _context_admits(relative)


@pytest.mark.parametrize(
    "relative", [".git/config", ".venv/bin/python", "tests/conftest.py", "app/package.json"]
)
def test_the_build_context_keeps_everything_else_out(relative: str) -> None:
    assert not _context_admits(relative)


def test_every_context_path_copied_exists_and_is_admitted() -> None:
    for stage in STAGES:
        for copy in stage.all("COPY"):
            if copy.args.startswith("--from="):
                continue
            sources = copy.args.split()[:-1]
            for source in sources:
                assert (ROOT / source).exists(), f"COPY {source}: no such path in the repository"
                assert _context_admits(source), f"COPY {source}: kept out by {DOCKERIGNORE.name}"
