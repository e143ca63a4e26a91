"""The LogGroup kind: what CloudWatch Logs answers, and convergence against the local AWS.

The local AWS answers DescribeLogGroups by `logGroupIdentifiers`, AssociateKmsKey and
DisassociateKmsKey like AWS through `reconciler.local.patches` (pinned in
tests/local/test_logs_patches.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest

from reconciler.local import LocalAWS
from reconciler.plan.delta import diff_trees
from reconciler.plan.steps import Action
from reconciler.resources.log_group.kind import DESCRIBE_BATCH, desired_tree, live_tree, log_group_arn
from reconciler.resources.log_group.model import LogGroupSpec
from tests.harness import Pass, engine_pass, load

KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
OTHER_KEY = "arn:aws:kms:us-east-1:123456789012:key/0987dcba-09fe-87dc-65ba-ab0987654321"

# A DescribeLogGroups item as real AWS returns it for a group without retention or key.
REAL_AWS_LOG_GROUP: dict[str, Any] = {
    "logGroupName": "/ecs/web",
    "creationTime": 1733300000000,
    "metricFilterCount": 0,
    "arn": "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/web:*",
    "storedBytes": 2048,
    "logGroupClass": "STANDARD",
    "logGroupArn": "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/web",
    "deletionProtectionEnabled": False,
}


@pytest.mark.parametrize(
    ("spec", "live", "expected_paths"),
    [
        ({}, REAL_AWS_LOG_GROUP, []),
        ({"retentionInDays": "never"}, REAL_AWS_LOG_GROUP, []),
        ({"kmsKeyId": "none"}, REAL_AWS_LOG_GROUP, []),
        ({"retentionInDays": 14}, REAL_AWS_LOG_GROUP, [("retentionInDays",)]),
        ({"retentionInDays": 14}, {**REAL_AWS_LOG_GROUP, "retentionInDays": 14}, []),
        ({"retentionInDays": "never"}, {**REAL_AWS_LOG_GROUP, "retentionInDays": 14}, [("retentionInDays",)]),
        # Left out: not managed, whatever the group has.
        ({}, {**REAL_AWS_LOG_GROUP, "retentionInDays": 14, "kmsKeyId": KEY}, []),
        ({"kmsKeyId": KEY}, {**REAL_AWS_LOG_GROUP, "kmsKeyId": KEY}, []),
        ({"kmsKeyId": "none"}, {**REAL_AWS_LOG_GROUP, "kmsKeyId": KEY}, [("kmsKeyId",)]),
    ],
)
def test_real_aws_answers_never_show_as_a_change(
    spec: dict[str, Any], live: dict[str, Any], expected_paths: list[tuple[str, ...]]
) -> None:
    delta = diff_trees(desired_tree(LogGroupSpec.model_validate(spec)), live_tree(live))
    assert [diff.path for diff in delta] == expected_paths


def test_the_arn_without_its_wildcard_suffix_is_the_identity() -> None:
    expected = "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/web"
    assert log_group_arn(REAL_AWS_LOG_GROUP) == expected
    # An answer without `logGroupArn` (older API versions): the `:*` is cut from `arn`.
    older = {key: value for key, value in REAL_AWS_LOG_GROUP.items() if key != "logGroupArn"}
    assert log_group_arn(older) == expected


LOG_GROUP_YAML = """\
apiVersion: ecs-reconciler/v1
kind: LogGroup
metadata:
  name: web
spec:
  logGroupName: /ecs/web
  retentionInDays: 14
  tags:
    team: web
