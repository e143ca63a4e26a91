"""The planner's own decisions, for every kind alike: ownership, adoption, pausing, report-only,
and the prune guards. Pure: hand-made documents and observations, no AWS."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.engine.planner import plan_all
from reconciler.plan.ownership import ownership_tags
from reconciler.plan.steps import Action, Status
from reconciler.resources.base import (
    Environment,
    LiveResource,
    LiveState,
    PlanContext,
    PlanSettings,
    TerminalPlanError,
)
from reconciler.resources.cluster.model import ClusterSpec
from reconciler.resources.registry import load_spec_set
from reconciler.spec import Document, Metadata, SpecSet

ENVIRONMENT = Environment(account_id="123456789012", region="us-east-1")


def cluster_document(name: str, annotations: dict[str, str] | None = None, **spec: object) -> Document:
    return Document(
        kind="Cluster",
        metadata=Metadata(name=name, annotations=annotations or {}),
        spec=ClusterSpec.model_validate(spec),
        file="specs/cluster.yaml",
        line=1,
    )


def live_cluster(name: str, tags: dict[str, str], **state: object) -> LiveResource:
    arn = f"arn:aws:ecs:us-east-1:123456789012:cluster/{name}"
    return LiveResource(
        kind="Cluster",
        name=name,
        identifier=arn,
        state={"clusterArn": arn, "clusterName": name, "status": "ACTIVE", **state},
        tags=tags,
        outputs={"arn": arn, "name": name},
    )


def owned(name: str, instance: str = "default") -> dict[str, str]:
    return ownership_tags(kind="Cluster", name=name, instance=instance)


def plan_for(
    documents: list[Document],
    live: list[LiveResource],
    orphans: list[LiveResource] | None = None,
    **settings: object,
):  # type: ignore[no-untyped-def]
    context = PlanContext(
        spec_set=SpecSet(tuple(documents)),
        live=LiveState(resources={r.key: r for r in live}, orphans=tuple(orphans or ())),
        environment=ENVIRONMENT,
        settings=PlanSettings(**settings),  # type: ignore[arg-type]
    )
    return plan_all(context)


def test_a_missing_resource_is_created_with_ownership_tags() -> None:
    plan = plan_for([cluster_document("web", capacityProviders=["FARGATE"])], [])
    (resource,) = plan.resources
    assert resource.action is Action.CREATE
    assert resource.status is Status.MISSING
    (call,) = resource.calls
    assert call.name == "ecs.CreateCluster"
    tags = {tag["key"]: tag["value"] for tag in call.params["tags"]}
    assert tags["ecs-reconciler/managed-by"] == "ecs-reconciler"
    assert tags["ecs-reconciler/source"] == "Cluster/web"


def test_an_owned_resource_in_sync_needs_no_call() -> None:
    plan = plan_for(
        [cluster_document("web", capacityProviders=["FARGATE"])],
        [live_cluster("web", owned("web"), capacityProviders=["FARGATE"])],
    )
    assert not plan.has_changes
    assert plan.resources[0].status is Status.IN_SYNC


def test_an_unowned_resource_with_the_spec_name_is_a_conflict_and_never_touched() -> None:
    plan = plan_for(
        [cluster_document("web", capacityProviders=["FARGATE"])],
        [live_cluster("web", {"team": "other"})],
    )
    (resource,) = plan.resources
    assert resource.action is Action.CONFLICT
    assert resource.calls == ()
    assert "adopt" in resource.message


def test_another_instances_resource_is_a_conflict() -> None:
    plan = plan_for([cluster_document("web")], [live_cluster("web", owned("web", instance="staging"))])
    assert plan.resources[0].action is Action.CONFLICT


def test_adopting_tags_the_unowned_resource_and_nothing_else() -> None:
    plan = plan_for(
        [cluster_document("web", {"ecs-reconciler/adopt": "true"}, capacityProviders=["FARGATE"])],
        [live_cluster("web", {}, capacityProviders=["FARGATE"])],
    )
    (resource,) = plan.resources
    assert [call.name for call in resource.calls] == ["ecs.TagResource"]


def test_a_paused_document_is_skipped() -> None:
    plan = plan_for([cluster_document("web", {"ecs-reconciler/paused": "true"})], [])
    assert plan.resources[0].action is Action.PAUSED
    assert not plan.has_changes


def test_self_heal_off_reports_drift_without_calls() -> None:
    plan = plan_for(
        [cluster_document("web", {"ecs-reconciler/self-heal": "false"}, capacityProviders=["FARGATE"])],
        [live_cluster("web", owned("web"), capacityProviders=["FARGATE_SPOT"])],
    )
    (resource,) = plan.resources
    assert resource.report_only
    assert resource.status is Status.DRIFTED
    assert not plan.has_changes


def test_report_mode_never_plans_writes() -> None:
    plan = plan_for([cluster_document("web")], [], report_only=True)
    assert plan.resources[0].action is Action.CREATE
    assert not plan.has_changes


def orphans(count: int) -> list[LiveResource]:
    return [live_cluster(f"old-{index}", owned(f"old-{index}")) for index in range(count)]


def test_prune_deletes_owned_orphans_within_the_per_pass_limit() -> None:
    documents = [cluster_document(f"keep-{index}") for index in range(10)]
    live = [live_cluster(f"keep-{index}", owned(f"keep-{index}")) for index in range(10)]
    plan = plan_for(documents, live, orphans(4), prune=True, max_deletes=3)
    deletions = [r for r in plan.resources if r.action is Action.DELETE]
    assert len(deletions) == 4
    assert sum(1 for r in deletions if not r.report_only) == 3
    assert [c.name for r in deletions if not r.report_only for c in r.calls] == ["ecs.DeleteCluster"] * 3


def test_prune_never_deletes_what_the_deletion_policy_retains() -> None:
    retained = live_cluster(
        "old", ownership_tags(kind="Cluster", name="old", instance="default", deletion_policy="retain")
    )
    plan = plan_for([cluster_document("keep")], [live_cluster("keep", owned("keep"))], [retained], prune=True)
    assert [r.key for r in plan.resources if r.action is Action.DELETE] == []


def test_prune_refuses_to_delete_more_than_half_of_what_is_owned() -> None:
    plan = plan_for([cluster_document("keep")], [live_cluster("keep", owned("keep"))], orphans(2), prune=True)
    deletions = [r for r in plan.resources if r.action is Action.DELETE]
    assert deletions and all(r.report_only for r in deletions)
    assert "allow-mass-prune" in deletions[0].message
    forced = plan_for(
        [cluster_document("keep")],
        [live_cluster("keep", owned("keep"))],
        orphans(2),
        prune=True,
        allow_mass_prune=True,
    )
    assert sum(1 for r in forced.resources if r.action is Action.DELETE and not r.report_only) == 2


def test_prune_with_no_documents_at_all_deletes_nothing() -> None:
    plan = plan_for([], [], orphans(1), prune=True)
    assert not plan.has_changes


def test_nothing_is_pointed_at_a_resource_in_conflict() -> None:
    """A document referring to a conflicted one is itself blocked, never wired to the unowned object."""
    context = PlanContext(
        spec_set=SpecSet(()),
        live=LiveState(resources={("Cluster", "web"): live_cluster("web", {})}),
        environment=ENVIRONMENT,
        settings=PlanSettings(),
        conflicted=frozenset({("Cluster", "web")}),
    )
    with pytest.raises(TerminalPlanError, match="Cluster/web"):
        context.output("Cluster", "web", "arn")


WAITING_STACK = """\
apiVersion: ecs-reconciler/v1
kind: Repository
metadata: {name: app}
spec: {}
---
apiVersion: ecs-reconciler/v1
kind: Cluster
metadata: {name: main}
spec: {}
---
apiVersion: ecs-reconciler/v1
kind: TaskDefinition
metadata: {name: app}
spec:
  imagePinning: digest
  requiresCompatibilities: [EC2]
  networkMode: bridge
  containerDefinitions:
    - name: app
      image: {repository: app, tag: v1}
      memory: 128
