"""The planner: for every document (and every owned orphan when pruning) decide what to do.

Pure: a function of the spec set, one observation, the settings and the pass's `WritePolicy`.
Ownership, adoption, pausing and the prune safety limits are decided here, once, for every kind,
and the write policy is applied here (each resource whose calls are not issued says why, in
`ResourcePlan.held`); the kind modules only compare and choose calls. Called by
`reconciler.engine.reconcile`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace

from reconciler.engine.breaker import DiffHistory, describe, document_hash
from reconciler.engine.policy import WritePolicy
from reconciler.plan.ownership import MANAGED_BY, MANAGED_BY_VALUE, NAMESPACE, SPEC_HASH, Ownership
from reconciler.plan.steps import CLEANUP, Action, Hold, Plan, Ref, ResourcePlan, StepGroup
from reconciler.resources.base import DependencyWaiting, LiveResource, PlanContext, TerminalPlanError
from reconciler.resources.common import string_leaves
from reconciler.resources.registry import kind_module, kinds_in_creation_order
from reconciler.resources.rollout import read_rollout
from reconciler.spec import ANNOTATION_ADOPT, ANNOTATION_PAUSED, Document, SpecSet


def plan_all(
    context: PlanContext, breaker: DiffHistory | None = None, policy: WritePolicy | None = None
) -> Plan:
    """Plan every document, each kind after the kinds it refers to (the registry's creation order),
    so a reference to a resource that this pass creates or re-registers becomes a `Ref`; the
    spec set's dependency graph orders the step groups. A resource the `breaker` has seen write
    the same differences too often is reported, not written. `policy` (default: an enforcing pass
    under `context.settings`) says what the pass may write."""
    if policy is None:
        policy = WritePolicy.decide(context.spec_set, context.settings)
    pruning = context.settings.prune or context.live.orphans_observed
    # Orphans draw on the pass's one delete budget first: they are what --prune was asked for,
    # while old revisions are housekeeping that the next pass can finish.
    prune_plans = _plan_prune(context, policy) if pruning else []
    deletions_planned = sum(_deletions_in(plan) for plan in prune_plans)
    position = _creation_position()
    documents = sorted(context.spec_set, key=lambda document: position[document.kind])
    planned: dict[tuple[str, str], ResourcePlan] = {}
    pending: set[tuple[str, str, str]] = set()
    conflicted: set[tuple[str, str]] = set()
    waiting: set[tuple[str, str]] = set()
    for document in documents:
        resource_plan = order_groups(
            _plan_document(
                document,
                replace(
                    context,
                    pending_outputs=frozenset(pending),
                    conflicted=frozenset(conflicted),
                    waiting=frozenset(waiting),
                    delete_budget=policy.deletions_left(deletions_planned),
                ),
                policy,
            ),
            context.spec_set,
        )
        if breaker is not None and resource_plan.key in breaker.attempts and not resource_plan.report_only:
            resource_plan = _break_perpetual_diff(resource_plan, document, breaker)
        planned[resource_plan.key] = resource_plan
        deletions_planned += _deletions_in(resource_plan)
        if resource_plan.action is Action.CONFLICT:
            conflicted.add(resource_plan.key)
        if resource_plan.action is Action.WAITING:
            waiting.add(resource_plan.key)
        if not resource_plan.report_only:
            pending.update(
                (document.kind, document.name, output)
                for call in resource_plan.calls
                for output in call.outputs
            )
    # Report in file order, the order a reader of the specs expects.
    resources = [planned[document.key] for document in context.spec_set]
    if pruning:
        prune_plans = [_after_its_successor(plan, planned) for plan in prune_plans]
        resources = _order_deletions([*resources, *prune_plans], context)
    return Plan(tuple(resources))


def _after_its_successor(
    deletion: ResourcePlan, planned: Mapping[tuple[str, str], ResourcePlan]
) -> ResourcePlan:
    """A replaced object shares its key with the document that replaced it: while that document
    writes in this pass, the deletion waits for a later one, so that the two never share step
    groups or an outcome."""
    successor = planned.get(deletion.key)
    if deletion.action is not Action.DELETE or not deletion.groups or deletion.held is not None:
        return deletion
    if successor is None or successor.held is not None or not successor.groups:
        return deletion
    return ResourcePlan(
        deletion.kind,
        deletion.name,
        Action.DELETE,
        held=Hold.DELETE_HELD,
        message=f"{deletion.message or 'replaced'}; deleted once {deletion.kind}/{deletion.name} is in sync",
    )


def _deletions_in(plan: ResourcePlan) -> int:
    """What a resource plan spends of the delete budget: one per orphan deleted, one per call of a
    `CLEANUP` group (an old revision deregistered). A deletion held back spends nothing, nor does
    one held by self-heal or the breaker; one held by report mode does, so that a report shows
    what enforcing would delete."""
    if plan.held not in (None, Hold.REPORT_MODE):
        return 0
    if plan.action is Action.DELETE:
        return 1
    return sum(len(group.calls) for group in plan.groups if group.key[2] == CLEANUP)


def _break_perpetual_diff(plan: ResourcePlan, document: Document, breaker: DiffHistory) -> ResourcePlan:
    attempts = breaker.tripped(plan.key, plan.delta, document_hash(document))
    if attempts is None:
        return plan
    return replace(
        plan,
        action=Action.PERPETUAL_DIFF,
        message=describe(attempts, plan.delta),
        held=Hold.PERPETUAL_DIFF,
    )


def _annotation_is_true(document: Document, annotation: str) -> bool:
    return document.metadata.annotations.get(annotation, "false").lower() == "true"


def _plan_document(document: Document, context: PlanContext, policy: WritePolicy) -> ResourcePlan:
    kind, name = document.kind, document.name
    if _annotation_is_true(document, ANNOTATION_PAUSED):
        return ResourcePlan(kind, name, Action.PAUSED, message="paused by annotation")
    live = context.live_of(kind, name)
    if live is not None:
        ownership = live.ownership(context.settings.instance, context.settings.namespace)
        adopting = _annotation_is_true(document, ANNOTATION_ADOPT)
        if ownership is Ownership.OTHER_NAMESPACE:
            # Two namespaces converged into one account and Region: the other's object is never
            # adopted, changed or deleted from here, whatever the annotations say.
            owner = live.tags.get(NAMESPACE) or "the default namespace"
            return ResourcePlan(
                kind,
                name,
                Action.CONFLICT,
                message=f"{live.identifier} exists and is {ownership.value} ({owner}); "
                "two namespaces in one account and Region need different AWS names",
            )
        if ownership is Ownership.FOREIGN or (ownership is Ownership.UNOWNED and not adopting):
            return ResourcePlan(
                kind,
                name,
                Action.CONFLICT,
                message=f"{live.identifier} exists and is {ownership.value}; "
                f'set the annotation {ANNOTATION_ADOPT}: "true" to take it over',
            )
    try:
        planned = kind_module(kind).plan(document, live, context)
    except TerminalPlanError as error:
        return ResourcePlan(kind, name, Action.CONFLICT, message=str(error))
    except DependencyWaiting as waiting:
        return ResourcePlan(kind, name, Action.WAITING, message=str(waiting))
    if live is not None and planned.delta:
        planned = _recording_spec_hash(
            replace(planned, spec_changed=_spec_changed(planned, document, live)), document, live
        )
    held = policy.hold_for_document(document.key, exists=live is not None)
    return replace(planned, held=held) if held is not None else planned


def _spec_changed(plan: ResourcePlan, document: Document, live: LiveResource) -> bool:
    """Whether a live object differs from its document because the document changed (git moved)
    rather than because someone changed AWS (drift).

    The spec hash recorded by the last converge tells: another hash than the document's is a
    change. So is a resource being adopted (the document asks to take it over), and differences
    that only follow another document's change in this pass (a service's task definition is the
    revision about to be registered: its `desired` is a `Ref`). An owned object with no hash was
    converged before hashes were recorded: its differences are reported as drift, as they were
    then, so that upgrading never silences a drift alarm; its next converge records the hash."""
    if live.tags.get(MANAGED_BY) != MANAGED_BY_VALUE:
        return True
    if all(_refers_to_a_change(diff.desired) for diff in plan.delta):
        return True
    recorded = live.tags.get(SPEC_HASH)
    return recorded is not None and recorded != document.spec_hash


def _refers_to_a_change(value: object) -> bool:
    if isinstance(value, Ref):
        return True
    if isinstance(value, Mapping):
        return any(_refers_to_a_change(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(_refers_to_a_change(item) for item in value)
    return False


_CONVERGING = frozenset({Action.UPDATE, Action.REPLACE})


def _recording_spec_hash(plan: ResourcePlan, document: Document, live: LiveResource) -> ResourcePlan:
    """The plan with the document's spec hash written by the same change set that converges the
    resource, when the resource does not carry that hash yet.

    Creates and tag writes carry it already (`PlanContext.desired_tags`, `tag_delta`). An update
    through an API that takes no tags (UpdateService, ModifyTargetGroup) gets one tag call, last,
    so that the hash is recorded only once everything before it succeeded: a failed change set
    leaves the old hash, and its remaining differences still read as a change. Nothing is written
    when only the hash differs, nor when the resource is not converged in this pass (waiting, in
    conflict)."""
    if plan.action not in _CONVERGING or not plan.groups or live.tags.get(SPEC_HASH) == document.spec_hash:
        return plan
    if any(document.spec_hash in string_leaves(call.params) for call in plan.calls):
        return plan
    tag = kind_module(plan.kind).tag_call(live, {SPEC_HASH: document.spec_hash})
    if tag is None:
        return plan
    *earlier, last = plan.groups
    return replace(plan, groups=(*earlier, replace(last, calls=(*last.calls, tag))))


def _plan_prune(context: PlanContext, policy: WritePolicy) -> list[ResourcePlan]:
    """Deletions for owned orphans, within the pass's delete budget and the mass-prune guard."""
    candidates: list[LiveResource] = [
        orphan
        for orphan in context.live.orphans
        if orphan.ownership(context.settings.instance, context.settings.namespace) is Ownership.OWNED
        and orphan.deletion_policy != "retain"
    ]
    if not candidates:
        return []
    if not context.settings.prune:
        # Listed, so that plan and drift never call a spec set that lost documents "in sync".
        return [
            replace(_listed(orphan), message=f"{_why_orphaned(orphan)}; --prune deletes it")
            for orphan in candidates
        ]
    owned = len(candidates) + sum(
        1
        for live in context.live.resources.values()
        if live.ownership(context.settings.instance, context.settings.namespace) is Ownership.OWNED
    )
    documents = sum(1 for _ in context.spec_set)
    if not context.settings.allow_mass_prune and (documents == 0 or len(candidates) * 2 > owned):
        return [
            ResourcePlan(
                orphan.kind,
                orphan.name,
                Action.DELETE,
                message="not pruned: the spec set would prune more than half of what is owned "
                "(or has no documents); pass --allow-mass-prune to confirm",
                held=Hold.DELETE_HELD,
            )
            for orphan in candidates
        ]
    # Create before destroy: an object replaced under a new AWS name goes only once the new one is
    # there and steady (a service's rollout completed), so traffic never has nowhere to go.
    waiting = [orphan for orphan in candidates if not _replacement_steady(orphan, context)]
    candidates = [orphan for orphan in candidates if orphan not in waiting]
    position = _creation_position()
    candidates.sort(key=lambda orphan: (-position[orphan.kind], orphan.name))
    budget = policy.delete_budget
    allowed = candidates[:budget]
    deferred = candidates[budget:]
    plans = [
        replace(
            order_groups(
                _with_reason(kind_module(orphan.kind).plan_delete(orphan, context), orphan), spec_set=None
            ),
            held=policy.hold_for_deletion(),
        )
        for orphan in allowed
    ]
    plans += [
        replace(_listed(orphan), message=f"deferred: at most {budget} deletions per pass")
        for orphan in deferred
    ]
    plans += [
        replace(_listed(orphan), message=f"{_replaced(orphan)}; deleted once the new one is steady")
        for orphan in waiting
    ]
    return plans


