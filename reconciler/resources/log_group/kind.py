"""The LogGroup kind: a CloudWatch Logs log group, its retention, KMS key and tags.

Observed with DescribeLogGroups by `logGroupIdentifiers` (up to 50 names a call; see
`DESCRIBE_BATCH`), then one ListTagsForResource per group that exists (CloudWatch Logs has no batch
tag read). Converged with the narrowest call per field: CreateLogGroup (key and tags included;
sent once, and before a retry the executor checks whether the lost attempt made the group),
PutRetentionPolicy / DeleteRetentionPolicy, AssociateKmsKey / DisassociateKmsKey, TagResource.
Deleted with DeleteLogGroup (owned groups only; a `retain` deletion policy is honoured by the engine).
Registered in `reconciler.resources.registry`; task definitions refer to the group's name.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from reconciler.plan.delta import Delta, diff_trees
from reconciler.plan.rewrites import Handling, Rewrite
from reconciler.plan.steps import MAIN, Action, Call, LandedCheck, ResourcePlan, StepGroup
from reconciler.resources.base import (
    ApiClient,
    Environment,
    KindBase,
    LiveResource,
    ObserveContext,
    PlanContext,
    TaggedAs,
)
from reconciler.resources.common import batched, owned_by_instance, spec_fields, tag_delta
from reconciler.resources.log_group.model import NEVER_EXPIRE, NO_KMS_KEY, LogGroupSpec
from reconciler.spec import Document

DESCRIBE_BATCH = 50
"""DescribeLogGroups takes at most 50 `logGroupIdentifiers` (names, in the caller's account).

Why by names, 50 a call: the alternatives cost more. `logGroupNamePrefix` is one call per group
(a prefix matches one name's neighbours too), and paging the whole account costs a call per 50
groups the account holds, which for accounts full of Lambda and VPC flow log groups is thousands
of reads a pass for a handful of managed ones. By names it is ceil(managed / 50) calls, whatever
else the account holds."""
PAGE_SIZE = 50  # DescribeLogGroups returns at most 50 groups a page


def desired_tree(spec: LogGroupSpec) -> dict[str, Any]:
    """The managed fields: only those the spec writes, `never` and `none` included."""
    return spec_fields(spec, exclude={"logGroupName", "tags"})


def live_tree(state: Mapping[str, Any]) -> dict[str, Any]:
    """A DescribeLogGroups item in the shape of `desired_tree`: CloudWatch leaves out
    `retentionInDays` when events never expire and `kmsKeyId` when no key is associated."""
    return {
        "retentionInDays": state.get("retentionInDays", NEVER_EXPIRE),
        "kmsKeyId": state.get("kmsKeyId", NO_KMS_KEY),
    }


def log_group_arn(group: Mapping[str, Any]) -> str:
    """The group's ARN as the tagging calls take it: `logGroupArn`, or `arn` without its `:*`."""
    if group.get("logGroupArn"):
        return str(group["logGroupArn"])
    arn = str(group["arn"])
    return arn.removesuffix(":*")


# What AWS answers differently from what it was sent, and how each is kept from being a change.
REWRITES: tuple[Rewrite, ...] = (
    Rewrite(
        field="retentionInDays",
        sent="`never` (DeleteRetentionPolicy)",
        answered="the key absent",
        handling=Handling.NORMALISED,
        how="absent on the live side is `never`; a spec without the field does not compare it",
        source="https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_LogGroup.html",
        test="tests/resources/test_log_group.py::test_real_aws_answers_never_show_as_a_change",
    ),
    Rewrite(
        field="kmsKeyId",
        sent="`none` (DisassociateKmsKey)",
        answered="the key absent",
        handling=Handling.NORMALISED,
        how="absent on the live side is `none`; a spec without the field does not compare it",
        source="https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_LogGroup.html",
        test="tests/resources/test_log_group.py::test_real_aws_answers_never_show_as_a_change",
    ),
    Rewrite(
        field="kmsKeyId",
        sent="a key id or an alias",
        answered="refused; a key ARN is answered as written",
        handling=Handling.REQUIRED_FORM,
        how="validation asks for the key's ARN, the only form CreateLogGroup and AssociateKmsKey take",
        source="https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_AssociateKmsKey.html",
        test="tests/spec/test_bad_corpus.py::test_bad_spec_is_refused_at_the_expected_line",
    ),
    Rewrite(
        field="(the group's ARN)",
        sent="nothing",
        answered="`arn` with a trailing `:*`, and `logGroupArn` without it",
        handling=Handling.NOT_MANAGED,
        how=(
            "the identity and the tagging calls use the ARN without `:*` (`logGroupArn`, or `arn` "
            "with the suffix cut where an older answer lacks it)"
        ),
        source="https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_LogGroup.html",
        test="tests/resources/test_log_group.py::test_the_arn_without_its_wildcard_suffix_is_the_identity",
    ),
)


class LogGroupKind(KindBase):
    kind: ClassVar[str] = "LogGroup"
    # Listed by ARN, the way its observations know it (without the `:*` DescribeLogGroups adds).
    tagged_as: ClassVar[TaggedAs | None] = TaggedAs(
        "logs:log-group", identity=lambda arn: arn.removesuffix(":*")
    )
    rewrites: ClassVar[tuple[Rewrite, ...]] = REWRITES

    async def observe(
        self, documents: Sequence[Document], context: ObserveContext
    ) -> Mapping[str, LiveResource]:
        by_aws_name = {document.aws_name: document.name for document in documents}
        logs = context.clients.service("logs")
        groups: list[Mapping[str, Any]] = []
        for names in batched(sorted(by_aws_name), DESCRIBE_BATCH):
            async for page in logs.paginate("describe_log_groups", logGroupIdentifiers=names):
                # Exact names only: an answer is never taken for a neighbour's group.
                groups += [group for group in page.get("logGroups", []) if group["logGroupName"] in names]

        async def observe_one(group: Mapping[str, Any]) -> LiveResource:
            tags = await _tags(logs, log_group_arn(group))
            return _live(by_aws_name[group["logGroupName"]], group, tags)

        async with asyncio.TaskGroup() as tasks:
            observed = [tasks.create_task(observe_one(group)) for group in groups]
        return {live.name: live for live in (task.result() for task in observed)}

    async def observe_owned(self, context: ObserveContext) -> Sequence[LiveResource]:
        # Only with --prune: ownership is in the tags, so every group of the account is read
        # once, with its tags. CloudWatch Logs has no tag filter on DescribeLogGroups.
        logs = context.clients.service("logs")
        claimed = context.claimed(self.kind)
        groups = [
            group
            async for page in logs.paginate("describe_log_groups", PaginationConfig={"PageSize": PAGE_SIZE})
            for group in page.get("logGroups", [])
            if group["logGroupName"] not in claimed
        ]

        async def owned_one(group: Mapping[str, Any]) -> LiveResource | None:
            tags = await _tags(logs, log_group_arn(group))
            source = owned_by_instance(tags, context.settings.instance, self.kind, context.settings.namespace)
            return None if source is None else _live(source, group, tags)

        async with asyncio.TaskGroup() as tasks:
            found = [tasks.create_task(owned_one(group)) for group in groups]
        return [live for task in found if (live := task.result()) is not None]

    def plan(self, document: Document, live: LiveResource | None, context: PlanContext) -> ResourcePlan:
        spec = document.spec_as(LogGroupSpec)
        name = document.aws_name
        desired = desired_tree(spec)
        tags = context.desired_tags(document)
        main = (self.kind, document.name, MAIN)
        if live is None:
            return ResourcePlan(
                self.kind,
                document.name,
                Action.CREATE,
                diff_trees(desired, None),
                (StepGroup(main, tuple(_create_calls(name, desired, tags, context.environment))),),
            )
        delta = diff_trees(desired, live_tree(live.state))
        tag_changes, tag_diffs = tag_delta(tags, live.tags)
        calls = _update_calls(name, live, desired, delta, tag_changes)
        full_delta = delta + tag_diffs
        return ResourcePlan(
            self.kind,
            document.name,
            Action.UPDATE if full_delta else Action.NONE,
            full_delta,
            (StepGroup(main, tuple(calls)),) if calls else (),
        )

    def tag_call(self, live: LiveResource, tags: Mapping[str, str]) -> Call:
        """The call that sets `tags` on the live object (how the planner records a spec hash)."""
        return _tag_call(live, tags)

    def plan_delete(self, live: LiveResource, context: PlanContext) -> ResourcePlan:
        name = str(live.outputs["name"])
        delete = Call(
            "logs", "delete_log_group", {"logGroupName": name}, description=f"delete log group {name}"
        )
        return ResourcePlan(
            self.kind, live.name, Action.DELETE, groups=(StepGroup((self.kind, live.name, MAIN), (delete,)),)
        )


async def _tags(logs: ApiClient, arn: str) -> dict[str, str]:
    response = await logs.call("list_tags_for_resource", resourceArn=arn)
    return dict(response.get("tags") or {})


def _live(name: str, group: Mapping[str, Any], tags: Mapping[str, str]) -> LiveResource:
    arn = log_group_arn(group)
    return LiveResource(
        kind=LogGroupKind.kind,
        name=name,
        identifier=arn,
        # Task definitions point at a group by its name (`awslogs-group`), not its ARN: the name
        # is what orders a group's deletion after theirs.
        also_identifies=frozenset({group["logGroupName"]}),
        state=group,
        tags=tags,
        outputs={"arn": arn, "name": group["logGroupName"]},
    )


def _create_calls(
    name: str, desired: Mapping[str, Any], tags: Mapping[str, str], environment: Environment
) -> list[Call]:
    create: dict[str, Any] = {"logGroupName": name, "tags": dict(sorted(tags.items()))}
    if desired.get("kmsKeyId", NO_KMS_KEY) != NO_KMS_KEY:
        create["kmsKeyId"] = desired["kmsKeyId"]
    arn = f"arn:{environment.partition}:logs:{environment.region}:{environment.account_id}:log-group:{name}"
    calls = [
        Call(
            "logs",
            "create_log_group",
            create,
            description=f"create log group {name}",
            landed=_created_already(arn, tags),
        )
    ]
    # CreateLogGroup takes no retention: a new group never expires until the policy is put.
    if desired.get("retentionInDays", NEVER_EXPIRE) != NEVER_EXPIRE:
        calls.append(_retention_call(name, desired["retentionInDays"]))
    return calls


def _created_already(arn: str, tags: Mapping[str, str]) -> LandedCheck:
    """Whether a CreateLogGroup whose answer was lost made the group: it exists and carries the
    tags it was created with (a same-named group someone else made at that moment does not)."""

    def matches(response: Mapping[str, Any]) -> bool:
        live_tags = response.get("tags") or {}
        return all(live_tags.get(key) == value for key, value in tags.items())

    return LandedCheck(Call("logs", "list_tags_for_resource", {"resourceArn": arn}), matches)


def _retention_call(name: str, days: int | str) -> Call:
    if days == NEVER_EXPIRE:
        return Call(
            "logs", "delete_retention_policy", {"logGroupName": name}, description="events never expire"
        )
    return Call(
        "logs",
        "put_retention_policy",
        {"logGroupName": name, "retentionInDays": days},
        description=f"keep events {days} days",
    )


def _update_calls(
    name: str,
    live: LiveResource,
    desired: Mapping[str, Any],
    delta: Delta,
    tag_changes: Mapping[str, str],
) -> list[Call]:
    calls: list[Call] = []
    if delta.touches(("retentionInDays",)):
        calls.append(_retention_call(name, desired["retentionInDays"]))
    if delta.touches(("kmsKeyId",)):
        key = desired["kmsKeyId"]
        if key == NO_KMS_KEY:
            calls.append(
                Call("logs", "disassociate_kms_key", {"logGroupName": name}, description="remove KMS key")
            )
        else:
            calls.append(
                Call(
                    "logs",
                    "associate_kms_key",
                    {"logGroupName": name, "kmsKeyId": key},
                    description="associate KMS key",
                )
            )
    if tag_changes:
        calls.append(_tag_call(live, tag_changes))
    return calls


def _tag_call(live: LiveResource, tags: Mapping[str, str]) -> Call:
    return Call(
        "logs",
        "tag_resource",
        {"resourceArn": live.identifier, "tags": dict(sorted(tags.items()))},
        description="tag log group",
    )


KIND = LogGroupKind()
