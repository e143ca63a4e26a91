"""One observation of everything the spec set names: account facts, then every kind in parallel.

Called once per pass by `reconciler.engine.reconcile`. Every read is batched by the kind modules;
this module only fans out and collects. Account facts are looked up once per pass (the default
VPC) or once per process (the account id, which cannot change under one set of credentials).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from reconciler.aws.errors import AwsError
from reconciler.plan.ownership import source_of
from reconciler.resources.base import (
    Clients,
    Environment,
    LiveResource,
    LiveState,
    ObserveCache,
    ObserveContext,
    PlanSettings,
    ResourceKind,
)
from reconciler.resources.registry import all_kinds
from reconciler.spec import SpecSet, uses_default_network


@dataclass
class ProcessCache:
    """What one process keeps between passes: immutable objects and the account id."""

    observe: ObserveCache = field(default_factory=ObserveCache)
    account_id: str | None = None
    partition: str = "aws"


async def observe_environment(
    clients: Clients, spec_set: SpecSet, *, region: str, cache: ProcessCache
) -> Environment:
    if cache.account_id is None:
        identity = await clients.service("sts").call("get_caller_identity")
        cache.account_id = str(identity["Account"])
        # arn:PARTITION:sts::ACCOUNT:...: role ARNs and ECR hosts differ in China and GovCloud.
        cache.partition = str(identity.get("Arn", "arn:aws:")).split(":")[1] or "aws"
    account = Environment(account_id=cache.account_id, region=region, partition=cache.partition)
    if not uses_default_network(spec_set):
        return account
    ec2 = clients.service("ec2")
    vpcs = await ec2.call("describe_vpcs", Filters=[{"Name": "isDefault", "Values": ["true"]}])
    if not vpcs.get("Vpcs"):
        return account
    vpc_id = vpcs["Vpcs"][0]["VpcId"]
    subnets = await ec2.call(
        "describe_subnets",
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "default-for-az", "Values": ["true"]}],
    )
    return replace(
        account,
        default_vpc_id=vpc_id,
        default_subnet_ids=tuple(sorted(subnet["SubnetId"] for subnet in subnets.get("Subnets", []))),
    )


async def observe_all(
    clients: Clients,
    spec_set: SpecSet,
    *,
    environment: Environment,
    settings: PlanSettings,
    cache: ProcessCache,
    orphans: bool | None = None,
    only: frozenset[tuple[str, str]] | None = None,
) -> LiveState:
    """Observe every document's objects (or only those of `only`), the shared facts, and (with
    `orphans`, default: when pruning) every owned object, to find those whose documents are gone.

    Raises the first `AwsError` any kind hit, unwrapped: the kinds read concurrently, and callers
    classify a single error, not a group of them.
    """
    with_orphans = settings.prune if orphans is None else orphans
    context = ObserveContext(
        clients=clients, spec_set=spec_set, environment=environment, settings=settings, cache=cache.observe
    )
    modules = all_kinds()
    # `only`: the documents to look at (the rest of the spec set stays the context they are read in).
    wanted = [document for document in spec_set if only is None or document.key in only]
    by_kind = {module.kind: [d for d in wanted if d.kind == module.kind] for module in modules}

    async def observe_kind(module: ResourceKind) -> Mapping[str, LiveResource]:
        documents = by_kind[module.kind]
        return await module.observe(documents, context) if documents else {}

    async def observe_facts(module: ResourceKind) -> Mapping[str, Any]:
        documents = by_kind[module.kind]
        return await module.observe_facts(documents, context) if documents else {}

    try:
        async with asyncio.TaskGroup() as group:
            tasks = {module.kind: group.create_task(observe_kind(module)) for module in modules}
            fact_tasks = [group.create_task(observe_facts(module)) for module in modules]
            orphan_tasks = (
                [group.create_task(module.observe_owned(context)) for module in modules]
                if with_orphans
                else []
            )
    except* AwsError as failed:
        raise first_error(failed) from failed

    resources: dict[tuple[str, str], LiveResource] = {}
    facts: dict[str, Any] = {}
    for kind, task in tasks.items():
        for name, live in task.result().items():
            resources[(kind, name)] = live
    for fact_task in fact_tasks:
        facts.update(fact_task.result())
    found = _orphans([task.result() for task in orphan_tasks], spec_set, resources)
    return LiveState(resources=resources, orphans=tuple(found), facts=facts, orphans_observed=with_orphans)


def first_error(group: BaseExceptionGroup[AwsError]) -> AwsError:
    """The first AWS error of a (possibly nested) group raised by concurrent reads."""
    first = group.exceptions[0]
    return first_error(first) if isinstance(first, BaseExceptionGroup) else first


def _orphans(
    owned_by_kind: Sequence[Sequence[LiveResource]],
    spec_set: SpecSet,
    resources: Mapping[tuple[str, str], LiveResource],
) -> list[LiveResource]:
    """Owned objects that no document resolves to.

    A managed resource is its AWS identity, not its document's name: an owned object that a
    document resolved to is that document's, whatever its source tag says (a renamed document
    re-tags it, never deletes it). An owned object that no document resolved to is an orphan,
    whether its document is gone or now resolves to another identity (an AWS name changed: the
    old object is replaced, and `replaced_by` names the document).
    """
    claimed = {
        (live.kind, identity)
        for live in resources.values()
        for identity in (live.identifier, *live.also_identifies)
    }
    orphans: list[LiveResource] = []
    for owned in owned_by_kind:
        for live in owned:
            source = source_of(live.tags)
            if source is None or (live.kind, live.identifier) in claimed:
                continue
            if source in spec_set:
                live = replace(live, replaced_by=source)
            orphans.append(live)
    return orphans
