"""The Repository kind, pure: normalisation tables against real-AWS-shaped answers, and plans.

Fixtures follow botocore's ECR shapes and examples: DescribeRepositories items carry
`encryptionConfiguration` (AES256 by default), `createdAt`, `registryId`; GetRepositoryPolicy
answers the policy pretty-printed ("Version" : "2008-10-17", spaces around colons).
"""

from __future__ import annotations

import datetime
import json
from dataclasses import replace
from typing import Any

import pytest

from reconciler.plan.delta import diff_trees
from reconciler.plan.ownership import SPEC_HASH, ownership_tags
from reconciler.plan.steps import Action, Call
from reconciler.resources.base import LiveResource
from reconciler.resources.repository.kind import (
    ENCRYPTION_CONFLICT,
    FORCE_DELETE_TAG,
    KIND,
    desired_tree,
    live_tree,
    normalise_policy,
)
from reconciler.resources.repository.model import RepositorySpec
from tests.resources._repository_helpers import ACCOUNT, context, document

ARN = f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/varuntd/node-app"
URI = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/varuntd/node-app"

REAL_AWS_REPOSITORY: dict[str, Any] = {
    "repositoryArn": ARN,
    "registryId": ACCOUNT,
    "repositoryName": "varuntd/node-app",
    "repositoryUri": URI,
    "createdAt": datetime.datetime(2025, 1, 2, tzinfo=datetime.UTC),
    "imageTagMutability": "MUTABLE",
    "imageScanningConfiguration": {"scanOnPush": True},
    "encryptionConfiguration": {"encryptionType": "AES256"},
}

# GetRepositoryPolicy's answer, reformatted by ECR (botocore's ecr examples-1.json).
REAL_AWS_POLICY_TEXT = (
    '{\n  "Version" : "2008-10-17",\n  "Statement" : [ {\n    "Sid" : "new statement",\n'
    '    "Effect" : "Allow",\n    "Principal" : {\n'
    '     "AWS" : "arn:aws:iam::012345678901:role/CodeDeployDemo"\n'
    '    },\n"Action" : [ "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage", '
    '"ecr:BatchCheckLayerAvailability" ]\n } ]\n}'
)
POLICY = {
    "Version": "2008-10-17",
    "Statement": {
        "Sid": "new statement",
        "Effect": "Allow",
        "Principal": {"AWS": ["arn:aws:iam::012345678901:role/CodeDeployDemo"]},
        "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
    },
}
LIFECYCLE: dict[str, Any] = {
    "rules": [
        {
            "rulePriority": 2,
            "description": "keep 10 tagged",
            "selection": {
                "tagStatus": "tagged",
                "tagPrefixList": ["v", "release"],
                "countType": "imageCountMoreThan",
                "countNumber": 10,
            },
            "action": {"type": "expire"},
        },
        {
            "rulePriority": 1,
            "selection": {
                "tagStatus": "untagged",
                "countType": "sinceImagePushed",
                "countUnit": "days",
                "countNumber": 14,
            },
            "action": {"type": "expire"},
        },
    ]
}
# What GetLifecyclePolicy answers: the same rules, reordered and reformatted.
REAL_AWS_LIFECYCLE_TEXT = json.dumps(
    {
        "rules": [
            LIFECYCLE["rules"][1],
            {
                **LIFECYCLE["rules"][0],
                "selection": {**LIFECYCLE["rules"][0]["selection"], "tagPrefixList": ["release", "v"]},
            },
        ]
    },
    indent=2,
)


def spec(**fields: Any) -> RepositorySpec:
    return RepositorySpec.model_validate({"repositoryName": "varuntd/node-app", **fields})