def _replaced(orphan: LiveResource) -> str:
    assert orphan.replaced_by is not None
    kind, name = orphan.replaced_by
    return f"replaced: {orphan.identifier} was {kind}/{name}'s, which now names another AWS object"


def _listed(orphan: LiveResource) -> ResourcePlan:
    return ResourcePlan(orphan.kind, orphan.name, Action.DELETE, held=Hold.DELETE_HELD)


def _why_orphaned(orphan: LiveResource) -> str:
    return _replaced(orphan) if orphan.replaced_by is not None else "orphaned: its document is gone"


def _with_reason(plan: ResourcePlan, orphan: LiveResource) -> ResourcePlan:
    return plan if orphan.replaced_by is None else replace(plan, message=_replaced(orphan))


def _replacement_steady(orphan: LiveResource, context: PlanContext) -> bool:
    """True unless the orphan was replaced and its successor is missing or still rolling out."""
    if orphan.replaced_by is None:
        return True
    successor = context.live_of(*orphan.replaced_by)
    if successor is None:
        return False
    rollout = read_rollout(successor)
    return rollout is None or rollout.steady


def _order_deletions(plans: Sequence[ResourcePlan], context: PlanContext) -> list[ResourcePlan]:
    """Deletions follow the references between live objects, reversed: an object is deleted after
    every change to what refers to it (a listener rule removed from a load balancer that stays, a
    service deleted). A deletion waits for nothing else, so one that cannot happen (a cluster AWS
    refuses to delete) holds back only what depends on it. A referrer that is itself deleted is
    waited for whole when its kind is deleted earlier, and otherwise only for the groups before its
    own deletion (two security groups naming each other: each revokes its rules, then each goes),
    so two objects naming each other never deadlock.

    A deletion also waits for an earlier-deleted object that it names itself: a target group lists
    the load balancers that forward to it (`LoadBalancerArns`), which AWS refuses to let go of
    while they do, even when the load balancer's own listeners were not read."""
    position = _creation_position()
    orphans = {orphan.key: orphan for orphan in context.live.orphans}

    def live_of(plan: ResourcePlan) -> LiveResource | None:
        return orphans.get(plan.key) if plan.action is Action.DELETE else context.live_of(*plan.key)

    def awaited(referrer: ResourcePlan, deleted: ResourcePlan) -> tuple[StepGroup, ...]:
        if referrer.action is not Action.DELETE or position[referrer.kind] > position[deleted.kind]:
            return referrer.groups
        return referrer.groups[:-1]

    # Each live object's values and identities once, not once per pair of plans.
    writing = [
        (plan, frozenset(_values(live)), _identities(live))
        for plan in plans
        if plan.groups and not plan.report_only and (live := live_of(plan)) is not None
    ]
    ordered: list[ResourcePlan] = []
    for plan in plans:
        target = orphans.get(plan.key) if plan.action is Action.DELETE else None
        if target is None or plan.report_only or not plan.groups:
            ordered.append(plan)
            continue
        identities, values = _identities(target), frozenset(_values(target))
        after = frozenset(
            group.key
            for other, other_values, other_identities in writing
            if other.key != plan.key
            and (
                not identities.isdisjoint(other_values)
                or (
                    other.action is Action.DELETE
                    and position[other.kind] > position[plan.kind]
                    and not other_identities.isdisjoint(values)
                )
            )
            for group in awaited(other, plan)
        )
        # Only the deletion itself waits: the groups before it detach this object's own references
        # (revoking its rules), which is what the others wait for.
        *detach, delete = plan.groups
        ordered.append(replace(plan, groups=(*detach, replace(delete, after=delete.after | after))))
    return ordered


