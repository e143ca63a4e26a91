"""The Repository kind: an ECR repository, its tag mutability, scanning, encryption and policies.

Observed by paging DescribeRepositories once (up to 1000 repositories a page: describing by
names would fail the whole call when one name is missing) and filtering by name, then one
ListTagsForResource per managed repository (ECR has no batch tag read), and GetLifecyclePolicy /
GetRepositoryPolicy only for documents that set them. Converged with the narrowest call per field
group: PutImageTagMutability, PutImageScanningConfiguration, PutLifecyclePolicy,
SetRepositoryPolicy, TagResource. Encryption cannot change on AWS: a difference is a conflict.

Pruning deletes a repository holding images only when its document said `forceDelete: true`;
since the document is gone by then, that choice is recorded on the repository as the tag
`ecs-reconciler/force-delete` at create and update. Without it DeleteRepository fails with
RepositoryNotEmptyException, which the apply reports.

Registered in `reconciler.resources.registry`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from reconciler.aws.errors import AwsError
from reconciler.plan.delta import Delta, diff_trees
from reconciler.plan.normalise import drop_empty, map_to_tags, parse_json_text, sort_by, tags_to_map
from reconciler.plan.rewrites import Handling, Rewrite
from reconciler.plan.steps import MAIN, Action, Call, ResourcePlan, StepGroup
from reconciler.resources.base import (
    ApiClient,
    Environment,
    KindBase,
    LiveResource,
    ObserveContext,
    PlanContext,
    TaggedAs,
)
from reconciler.resources.common import owned_by_instance, repository_uri, spec_fields, tag_delta
from reconciler.resources.repository.model import KMS_KEY_ID, RepositorySpec
from reconciler.spec import Document

__all__ = ["KIND", "RepositoryKind", "desired_tree", "live_tree", "normalise_policy", "repository_uri"]

PAGE_SIZE = 1000  # DescribeRepositories returns at most 1000 repositories a page
FORCE_DELETE_TAG = "ecs-reconciler/force-delete"
ENCRYPTION_CONFLICT = "encryption cannot change; recreate the repository"

_LIFECYCLE_ABSENT = "LifecyclePolicyNotFoundException"
_POLICY_ABSENT = "RepositoryPolicyNotFoundException"
_TAG_KEYS = {"key": "Key", "value": "Value"}  # ECR spells its tag members with capitals

# Members of an IAM policy statement whose value is one string or a list of them, where order and
# the one-string-vs-one-item-list spelling carry no meaning.
_STATEMENT_LISTS = ("Action", "NotAction", "Resource", "NotResource")


def _as_sorted_list(value: Any) -> Any:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return sorted(set(value)) if all(isinstance(item, str) for item in value) else value
    return value


def _normalise_statement(statement: Mapping[str, Any]) -> dict[str, Any]:
    normalised = dict(statement)
    for key in _STATEMENT_LISTS:
        if key in normalised:
            normalised[key] = _as_sorted_list(normalised[key])
    for key in ("Principal", "NotPrincipal"):
        principal = normalised.get(key)
        if isinstance(principal, Mapping):
            normalised[key] = {kind: _as_sorted_list(ids) for kind, ids in principal.items()}
    condition = normalised.get("Condition")
    if isinstance(condition, Mapping):
        normalised["Condition"] = {
            operator: (
                {name: _as_sorted_list(values) for name, values in tests.items()}
                if isinstance(tests, Mapping)
                else tests
            )
            for operator, tests in condition.items()
        }
    return normalised


def normalise_policy(policy: Any) -> Any:
    """An IAM policy document in one canonical form, so AWS's reformatting never shows as drift:
    one statement or a list of them, one string or a one-item list, and list order all mean the
    same. Text is parsed first (ECR returns policies pretty-printed)."""
    if isinstance(policy, str):
        policy = parse_json_text(policy)
    if not isinstance(policy, Mapping):
        return policy
    normalised = dict(policy)
    statements = normalised.get("Statement")
    if isinstance(statements, Mapping):
        statements = [statements]
    if isinstance(statements, list):
        normalised["Statement"] = sort_by(
            _normalise_statement(statement) if isinstance(statement, Mapping) else statement
            for statement in statements
        )
    return normalised


def normalise_lifecycle_policy(policy: Any) -> Any:
    """Lifecycle rules are applied by priority, not by position; tag lists are sets."""
    if isinstance(policy, str):
        policy = parse_json_text(policy)
    if not isinstance(policy, Mapping):
        return policy
    rules = []
    for rule in policy.get("rules") or []:
        selection = dict(rule.get("selection") or {})
        for key in ("tagPrefixList", "tagPatternList"):
            if key in selection:
                selection[key] = sorted(selection[key])
        rules.append(drop_empty({**rule, "selection": selection}))
    return {**policy, "rules": sorted(rules, key=lambda rule: rule.get("rulePriority", 0))}


def _exclusion_filters(filters: Sequence[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    return sort_by(
        (dict(item) for item in filters or ()), key=lambda item: (item["filterType"], item["filter"])
    )


def desired_tree(spec: RepositorySpec, environment: Environment | None = None) -> dict[str, Any]:
    """The managed fields of a document, normalised; the name, tags and `forceDelete` are not here.

    With the `environment`, values ECR answers in a longer form are written in that form: a KMS
    key id as the key's ARN, a bare account id in a policy's principals as the account's root ARN.
    """
    fields = spec_fields(
        spec,
        exclude={"repositoryName", "tags", "forceDelete", "lifecyclePolicy", "repositoryPolicy"},
    )
    if "imageTagMutabilityExclusionFilters" in fields:
        fields["imageTagMutabilityExclusionFilters"] = _exclusion_filters(
            fields["imageTagMutabilityExclusionFilters"]
        )
    if spec.lifecycle_policy is not None:
        fields["lifecyclePolicy"] = normalise_lifecycle_policy(spec.lifecycle_policy_text())
    if spec.repository_policy is not None:
        policy = spec.repository_policy
        if environment is not None:
            policy = _principals_as_arns(policy, environment.partition)
        fields["repositoryPolicy"] = normalise_policy(policy)
    key = (fields.get("encryptionConfiguration") or {}).get("kmsKey")
    if environment is not None and key is not None and KMS_KEY_ID.match(key):
        account = f"{environment.partition}:kms:{environment.region}:{environment.account_id}"
        fields["encryptionConfiguration"] = {
            **fields["encryptionConfiguration"],
            "kmsKey": f"arn:{account}:key/{key}",
        }
    return fields


def _principals_as_arns(policy: Any, partition: str) -> Any:
    """IAM stores an `AWS` principal given as a bare account id as that account's root ARN."""
    if not isinstance(policy, Mapping):
        return policy
    statements = policy.get("Statement")
    if isinstance(statements, Mapping):
        statements = [statements]
    if not isinstance(statements, list):
        return policy
    rewritten = []
    for statement in statements:
        if isinstance(statement, Mapping):
            statement = dict(statement)
            for key in ("Principal", "NotPrincipal"):
                principal = statement.get(key)
                if isinstance(principal, Mapping) and "AWS" in principal:
                    statement[key] = {**principal, "AWS": _account_ids_as_arns(principal["AWS"], partition)}
        rewritten.append(statement)
    return {**policy, "Statement": rewritten}