---
apiVersion: ecs-reconciler/v1
kind: Service
metadata: {name: app}
spec:
  cluster: main
  taskDefinition: app
  launchType: EC2
  desiredCount: 1
"""


def test_a_service_waits_with_its_task_definition_instead_of_failing_on_a_missing_revision(
    tmp_path: Path,
) -> None:
    (tmp_path / "stack.yaml").write_text(WAITING_STACK)
    spec_set, errors = load_spec_set([tmp_path])
    assert spec_set is not None, errors
    plan = plan_all(
        PlanContext(spec_set=spec_set, live=LiveState(), environment=ENVIRONMENT, settings=PlanSettings())
    )
    task_definition = plan.get("TaskDefinition", "app")
    service = plan.get("Service", "app")
    assert task_definition is not None and task_definition.action is Action.WAITING
    assert service is not None and service.action is Action.WAITING
    assert "TaskDefinition/app" in service.message
    assert service.calls == ()


def _orphan(kind: str, name: str, arn: str, **state: object) -> LiveResource:
    return LiveResource(
        kind=kind,
        name=name,
        identifier=arn,
        state=state,
        tags=ownership_tags(kind=kind, name=name, instance="default"),
        outputs={"arn": arn},
    )


def _waits_for(plan, kind: str, name: str) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    (resource,) = [r for r in plan.resources if r.key == (kind, name)]
    return {(k, n) for group in resource.groups for (k, n, _) in group.after if (k, n) != (kind, name)}


def test_deletions_wait_only_for_what_refers_to_them() -> None:
    """Issue 9 item 8: an owned cluster that cannot be deleted held back every orphaned task
    definition's cleanup for ever, since every deletion waited for every earlier kind's."""
    cluster_arn = "arn:aws:ecs:us-east-1:123456789012:cluster/old"
    used = "arn:aws:ecs:us-east-1:123456789012:task-definition/used:3"
    unused = "arn:aws:ecs:us-east-1:123456789012:task-definition/unused:1"
    service = _orphan(
        "Service",
        "svc",
        "arn:aws:ecs:us-east-1:123456789012:service/old/svc",
        clusterArn=cluster_arn,
        taskDefinition=used,
    )
    cluster = _orphan("Cluster", "old", cluster_arn, clusterName="old", status="ACTIVE")
    used_family = _orphan("TaskDefinition", "used", used, family="used")
    unused_family = _orphan("TaskDefinition", "unused", unused, family="unused")
    keep = [cluster_document(f"keep-{index}") for index in range(4)]
    live = [live_cluster(f"keep-{index}", owned(f"keep-{index}")) for index in range(4)]
    plan = plan_for(keep, live, [service, cluster, used_family, unused_family], prune=True)
    assert _waits_for(plan, "Cluster", "old") == {("Service", "svc")}
    assert _waits_for(plan, "TaskDefinition", "used") == {("Service", "svc")}
    assert _waits_for(plan, "TaskDefinition", "unused") == set()
    assert _waits_for(plan, "Service", "svc") == set()


def _replaced_cluster(document: str) -> LiveResource:
    """The object `document` named before its AWS name changed: still tagged as that document's."""
    old = live_cluster(f"{document}-old-aws-name", owned(document))
    return LiveResource(
        kind=old.kind,
        name=document,
        identifier=old.identifier,
        state=old.state,
        tags=old.tags,
        outputs=old.outputs,
        replaced_by=("Cluster", document),
    )


