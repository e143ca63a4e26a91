"""The one dependency graph orders creation and deletion for every reference edge a kind declares.

The fixture is the example stack plus what it lacks (a rule forwarding with `forwardConfig`, two
security groups naming each other): together they hold an edge for every (kind, referenced kind)
pair the kinds declare, which the first test checks, so a kind that declares a new reference
without an edge here fails it.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

from reconciler.engine.executor import waits_in_a_cycle
from reconciler.engine.planner import plan_all
from reconciler.local import LocalAWS
from reconciler.plan.steps import Action, Call, StepGroup
from reconciler.resources.base import Environment, LiveState, PlanContext, PlanSettings
from reconciler.resources.registry import descriptors, kinds_in_creation_order
from reconciler.spec import SpecSet
from tests.harness import engine_pass, load

ROOT = Path(__file__).resolve().parents[2]

EXTRA = """\
apiVersion: ecs-reconciler/v1
kind: TargetGroup
metadata: {name: canary}
spec: {protocol: HTTP, port: 3000, targetType: ip, vpc: default}
---
apiVersion: ecs-reconciler/v1
kind: LoadBalancer
metadata: {name: weighted}
spec:
  subnets: default
  securityGroups: [node-app-alb]
  listeners:
    - port: 80
      protocol: HTTP
      defaultAction: {type: fixed-response, fixedResponseConfig: {statusCode: "404"}}
      rules:
        - priority: 10
          conditions: [{field: path-pattern, values: ["/api/*"]}]
          actions:
            - type: forward
              forwardConfig:
                targetGroups: [{targetGroup: node-app, weight: 90}, {targetGroup: canary, weight: 10}]
---
apiVersion: ecs-reconciler/v1
kind: SecurityGroup
metadata: {name: ping}
spec:
  vpc: default
  ingress: [{protocol: tcp, port: 1, securityGroup: pong}]
---
apiVersion: ecs-reconciler/v1
kind: SecurityGroup
metadata: {name: pong}
spec:
  vpc: default
  ingress: [{protocol: tcp, port: 2, securityGroup: ping}]