def _account_ids_as_arns(value: Any, partition: str) -> Any:
    if isinstance(value, list):
        return [_account_ids_as_arns(item, partition) for item in value]
    if isinstance(value, str) and len(value) == 12 and value.isdigit():
        return f"arn:{partition}:iam::{value}:root"
    return value


def live_tree(state: Mapping[str, Any], details: Mapping[str, Any]) -> dict[str, Any]:
    """A DescribeRepositories item (plus the policies read for it) in the shape of `desired_tree`.

    A policy the document does not manage was not read and is absent from `details`; one that was
    read but does not exist is None there.
    """
    tree: dict[str, Any] = drop_empty(
        {
            "imageTagMutability": state.get("imageTagMutability"),
            "imageTagMutabilityExclusionFilters": _exclusion_filters(
                state.get("imageTagMutabilityExclusionFilters")
            ),
            "imageScanningConfiguration": state.get("imageScanningConfiguration"),
            "encryptionConfiguration": state.get("encryptionConfiguration"),
        }
    )
    if details.get("lifecyclePolicyText") is not None:
        tree["lifecyclePolicy"] = normalise_lifecycle_policy(details["lifecyclePolicyText"])
    if details.get("policyText") is not None:
        tree["repositoryPolicy"] = normalise_policy(details["policyText"])
    return tree