def order_groups(plan: ResourcePlan, spec_set: SpecSet | None) -> ResourcePlan:
    """The plan with each step group's place in the dependency graph: after the groups of other
    documents it needs (`DependencyGraph.waits_for`) and after the group its kind listed before it.
    An orphan's deletion (`spec_set` None) has no document, so no references: only the order of
    its own groups, and `_order_deletions` then adds what refers to it live."""
    groups: list[StepGroup] = []
    for group in plan.groups:
        after = group.after | (spec_set.graph.waits_for(group.key) if spec_set is not None else frozenset())
        if groups:
            after |= {groups[-1].key}
        groups.append(replace(group, after=after) if after != group.after else group)
    return replace(plan, groups=tuple(groups)) if groups else plan


def _identities(live: LiveResource) -> frozenset[str]:
    """The strings by which other AWS objects point at this one: its ARN or id, the other objects
    it accounts for (a family's revisions), and its ARN-shaped outputs."""
    outputs = {
        value for value in live.outputs.values() if isinstance(value, str) and value.startswith("arn:")
    }
    return frozenset({live.identifier, *live.also_identifies, *outputs})


def _values(live: LiveResource) -> Iterator[str]:
    """The strings of a live object's description and the kind's details: AWS objects refer to
    each other by whole ARNs or ids, never by a part of one, so naming is set membership."""
    return string_leaves((live.state, live.details))


def _creation_position() -> dict[str, int]:
    """Position of each kind in creation order; deletion walks it backwards."""
    return {kind: position for position, kind in enumerate(kinds_in_creation_order())}
