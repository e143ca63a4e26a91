""".github/workflows: well-formed, least-privileged, pinned, and pointing at files that exist.

ci.yml must run README.md's test command; app-image.yml must build app/ on every push that
touches it, push with OIDC credentials only, and propose the new tag in specs/node-app with the
image repository those specs manage.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import botocore.session
import pytest
import yaml

from reconciler.resources.registry import load_spec_set

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
NAMES = ("ci.yml", "app-image.yml")
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@(?P<ref>[0-9a-f]{40}|v\d+\.\d+\.\d+)$")
REPO_PATH = re.compile(r"(?<![\w/.$-])((?:app|specs|deploy|tests|reconciler)/(?:[\w.*/-]*[\w*/])?)")


def _load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    return loaded


def _triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    # YAML 1.1 (PyYAML) reads the bare key `on` as the boolean True.
    triggers: dict[str, Any] = workflow.get("on", workflow.get(True))
    return triggers


def _steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def _readme_test_command() -> str:
    block = re.search(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.DOTALL)
    assert block is not None
    return block.group(1).splitlines()[1].strip()


@pytest.mark.parametrize("name", NAMES)
def test_the_workflow_is_well_formed(name: str) -> None:
    workflow = _load(name)
    assert workflow["name"] and _triggers(workflow) and workflow["jobs"]
    for job_name, job in workflow["jobs"].items():
        assert job["runs-on"], job_name
        assert isinstance(job.get("timeout-minutes"), int), f"{job_name}: set timeout-minutes"
        for step in job["steps"]:
            assert ("uses" in step) != ("run" in step), f"{job_name}: a step either uses or runs: {step}"


@pytest.mark.parametrize("name", NAMES)
def test_every_action_is_pinned_to_a_commit_or_a_release(name: str) -> None:
    text = (WORKFLOWS / name).read_text()
    for step in _steps(_load(name)):
        if "uses" not in step:
            continue
        uses = step["uses"]
        match = PINNED.match(uses)
        assert match is not None, f"{uses}: pin to a full commit SHA or a vX.Y.Z release, never a branch"
        if len(match.group("ref")) == 40:
            assert re.search(rf"{re.escape(uses)}\s+#\s*v\d", text), f"{uses}: say which release the SHA is"


@pytest.mark.parametrize("name", NAMES)
def test_every_path_the_workflow_names_exists(name: str) -> None:
    text = (WORKFLOWS / name).read_text()
    paths = set(REPO_PATH.findall(text))
    assert paths or name == "ci.yml"
    for path in sorted(paths):
        if any(character in path for character in "*?["):
            assert any(ROOT.glob(path)), f"{name}: {path} matches nothing"
        else:
            assert (ROOT / path).exists(), f"{name}: {path} does not exist"


def test_ci_runs_the_readme_test_command_on_pushes_and_pull_requests() -> None:
    workflow = _load("ci.yml")
    assert {"push", "pull_request"} <= set(_triggers(workflow))
    assert workflow["permissions"] == {"contents": "read"}
    assert _readme_test_command() in [step.get("run", "").strip() for step in _steps(workflow)]
    setup_python = next(step for step in _steps(workflow) if "setup-python" in step.get("uses", ""))
    assert setup_python["with"]["python-version"] == "3.11"


def test_the_app_image_is_built_on_every_push_to_app() -> None:
    workflow = _load("app-image.yml")
    push = _triggers(workflow)["push"]
    assert push["paths"] == ["app/**"]
    build = "\n".join(step.get("run", "") for step in workflow["jobs"]["image"]["steps"])
    assert "--file app/Dockerfile" in build and "docker push" in build
    assert "$ECR_REPOSITORY:$TAG" in build and workflow["jobs"]["image"]["steps"][-1]["env"]["TAG"] == (
        "${{ github.sha }}"
    )


def test_each_app_image_job_holds_only_the_permissions_it_uses() -> None:
    workflow = _load("app-image.yml")
    assert workflow["permissions"] == {}
    jobs = workflow["jobs"]
    assert jobs["image"]["permissions"] == {"contents": "read", "id-token": "write"}
    assert jobs["propose"]["permissions"] == {"contents": "write", "pull-requests": "write"}
    credentials = next(s for s in jobs["image"]["steps"] if "configure-aws-credentials" in s.get("uses", ""))
    assert set(credentials["with"]) >= {"role-to-assume", "aws-region"}
    assert not {"aws-access-key-id", "aws-secret-access-key"} & set(credentials["with"]), "use OIDC, not keys"


def test_the_proposal_bumps_the_image_of_the_repository_the_specs_manage() -> None:
    workflow = _load("app-image.yml")
    env = workflow["env"]
    spec_set, errors = load_spec_set([ROOT / env["SPECS"]])
    assert spec_set is not None, errors
    repository = spec_set.get("Repository", env["SPEC_REPOSITORY"])
    assert repository is not None, f"no Repository {env['SPEC_REPOSITORY']} in {env['SPECS']}"
    assert repository.aws_name == env["ECR_REPOSITORY"]
    propose = workflow["jobs"]["propose"]
    (bump,) = [step["run"] for step in propose["steps"] if "bump_image_tag.py" in step.get("run", "")]
    assert '--repository "$SPEC_REPOSITORY"' in bump and '--tag "$GITHUB_SHA"' in bump
    pull_request = next(s for s in propose["steps"] if "create-pull-request" in s.get("uses", ""))
    assert pull_request["with"]["add-paths"].startswith(env["SPECS"] + "/")


def test_the_push_role_may_push_only_that_repository_and_only_from_main() -> None:
    iam = ROOT / "deploy" / "iam"
    policy = json.loads((iam / "app-image-push-policy.json").read_text())
    ecr = {name for name in botocore.session.get_session().get_service_model("ecr").operation_names}
    repository = _load("app-image.yml")["env"]["ECR_REPOSITORY"]
    for statement in policy["Statement"]:
        assert all(action.removeprefix("ecr:") in ecr for action in statement["Action"])
        if statement["Action"] != ["ecr:GetAuthorizationToken"]:
            assert statement["Resource"].endswith(f":repository/{repository}")
    (trust,) = json.loads((iam / "app-image-push-trust.json").read_text())["Statement"]
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    conditions = trust["Condition"]["StringEquals"]
    assert conditions["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"
    assert conditions["token.actions.githubusercontent.com:sub"].endswith(":ref:refs/heads/main")