"""


def write(folder: Path, text: str, name: str = "logs.yaml") -> Path:
    (folder / name).write_text(text)
    return folder


def logs_client(local: LocalAWS) -> Any:
    return boto3.client("logs", region_name=local.region, endpoint_url=local.endpoint_url)


def describe(local: LocalAWS, name: str = "/ecs/web") -> dict[str, Any]:
    (group,) = logs_client(local).describe_log_groups(logGroupIdentifiers=[name])["logGroups"]
    return dict(group)


def tags_of(local: LocalAWS, name: str = "/ecs/web") -> dict[str, str]:
    tags: dict[str, str] = logs_client(local).list_tags_for_resource(
        resourceArn=describe(local, name)["logGroupArn"]
    )["tags"]
    return tags


def logs_calls(result: Pass) -> dict[str, int]:
    return {call: count for call, count in result.calls.items() if call.startswith("logs.")}


@pytest.mark.aws
def test_a_log_group_is_created_with_its_retention_and_tags_then_needs_no_writes(
    aws: LocalAWS, tmp_path: Path
) -> None:
    spec_set = load(write(tmp_path, LOG_GROUP_YAML))
    first = engine_pass(aws, spec_set)
    assert first.writes == {"logs.CreateLogGroup": 1, "logs.PutRetentionPolicy": 1}
    assert describe(aws)["retentionInDays"] == 14
    assert tags_of(aws)["team"] == "web"
    assert tags_of(aws)["ecs-reconciler/source"] == "LogGroup/web"
    second = engine_pass(aws, spec_set)
    assert second.writes == {}
    assert not second.result.plan.has_changes


@pytest.mark.aws
def test_each_pass_reads_log_groups_fifty_names_a_call_and_the_tags_of_each(
    aws: LocalAWS, tmp_path: Path
) -> None:
    count = DESCRIBE_BATCH + 10
    documents = "---\n".join(
        f"apiVersion: ecs-reconciler/v1\nkind: LogGroup\nmetadata: {{name: group-{index:02}}}\nspec: {{}}\n"
        for index in range(count)
    )
    # Groups of the account that no document names cost no read.
    for index in range(30):
        logs_client(aws).create_log_group(logGroupName=f"/aws/lambda/someone-else-{index}")
    spec_set = load(write(tmp_path, documents))
    created = engine_pass(aws, spec_set)
    # Nothing exists yet: two DescribeLogGroups (50 + 10 names), no tags to read.
    assert logs_calls(created) == {"logs.DescribeLogGroups": 2, "logs.CreateLogGroup": count}
    steady = engine_pass(aws, spec_set, apply=False)
    assert logs_calls(steady) == {"logs.DescribeLogGroups": 2, "logs.ListTagsForResource": count}
    # Looking for orphans (--prune) is one tagging sweep of what is owned: every owned group is one
    # a document resolved to, so the account's groups are not listed, and the 30 groups of others
    # (which CloudWatch Logs cannot filter by tag) are never read.
    pruning = engine_pass(aws, spec_set, apply=False, prune=True)
    assert logs_calls(pruning) == logs_calls(steady)
    assert pruning.calls["resourcegroupstaggingapi.GetResources"] == 1


@pytest.mark.aws
@pytest.mark.parametrize(
    ("edit", "expected_writes", "retention"),
    [
        # Each edit also records the edited document's spec hash (one TagResource) ...
        (
            ("retentionInDays: 14", "retentionInDays: 30"),
            {"logs.PutRetentionPolicy": 1, "logs.TagResource": 1},
            30,
        ),
        (
            ("retentionInDays: 14", "retentionInDays: never"),
            {"logs.DeleteRetentionPolicy": 1, "logs.TagResource": 1},
            None,
        ),
        # ... unless nothing is to change. Left out of the spec: no longer managed, so the group
        # keeps what it has.
        (("  retentionInDays: 14\n", ""), {}, 14),
    ],
    ids=["changed", "never-expire", "left-out"],
)
def test_a_retention_edit_is_exactly_one_call(
    aws: LocalAWS,
    tmp_path: Path,
    edit: tuple[str, str],
    expected_writes: dict[str, int],
    retention: int | None,
) -> None:
    engine_pass(aws, load(write(tmp_path, LOG_GROUP_YAML)))
    edited = load(write(tmp_path, LOG_GROUP_YAML.replace(*edit)))
    assert engine_pass(aws, edited).writes == expected_writes
    assert describe(aws).get("retentionInDays") == retention
    assert engine_pass(aws, edited).writes == {}


@pytest.mark.aws
def test_a_kms_key_is_set_at_create_then_removed_and_put_back_with_one_call_each(
    aws: LocalAWS, tmp_path: Path
) -> None:
    with_key = LOG_GROUP_YAML + f"  kmsKeyId: {KEY}\n"
    assert engine_pass(aws, load(write(tmp_path, with_key))).writes == {
        "logs.CreateLogGroup": 1,
        "logs.PutRetentionPolicy": 1,
    }
    assert describe(aws)["kmsKeyId"] == KEY
    without_key = load(write(tmp_path, with_key.replace(KEY, "none")))
    # Each edit also records the edited document's spec hash.
    assert engine_pass(aws, without_key).writes == {"logs.DisassociateKmsKey": 1, "logs.TagResource": 1}
    assert "kmsKeyId" not in describe(aws)
    other_key = load(write(tmp_path, with_key.replace(KEY, OTHER_KEY)))
    assert engine_pass(aws, other_key).writes == {"logs.AssociateKmsKey": 1, "logs.TagResource": 1}
    assert describe(aws)["kmsKeyId"] == OTHER_KEY
    assert engine_pass(aws, other_key).writes == {}


@pytest.mark.aws
@pytest.mark.parametrize(
    ("drift", "expected_writes"),
    [
        (lambda logs, arn: logs.untag_resource(resourceArn=arn, tagKeys=["team"]), {"logs.TagResource": 1}),
        (lambda logs, arn: logs.tag_resource(resourceArn=arn, tags={"team": "ops"}), {"logs.TagResource": 1}),
        # A tag the spec does not name is not managed (as in every kind): left alone.
        (lambda logs, arn: logs.tag_resource(resourceArn=arn, tags={"cost-centre": "42"}), {}),
    ],
    ids=["tag-removed", "tag-changed", "tag-added"],
)
def test_tag_drift_is_healed_with_one_tag_call(
    aws: LocalAWS, tmp_path: Path, drift: Any, expected_writes: dict[str, int]
) -> None:
    spec_set = load(write(tmp_path, LOG_GROUP_YAML))
    engine_pass(aws, spec_set)
    drift(logs_client(aws), describe(aws)["logGroupArn"])
    healed = engine_pass(aws, spec_set)
    assert healed.writes == expected_writes
    assert tags_of(aws)["team"] == "web"
    assert engine_pass(aws, spec_set).writes == {}


@pytest.mark.aws
def test_an_unowned_log_group_with_the_spec_name_is_a_conflict_and_untouched(
    aws: LocalAWS, tmp_path: Path
) -> None:
    logs_client(aws).create_log_group(logGroupName="/ecs/web", tags={"team": "someone-else"})
    result = engine_pass(aws, load(write(tmp_path, LOG_GROUP_YAML)))
    (resource,) = result.result.plan.resources
    assert resource.action is Action.CONFLICT
    assert result.writes == {}
    assert "retentionInDays" not in describe(aws)
    assert tags_of(aws) == {"team": "someone-else"}


@pytest.mark.aws
def test_prune_deletes_only_owned_log_groups_and_keeps_retained_ones(aws: LocalAWS, tmp_path: Path) -> None:
    retained = LOG_GROUP_YAML.replace(
        "name: web", "name: audit\n  annotations:\n    ecs-reconciler/deletion-policy: retain"
    ).replace("/ecs/web", "/ecs/audit")
    kept = LOG_GROUP_YAML.replace("name: web", "name: api").replace("/ecs/web", "/ecs/api")
    write(tmp_path, LOG_GROUP_YAML + "---\n" + retained + "---\n" + kept)
    engine_pass(aws, load(tmp_path))
    logs_client(aws).create_log_group(logGroupName="/ecs/unowned")
    write(tmp_path, kept)
    pruned = engine_pass(aws, load(tmp_path), prune=True, allow_mass_prune=True)
    assert pruned.writes == {"logs.DeleteLogGroup": 1}
    names = {group["logGroupName"] for group in logs_client(aws).describe_log_groups()["logGroups"]}
    assert names == {"/ecs/api", "/ecs/audit", "/ecs/unowned"}


TASK_DEFINITION_YAML = """\
apiVersion: ecs-reconciler/v1
kind: TaskDefinition
metadata:
  name: web
