"""One observation of everything the spec set names: account facts, then every kind in parallel.

Called once per pass by `reconciler.engine.reconcile`. Every read is batched by the kind modules;
this module only fans out and collects. Account facts are looked up once per pass (the default
VPC) or once per process (the account id, which cannot change under one set of credentials).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from reconciler.aws.errors import AwsError
from reconciler.engine.revision_cache import RevisionFile
from reconciler.engine.tagging import owned_by_type
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
    clock: Callable[[], float] = time.time
    """Wall-clock time: schedules kept across processes (a family's next listing) compare it."""
    revision_file: RevisionFile | None = None
    """A one-shot run's on-disk memory of task definition revisions, loaded once the account is
    known and saved after each observation; None in the daemon, which keeps its memory."""


async def observe_environment(
    clients: Clients, spec_set: SpecSet, *, region: str, cache: ProcessCache
) -> Environment:
    """The account (once per process) and, for specs that use them, the default VPC and its
    default subnets: three independent reads, made at once."""
    identity, network = await asyncio.gather(
        _caller_identity(clients, cache),
        _default_network(clients, spec_set),
    )
    if identity is not None:
        cache.account_id = str(identity["Account"])
        # arn:PARTITION:sts::ACCOUNT:...: role ARNs and ECR hosts differ in China and GovCloud.
        cache.partition = str(identity.get("Arn", "arn:aws:")).split(":")[1] or "aws"
    assert cache.account_id is not None
    account = Environment(account_id=cache.account_id, region=region, partition=cache.partition)
    if cache.revision_file is not None:
        cache.revision_file.load(
            cache.observe, partition=cache.partition, account_id=cache.account_id, region=region
        )
    if network is None:
        return account
    vpc_id, subnet_ids = network
    return replace(account, default_vpc_id=vpc_id, default_subnet_ids=subnet_ids)


async def _caller_identity(clients: Clients, cache: ProcessCache) -> dict[str, Any] | None:
    if cache.account_id is not None:
        return None
    return await clients.service("sts").call("get_caller_identity")


async def _default_network(clients: Clients, spec_set: SpecSet) -> tuple[str, tuple[str, ...]] | None:
    """The default VPC's id and its default subnets; None, unread, when no document uses them, and
    None when the account has no default VPC.

    Both reads at once: a default-for-AZ subnet is only ever in the default VPC, so the subnets
    need not wait for the VPC's id."""
    if not uses_default_network(spec_set):
        return None
    ec2 = clients.service("ec2")
    vpcs, subnets = await asyncio.gather(
        ec2.call("describe_vpcs", Filters=[{"Name": "isDefault", "Values": ["true"]}]),
        ec2.call("describe_subnets", Filters=[{"Name": "default-for-az", "Values": ["true"]}]),
    )
    if not vpcs.get("Vpcs"):
        return None
    vpc_id = vpcs["Vpcs"][0]["VpcId"]
    return vpc_id, tuple(
        sorted(s["SubnetId"] for s in subnets.get("Subnets", []) if s.get("VpcId") == vpc_id)
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
    following: frozenset[tuple[str, str]] = frozenset(),
    previous: LiveState | None = None,
) -> LiveState:
    """Observe every document's objects (or only those of `only`), the shared facts, and (with
    `orphans`, default: when pruning) every owned object, to find those whose documents are gone.
    Of the documents in `following`, whose rollouts are being followed, only what a rollout
    changes is read; the rest is kept from `previous`.

    Raises the first `AwsError` any kind hit, unwrapped: the kinds read concurrently, and callers
    classify a single error, not a group of them.
    """
    with_orphans = settings.prune if orphans is None else orphans
    context = ObserveContext(
        clients=clients,
        spec_set=spec_set,
        environment=environment,
        settings=settings,
        cache=cache.observe,
        now=cache.clock(),
        following=following,
        previous=previous,
    )
    modules = all_kinds()
    # `only`: the documents to look at (the rest of the spec set stays the context they are read in).
    wanted = [document for document in spec_set if only is None or document.key in only]
    by_kind = {module.kind: [d for d in wanted if d.kind == module.kind] for module in modules}

    async def observe_kind(module: ResourceKind, context: ObserveContext) -> Mapping[str, LiveResource]:
        documents = by_kind[module.kind]
        return await module.observe(documents, context) if documents else {}

    async def observe_facts(module: ResourceKind) -> Mapping[str, Any]:
        documents = by_kind[module.kind]
        return await module.observe_facts(documents, context) if documents else {}

    first = [module for module in modules if not module.observe_last]
    last = [module for module in modules if module.observe_last]
    try:
        async with asyncio.TaskGroup() as group:
            tasks = {module.kind: group.create_task(observe_kind(module, context)) for module in first}
            fact_tasks = [group.create_task(observe_facts(module)) for module in modules]
            if with_orphans:
                # The sweep depends on no document's read: it waits on AWS beside them.
                group.create_task(_tagging_sweep(context))
        resources = _by_key(tasks)
        facts: dict[str, Any] = {}
        for fact_task in fact_tasks:
            facts.update(fact_task.result())
        # The kinds observed last read what the others saw: usually nothing more is needed.
        others = replace(context, others=LiveState(resources=dict(resources), facts=facts))
        async with asyncio.TaskGroup() as group:
            tasks = {module.kind: group.create_task(observe_kind(module, others)) for module in last}
        resources.update(_by_key(tasks))
        orphan_tasks = []
        if with_orphans:
            # Owned objects last of all: what the documents already account for needs no read,
            # and a kind the tagging sweep shows nothing unclaimed of has no orphans to list.
            everything = replace(context, others=LiveState(resources=dict(resources), facts=facts))
            listed = [module for module in modules if await _may_have_orphans(module, everything)]
            async with asyncio.TaskGroup() as group:
                orphan_tasks = [group.create_task(module.observe_owned(everything)) for module in listed]
    except* AwsError as failed:
        raise first_error(failed) from failed

    found = _orphans([task.result() for task in orphan_tasks], spec_set, resources)
    return LiveState(resources=resources, orphans=tuple(found), facts=facts, orphans_observed=with_orphans)


async def _may_have_orphans(module: ResourceKind, context: ObserveContext) -> bool:
    """False when the pass's tagging sweep (`reconciler.engine.tagging`, made on first ask) lists
    no object of this kind that the documents did not claim."""
    if module.tagged_as is None:
        return True
    swept = await _tagging_sweep(context)
    if swept is None:
        return True
    claimed = context.claimed(module.kind)
    listed = swept.get(module.tagged_as.resource_type, ())
    return any(module.tagged_as.identity(arn) not in claimed for arn in listed)


async def _tagging_sweep(context: ObserveContext) -> Mapping[str, Sequence[str]] | None:
    """The pass's one tagging sweep (`reconciler.engine.tagging`), made on first ask."""
    swept: Mapping[str, Sequence[str]] | None = await context.shared.once(
        "tagging",
        lambda: owned_by_type(
            context.clients,
            resource_types=sorted({kind.tagged_as.resource_type for kind in all_kinds() if kind.tagged_as}),
            instance=context.settings.instance,
            namespace=context.settings.namespace,
            cache=context.cache,
        ),
    )
    return swept


def _by_key(
    tasks: Mapping[str, asyncio.Task[Mapping[str, LiveResource]]],
) -> dict[tuple[str, str], LiveResource]:
    return {(kind, name): live for kind, task in tasks.items() for name, live in task.result().items()}


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
    claimed = {(live.kind, identity) for live in resources.values() for identity in _identities_of(live)}
    orphans: list[LiveResource] = []
    for owned in owned_by_kind:
        for live in owned:
            source = source_of(live.tags)
            if source is None or any((live.kind, identity) in claimed for identity in _identities_of(live)):
                continue
            if source in spec_set:
                live = replace(live, replaced_by=source)
            orphans.append(live)
    return orphans


def _identities_of(live: LiveResource) -> frozenset[str]:
    """Every identity of one object: a document's observation may know fewer of a family's
    revisions than the listing of owned objects does, and any one shared means the same object."""
    return frozenset({live.identifier, *live.also_identifies})