@pytest.mark.parametrize(
    ("fields", "details"),
    [
        ({"imageTagMutability": "MUTABLE", "imageScanningConfiguration": {"scanOnPush": True}}, {}),
        # AES256 is what AWS reports for a repository created without encryption settings.
        ({"encryptionConfiguration": {"encryptionType": "AES256"}}, {}),
        ({"repositoryPolicy": POLICY}, {"policyText": REAL_AWS_POLICY_TEXT}),
        ({"lifecyclePolicy": LIFECYCLE}, {"lifecyclePolicyText": REAL_AWS_LIFECYCLE_TEXT}),
        ({}, {}),
    ],
    ids=["tutorial", "default-encryption", "policy-reformatted", "lifecycle-reordered", "nothing-managed"],
)
def test_real_aws_answers_never_show_as_drift(fields: dict[str, Any], details: dict[str, Any]) -> None:
    assert diff_trees(desired_tree(spec(**fields)), live_tree(REAL_AWS_REPOSITORY, details)).diffs == ()


@pytest.mark.parametrize(
    ("fields", "details", "expected_path"),
    [
        ({"imageTagMutability": "IMMUTABLE"}, {}, ("imageTagMutability",)),
        (
            {"imageScanningConfiguration": {"scanOnPush": False}},
            {},
            ("imageScanningConfiguration", "scanOnPush"),
        ),
        ({"repositoryPolicy": POLICY}, {"policyText": None}, ("repositoryPolicy",)),
        (
            {"lifecyclePolicy": {"rules": LIFECYCLE["rules"][:1]}},
            {"lifecyclePolicyText": REAL_AWS_LIFECYCLE_TEXT},
            ("lifecyclePolicy", "rules"),
        ),
        (
            {"encryptionConfiguration": {"encryptionType": "KMS"}},
            {},
            ("encryptionConfiguration", "encryptionType"),
        ),
    ],
    ids=["mutability", "scan-on-push", "policy-absent", "lifecycle-rule-removed", "encryption"],
)
def test_real_differences_are_found(
    fields: dict[str, Any], details: dict[str, Any], expected_path: tuple[str, ...]
) -> None:
    delta = diff_trees(desired_tree(spec(**fields)), live_tree(REAL_AWS_REPOSITORY, details))
    assert [diff.path for diff in delta] == [expected_path]


@pytest.mark.parametrize(
    ("left", "right"),
    [
        (
            {"Statement": {"Action": "ecr:*", "Effect": "Allow"}},
            {"Statement": [{"Action": ["ecr:*"], "Effect": "Allow"}]},
        ),
        (
            {"Statement": [{"Sid": "b", "Effect": "Allow"}, {"Sid": "a", "Effect": "Deny"}]},
            {"Statement": [{"Sid": "a", "Effect": "Deny"}, {"Sid": "b", "Effect": "Allow"}]},
        ),
        (
            {"Statement": [{"Principal": {"AWS": "arn:a"}, "Condition": {"StringEquals": {"k": "v"}}}]},
            {"Statement": [{"Principal": {"AWS": ["arn:a"]}, "Condition": {"StringEquals": {"k": ["v"]}}}]},
        ),
    ],
    ids=["one-string-vs-list", "statement-order", "principal-and-condition-lists"],
)
def test_policy_spellings_that_mean_the_same_normalise_equal(left: Any, right: Any) -> None:
    assert normalise_policy(json.dumps(left, indent=4)) == normalise_policy(right)


def repository_document(**fields: Any) -> Any:
    return document("Repository", "node-app", {"repositoryName": "varuntd/node-app", **fields})


def live(tags: dict[str, str] | None = None, **state: Any) -> LiveResource:
    repository = {**REAL_AWS_REPOSITORY, **state}
    return LiveResource(
        kind="Repository",
        name="node-app",
        identifier=ARN,
        state=repository,
        tags=tags if tags is not None else {**OWNER_TAGS, FORCE_DELETE_TAG: "false"},
        outputs={"arn": ARN, "uri": URI, "name": "varuntd/node-app"},
    )


OWNER_TAGS = ownership_tags(kind="Repository", name="node-app", instance="default")


