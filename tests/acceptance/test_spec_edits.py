"""Edits to the spec files, through the CLI: a new image rolls out with exactly two writes, `--wait`
follows the rollout, a rollout the circuit breaker fails is not retried, and a spec set with errors
sends nothing to AWS.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from reconciler.local import LocalAWS
from tests.acceptance.support import Console, document_line, line_after, run_cli

pytestmark = pytest.mark.aws

NA = "node-app"
REPOSITORY_URI = "123456789012.dkr.ecr.us-east-1.amazonaws.com/varuntd/node-app"
NEW_IMAGE = {"ecs.RegisterTaskDefinition": 1, "ecs.UpdateService": 1}


def set_image_tag(stack: Path, tag: str) -> None:
    """Edit the container image of the task definition, as a pull request would."""
    file = stack / "service.yaml"
    text = file.read_text()
    start = text.index("        repository: node-app\n        tag: ")
    end = text.index("\n", start + len("        repository: node-app\n"))
    file.write_text(f"{text[:start]}        repository: node-app\n        tag: {tag}{text[end:]}")


def primary_deployment(console: Console) -> dict[str, object]:
    (primary,) = [d for d in console.service(NA, NA)["deployments"] if d["status"] == "PRIMARY"]
    return dict(primary)


def test_an_image_edit_is_one_new_revision_and_one_update_service(
    capsys: pytest.CaptureFixture[str], aws: LocalAWS, console: Console, node_app: Path
) -> None:
    assert run_cli(capsys, "apply", str(node_app)).code == 0
    aws.push_image("varuntd/node-app", "v2", content="v2")
    set_image_tag(node_app, "v2")

    plan = run_cli(capsys, "plan", str(node_app))
    assert plan.code == 2, plan
    assert set(plan.changed) == {("TaskDefinition", NA), ("Service", NA)}
    file = node_app / "service.yaml"
    (image,) = plan.resource("TaskDefinition", NA)["fields"]
    assert (image["path"], image["desired"], image["live"]) == (
        "containerDefinitions[0].image",
        f"{REPOSITORY_URI}:v2",
        f"{REPOSITORY_URI}:latest",
    )
    # Named and placed as the spec writes it: the container by its index, the line its `image:`.
    start = document_line(file, "TaskDefinition", NA)
    assert (image["file"], image["line"]) == (str(file), line_after(file, "image:", after=start))
    (revision,) = plan.resource("Service", NA)["fields"]
    assert (revision["path"], revision["desired"]) == (
        "taskDefinition",
        "(known after apply: TaskDefinition/node-app.arn)",
    )

    applied = run_cli(capsys, "apply", str(node_app))
    assert applied.code == 0, applied
    assert applied.writes == NEW_IMAGE
    service = console.service(NA, NA)
    assert service["taskDefinition"].endswith(f"task-definition/{NA}:2")
    definition = console.ecs.describe_task_definition(taskDefinition=service["taskDefinition"])
    assert definition["taskDefinition"]["containerDefinitions"][0]["image"] == f"{REPOSITORY_URI}:v2"

    after = run_cli(capsys, "plan", str(node_app))
    assert (after.code, after.changed) == (0, {}), after


def test_apply_wait_follows_the_rollout_to_steady_state(
    capsys: pytest.CaptureFixture[str], aws: LocalAWS, console: Console, node_app: Path
) -> None:
    assert run_cli(capsys, "apply", str(node_app)).code == 0
    set_image_tag(node_app, "v2")
    previous = aws.rollout_seconds
    aws.rollout_seconds = 1.0
    try:
        started = time.monotonic()
        waited = run_cli(capsys, "apply", str(node_app), "--wait", "--timeout", "60s")
        elapsed = time.monotonic() - started
        # Still inside the rollout window, a plain apply would have returned mid-rollout.
        assert waited.code == 0, waited
        assert waited.writes == NEW_IMAGE
        assert elapsed >= 1.0
        deployment = primary_deployment(console)
        assert deployment["rolloutState"] == "COMPLETED"
        assert str(deployment["taskDefinition"]).endswith(f"task-definition/{NA}:2")
        assert [d["status"] for d in console.service(NA, NA)["deployments"]] == ["PRIMARY"]
    finally:
        aws.rollout_seconds = previous


def test_a_rollout_the_circuit_breaker_fails_exits_1_and_is_not_retried(
    capsys: pytest.CaptureFixture[str], aws: LocalAWS, console: Console, node_app: Path
) -> None:
    assert run_cli(capsys, "apply", str(node_app)).code == 0
    aws.fail_next_rollout(NA, NA)
    set_image_tag(node_app, "broken")

    failed = run_cli(capsys, "apply", str(node_app), "--wait", "--timeout", "60s")
    assert failed.code == 1, failed
    assert failed.writes == NEW_IMAGE
    (error,) = [e for e in failed.output["errors"] if (e["kind"], e["name"]) == ("Service", NA)]
    assert error["message"].startswith("rollout of ") and "failed" in error["message"]
    # The circuit breaker rolled the service back to the revision that worked.
    assert console.service(NA, NA)["taskDefinition"].endswith(f"task-definition/{NA}:1")

    again = run_cli(capsys, "apply", str(node_app))
    assert again.code == 1, again
    assert again.writes == {}
    service = again.resource("Service", NA)
    assert service["action"] == "waiting"
    assert service["message"].startswith(
        f"rollout of arn:aws:ecs:us-east-1:123456789012:task-definition/{NA}:2"
    )
    assert "failed" in service["message"]
    assert console.service(NA, NA)["taskDefinition"].endswith(f"task-definition/{NA}:1")

    # A new image is a new revision: that one rolls out.
    set_image_tag(node_app, "v3")
    fixed = run_cli(capsys, "apply", str(node_app))
    assert (fixed.code, fixed.writes) == (0, NEW_IMAGE), fixed
    assert console.service(NA, NA)["taskDefinition"].endswith(f"task-definition/{NA}:3")


def test_after_a_failed_rollout_a_fixed_image_converges_and_stays_converged(
    capsys: pytest.CaptureFixture[str], aws: LocalAWS, console: Console, node_app: Path
) -> None:
    assert run_cli(capsys, "apply", str(node_app)).code == 0
    aws.fail_next_rollout(NA, NA)
    set_image_tag(node_app, "broken")
    assert run_cli(capsys, "apply", str(node_app), "--wait").code == 1
    set_image_tag(node_app, "v3")
    assert run_cli(capsys, "apply", str(node_app)).code == 0
    assert primary_deployment(console)["rolloutState"] == "COMPLETED"

    steady = run_cli(capsys, "apply", str(node_app))
    assert (steady.code, steady.writes, steady.output["errors"]) == (0, {}, []), steady


def test_a_spec_set_with_errors_is_refused_by_validate_and_apply_and_sends_nothing(
    capsys: pytest.CaptureFixture[str], console: Console, node_app: Path
) -> None:
    service_file, network_file = node_app / "service.yaml", node_app / "network.yaml"
    service_file.write_text(service_file.read_text().replace("desiredCount: 3", "desiredCount: three"))
    network_file.write_text(
        network_file.read_text().replace(
            "  scheme: internet-facing\n", "  scheme: internet-facing\n  idle: 60\n"
        )
    )
    expected = [
        {
            "file": str(network_file),
            "line": line_after(network_file, "idle: 60", after=1),
            "kind": "LoadBalancer",
            "name": NA,
            "path": "idle",
            "message": "unknown field",
        },
        {
            "file": str(service_file),
            "line": line_after(service_file, "desiredCount: three", after=1),
            "kind": "Service",
            "name": NA,
            "path": "desiredCount",
        },
    ]

    for command in ("validate", "plan", "drift", "apply"):
        run = run_cli(capsys, command, str(node_app))
        assert run.code == 1, run
        assert run.output["ok"] is False
        assert run.calls == {}
        errors = run.output["errors"]
        assert [{key: error[key] for key in expected[i]} for i, error in enumerate(errors)] == expected
        assert "three" in errors[1]["message"]

    # And indeed nothing reached the local AWS: not even the documents without errors.
    assert console.ecr.describe_repositories()["repositories"] == []
    assert console.ecs.list_clusters()["clusterArns"] == []
    names = {group["GroupName"] for group in console.ec2.describe_security_groups()["SecurityGroups"]}
    assert names == {"default"}
