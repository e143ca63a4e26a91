"""Reads shared by the ELBv2 kinds (TargetGroup, LoadBalancer): by-name lookups, tags, attributes.

`reconciler.resources.target_group` and `reconciler.resources.load_balancer` call these from their
`observe` / `observe_owned`. Both DescribeTargetGroups and DescribeLoadBalancers fail the whole
call when one of the names is missing, so `describe_by_names` asks by name (one call per 20, the
cheapest when everything exists, which is the steady state) and falls back to one paginated listing
of everything the first time a name is missing (first apply, or a resource deleted by hand).
`find_by_names` goes straight to the listing, for lookups where some names are missing even in the
steady state (a target group's two alternating names: at most one exists between replacements).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from reconciler.aws.errors import AwsError
from reconciler.plan.normalise import map_to_tags, tags_to_map
from reconciler.plan.steps import Call
from reconciler.resources.base import ApiClient
from reconciler.resources.common import batched, owned_by_instance, read_batches

NAMES_BATCH = 20  # DescribeLoadBalancers takes at most 20 names; the same batch for target groups
TAGS_BATCH = 20  # DescribeTags takes at most 20 ARNs
PAGE_SIZE = 400  # the largest PageSize ELBv2's Describe* accept


async def describe_by_names(
    elbv2: ApiClient,
    *,
    operation: str,
    result_key: str,
    name_key: str,
    not_found_code: str,
    names: Sequence[str],
) -> dict[str, dict[str, Any]]:
    """The objects named `names` that exist, by name; missing names are simply absent."""
    found: dict[str, dict[str, Any]] = {}
    wanted = set(names)
    for batch in batched(sorted(wanted), NAMES_BATCH):
        try:
            response = await elbv2.call(operation, Names=batch)
        except AwsError as error:
            if error.code != not_found_code:
                raise
            # One listing answers every remaining batch too, so stop asking by name.
            async for page in elbv2.paginate(operation, PageSize=PAGE_SIZE):
                for item in page.get(result_key, []):
                    if item[name_key] in wanted:
                        found.setdefault(item[name_key], item)
            return found
        for item in response.get(result_key, []):
            found[item[name_key]] = item
    return found


async def describe_by_arns(
    elbv2: ApiClient,
    *,
    operation: str,
    arns_param: str,
    result_key: str,
    not_found_code: str,
    arns: Sequence[str],
) -> list[dict[str, Any]]:
    """The objects of `arns` that exist, 20 ARNs a call. ELBv2 refuses a whole batch when one of
    its ARNs is gone (deleted since something named it), so such a batch is asked again one ARN
    at a time and only the missing ones are left out."""

    async def describe(batch: list[str]) -> list[dict[str, Any]] | None:
        try:
            response = await elbv2.call(operation, **{arns_param: batch})
        except AwsError as error:
            if error.code != not_found_code:
                raise
            return None
        return list(response.get(result_key, []))

    found: list[dict[str, Any]] = []
    for batch in batched(sorted(set(arns)), NAMES_BATCH):
        answered = await describe(batch)
        if answered is None and len(batch) > 1:
            answered = [item for arn in batch for item in (await describe([arn])) or []]
        found.extend(answered or [])
    return found


async def find_by_names(
    elbv2: ApiClient, *, operation: str, result_key: str, name_key: str, names: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """The objects named `names` that exist, by name, from one paginated listing.

    For name sets where some are normally missing: asking by name would fail and fall back to the
    same listing anyway, one call later.
    """
    wanted = set(names)
    found: dict[str, dict[str, Any]] = {}
    if not wanted:
        return found
    async for page in elbv2.paginate(operation, PageSize=PAGE_SIZE):
        for item in page.get(result_key, []):
            if item[name_key] in wanted:
                found.setdefault(item[name_key], item)
    return found


async def list_all(elbv2: ApiClient, *, operation: str, result_key: str) -> list[dict[str, Any]]:
    """Every object of a paginated Describe* call, at the largest page size."""
    return [
        item
        async for page in elbv2.paginate(operation, PageSize=PAGE_SIZE)
        for item in page.get(result_key, [])
    ]


async def owned(
    elbv2: ApiClient,
    items: Sequence[Mapping[str, Any]],
    *,
    arn_key: str,
    instance: str,
    kind: str,
    claimed: frozenset[str] = frozenset(),
    namespace: str | None = None,
) -> list[tuple[str, Mapping[str, Any], dict[str, str]]]:
    """`(source document name, item, tags)` of the `items` this instance owns as `kind`, their tags
    read 20 ARNs a call: what a kind's `observe_owned` makes its orphans of. Items whose ARN is
    `claimed` (documents resolved to them: never orphans) are left out unread."""
    items = [item for item in items if item[arn_key] not in claimed]
    tags = await describe_tags(elbv2, [item[arn_key] for item in items])
    found = []
    for item in items:
        item_tags = tags.get(item[arn_key], {})
        source = owned_by_instance(item_tags, instance, kind, namespace)
        if source is not None:
            found.append((source, item, item_tags))
    return found


async def describe_tags(elbv2: ApiClient, arns: Sequence[str]) -> dict[str, dict[str, str]]:
    """Tags by resource ARN, 20 ARNs a call."""
    tags: dict[str, dict[str, str]] = {}

    async def describe(batch: list[str]) -> dict[str, Any]:
        return await elbv2.call("describe_tags", ResourceArns=batch)

    for response in await read_batches(list(arns), TAGS_BATCH, describe):
        for description in response.get("TagDescriptions", []):
            tags[description["ResourceArn"]] = tags_to_map(description.get("Tags"), key="Key", value="Value")
    return tags


def attributes_to_map(attributes: Sequence[Mapping[str, Any]] | None) -> dict[str, str]:
    return {attribute["Key"]: str(attribute.get("Value", "")) for attribute in attributes or ()}


def map_to_attributes(attributes: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in sorted(attributes.items())]


def changed_attributes(desired: Mapping[str, str] | None, live: Mapping[str, str]) -> dict[str, str]:
    """The attribute keys the spec sets whose live value differs; keys it leaves out are not managed."""
    return {key: value for key, value in (desired or {}).items() if live.get(key) != value}


def modify_attributes(
    kind: Literal["load_balancer", "target_group"], arn: Any, attributes: Mapping[str, str]
) -> Call:
    """The one call that sets attributes of a `load_balancer` or a `target_group` (only the keys given)."""
    key = "LoadBalancerArn" if kind == "load_balancer" else "TargetGroupArn"
    return Call(
        "elbv2",
        f"modify_{kind}_attributes",
        {key: arn, "Attributes": map_to_attributes(attributes)},
        description=f"set {kind.replace('_', ' ')} attributes",
    )


def add_tags_call(arn: str, tags: Mapping[str, str], *, description: str) -> Call:
    """ELBv2's one call that adds or overwrites `tags` on a load balancer or target group."""
    return Call(
        "elbv2",
        "add_tags",
        {"ResourceArns": [arn], "Tags": map_to_tags(tags, key="Key", value="Value")},
        description=description,
    )
