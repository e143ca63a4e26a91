"""What `plan` and `apply` print (issue 13, items 2, 3 and 13 and the output model), through the CLI
against the local AWS: `apply --dry-run` is a plan, with a plan's output and exit codes; `apply`
shows what it did, per resource and field, with or without `--wait` (which then also says the
rollouts are steady); a spec edit is "to update", not "drifted"; `plan --output markdown` is the
pull-request form of the plan.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.cli import main
from reconciler.local import LocalAWS
from tests.acceptance.support import run_cli
from tests.acceptance.test_spec_edits import NEW_IMAGE, set_image_tag

pytestmark = pytest.mark.aws

NA = "node-app"
KINDS = 9
REVISION = "arn:aws:ecs:us-east-1:123456789012:task-definition/"
"""Documents in specs/node-app."""


def _text(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_apply_dry_run_is_a_plan_with_the_plans_output_and_exit_code(
    capsys: pytest.CaptureFixture[str], aws: LocalAWS, node_app: Path
) -> None:
    plan_code, plan_text = _text(capsys, "plan", str(node_app))
    dry_code, dry_text = _text(capsys, "apply", "--dry-run", str(node_app))
    assert (plan_code, dry_code) == (2, 2)
    assert dry_text == plan_text
    assert dry_text.splitlines()[-1] == f"{KINDS} to create ({KINDS} resources)"
    assert "converged" not in dry_text

    dry = run_cli(capsys, "apply", "--dry-run", str(node_app))
    assert (dry.code, dry.writes) == (2, {}), dry
    assert dry.output["summary"]["toCreate"] == KINDS
    assert run_cli(capsys, "plan", str(node_app)).code == 2  # nothing was written


def test_apply_shows_what_it_created(
    capsys: pytest.CaptureFixture[str], aws: LocalAWS, node_app: Path
) -> None:
    applied = run_cli(capsys, "apply", str(node_app))
    assert applied.code == 0, applied
    assert {(r["kind"], r["outcome"]) for r in applied.resources} == {
        (r["kind"], "created") for r in applied.resources
    }
    assert applied.output["summary"] == {
        "text": f"{KINDS} created",
        "resources": KINDS,
        "inSync": 0,
        "created": KINDS,
    }
    target_group = applied.fields("TargetGroup", NA)
    assert target_group["healthCheck"]["desired"] == {"path": "/healthz", "matcher": {"httpCode": "200"}}
    assert target_group["healthCheck"]["change"] == "add"


def test_apply_wait_shows_what_it_changed_and_that_the_rollout_is_steady(
    capsys: pytest.CaptureFixture[str], aws: LocalAWS, node_app: Path
) -> None:
    assert run_cli(capsys, "apply", str(node_app)).code == 0
    set_image_tag(node_app, "v2")

    plan_code, plan_text = _text(capsys, "plan", str(node_app))
    assert plan_code == 2
    # A spec edit is a change to make, not drift.
    assert "drifted" not in plan_text
    assert f"~ Service/{NA}  (to update)" in plan_text
    assert "(known after apply: TaskDefinition/node-app.arn)" in plan_text

    waited = run_cli(capsys, "apply", "--wait", "--timeout", "60s", str(node_app))
    assert (waited.code, waited.writes) == (0, NEW_IMAGE), waited
    assert waited.output["steady"] is True
    service = waited.resource("Service", NA)
    # Its status says why it was updated: the specs changed (git moved), nobody changed AWS.
    assert (service["status"], service["outcome"]) == ("changed", "updated")
    (revision,) = service["fields"]
    assert revision["path"] == "taskDefinition"
    assert revision["desired"].endswith(f"task-definition/{NA}:2")  # resolved, not "known after apply"
    assert waited.output["summary"]["updated"] >= 1
    assert "known after apply" not in json.dumps(waited.output)

    set_image_tag(node_app, "v3")
    code, text = _text(capsys, "apply", "--wait", "--timeout", "60s", str(node_app))
    assert code == 0, text
    lines = text.splitlines()
    assert f"~ Service/{NA}  (updated)" in "\n".join(lines)
    assert f"    ~ taskDefinition: {REVISION}{NA}:2 → {REVISION}{NA}:3  (line " in text
    assert "in-sync" not in text and "known after apply" not in text
    assert lines[-1] == "steady: every rollout reached steady state"


def test_plan_in_markdown_for_a_pull_request(
    capsys: pytest.CaptureFixture[str], aws: LocalAWS, node_app: Path
) -> None:
    code, markdown = _text(capsys, "plan", str(node_app), "--output", "markdown")
    assert code == 2
    lines = markdown.splitlines()
    assert lines[0] == "### ecs-reconciler plan"
    assert f"**{KINDS} to create**" in lines
    assert f"| + | TargetGroup/{NA} | to create | `healthCheck` |" in markdown

    assert run_cli(capsys, "apply", str(node_app)).code == 0
    code, markdown = _text(capsys, "plan", str(node_app), "--output", "markdown")
    assert code == 0
    # The example's image is not pushed to the local AWS: the warning stays, the summary is clean.
    assert "**in sync: 9 resources**" in markdown.splitlines()
