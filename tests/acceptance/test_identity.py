"""A managed resource is its AWS identity, not its document's name (issue 9, items 1 and 2).

Renaming a document while keeping the AWS name is the same resource under a new name: `apply
--prune` re-tags its `ecs-reconciler/source` and deletes nothing. Every kind is tried, through the
CLI against the local AWS, on the example stack.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from tests.acceptance.support import NODE_APP, run_cli

pytestmark = pytest.mark.aws

NEW_NAME = "renamed"

# Per kind: the example document to rename, its AWS name field, and the keys under which other
# documents refer to a document of that kind.
RENAMES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "Repository": ("node-app", "repositoryName", ("repository",)),
    "Cluster": ("node-app", "clusterName", ("cluster",)),
    "TaskDefinition": ("node-app", "family", ("taskDefinition",)),
    "SecurityGroup": ("node-app-alb", "groupName", ("securityGroup", "securityGroups")),
    "TargetGroup": ("node-app", "targetGroupName", ("targetGroup",)),
    "LoadBalancer": ("node-app", "loadBalancerName", ()),
    "Service": ("node-app", "serviceName", ()),
}


def _documents(folder: Path) -> Iterator[tuple[Path, list[dict[str, Any]]]]:
    for file in sorted(folder.glob("*.yaml")):
        yield file, list(yaml.safe_load_all(file.read_text()))


def _rename(folder: Path, kind: str) -> None:
    """Rename the kind's example document to NEW_NAME, keeping its AWS name, and follow every
    reference to it."""
    old, aws_name_field, reference_keys = RENAMES[kind]

    def follow(tree: Any) -> Any:
        if isinstance(tree, dict):
            return {
                key: (
                    NEW_NAME
                    if key in reference_keys and value == old
                    else [NEW_NAME if item == old else item for item in value]
                    if key in reference_keys and isinstance(value, list)
                    else follow(value)
                )
                for key, value in tree.items()
            }
        if isinstance(tree, list):
            return [follow(item) for item in tree]
        return tree

    for file, documents in _documents(folder):
        edited = []
        for document in documents:
            if document["kind"] == kind and document["metadata"]["name"] == old:
                document["spec"].setdefault(aws_name_field, old)
                document["metadata"]["name"] = NEW_NAME
            else:
                document["spec"] = follow(document["spec"])
            edited.append(document)
        file.write_text(yaml.safe_dump_all(edited, sort_keys=False))


def _identities(kind: str) -> set[str]:
    """Every live object of the kind in the account, by its AWS identity (ARN, or id)."""
    if kind == "Repository":
        return {r["repositoryArn"] for r in boto3.client("ecr").describe_repositories()["repositories"]}
    if kind == "Cluster":
        ecs = boto3.client("ecs")
        clusters = ecs.describe_clusters(clusters=ecs.list_clusters()["clusterArns"])["clusters"]
        return {c["clusterArn"] for c in clusters if c["status"] == "ACTIVE"}
    if kind == "TaskDefinition":
        return set(boto3.client("ecs").list_task_definitions(status="ACTIVE")["taskDefinitionArns"])
    if kind == "SecurityGroup":
        groups = boto3.client("ec2").describe_security_groups()["SecurityGroups"]
        return {g["GroupId"] for g in groups if g["GroupName"] != "default"}
    if kind == "TargetGroup":
        return {g["TargetGroupArn"] for g in boto3.client("elbv2").describe_target_groups()["TargetGroups"]}
    if kind == "LoadBalancer":
        return {
            b["LoadBalancerArn"] for b in boto3.client("elbv2").describe_load_balancers()["LoadBalancers"]
        }
    ecs = boto3.client("ecs")
    services = ecs.describe_services(
        cluster="node-app", services=ecs.list_services(cluster="node-app")["serviceArns"]
    )
    return {s["serviceArn"] for s in services["services"] if s["status"] == "ACTIVE"}


@pytest.mark.parametrize("kind", sorted(RENAMES))
def test_renaming_a_document_keeps_the_resource_and_only_retags_its_source(
    kind: str, capsys: pytest.CaptureFixture[str], aws: Any, tmp_path: Path
) -> None:
    specs = tmp_path / "specs"
    shutil.copytree(NODE_APP, specs)
    assert run_cli(capsys, "apply", str(specs)).code == 0
    identities = _identities(kind)

    _rename(specs, kind)
    plan = run_cli(capsys, "plan", str(specs), "--prune")
    assert plan.code == 2, plan
    assert [r for r in plan.resources if r["status"] == "orphaned"] == [], plan
    renamed = plan.resource(kind, NEW_NAME)
    assert {field["path"] for field in renamed["fields"]} == {"tags.ecs-reconciler/source"}, renamed

    applied = run_cli(capsys, "apply", str(specs), "--prune")
    assert applied.code == 0, applied
    assert not [call for call in applied.writes if ".Delete" in call or ".Deregister" in call], applied
    assert sum(applied.writes.values()) == 1, applied.writes  # one tagging call

    after = run_cli(capsys, "plan", str(specs), "--prune")
    assert (after.code, after.changed) == (0, {}), after
    assert _identities(kind) == identities


def test_a_service_whose_aws_name_changes_is_replaced_create_before_destroy_under_prune(
    capsys: pytest.CaptureFixture[str], aws: Any, tmp_path: Path
) -> None:
    specs = tmp_path / "specs"
    shutil.copytree(NODE_APP, specs)
    assert run_cli(capsys, "apply", str(specs)).code == 0
    service_file = specs / "service.yaml"
    service_file.write_text(
        service_file.read_text().replace(
            "  cluster: node-app\n", "  serviceName: node-app-v2\n  cluster: node-app\n"
        )
    )

    # The new service first; the old one, still tagged as this document's, is held until it is steady.
    first = run_cli(capsys, "apply", str(specs), "--prune")
    assert first.writes.get("ecs.CreateService") == 1, first
    assert "ecs.DeleteService" not in first.writes, first
    (held,) = [r for r in first.resources if r["status"] == "orphaned"]
    assert (held["kind"], held["name"]) == ("Service", "node-app")
    assert "replaced" in held["message"] and "once the new one is steady" in held["message"], held
    assert first.code == 1, first  # a deletion held back: not converged yet

    # Until then both run: the old one keeps serving while the new one rolls out.
    assert {arn.rsplit("/", 1)[1] for arn in _identities("Service")} == {"node-app", "node-app-v2"}
    second = run_cli(capsys, "apply", str(specs), "--prune")
    assert second.code == 0, second
    # Scaled to 0 and deleted, its scalable target first.
    assert second.writes == {
        "application-autoscaling.DeregisterScalableTarget": 1,
        "ecs.UpdateService": 1,
        "ecs.DeleteService": 1,
    }, second.writes
    names = {arn.rsplit("/", 1)[1] for arn in _identities("Service")}
    assert names == {"node-app-v2"}

    done = run_cli(capsys, "plan", str(specs), "--prune")
    assert (done.code, done.changed) == (0, {}), done


def test_plan_and_drift_list_orphans_without_prune_and_apply_leaves_them(
    capsys: pytest.CaptureFixture[str], aws: Any, tmp_path: Path
) -> None:
    specs = tmp_path / "specs"
    shutil.copytree(NODE_APP, specs)
    assert run_cli(capsys, "apply", str(specs)).code == 0
    (specs / "service.yaml").unlink()

    for command in ("plan", "drift"):
        run = run_cli(capsys, command, str(specs))
        assert run.code == 2, run
        orphans = {(r["kind"], r["name"]): r for r in run.resources if r["status"] == "orphaned"}
        assert set(orphans) == {("Service", "node-app"), ("TaskDefinition", "node-app")}, run
        assert {r["message"] for r in orphans.values()} == {
            "orphaned: its document is gone; --prune deletes it"
        }
        assert all(r["calls"] == [] for r in orphans.values())

    applied = run_cli(capsys, "apply", str(specs))
    assert (applied.code, applied.writes) == (0, {}), applied
    assert {arn.rsplit("/", 1)[1] for arn in _identities("Service")} == {"node-app"}


EXTRA_TARGET_GROUP = """---
apiVersion: ecs-reconciler/v1
kind: TargetGroup
metadata:
  name: extra