def desired_repository_tags(document: Document, context: PlanContext) -> dict[str, str]:
    """The spec's tags, the ownership tags, and the force-delete choice pruning will need."""
    spec = document.spec_as(RepositorySpec)
    return {**context.desired_tags(document), FORCE_DELETE_TAG: "true" if spec.force_delete else "false"}


# What AWS answers differently from what it was sent, and how each is kept from being a change.
REWRITES: tuple[Rewrite, ...] = (
    Rewrite(
        field="encryptionConfiguration.kmsKey",
        sent="a key id",
        answered="the key's ARN",
        handling=Handling.RESOLVED,
        how=(
            "completed to arn:PARTITION:kms:REGION:ACCOUNT:key/ID from the account the engine already"
            " knows (no call)"
        ),
        source="https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_EncryptionConfiguration.html",
        test="tests/resources/test_repository.py::test_a_kms_key_id_matches_the_key_arn_ecr_answers_with",
    ),
    Rewrite(
        field="encryptionConfiguration.kmsKey",
        sent="an alias (`alias/ecr`)",
        answered="the key's ARN",
        handling=Handling.REQUIRED_FORM,
        how=(
            "refused at validation (key ARN or id): the field cannot change, and an alias would need "
            "KMS reads"
        ),
        source="https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_EncryptionConfiguration.html",
        test="tests/spec/test_bad_corpus.py::test_bad_spec_is_refused_at_the_expected_line",
    ),
    Rewrite(
        field="encryptionConfiguration",
        sent="absent",
        answered="`{encryptionType: AES256}`",
        handling=Handling.NOT_MANAGED,
        how="not compared unless the spec sets it; AES256 is what a spec that sets it would say",
        source="https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_EncryptionConfiguration.html",
        test="tests/resources/test_repository.py::test_real_aws_answers_never_show_as_drift",
    ),
    Rewrite(
        field="repositoryPolicy.Statement[].Principal.AWS",
        sent='a bare account id (`"111122223333"`)',
        answered="`arn:aws:iam::111122223333:root`",
        handling=Handling.NORMALISED,
        how="the spec's account ids are written as root ARNs of the account's partition",
        source="https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html",
        test="tests/resources/test_repository.py::test_a_bare_account_principal_matches_the_root_arn_iam_stores_and_a_real_change_is_one_call",
    ),
    Rewrite(
        field="repositoryPolicy",
        sent="a mapping; one statement or a list; a string or a one-item list; any order",
        answered="pretty-printed JSON text in its own order",
        handling=Handling.NORMALISED,
        how="parsed and put in one canonical form on both sides",
        source="undocumented: GetRepositoryPolicy returns the text reformatted (LOCAL-AWS-NOTES.md)",
        test="tests/resources/test_repository.py::test_policy_spellings_that_mean_the_same_normalise_equal",
    ),
    Rewrite(
        field="lifecyclePolicy",
        sent="structured rules in any order",
        answered="JSON text, rules in its own order",
        handling=Handling.NORMALISED,
        how="rendered to the API's JSON; rules compared by priority, tag lists as sets",
        source="undocumented: rules apply by rulePriority, not position (ECR lifecycle policy reference)",
        test="tests/resources/test_repository.py::test_real_aws_answers_never_show_as_drift",
    ),
)