"""


def stack(folder: Path) -> Path:
    specs = folder / "specs"
    shutil.copytree(ROOT / "specs" / "node-app", specs)
    (specs / "extra.yaml").write_text(EXTRA)
    return specs


def plan_creation(spec_set: SpecSet) -> dict[tuple[str, str, str], StepGroup]:
    context = PlanContext(
        spec_set=spec_set,
        live=LiveState(),
        environment=Environment(
            account_id="123456789012",
            region="us-east-1",
            default_vpc_id="vpc-0123",
            default_subnet_ids=("subnet-a", "subnet-b"),
        ),
        settings=PlanSettings(),
    )
    return {group.key: group for resource in plan_all(context) for group in resource.groups}


def test_the_fixture_has_an_edge_for_every_declared_pair_of_kinds(tmp_path: Path) -> None:
    spec_set = load(stack(tmp_path))
    edges = {(r.source_kind, r.target_kind) for r in spec_set.graph.references}
    also = {(r.source_kind, r.also_after[0]) for r in spec_set.graph.references if r.also_after}
    declared = {
        (kind, target)
        for kind, descriptor in descriptors().items()
        for target in descriptor.spec.REFERENCED_KINDS
    }
    assert declared <= edges | also


def test_creation_waits_for_what_every_reference_needs(tmp_path: Path) -> None:
    spec_set = load(stack(tmp_path))
    groups = plan_creation(spec_set)
    checked = 0
    for reference in spec_set.graph.references:
        waiting = groups[(reference.source_kind, reference.source_name, reference.part)]
        if reference.needs is not None:
            assert (reference.target_kind, reference.target_name, reference.needs) in waiting.after, reference
            checked += 1
        if reference.also_after is not None:
            kind, part = reference.also_after
            for other in spec_set.graph.referrers(reference.target, of_kind=kind):
                assert (kind, other.source_name, part) in waiting.after, (reference, other)
    assert checked >= 10
    # Two groups naming each other is not a creation cycle: each group's rules wait for the other
    # group's object, never for its rules.
    assert ("SecurityGroup", "pong", "main") in groups[("SecurityGroup", "ping", "rules")].after
    assert ("SecurityGroup", "ping", "main") in groups[("SecurityGroup", "pong", "rules")].after
    assert not waits_in_a_cycle(groups)
    # A document's own groups run in the order its kind lists them.
    assert ("LoadBalancer", "weighted", "main") in groups[("LoadBalancer", "weighted", "listeners")].after


def test_kinds_are_planned_after_what_they_may_refer_to() -> None:
    order = kinds_in_creation_order()
    for kind, descriptor in descriptors().items():
        for target in descriptor.spec.REFERENCED_KINDS - {kind}:
            assert order.index(target) < order.index(kind), (kind, target)


def test_deletion_waits_for_every_live_reference_reversed_and_empties_the_account(
    aws: LocalAWS, tmp_path: Path
) -> None:
    specs = stack(tmp_path)
    full = load(specs)
    assert engine_pass(aws, full).result.ok
    keep = tmp_path / "keep"
    keep.mkdir()
    shutil.copy(specs / "repository.yaml", keep / "repository.yaml")
    only_repository = load(keep)

    planned = engine_pass(
        aws, only_repository, apply=False, prune=True, allow_mass_prune=True, max_deletes=100
    )
    deletions = {plan.key: plan for plan in planned.result.plan if plan.action is Action.DELETE}
    groups = {group.key: group for plan in deletions.values() for group in plan.groups}
    assert not waits_in_a_cycle(groups)
    for reference in full.graph.references:
        if reference.target_kind == "Repository" or reference.source == reference.target:
            continue  # the repository stays; a group's rule naming itself orders nothing
        source, target = deletions[reference.source], deletions[reference.target]
        final = target.groups[-1]
        if target.kind != source.kind:
            # What refers to it goes first (its last group is its deletion).
            assert source.groups[-1].key in final.after, (reference, final.after)
        else:
            # Same kind (security groups naming each other): its rules are revoked first.
            assert {group.key for group in source.groups[:-1]} <= final.after, (reference, final.after)

    pruned = engine_pass(aws, only_repository, prune=True, allow_mass_prune=True, max_deletes=100)
    assert pruned.result.ok, pruned.result.execution
    after = engine_pass(aws, only_repository, apply=False, prune=True)
    assert [plan.key for plan in after.result.plan if plan.calls] == []


def test_a_plan_whose_groups_wait_for_each_other_fails_them_instead_of_hanging() -> None:
    call = Call("ecs", "list_clusters", {})
    a = StepGroup(("Cluster", "a", "main"), (call,), after=frozenset({("Cluster", "b", "main")}))
    b = StepGroup(("Cluster", "b", "main"), (call,), after=frozenset({("Cluster", "a", "main")}))
    c = StepGroup(("Cluster", "c", "main"), (call,), after=frozenset({("Cluster", "a", "main")}))
    free = StepGroup(("Cluster", "d", "main"), (call,))
    groups = {group.key: group for group in (a, b, c, free)}
    assert waits_in_a_cycle(groups) == {a.key, b.key, c.key}


def test_a_replaced_object_waits_while_its_successor_writes_so_they_never_share_a_key() -> None:
    """A document whose AWS name changed and its old object are both (Cluster, web): deleting the
    old one in the pass that also writes the new one would put two step groups under one key."""
    from reconciler.plan.ownership import ownership_tags
    from reconciler.resources.base import LiveResource
    from reconciler.resources.cluster.model import ClusterSpec
    from reconciler.spec import Document, Metadata

    document = Document(
        kind="Cluster",
        metadata=Metadata(name="web"),
        spec=ClusterSpec.model_validate({"clusterName": "web-v2", "tags": {"team": "web"}}),
        file="cluster.yaml",
        line=1,
    )
    tags = ownership_tags(kind="Cluster", name="web", instance="default")
    new = LiveResource("Cluster", "web", "arn:aws:ecs:us-east-1:123456789012:cluster/web-v2", {}, tags)
    old = LiveResource(
        "Cluster",
        "web",
        "arn:aws:ecs:us-east-1:123456789012:cluster/web",
        {},
        tags,
        replaced_by=("Cluster", "web"),
    )
    environment = Environment(account_id="123456789012", region="us-east-1")
    settings = PlanSettings(prune=True, allow_mass_prune=True)

    def plan(live_tags: dict[str, str]) -> list[Any]:
        live = LiveState(
            resources={new.key: replace(new, tags={**tags, **live_tags})},
            orphans=(old,),
            orphans_observed=True,
        )
        context = PlanContext(
            spec_set=SpecSet((document,)), live=live, environment=environment, settings=settings
        )
        return list(plan_all(context))

    writing, deletion = plan({})  # the team tag is missing: the document writes
    assert writing.calls and writing.held is None
    assert deletion.action is Action.DELETE and deletion.held is not None and not deletion.groups
    assert "deleted once Cluster/web is in sync" in deletion.message
    in_sync, deleted = plan({"team": "web"})
    assert not in_sync.calls
    assert [call.name for call in deleted.calls] == ["ecs.DeleteCluster"] and deleted.held is None


def test_a_change_affects_its_referrers_transitively_and_what_they_refer_to(tmp_path: Path) -> None:
    """What a daemon pass after a spec change observes again (`DependencyGraph.affected_by`)."""
    graph = load(stack(tmp_path)).graph
    # The canary target group is forwarded to by the weighted load balancer alone: its other
    # references are read for their outputs, and nothing of the node-app service is.
    assert graph.affected_by([("TargetGroup", "canary")]) == {
        ("TargetGroup", "canary"),
        ("LoadBalancer", "weighted"),
        ("SecurityGroup", "node-app-alb"),
        ("TargetGroup", "node-app"),
    }
    # A repository's name is in its task definition's image, which is in the service: two hops.
    assert {("TaskDefinition", "node-app"), ("Service", "node-app")} <= graph.affected_by(
        [("Repository", "node-app")]
    )
    # Rules that name each other are a reference cycle the walk must end on.
    assert graph.affected_by([("SecurityGroup", "ping")]) == {
        ("SecurityGroup", "ping"),
        ("SecurityGroup", "pong"),
    }
    assert graph.affected_by([]) == frozenset()