spec:
  protocol: HTTP
  port: 3000
  targetType: ip
  vpc: default
"""

EXTRA_RULE = """      rules:
        - priority: 10
          conditions:
            - field: path-pattern
              values: ["/extra/*"]
          actions:
            - type: forward
              targetGroup: extra
"""


def test_a_pruned_target_group_is_deleted_after_the_rule_that_forwards_to_it_in_one_pass(
    capsys: pytest.CaptureFixture[str], aws: Any, tmp_path: Path
) -> None:
    """Issue 9 item 8: DeleteTargetGroup ran before the listener rule that used it was removed in the
    same pass (ResourceInUse, exit 1 on the first pass)."""
    specs = tmp_path / "specs"
    shutil.copytree(NODE_APP, specs)
    network = specs / "network.yaml"
    plain = network.read_text()
    network.write_text(plain + EXTRA_RULE + EXTRA_TARGET_GROUP)
    assert run_cli(capsys, "apply", str(specs)).code == 0

    # The rule goes from the listener (an empty list: a listener without `rules` leaves them alone).
    network.write_text(plain + "      rules: []\n")
    pruned = run_cli(capsys, "apply", str(specs), "--prune")
    assert pruned.code == 0, pruned
    # The load balancer's edited document also records its new spec hash (one AddTags).
    assert pruned.writes == {"elbv2.DeleteRule": 1, "elbv2.AddTags": 1, "elbv2.DeleteTargetGroup": 1}, (
        pruned.writes
    )
    groups = {g["TargetGroupName"] for g in boto3.client("elbv2").describe_target_groups()["TargetGroups"]}
    assert groups == {"node-app"}


def _change_aws_name(folder: Path, kind: str, new: str) -> None:
    """Give the kind's example document another AWS name, keeping its document name."""
    old, aws_name_field, _ = RENAMES[kind]
    for file, documents in _documents(folder):
        for document in documents:
            if document["kind"] == kind and document["metadata"]["name"] == old:
                document["spec"][aws_name_field] = new
        file.write_text(yaml.safe_dump_all(documents, sort_keys=False))


