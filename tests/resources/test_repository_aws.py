"""The Repository kind against the local AWS: create, zero-write second pass, drift, prune."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.local import LocalAWS
from reconciler.plan.steps import Action
from tests.harness import engine_pass, load
from tests.resources._repository_helpers import client, write_specs

REPOSITORY_YAML = """\
apiVersion: ecs-reconciler/v1
kind: Repository
metadata:
  name: node-app
spec:
  repositoryName: varuntd/node-app
  imageTagMutability: MUTABLE
  imageScanningConfiguration:
    scanOnPush: true
  lifecyclePolicy:
    rules:
      - rulePriority: 1
        selection: {tagStatus: untagged, countType: sinceImagePushed, countUnit: days, countNumber: 14}
        action: {type: expire}
  repositoryPolicy:
    Version: "2012-10-17"
    Statement:
      - Sid: pull
        Effect: Allow
        Principal: {AWS: "arn:aws:iam::123456789012:root"}
        Action: [ecr:BatchGetImage, ecr:GetDownloadUrlForLayer]
  tags:
    team: web
"""


@pytest.mark.aws
def test_repository_is_created_with_its_policies_then_needs_no_writes(aws: LocalAWS, tmp_path: Path) -> None:
    spec_set = load(write_specs(tmp_path / "specs", REPOSITORY_YAML))
    first = engine_pass(aws, spec_set)
    assert first.writes == {
        "ecr.CreateRepository": 1,
        "ecr.PutLifecyclePolicy": 1,
        "ecr.SetRepositoryPolicy": 1,
    }
    ecr = client(aws, "ecr")
    (repository,) = ecr.describe_repositories(repositoryNames=["varuntd/node-app"])["repositories"]
    assert repository["imageScanningConfiguration"] == {"scanOnPush": True}
    tags = {
        tag["Key"]: tag["Value"]
        for tag in ecr.list_tags_for_resource(resourceArn=repository["repositoryArn"])["tags"]
    }
    assert tags["ecs-reconciler/source"] == "Repository/node-app" and tags["team"] == "web"

    # ECR answers the policy pretty-printed: compared parsed, it is no difference.
    ecr.set_repository_policy(
        repositoryName="varuntd/node-app",
        policyText=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": {
                    "Sid": "pull",
                    "Effect": "Allow",
                    "Principal": {"AWS": ["arn:aws:iam::123456789012:root"]},
                    "Action": ["ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"],
                },
            },
            indent=4,
        ),
    )
    second = engine_pass(aws, spec_set)
    assert second.writes == {}
    # One page of repositories, one tag read, and the two policies the spec manages.
    assert second.calls == {
        "ecr.DescribeRepositories": 1,
        "ecr.GetLifecyclePolicy": 1,
        "ecr.GetRepositoryPolicy": 1,
        "ecr.ListTagsForResource": 1,
        "sts.GetCallerIdentity": 1,
    }


@pytest.mark.aws
@pytest.mark.parametrize(
    ("drift", "expected_writes"),
    [
        (
            lambda ecr: ecr.put_image_tag_mutability(
                repositoryName="varuntd/node-app", imageTagMutability="IMMUTABLE"
            ),
            {"ecr.PutImageTagMutability": 1},
        ),
        (
            lambda ecr: ecr.put_image_scanning_configuration(
                repositoryName="varuntd/node-app", imageScanningConfiguration={"scanOnPush": False}
            ),
            {"ecr.PutImageScanningConfiguration": 1},
        ),
        (
            lambda ecr: ecr.delete_lifecycle_policy(repositoryName="varuntd/node-app"),
            {"ecr.PutLifecyclePolicy": 1},
        ),
        (
            lambda ecr: ecr.delete_repository_policy(repositoryName="varuntd/node-app"),
            {"ecr.SetRepositoryPolicy": 1},
        ),
        (
            lambda ecr: ecr.untag_resource(
                resourceArn=ecr.describe_repositories(repositoryNames=["varuntd/node-app"])["repositories"][
                    0
                ]["repositoryArn"],
                tagKeys=["team"],
            ),
            {"ecr.TagResource": 1},
        ),
    ],
    ids=["mutability", "scan-on-push", "lifecycle-deleted", "policy-deleted", "tag-removed"],
)
def test_console_drift_is_fixed_with_one_narrow_write(
    aws: LocalAWS, tmp_path: Path, drift: object, expected_writes: dict[str, int]
) -> None:
    spec_set = load(write_specs(tmp_path / "specs", REPOSITORY_YAML))
    engine_pass(aws, spec_set)
    drift(client(aws, "ecr"))  # type: ignore[operator]
    report = engine_pass(aws, spec_set, apply=False)
    (resource,) = report.result.plan.resources
    assert resource.action is Action.UPDATE and resource.delta
    assert engine_pass(aws, spec_set).writes == expected_writes
    assert not engine_pass(aws, spec_set, apply=False).result.plan.has_changes


@pytest.mark.aws
def test_an_unowned_repository_of_the_same_name_is_a_conflict(aws: LocalAWS, tmp_path: Path) -> None:
    client(aws, "ecr").create_repository(repositoryName="varuntd/node-app")
    result = engine_pass(aws, load(write_specs(tmp_path / "specs", REPOSITORY_YAML)))
    (resource,) = result.result.plan.resources
    assert resource.action is Action.CONFLICT
    assert result.writes == {}


OTHER_YAML = """\
apiVersion: ecs-reconciler/v1
kind: Repository
metadata:
  name: other
spec:
  imageTagMutability: MUTABLE
"""


@pytest.mark.aws
@pytest.mark.parametrize(("force_delete", "deleted"), [(True, True), (False, False)])
def test_prune_deletes_a_repository_holding_images_only_when_its_document_said_force_delete(
    aws: LocalAWS, tmp_path: Path, force_delete: bool, deleted: bool
) -> None:
    specs = tmp_path / "specs"
    text = REPOSITORY_YAML + f"  forceDelete: {str(force_delete).lower()}\n"
    engine_pass(aws, load(write_specs(specs, text, OTHER_YAML)))
    aws.push_image("varuntd/node-app", "latest")
    pruned = engine_pass(aws, load(write_specs(specs, OTHER_YAML)), prune=True, allow_mass_prune=True)
    assert pruned.writes == {"ecr.DeleteRepository": 1}
    assert pruned.result.ok is deleted
    remaining = {r["repositoryName"] for r in client(aws, "ecr").describe_repositories()["repositories"]}
    assert ("varuntd/node-app" in remaining) is not deleted
    if not deleted:
        assert pruned.result.execution is not None
        (failure,) = pruned.result.execution.failures
        assert "RepositoryNotEmptyException" in failure.error