class RepositoryKind(KindBase):
    kind: ClassVar[str] = "Repository"
    tagged_as: ClassVar[TaggedAs | None] = TaggedAs("ecr:repository")
    rewrites: ClassVar[tuple[Rewrite, ...]] = REWRITES

    async def observe(
        self, documents: Sequence[Document], context: ObserveContext
    ) -> Mapping[str, LiveResource]:
        by_aws_name = {document.aws_name: document for document in documents}
        ecr = context.clients.service("ecr")
        repositories = [
            repository
            for repository in await _all_repositories(ecr)
            if repository["repositoryName"] in by_aws_name
        ]

        async def observe_one(repository: Mapping[str, Any]) -> LiveResource:
            document = by_aws_name[repository["repositoryName"]]
            spec = document.spec_as(RepositorySpec)
            return await _observe_details(
                ecr,
                document.name,
                repository,
                lifecycle=spec.lifecycle_policy is not None,
                policy=spec.repository_policy is not None,
            )

        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(observe_one(repository)) for repository in repositories]
        return {task.result().name: task.result() for task in tasks}

    async def observe_owned(self, context: ObserveContext) -> Sequence[LiveResource]:
        ecr = context.clients.service("ecr")
        claimed = context.claimed(self.kind)
        repositories = [
            repository
            for repository in await _all_repositories(ecr)
            if repository["repositoryArn"] not in claimed
        ]

        async def owned_one(repository: Mapping[str, Any]) -> LiveResource | None:
            tags = await _tags(ecr, repository["repositoryArn"])
            source = owned_by_instance(tags, context.settings.instance, self.kind, context.settings.namespace)
            return None if source is None else _live(source, repository, tags, {})

        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(owned_one(repository)) for repository in repositories]
        return [live for task in tasks if (live := task.result()) is not None]

    def plan(self, document: Document, live: LiveResource | None, context: PlanContext) -> ResourcePlan:
        spec = document.spec_as(RepositorySpec)
        name = document.aws_name
        desired = desired_tree(spec, context.environment)
        tags = desired_repository_tags(document, context)
        if live is None:
            return ResourcePlan(
                self.kind,
                document.name,
                Action.CREATE,
                diff_trees(desired, None),
                (StepGroup((self.kind, document.name, MAIN), tuple(_create_calls(name, spec, tags))),),
            )
        delta = diff_trees(desired, live_tree(live.state, live.details))
        tag_changes, tag_diffs = tag_delta(tags, live.tags)
        full_delta = delta + tag_diffs
        if delta.touches(("encryptionConfiguration",)):
            return ResourcePlan(
                self.kind, document.name, Action.CONFLICT, full_delta, message=ENCRYPTION_CONFLICT
            )
        calls = _update_calls(name, live, spec, delta, tag_changes)
        groups = (StepGroup((self.kind, document.name, MAIN), tuple(calls)),) if calls else ()
        return ResourcePlan(
            self.kind, document.name, Action.UPDATE if full_delta else Action.NONE, full_delta, groups
        )

    def tag_call(self, live: LiveResource, tags: Mapping[str, str]) -> Call:
        """The call that sets `tags` on the live object (how the planner records a spec hash)."""
        return _tag_call(live, tags)

    def plan_delete(self, live: LiveResource, context: PlanContext) -> ResourcePlan:
        params: dict[str, Any] = {"repositoryName": live.outputs["name"]}
        if live.tags.get(FORCE_DELETE_TAG) == "true":
            params["force"] = True
        delete = Call(
            "ecr", "delete_repository", params, description=f"delete repository {params['repositoryName']}"
        )
        return ResourcePlan(
            self.kind, live.name, Action.DELETE, groups=(StepGroup((self.kind, live.name, MAIN), (delete,)),)
        )


async def _all_repositories(ecr: ApiClient) -> list[dict[str, Any]]:
    return [
        repository
        async for page in ecr.paginate("describe_repositories", PaginationConfig={"PageSize": PAGE_SIZE})
        for repository in page.get("repositories", [])
    ]


async def _tags(ecr: ApiClient, arn: str) -> dict[str, str]:
    response = await ecr.call("list_tags_for_resource", resourceArn=arn)
    return tags_to_map(response.get("tags"), key="Key", value="Value")


async def _text_or_absent(
    ecr: ApiClient, operation: str, field: str, absent_code: str, name: str
) -> str | None:
    try:
        response = await ecr.call(operation, repositoryName=name)
    except AwsError as error:
        if error.code == absent_code:
            return None
        raise
    text = response.get(field)
    return str(text) if text is not None else None


async def _observe_details(
    ecr: ApiClient, name: str, repository: Mapping[str, Any], *, lifecycle: bool, policy: bool
) -> LiveResource:
    repository_name = repository["repositoryName"]
    details: dict[str, Any] = {}
    tags = await _tags(ecr, repository["repositoryArn"])
    if lifecycle:
        details["lifecyclePolicyText"] = await _text_or_absent(
            ecr, "get_lifecycle_policy", "lifecyclePolicyText", _LIFECYCLE_ABSENT, repository_name
        )
    if policy:
        details["policyText"] = await _text_or_absent(
            ecr, "get_repository_policy", "policyText", _POLICY_ABSENT, repository_name
        )
    return _live(name, repository, tags, details)