@pytest.mark.parametrize("kind", sorted(RENAMES))
def test_a_changed_aws_name_is_listed_as_a_replacement_and_deleted_only_under_prune(
    kind: str, capsys: pytest.CaptureFixture[str], aws: Any, tmp_path: Path
) -> None:
    """Issue 9 item 2, for every kind whose AWS name can change: the old object stays the
    document's orphan, listed by plan and drift as replaced, kept by apply, deleted by --prune."""
    specs = tmp_path / "specs"
    shutil.copytree(NODE_APP, specs)
    assert run_cli(capsys, "apply", str(specs)).code == 0
    before = _identities(kind)
    document = RENAMES[kind][0]
    _change_aws_name(specs, kind, f"{document}-v2")

    for command in ("plan", "drift"):
        run = run_cli(capsys, command, str(specs))
        assert run.code == 2, run
        replaced = [r for r in run.resources if r["status"] == "orphaned" and r["kind"] == kind]
        assert [r["name"] for r in replaced] == [document], run
        assert replaced[0]["message"].startswith("replaced: "), replaced
        assert replaced[0]["calls"] == [], replaced

    applied = run_cli(capsys, "apply", str(specs))
    assert not [call for call in applied.writes if ".Delete" in call], applied
    assert before <= _identities(kind), "apply without --prune deleted the replaced object"

    for _ in range(3):  # a replaced service waits for its successor to be steady
        pruned = run_cli(capsys, "apply", str(specs), "--prune")
        if pruned.code == 0:
            break
    assert pruned.code == 0, pruned
    after = _identities(kind)
    assert len(before - after) == 1, "--prune deletes the replaced object, and only it"
    assert len(after - before) == 1, "its successor"
    done = run_cli(capsys, "plan", str(specs), "--prune")
    assert (done.code, done.changed) == (0, {}), done