def test_create_sends_every_set_field_then_the_policies() -> None:
    document_ = repository_document(
        imageTagMutability="MUTABLE",
        imageScanningConfiguration={"scanOnPush": True},
        lifecyclePolicy=LIFECYCLE,
        repositoryPolicy=POLICY,
        tags={"team": "web"},
    )
    planned = KIND.plan(document_, None, context([document_]))
    assert planned.action is Action.CREATE
    assert [call.name for call in planned.calls] == [
        "ecr.CreateRepository",
        "ecr.PutLifecyclePolicy",
        "ecr.SetRepositoryPolicy",
    ]
    create = planned.calls[0]
    assert create.params == {
        "repositoryName": "varuntd/node-app",
        "imageTagMutability": "MUTABLE",
        "imageScanningConfiguration": {"scanOnPush": True},
        "tags": [
            {"Key": "ecs-reconciler/deletion-policy", "Value": "delete"},
            {"Key": "ecs-reconciler/force-delete", "Value": "false"},
            {"Key": "ecs-reconciler/instance", "Value": "default"},
            {"Key": "ecs-reconciler/managed-by", "Value": "ecs-reconciler"},
            {"Key": "ecs-reconciler/source", "Value": "Repository/node-app"},
            {"Key": SPEC_HASH, "Value": document_.spec_hash},
            {"Key": "team", "Value": "web"},
        ],
    }
    assert set(create.outputs) == {"arn", "uri", "name"}
    assert json.loads(planned.calls[1].params["lifecyclePolicyText"]) == json.loads(
        RepositorySpec.model_validate({"lifecyclePolicy": LIFECYCLE}).lifecycle_policy_text() or ""
    )


def test_in_sync_repository_plans_no_call() -> None:
    document_ = repository_document(
        imageTagMutability="MUTABLE", imageScanningConfiguration={"scanOnPush": True}
    )
    planned = KIND.plan(document_, live(), context([document_]))
    assert (planned.action, planned.calls) == (Action.NONE, ())


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {"imageTagMutability": "IMMUTABLE"},
            Call(
                "ecr",
                "put_image_tag_mutability",
                {"repositoryName": "varuntd/node-app", "imageTagMutability": "IMMUTABLE"},
                description="set image tag mutability",
            ),
        ),
        (
            {"imageScanningConfiguration": {"scanOnPush": False}},
            Call(
                "ecr",
                "put_image_scanning_configuration",
                {"repositoryName": "varuntd/node-app", "imageScanningConfiguration": {"scanOnPush": False}},
                description="set image scanning configuration",
            ),
        ),
        (
            {"tags": {"team": "web"}},
            Call(
                "ecr",
                "tag_resource",
                {"resourceArn": ARN, "tags": [{"Key": "team", "Value": "web"}]},
                description="tag repository",
            ),
        ),
        (
            {"forceDelete": True},
            Call(
                "ecr",
                "tag_resource",
                {"resourceArn": ARN, "tags": [{"Key": FORCE_DELETE_TAG, "Value": "true"}]},
                description="tag repository",
            ),
        ),
    ],
    ids=["mutability", "scanning", "tags", "force-delete-recorded"],
)
def test_each_change_is_one_narrow_call(fields: dict[str, Any], expected: Call) -> None:
    document_ = repository_document(**fields)
    planned = KIND.plan(document_, live(), context([document_]))
    if expected.operation == "tag_resource":
        # A tag written anyway records the edited document's spec hash with it, at no extra call.
        tags = sorted([*expected.params["tags"], {"Key": SPEC_HASH, "Value": document_.spec_hash}], key=str)
        expected = replace(expected, params={**expected.params, "tags": tags})
    assert (planned.action, planned.calls) == (Action.UPDATE, (expected,))