def _live(
    name: str, repository: Mapping[str, Any], tags: Mapping[str, str], details: Mapping[str, Any]
) -> LiveResource:
    return LiveResource(
        kind=RepositoryKind.kind,
        name=name,
        identifier=repository["repositoryArn"],
        state=repository,
        tags=tags,
        outputs={
            "arn": repository["repositoryArn"],
            "uri": repository["repositoryUri"],
            "name": repository["repositoryName"],
        },
        details=details,
    )


def _ecr_tags(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return map_to_tags(tags, key=_TAG_KEYS["key"], value=_TAG_KEYS["value"])


def _create_calls(name: str, spec: RepositorySpec, tags: Mapping[str, str]) -> list[Call]:
    fields = spec_fields(
        spec, exclude={"repositoryName", "tags", "forceDelete", "lifecyclePolicy", "repositoryPolicy"}
    )
    calls = [
        Call(
            "ecr",
            "create_repository",
            {"repositoryName": name, **fields, "tags": _ecr_tags(tags)},
            outputs={
                "arn": ("repository", "repositoryArn"),
                "uri": ("repository", "repositoryUri"),
                "name": ("repository", "repositoryName"),
            },
            description=f"create repository {name}",
        )
    ]
    calls += _policy_calls(name, spec, lifecycle=True, policy=True)
    return calls


def _policy_calls(name: str, spec: RepositorySpec, *, lifecycle: bool, policy: bool) -> list[Call]:
    calls: list[Call] = []
    lifecycle_text = spec.lifecycle_policy_text()
    if lifecycle and lifecycle_text is not None:
        calls.append(
            Call(
                "ecr",
                "put_lifecycle_policy",
                {"repositoryName": name, "lifecyclePolicyText": lifecycle_text},
                description="put lifecycle policy",
            )
        )
    policy_text = spec.repository_policy_text()
    if policy and policy_text is not None:
        calls.append(
            Call(
                "ecr",
                "set_repository_policy",
                {"repositoryName": name, "policyText": policy_text},
                description="set repository policy",
            )
        )
    return calls


def _update_calls(
    name: str, live: LiveResource, spec: RepositorySpec, delta: Delta, tag_changes: Mapping[str, str]
) -> list[Call]:
    calls: list[Call] = []
    if delta.touches(("imageTagMutability",), ("imageTagMutabilityExclusionFilters",)):
        params: dict[str, Any] = {
            "repositoryName": name,
            "imageTagMutability": spec.image_tag_mutability
            or live.state.get("imageTagMutability", "MUTABLE"),
        }
        if spec.image_tag_mutability_exclusion_filters is not None:
            params["imageTagMutabilityExclusionFilters"] = [
                item.model_dump(by_alias=True, mode="json")
                for item in spec.image_tag_mutability_exclusion_filters
            ]
        calls.append(Call("ecr", "put_image_tag_mutability", params, description="set image tag mutability"))
    if delta.touches(("imageScanningConfiguration",)) and spec.image_scanning_configuration is not None:
        calls.append(
            Call(
                "ecr",
                "put_image_scanning_configuration",
                {
                    "repositoryName": name,
                    "imageScanningConfiguration": spec.image_scanning_configuration.model_dump(
                        by_alias=True, mode="json"
                    ),
                },
                description="set image scanning configuration",
            )
        )
    calls += _policy_calls(
        name,
        spec,
        lifecycle=delta.touches(("lifecyclePolicy",)),
        policy=delta.touches(("repositoryPolicy",)),
    )
    if tag_changes:
        calls.append(_tag_call(live, tag_changes))
    return calls


def _tag_call(live: LiveResource, tags: Mapping[str, str]) -> Call:
    return Call(
        "ecr",
        "tag_resource",
        {"resourceArn": live.identifier, "tags": _ecr_tags(tags)},
        description="tag repository",
    )


KIND = RepositoryKind()