@pytest.mark.parametrize(
    ("successor_rollout", "deleted"),
    [
        pytest.param(None, False, id="successor-not-created-yet"),
        pytest.param({"rolloutState": "IN_PROGRESS", "failed": False}, False, id="rolling-out"),
        pytest.param({"rolloutState": "COMPLETED", "failed": True}, False, id="rollout-failed"),
        pytest.param({"rolloutState": "COMPLETED", "failed": False}, True, id="steady"),
        pytest.param({}, True, id="kind-without-rollouts"),
    ],
)
def test_a_replaced_object_is_deleted_only_once_its_successor_is_steady(
    successor_rollout: dict[str, object] | None, deleted: bool
) -> None:
    """Issue 9 item 2: create before destroy, and the held deletion says why."""
    documents = [cluster_document(f"keep-{index}") for index in range(4)]
    live = [live_cluster(f"keep-{index}", owned(f"keep-{index}")) for index in range(1, 4)]
    if successor_rollout is not None:
        successor = live_cluster("keep-0", owned("keep-0"))
        live.append(
            LiveResource(
                kind=successor.kind,
                name=successor.name,
                identifier=successor.identifier,
                state=successor.state,
                tags=successor.tags,
                outputs=successor.outputs,
                details={"rollout": successor_rollout} if successor_rollout else {},
            )
        )
    plan = plan_for(documents, live, [_replaced_cluster("keep-0")], prune=True)
    (deletion,) = [r for r in plan.resources if r.action is Action.DELETE]
    assert deletion.message.startswith("replaced: "), deletion.message
    assert deletion.report_only is not deleted
    assert ("once the new one is steady" in deletion.message) is not deleted


def test_replaced_objects_count_against_the_delete_budget_and_the_mass_prune_guard() -> None:
    """Issue 9 item 2: a changed AWS name is a deletion like any other for --max-deletes and the
    guard: four replaced objects and one orphan are more than half of the nine owned."""
    documents = [cluster_document(f"keep-{index}") for index in range(4)]
    live = [live_cluster(f"keep-{index}", owned(f"keep-{index}")) for index in range(4)]
    replaced = [_replaced_cluster(f"keep-{index}") for index in range(2)]
    budget = plan_for(documents, live, replaced, prune=True, max_deletes=1)
    deletions = [r for r in budget.resources if r.action is Action.DELETE]
    assert sorted(r.report_only for r in deletions) == [False, True]
    assert any("at most 1 deletions per pass" in r.message for r in deletions)

    every = [_replaced_cluster(f"keep-{index}") for index in range(4)]
    guarded = plan_for(documents, live, [*every, *orphans(1)], prune=True)
    deletions = [r for r in guarded.resources if r.action is Action.DELETE]
    assert len(deletions) == 5 and all(r.report_only for r in deletions)
    assert "allow-mass-prune" in deletions[0].message