def test_an_encryption_change_is_a_conflict_without_calls() -> None:
    document_ = repository_document(encryptionConfiguration={"encryptionType": "KMS"})
    planned = KIND.plan(document_, live(), context([document_]))
    assert (planned.action, planned.message, planned.calls) == (Action.CONFLICT, ENCRYPTION_CONFLICT, ())


@pytest.mark.parametrize(("force", "expected"), [("true", {"force": True}), ("false", {})])
def test_prune_forces_only_what_its_document_said_to(force: str, expected: dict[str, Any]) -> None:
    planned = KIND.plan_delete(live(tags={**OWNER_TAGS, FORCE_DELETE_TAG: force}), context([]))
    (call,) = planned.calls
    assert call.params == {"repositoryName": "varuntd/node-app", **expected}


@pytest.mark.parametrize(
    ("fields", "state"),
    [
        (
            {"encryptionConfiguration": {"encryptionType": "KMS"}},
            {
                "encryptionConfiguration": {
                    "encryptionType": "KMS",
                    "kmsKey": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                }
            },
        ),
        (
            {
                "imageTagMutability": "IMMUTABLE_WITH_EXCLUSION",
                "imageTagMutabilityExclusionFilters": [
                    {"filterType": "WILDCARD", "filter": "latest"},
                    {"filterType": "WILDCARD", "filter": "dev-*"},
                ],
            },
            {
                "imageTagMutability": "IMMUTABLE_WITH_EXCLUSION",
                "imageTagMutabilityExclusionFilters": [
                    {"filterType": "WILDCARD", "filter": "dev-*"},
                    {"filterType": "WILDCARD", "filter": "latest"},
                ],
            },
        ),
    ],
    ids=["kms-key-chosen-by-aws", "exclusion-filter-order"],
)
def test_values_aws_fills_in_or_reorders_are_not_drift(fields: dict[str, Any], state: dict[str, Any]) -> None:
    live_state = {**REAL_AWS_REPOSITORY, **state}
    assert diff_trees(desired_tree(spec(**fields)), live_tree(live_state, {})).diffs == ()


KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
KEY_ARN = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{KEY_ID}"


@pytest.mark.parametrize("key", [KEY_ID, KEY_ARN], ids=["key-id", "key-arn"])
def test_a_kms_key_id_matches_the_key_arn_ecr_answers_with(key: str) -> None:
    encryption = {"encryptionType": "KMS", "kmsKey": KEY_ARN}
    document_ = repository_document(encryptionConfiguration={"encryptionType": "KMS", "kmsKey": key})
    planned = KIND.plan(document_, live(encryptionConfiguration=encryption), context([document_]))
    assert (planned.action, planned.calls) == (Action.NONE, ())
    another_key = "99999999-12ab-34cd-56ef-1234567890ab"
    other = repository_document(encryptionConfiguration={"encryptionType": "KMS", "kmsKey": another_key})
    assert (
        KIND.plan(other, live(encryptionConfiguration=encryption), context([other])).action is Action.CONFLICT
    )


def test_a_bare_account_principal_matches_the_root_arn_iam_stores_and_a_real_change_is_one_call() -> None:
    def policy(principal: Any) -> dict[str, Any]:
        statement = {
            "Sid": "pull",
            "Effect": "Allow",
            "Principal": {"AWS": principal},
            "Action": "ecr:BatchGetImage",
        }
        return {"Version": "2012-10-17", "Statement": [statement]}

    answered = json.dumps(policy("arn:aws:iam::111122223333:root"), indent=2)
    document_ = repository_document(repositoryPolicy=policy("111122223333"))
    in_sync = KIND.plan(document_, replace(live(), details={"policyText": answered}), context([document_]))
    assert (in_sync.action, in_sync.calls) == (Action.NONE, ())
    moved = repository_document(repositoryPolicy=policy("444455556666"))
    changed = KIND.plan(moved, replace(live(), details={"policyText": answered}), context([moved]))
    assert [call.name for call in changed.calls] == ["ecr.SetRepositoryPolicy"]
