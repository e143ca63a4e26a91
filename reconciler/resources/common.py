"""Small helpers every kind module shares: batching and batched reads made concurrently, spec fields
in request shape, tag deltas."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence, Set
from typing import Any, TypeVar

from pydantic import BaseModel

from reconciler.plan.delta import Delta, FieldDiff
from reconciler.plan.normalise import map_to_tags
from reconciler.plan.ownership import SPEC_HASH, Ownership, ownership_of, source_of
from reconciler.plan.steps import Call
from reconciler.resources.base import Environment, ObserveContext

T = TypeVar("T")
R = TypeVar("R")


def batched(items: Sequence[T], size: int) -> Iterator[list[T]]:
    """Consecutive chunks of at most `size`: one API call each, at the API's batch limit."""
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


async def concurrently(reads: Iterable[Awaitable[R]]) -> list[R]:
    """Every read at once, results in their order: independent reads of one pass (the batches of a
    batched read, say) wait on AWS together, not one after the other; the client's rate limiter
    and connection pool pace them. The first error is raised as it is (callers classify an
    `AwsError`, not a group of them), and the reads still running are cancelled."""
    tasks = [asyncio.ensure_future(read) for read in reads]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


async def read_batches(items: Sequence[T], size: int, read: Callable[[list[T]], Awaitable[R]]) -> list[R]:
    """`read` of each batch of `items` (`batched`), concurrently, results in batch order."""
    return await concurrently(read(batch) for batch in batched(items, size))


def spec_fields(spec: BaseModel, *, exclude: Set[str] = frozenset()) -> dict[str, Any]:
    """The fields the user set, in the API's camelCase request shape.

    `exclude_unset` is what makes "fields the spec does not set are not managed" hold.
    """
    fields: dict[str, Any] = spec.model_dump(by_alias=True, exclude_unset=True, mode="json")
    return {key: value for key, value in fields.items() if key not in exclude}


def tag_delta(desired: Mapping[str, str], live: Mapping[str, str]) -> tuple[dict[str, str], Delta]:
    """Tags to add or change, and their diffs. Tags the spec does not name are left alone.

    The spec hash (`SPEC_HASH`) is never a difference of its own: a resource whose only other
    difference is a new hash is in sync, and gets no write. When other tags are written anyway it
    rides along, recording the document the resource now converges to."""
    changes = {key: value for key, value in desired.items() if live.get(key) != value}
    if set(changes) <= {SPEC_HASH}:
        return {}, Delta()
    diffs = tuple(
        FieldDiff(("tags", key), value, live.get(key))
        for key, value in sorted(changes.items())
        if key != SPEC_HASH
    )
    return changes, Delta(diffs)


def owned_by_instance(
    tags: Mapping[str, str], instance: str, kind: str, namespace: str | None = None
) -> str | None:
    """The document name an object of `kind` was created for, if this instance's pass over
    `namespace` owns it."""
    if ownership_of(tags, instance, namespace) is not Ownership.OWNED:
        return None
    source = source_of(tags)
    if source is None or source[0] != kind:
        return None
    return source[1]


def repository_uri(environment: Environment, repository_name: str) -> str:
    """`{account}.dkr.ecr.{region}.{dns suffix}/{name}`: what ECR's `repositoryUri` will be."""
    host = f"{environment.account_id}.dkr.ecr.{environment.region}.{environment.dns_suffix}"
    return f"{host}/{repository_name}"


def string_leaves(tree: Any) -> Iterator[str]:
    """Every string in a tree of mappings and sequences: AWS objects refer to each other by whole
    ARNs or ids, so "does this object name that one" is a membership test over its leaves."""
    if isinstance(tree, str):
        yield tree
    elif isinstance(tree, Mapping):
        for value in tree.values():
            yield from string_leaves(value)
    elif isinstance(tree, list | tuple):
        for item in tree:
            yield from string_leaves(item)


CLUSTER_LIST_PAGE = 100  # ListClusters maxResults is at most 100


def ecs_tag_call(arn: str, tags: Mapping[str, str], *, description: str) -> Call:
    """ECS's one call that adds or overwrites `tags` on a cluster, service or task definition."""
    return Call(
        "ecs", "tag_resource", {"resourceArn": arn, "tags": map_to_tags(tags)}, description=description
    )


async def cluster_arns(context: ObserveContext) -> list[str]:
    """Every ECS cluster of the account, listed once per pass however many kinds ask (the
    cluster kind's owned listing, and the service kind's, which looks for services in each)."""

    async def read() -> list[str]:
        ecs = context.clients.service("ecs")
        pages = ecs.paginate("list_clusters", PaginationConfig={"PageSize": CLUSTER_LIST_PAGE})
        return [arn async for page in pages for arn in page.get("clusterArns", [])]

    arns: list[str] = await context.shared.once("ecs.ListClusters", read)
    return arns