spec:
  containerDefinitions:
    - name: web
      image: nginx:1.27
      memory: 512
      logConfiguration:
        logDriver: awslogs
        options:
          awslogs-group: GROUP
          awslogs-region: us-east-1
"""


@pytest.mark.aws
def test_a_task_definition_naming_a_log_group_document_registers_after_it_with_its_cloudwatch_name(
    aws: LocalAWS, tmp_path: Path
) -> None:
    write(tmp_path, LOG_GROUP_YAML)
    write(tmp_path, TASK_DEFINITION_YAML.replace("GROUP", "web"), "task.yaml")
    spec_set = load(tmp_path)
    planned = engine_pass(aws, spec_set, apply=False).result.plan
    task_definition = planned.get("TaskDefinition", "web")
    assert task_definition is not None
    (register,) = task_definition.groups
    assert ("LogGroup", "web", "main") in register.after
    applied = engine_pass(aws, spec_set)
    assert applied.writes == {
        "logs.CreateLogGroup": 1,
        "logs.PutRetentionPolicy": 1,
        "ecs.RegisterTaskDefinition": 1,
    }
    ecs = boto3.client("ecs", region_name=aws.region, endpoint_url=aws.endpoint_url)
    (container,) = ecs.describe_task_definition(taskDefinition="web")["taskDefinition"][
        "containerDefinitions"
    ]
    assert container["logConfiguration"]["options"]["awslogs-group"] == "/ecs/web"
    assert engine_pass(aws, spec_set).writes == {}


@pytest.mark.aws
def test_a_literal_awslogs_group_is_sent_as_written_and_waits_for_nothing(
    aws: LocalAWS, tmp_path: Path
) -> None:
    spec_set = load(
        write(tmp_path, TASK_DEFINITION_YAML.replace("GROUP", "/ecs/made-elsewhere"), "task.yaml")
    )
    planned = engine_pass(aws, spec_set, apply=False).result.plan
    task_definition = planned.get("TaskDefinition", "web")
    assert task_definition is not None
    (register,) = task_definition.groups
    assert register.after == frozenset()
    assert engine_pass(aws, spec_set).writes == {"ecs.RegisterTaskDefinition": 1}
    ecs = boto3.client("ecs", region_name=aws.region, endpoint_url=aws.endpoint_url)
    (container,) = ecs.describe_task_definition(taskDefinition="web")["taskDefinition"][
        "containerDefinitions"
    ]
    assert container["logConfiguration"]["options"]["awslogs-group"] == "/ecs/made-elsewhere"


@pytest.mark.aws
def test_a_task_definition_whose_log_group_is_in_conflict_is_not_registered(
    aws: LocalAWS, tmp_path: Path
) -> None:
    logs_client(aws).create_log_group(logGroupName="/ecs/web")
    write(tmp_path, LOG_GROUP_YAML)
    write(tmp_path, TASK_DEFINITION_YAML.replace("GROUP", "web"), "task.yaml")
    applied = engine_pass(aws, load(tmp_path))
    task_definition = applied.result.plan.get("TaskDefinition", "web")
    assert task_definition is not None
    assert (task_definition.action, task_definition.message) == (
        Action.CONFLICT,
        "depends on LogGroup/web, which is in conflict",
    )
    assert applied.writes == {}
