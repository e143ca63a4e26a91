"""Drift means drift (issue 13), through the CLI against the local AWS.

Every converge records on the resource the spec hash of the document it converged to
(`ecs-reconciler/spec-hash`), in the calls that converge it. Then an edit in git is a *change*
(`plan` exits 2 as before; `drift` lists it apart, "changed in git, not yet applied", and exits 0)
and an edit in AWS is *drift* (`drift` exits 2). The hash costs no write at rest and never one of
its own: a create carries it, a tag write carries it, and an update through an API without tags
gets one tag call in the same change set. Under autoscaling, a spec `desiredCount` is a note, and
a live count outside min..max is drift that `apply` puts back within range.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.cli import main
from reconciler.local import LocalAWS
from reconciler.plan.ownership import SPEC_HASH
from tests.acceptance.support import Console, run_cli
from tests.acceptance.test_converge import NODE_APP_CREATES
from tests.harness import load

pytestmark = pytest.mark.aws

NA = "node-app"
CHANGES_HEADING = "changed in git, not yet applied:"


def run_text(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    """`ecs-reconciler ARGV` with its text output, as a person reads it."""
    capsys.readouterr()
    code = main(list(argv))
    return code, capsys.readouterr().out


def edit(file: Path, old: str, new: str) -> None:
    text = file.read_text()
    assert text.count(old) == 1, (file, old)
    file.write_text(text.replace(old, new))


def spec_hash(stack: Path, kind: str, name: str = NA) -> str:
    document = load(stack).get(kind, name)
    assert document is not None
    return document.spec_hash


def target_group_hash(console: Console) -> str | None:
    return console.target_group_tags(console.target_group(NA)["TargetGroupArn"]).get(SPEC_HASH)


def service_tags(console: Console) -> dict[str, str]:
    return {tag["key"]: tag["value"] for tag in console.service(NA, NA)["tags"]}


def test_every_resource_converged_from_empty_carries_its_documents_spec_hash_at_no_extra_write(
    capsys: pytest.CaptureFixture[str], console: Console, node_app: Path
) -> None:
    applied = run_cli(capsys, "apply", str(node_app))
    assert applied.code == 0, applied
    # The same writes as before hashes (one per object, the retention and the rules besides): the
    # creates carry the hash in their tags.
    assert applied.writes == NODE_APP_CREATES
    ecs_tags = {
        "Cluster": console.ecs.describe_clusters(clusters=[NA], include=["TAGS"])["clusters"][0]["tags"],
        "TaskDefinition": console.ecs.describe_task_definition(taskDefinition=NA, include=["TAGS"])["tags"],
        "Service": console.service(NA, NA)["tags"],
    }
    for kind, tags in ecs_tags.items():
        assert {"key": SPEC_HASH, "value": spec_hash(node_app, kind)} in tags, kind
    assert target_group_hash(console) == spec_hash(node_app, "TargetGroup")
    balancer = console.elbv2.describe_tags(ResourceArns=[console.load_balancer_arn(NA)])["TagDescriptions"]
    assert {"Key": SPEC_HASH, "Value": spec_hash(node_app, "LoadBalancer")} in balancer[0]["Tags"]
    for group in ("node-app-alb", "node-app-tasks"):
        (described,) = console.ec2.describe_security_groups(GroupIds=[console.group_id(group)])[
            "SecurityGroups"
        ]
        assert {"Key": SPEC_HASH, "Value": spec_hash(node_app, "SecurityGroup", group)} in described["Tags"]
    repository_arn = console.ecr.describe_repositories()["repositories"][0]["repositoryArn"]
    repository_tags = console.ecr.list_tags_for_resource(resourceArn=repository_arn)["tags"]
    assert {"Key": SPEC_HASH, "Value": spec_hash(node_app, "Repository")} in repository_tags
    (log_group,) = console.logs.describe_log_groups(logGroupNamePrefix="/ecs/node-app")["logGroups"]
    log_tags = console.logs.list_tags_for_resource(resourceArn=log_group["arn"].removesuffix(":*"))["tags"]
    assert log_tags[SPEC_HASH] == spec_hash(node_app, "LogGroup")

    at_rest = run_cli(capsys, "apply", str(node_app))
    assert (at_rest.code, at_rest.writes) == (0, {}), at_rest


def test_a_git_edit_is_a_change_drift_lists_apart_and_its_apply_records_the_new_hash(
    capsys: pytest.CaptureFixture[str], console: Console, node_app: Path
) -> None:
    assert run_cli(capsys, "apply", str(node_app)).code == 0
    edit(node_app / "network.yaml", "path: /healthz", "path: /ready")

    plan = run_cli(capsys, "plan", str(node_app))
    assert plan.code == 2, plan  # plan's exit codes are as they were
    assert {key: r["status"] for key, r in plan.changed.items()} == {("TargetGroup", NA): "changed"}
    assert plan.output["summary"]["toUpdate"] == 1 and "drifted" not in plan.output["summary"]

    drift = run_cli(capsys, "drift", str(node_app))
    assert drift.code == 0, drift  # a change of the spec is not drift
    assert drift.resource("TargetGroup", NA)["status"] == "changed"
    code, text = run_text(capsys, "drift", str(node_app))
    assert code == 0
    listed = text.splitlines()[text.splitlines().index(CHANGES_HEADING) + 1 :]
    assert listed[0].startswith(f"~ TargetGroup/{NA}  (to update)")
    assert listed[1].startswith("    ~ healthCheck.path: /healthz → /ready")

    applied = run_cli(capsys, "apply", str(node_app))
    assert applied.code == 0, applied
    # ModifyTargetGroup takes no tags: the hash is one AddTags in the same change set.
    assert applied.writes == {"elbv2.ModifyTargetGroup": 1, "elbv2.AddTags": 1}
    assert console.target_group(NA)["HealthCheckPath"] == "/ready"
    assert target_group_hash(console) == spec_hash(node_app, "TargetGroup")
    after = run_cli(capsys, "plan", str(node_app))
    assert (after.code, after.changed) == (0, {}), after


def test_a_console_edit_is_drift_and_undoing_it_writes_no_tag(
    capsys: pytest.CaptureFixture[str], console: Console, node_app: Path
) -> None:
    assert run_cli(capsys, "apply", str(node_app)).code == 0
    recorded = target_group_hash(console)
    console.elbv2.modify_target_group(
        TargetGroupArn=console.target_group(NA)["TargetGroupArn"], HealthCheckPath="/"
    )

    drift = run_cli(capsys, "drift", str(node_app))
    assert drift.code == 2, drift
    assert {key: r["status"] for key, r in drift.changed.items()} == {("TargetGroup", NA): "drifted"}
    assert drift.output["summary"]["drifted"] == 1 and "toUpdate" not in drift.output["summary"]
    code, text = run_text(capsys, "drift", str(node_app))
    assert code == 2
    assert f"~ TargetGroup/{NA}  (drifted, to update)" in text and CHANGES_HEADING not in text

    applied = run_cli(capsys, "apply", str(node_app))
    assert (applied.code, applied.writes) == (0, {"elbv2.ModifyTargetGroup": 1}), applied
    assert target_group_hash(console) == recorded


def test_drift_and_a_change_at_once_are_reported_apart_and_converged_together(
    capsys: pytest.CaptureFixture[str], console: Console, node_app: Path
) -> None:
    assert run_cli(capsys, "apply", str(node_app)).code == 0
    edit(node_app / "network.yaml", "path: /healthz", "path: /ready")
    # Above the scaler's maxCapacity of 10: drift, whoever did it.
    console.ecs.update_service(cluster=NA, service=NA, desiredCount=20)

    drift = run_cli(capsys, "drift", str(node_app))
    assert drift.code == 2, drift
    assert {key: r["status"] for key, r in drift.changed.items()} == {
        ("TargetGroup", NA): "changed",
        ("Service", NA): "drifted",
    }
    (count,) = drift.resource("Service", NA)["fields"]
    assert (count["path"], count["live"], count["desired"], count["owner"]) == (
        "desiredCount",
        20,
        10,
        "autoscaling",
    )
    code, markdown = run_text(capsys, "drift", str(node_app), "--output", "markdown")
    assert code == 2
    drift_part, changes_part = markdown.split("#### Changed in git, not yet applied")
    assert "Service/node-app | drifted, to update | `desiredCount`" in drift_part
    assert "TargetGroup/node-app" in changes_part and "TargetGroup/node-app" not in drift_part

    applied = run_cli(capsys, "apply", str(node_app))
    assert applied.code == 0, applied
    # The count kept within min..max is one UpdateService; the service's document did not change,
    # so no tag; the target group's change records its hash.
    assert applied.writes == {"ecs.UpdateService": 1, "elbv2.ModifyTargetGroup": 1, "elbv2.AddTags": 1}
    assert console.service(NA, NA)["desiredCount"] == 10
    after = run_cli(capsys, "drift", str(node_app))
    assert (after.code, after.changed) == (0, {}), after


def test_an_edit_that_asks_nothing_new_of_aws_writes_nothing(
    capsys: pytest.CaptureFixture[str], console: Console, node_app: Path
) -> None:
    assert run_cli(capsys, "apply", str(node_app)).code == 0
    before = spec_hash(node_app, "TaskDefinition")
    # `protocol: tcp` is what AWS assumes when it is left out: a new hash, the same request.
    edit(node_app / "service.yaml", "          protocol: tcp\n", "")
    assert spec_hash(node_app, "TaskDefinition") != before
    plan = run_cli(capsys, "plan", str(node_app))
    assert (plan.code, plan.changed) == (0, {}), plan
    applied = run_cli(capsys, "apply", str(node_app))
    assert (applied.code, applied.writes) == (0, {}), applied


def test_an_image_edit_is_still_one_revision_and_one_update_service_and_reads_as_a_change(
    capsys: pytest.CaptureFixture[str], aws: LocalAWS, console: Console, node_app: Path
) -> None:
    assert run_cli(capsys, "apply", str(node_app)).code == 0
    service_hash = service_tags(console)[SPEC_HASH]
    aws.push_image("varuntd/node-app", "v2", content="v2")
    edit(node_app / "service.yaml", "        tag: latest", "        tag: v2")

    drift = run_cli(capsys, "drift", str(node_app))
    # The task definition's document changed; the service's did not, but its new revision follows
    # from that change: both are changes, neither is drift.
    assert drift.code == 0, drift
    assert {key: r["status"] for key, r in drift.changed.items()} == {
        ("TaskDefinition", NA): "changed",
        ("Service", NA): "changed",
    }
    applied = run_cli(capsys, "apply", str(node_app))
    assert applied.code == 0, applied
    assert applied.writes == {"ecs.RegisterTaskDefinition": 1, "ecs.UpdateService": 1}
    revision = console.ecs.describe_task_definition(taskDefinition=f"{NA}:2", include=["TAGS"])
    assert {"key": SPEC_HASH, "value": spec_hash(node_app, "TaskDefinition")} in revision["tags"]
    assert service_tags(console)[SPEC_HASH] == service_hash == spec_hash(node_app, "Service")


def test_a_resource_converged_before_hashes_were_recorded_is_in_sync_at_rest_and_its_drift_still_alarms(
    capsys: pytest.CaptureFixture[str], console: Console, node_app: Path
) -> None:
    assert run_cli(capsys, "apply", str(node_app)).code == 0
    arn = console.target_group(NA)["TargetGroupArn"]
    console.elbv2.remove_tags(ResourceArns=[arn], TagKeys=[SPEC_HASH])  # as an older version left it
    at_rest = run_cli(capsys, "apply", str(node_app))
    assert (at_rest.code, at_rest.writes) == (0, {}), at_rest  # no write just to add a hash

    console.elbv2.modify_target_group(TargetGroupArn=arn, HealthCheckPath="/")
    drift = run_cli(capsys, "drift", str(node_app))
    # Without a hash the reconciler cannot tell: it reports drift, as it did before hashes.
    assert drift.code == 2, drift
    assert drift.resource("TargetGroup", NA)["status"] == "drifted"
    healed = run_cli(capsys, "apply", str(node_app))
    # Its next converge records the hash, in the same change set.
    assert (healed.code, healed.writes) == (0, {"elbv2.ModifyTargetGroup": 1, "elbv2.AddTags": 1}), healed
    assert target_group_hash(console) == spec_hash(node_app, "TargetGroup")


def test_a_spec_desired_count_under_autoscaling_is_shown_as_the_scalers(
    capsys: pytest.CaptureFixture[str], console: Console, node_app: Path
) -> None:
    assert run_cli(capsys, "apply", str(node_app)).code == 0
    console.ecs.update_service(cluster=NA, service=NA, desiredCount=7)  # as the scaler would
    note = "desiredCount 3 is used at creation; the scaler owns it (1..10), live 7"
    code, text = run_text(capsys, "plan", str(node_app))
    assert code == 0
    assert f"    note: {note}" in text.splitlines()
    drift = run_cli(capsys, "drift", str(node_app))
    assert (drift.code, drift.changed) == (0, {}), drift
    assert drift.resource("Service", NA)["notes"] == [note]
    applied = run_cli(capsys, "apply", str(node_app))
    assert (applied.code, applied.writes) == (0, {}), applied
    assert console.service(NA, NA)["desiredCount"] == 7
